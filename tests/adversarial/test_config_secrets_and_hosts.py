"""Issue 15, items 13 and 14: what ``check-config`` prints, and what a host key may carry.

13. ``deskphone check-config`` (a real process, as a user runs it) printed the
    passwords embedded in URLs: the provisioning URL and Action URLs, which
    Yealink's own admin guide writes as ``http://user:password@host/...``.
14. ``account.N.outbound_host`` went unchecked into baresip's account line,
    where ``;auth_pass=...;mediaenc=...`` adds options of the writer's choosing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.phone import BOARD

DESKPHONE = [sys.executable, "-m", "deskphone"]


def check_config(tmp_path: Path, cfg: str) -> subprocess.CompletedProcess:
    board = tmp_path / "board.toml"
    board.write_text(BOARD.format(password=""))
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "y000000000000.cfg").write_text("#!version:1.0.0.1\n" + cfg)
    return subprocess.run([*DESKPHONE, "check-config", "--board", str(board), "--config-dir",
                           str(tmp_path / "config")], capture_output=True, text=True, timeout=60)


def test_check_config_hides_passwords_in_urls(tmp_path):
    result = check_config(tmp_path, (
        "static.auto_provision.server.url = https://fleet:Pr0v-S3cret@prov.example/cfg/\n"
        "action_url.dnd_on = http://crm:Act10n-S3cret@10.0.0.9/dnd?mac=$mac\n"
        "account.1.password = Acc0unt-S3cret\n"))
    out = result.stdout + result.stderr
    assert "prov.example" in out and "10.0.0.9/dnd" in out          # the URLs are there ...
    for secret in ("Pr0v-S3cret", "Act10n-S3cret", "Acc0unt-S3cret"):
        assert secret not in out                                    # ... their passwords not
    assert "https://fleet:********@prov.example/cfg/" in out


@pytest.mark.parametrize("key", ["account.1.outbound_host", "account.1.sip_server.1.address"])
@pytest.mark.parametrize("value", ["pbx.example;auth_pass=x;mediaenc=srtp",
                                   "pbx.example>;outbound=sip:evil.example",
                                   "pbx.example 10.0.0.1", "pbx.example:5061"])
def test_a_host_key_takes_a_host_and_nothing_else(tmp_path, key, value):
    result = check_config(tmp_path, f"account.1.enable = 1\n{key} = {value}\n")
    assert result.returncode == 1
    assert key in result.stderr and "not a host name or IP address" in result.stderr


@pytest.mark.parametrize("value", ["pbx.example", "10.0.0.1", "[2001:db8::1]", "sip-1.lan"])
def test_real_hosts_pass(tmp_path, value):
    result = check_config(tmp_path, f"account.1.enable = 1\naccount.1.outbound_host = {value}\n")
    assert result.returncode == 0, result.stderr
