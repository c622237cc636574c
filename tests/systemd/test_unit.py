"""The service unit: what it must say, and systemd's own checks of it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path


from support.needs import requires

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "deskphone.service"
SYSUSERS = ROOT / "systemd" / "deskphone.sysusers"

needs_analyze = requires(None if shutil.which("systemd-analyze")
                         else "systemd-analyze is not installed (Debian: systemd)")


def unit_entries(text: str) -> dict[str, list[str]]:
    """``Section.Key`` -> every value given (systemd allows a key several times)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


def one(entries: dict[str, list[str]], key: str) -> str:
    values = entries.get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def test_the_unit_says_what_the_phone_needs():
    e = unit_entries(UNIT.read_text())
    assert one(e, "Service.Type") == "notify"
    assert one(e, "Service.NotifyAccess") == "main"
    assert int(one(e, "Service.WatchdogSec")) > 0
    assert one(e, "Service.Restart") == "on-failure"
    assert one(e, "Service.User") == "deskphone"
    assert one(e, "Service.AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    assert one(e, "Service.CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"
    assert one(e, "Service.ConfigurationDirectory") == "deskphone"
    assert one(e, "Service.StateDirectory") == "deskphone"
    assert one(e, "Service.RuntimeDirectory") == "deskphone"
    env = dict(v.split("=", 1) for v in e["Service.Environment"])
    assert env["GPIOZERO_PIN_FACTORY"] == "lgpio"
    # lgpio writes its FIFO into its working directory: it must be the writable runtime dir.
    assert env["LG_WD"] == one(e, "Service.WorkingDirectory") == "/run/deskphone"
    exec_start = one(e, "Service.ExecStart").split()
    assert exec_start[1] == "run"
    assert exec_start[exec_start.index("--config-dir") + 1] == "/etc/deskphone"
    assert exec_start[exec_start.index("--state-dir") + 1] == "/var/lib/deskphone"
    # Hardening that still reaches the hardware.
    allowed = {v.split()[0] for v in e["Service.DeviceAllow"]}
    for device in ("char-gpiochip", "char-i2c", "char-spi", "char-input", "char-ttyAMA",
                   "char-ttyS", "char-ttyGS", "char-alsa"):
        assert device in allowed, device
    assert one(e, "Service.DevicePolicy") == "closed"
    assert "Service.PrivateDevices" not in e     # it would hide /dev/gpiochip*, /dev/i2c-*...
    assert "Service.ProcSubset" not in e         # it would hide /proc/cmdline from the console
    families = one(e, "Service.RestrictAddressFamilies").split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"} <= set(families)
    assert one(e, "Service.ProtectSystem") == "strict"
    assert one(e, "Install.WantedBy") == "multi-user.target"


def test_the_user_gets_the_hardware_groups():
    lines = [line.split() for line in SYSUSERS.read_text().splitlines()
             if line and not line.startswith("#")]
    assert ["u", "deskphone"] == lines[0][:2]
    groups = {words[2] for words in lines if words[0] == "m" and words[1] == "deskphone"}
    assert groups == {"gpio", "i2c", "spi", "input", "dialout", "audio"}


def _verifiable_copy(tmp_path: Path, text: str) -> Path:
    # `verify` fails when the ExecStart binary does not exist, and /opt/deskphone is only
    # there after install.sh: check a copy whose ExecStart names this venv's deskphone.
    exe = Path(sys.executable).parent / "deskphone"
    if not exe.exists():
        exe = Path(shutil.which("true") or "/bin/true")
    copy = tmp_path / "deskphone.service"
    copy.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={exe}", text, flags=re.M))
    return copy


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60)


@needs_analyze
def test_systemd_analyze_verify_prints_nothing(tmp_path):
    result = _verify(_verifiable_copy(tmp_path, UNIT.read_text()))
    # verify exits 0 on unknown keys and bad values: only stderr tells.
    assert result.stderr == "", result.stderr
    assert result.returncode == 0


@needs_analyze
def test_verify_would_catch_a_bad_key(tmp_path):
    # The check above means something: a typo in a key does print.
    bad = UNIT.read_text().replace("ProtectHome=yes", "ProtectHome=yes\nProtectHomme=yes")
    result = _verify(_verifiable_copy(tmp_path, bad))
    assert "ProtectHomme" in result.stderr


@needs_analyze
def test_security_exposure_is_2_5_or_better(tmp_path):
    copy = _verifiable_copy(tmp_path, UNIT.read_text())
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(copy)],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for deskphone\.service: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.5, result.stdout
