"""systemd/install.sh --root DIR: the tree it makes, and that a second run changes nothing.

In --root mode the installer writes files into DIR, creates the user in DIR's
/etc/passwd (systemd-sysusers --root) and the enable link (systemctl --root),
and only prints the steps that act on the running system (apt-get, the venv
and pip, starting the service): those need the network and a Raspberry Pi.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from support.needs import requires

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "systemd" / "install.sh"

pytestmark = requires(
    None if shutil.which("systemd-sysusers") and shutil.which("systemctl")
    else "systemd-sysusers and systemctl are needed (Debian: systemd)")

BOARD = """\
[board]
name = "test pi"
kind = "pi"
line_keys = 2

[display]
driver = "ssd1306"
interface = "i2c"
i2c_address = 0x3c

[keypad]
driver = "evdev"
device = { name = "deskphone-keypad" }
keymaps = ["matrix-keypad"]

[console]
port = "/dev/serial0"
baudrate = 115200
"""

CONFIG_TXT = "# Raspberry Pi OS\ndtparam=audio=on\n#dtparam=i2c_arm=on\n[cm4]\notg_mode=1\n"
CMDLINE_TXT = "console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootwait\n"


def run_install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALL), "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: type, mode, owner, and content hash or link target."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                what = ("dir",)
            else:
                what = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            tree[str(path.relative_to(root))] = (*what, stat.S_IMODE(st.st_mode), st.st_uid,
                                                 st.st_gid)
    return tree


@pytest.fixture
def target(tmp_path):
    root = tmp_path / "root"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text(CONFIG_TXT)
    (root / "boot" / "firmware" / "cmdline.txt").write_text(CMDLINE_TXT)
    board = tmp_path / "myboard.toml"
    board.write_text(BOARD)
    return root, board


def group_entry(root: Path, name: str) -> list[str]:
    for line in (root / "etc" / "group").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    raise AssertionError(f"no group {name}")


def test_install_into_a_root_tree(target):
    root, board = target
    result = run_install(root, "--board", str(board))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout

    # The unit, the user, the config.
    assert (root / "etc/systemd/system/deskphone.service").read_text() == \
        (ROOT / "systemd/deskphone.service").read_text()
    link = root / "etc/systemd/system/multi-user.target.wants/deskphone.service"
    assert os.readlink(link) == "/etc/systemd/system/deskphone.service"
    passwd = {line.split(":")[0]: line.split(":") for line in
              (root / "etc/passwd").read_text().splitlines()}
    user = passwd["deskphone"]
    assert user[5] == "/var/lib/deskphone" and user[6].endswith("nologin")
    for group in ("gpio", "i2c", "spi", "input", "dialout", "audio"):
        assert "deskphone" in group_entry(root, group)[3].split(","), group
    gid = int(group_entry(root, "deskphone")[2])
    example = root / "etc/deskphone/y000000000000.cfg"
    assert example.read_text() == (ROOT / "systemd/y000000000000.cfg.example").read_text()
    for path in (example, root / "etc/deskphone/board.toml"):
        st = path.stat()
        # May hold SIP passwords: root and the service's group only.
        assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == gid, path
    assert (root / "etc/deskphone/board.toml").read_text() == BOARD

    # The interfaces the board needs: I2C (the display) and the UART (the console); not SPI.
    config = (root / "boot/firmware/config.txt").read_text()
    assert config.startswith(CONFIG_TXT)              # the user's lines stay as they were
    added = config[len(CONFIG_TXT):].splitlines()
    assert "[all]" in added                           # not under the [cm4] section
    for line in ("dtparam=i2c_arm=on", "enable_uart=1"):
        assert line in added and added.index("[all]") < added.index(line), line
    assert "dtparam=spi=on" not in config
    assert (root / "etc/modules-load.d/deskphone.conf").read_text() == "i2c-dev\n"
    assert (root / "boot/firmware/cmdline.txt").read_text() == CMDLINE_TXT   # left alone
    assert "do_serial_cons 1" in out                  # ...but the login console is pointed out

    # What only the real system can do is said, not done.
    assert "would run: apt-get install baresip-core kamailio python3-venv" in out
    # Debian's own kamailio would hold 5060, where the phone's SIP edge listens.
    assert "would run: systemctl disable --now kamailio.service" in out
    assert "python3-lgpio" in out
    assert "would run: python3 -m venv --system-site-packages /opt/deskphone/venv" in out
    assert f"would run: /opt/deskphone/venv/bin/pip install '{ROOT}[pi]'" in out
    assert not (root / "opt/deskphone/venv").exists()


def test_a_second_run_changes_nothing(target):
    root, board = target
    first = run_install(root, "--board", str(board))
    assert first.returncode == 0, first.stderr
    before = snapshot(root)
    second = run_install(root)          # the board is now /etc/deskphone/board.toml
    assert second.returncode == 0, second.stderr
    assert snapshot(root) == before
    assert "nothing changed" in second.stdout.splitlines()[-1]
    assert "installed" not in second.stdout and "added" not in second.stdout


def test_the_config_a_person_edited_is_kept(target):
    root, board = target
    assert run_install(root, "--board", str(board)).returncode == 0
    cfg = root / "etc/deskphone/y000000000000.cfg"
    cfg.write_text("#!version:1.0.0.1\naccount.1.enable = 1\n")
    result = run_install(root, "--board", str(board))
    assert result.returncode == 0
    assert cfg.read_text() == "#!version:1.0.0.1\naccount.1.enable = 1\n"
    assert "kept /etc/deskphone/y000000000000.cfg" in result.stdout


def test_a_bad_board_installs_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    board = tmp_path / "bad.toml"
    board.write_text('[board]\nkind = "pi"\n[dispaly]\ninterface = "i2c"\n')
    result = run_install(root, "--board", str(board))
    assert result.returncode != 0
    assert "dispaly: unknown section" in result.stderr
    assert list(root.iterdir()) == []


def test_without_a_board_it_says_which_to_choose(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    result = run_install(root)
    assert result.returncode == 2
    assert "--board" in result.stderr and "sim.toml" in result.stderr
    assert list(root.iterdir()) == []


def test_board_needs_of_the_repository_boards():
    from deskphone.config.board import load_board
    from deskphone.config.board_needs import needs
    boards = ROOT / "board-configs"
    assert needs(load_board(boards / "sim.toml")) == []
    for path in boards.glob("pi*.toml"):
        board = load_board(path)
        wanted = {board.display.get("interface")} & {"i2c", "spi"}
        assert set(needs(board)) >= wanted, path


def test_board_needs_runs_on_the_bare_system_python(tmp_path):
    # The installer runs it before the venv exists: standard library only (-S: no site dirs).
    board = tmp_path / "b.toml"
    board.write_text(BOARD)
    result = subprocess.run(["python3", "-S", "-m", "deskphone.config.board_needs", str(board)],
                            capture_output=True, text=True, timeout=30,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "firmware")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["i2c", "uart"]
