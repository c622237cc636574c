"""A login console on the phone's serial port: the phone leaves it to the getty and says so.

As on a Pi with `console=serial0,115200` in cmdline.txt: the kernel's console is the VM's
ttyS0 (console=ttyS0 in its command line), systemd's getty generator starts
serial-getty@ttyS0 (the image masks it; this test unmasks and starts it), and the board
names the port by the Pi's alias /dev/serial0 (a symlink, as Raspberry Pi OS's udev rules
make it). The phone must not open the port, must log the clash with the way out, and the
getty must still own the line (its login prompt reaches the host on the first UART).
"""

from __future__ import annotations

import time

BOARD = "/etc/deskphone/board.toml"
MINE = 'port = "/dev/ttyS1"'
CLASH = 'port = "/dev/serial0"'


def test_a_getty_on_the_console_port_is_left_alone_and_announced(installed, receiver):
    vm = installed.vm
    assert "console=ttyS0" in vm.out("cat /proc/cmdline")
    assert MINE in vm.out(f"cat {BOARD}")
    seen_before = vm.console_log.read_bytes().count(b"login:")
    vm.ssh("ln -sfn ttyS0 /dev/serial0 && systemctl unmask serial-getty@ttyS0.service && "
           "systemctl start serial-getty@ttyS0.service")
    try:
        deadline = time.monotonic() + 120
        while vm.console_log.read_bytes().count(b"login:") <= seen_before:
            assert time.monotonic() < deadline, "no login prompt from the getty on ttyS0"
            time.sleep(1)
        vm.ssh(f"sed -i 's#^{MINE}$#{CLASH}#' {BOARD}")
        mark = installed.restart()
        receiver.wait("setup_completed", since=mark, timeout=240)
        journal = installed.run_journal()
        assert "/dev/serial0 is the kernel's login console (console=ttyS0" in journal, journal[-3000:]
        assert "raspi-config nonint do_serial_cons 1" in journal
        pid = installed.show("MainPID")["MainPID"]
        fds = vm.out(f"ls -l /proc/{pid}/fd")
        assert "/dev/ttyS0" not in fds and "/dev/ttyS1" not in fds, fds
        # The getty still has the line, and the phone is otherwise up.
        assert vm.out("systemctl is-active serial-getty@ttyS0.service").strip() == "active"
        assert "agetty" in vm.out("ps -o comm= -t ttyS0")
        assert installed.show("ActiveState")["ActiveState"] == "active"
    finally:
        vm.ssh(f"sed -i 's#^{CLASH}$#{MINE}#' {BOARD}; systemctl stop serial-getty@ttyS0.service; "
               "systemctl mask serial-getty@ttyS0.service; rm -f /dev/serial0")
        mark = installed.restart()
        receiver.wait("setup_completed", since=mark, timeout=240)
    # Its own port again once the board names it.
    deadline = time.monotonic() + 60
    while "/dev/ttyS1" not in vm.out(f"ls -l /proc/{installed.show('MainPID')['MainPID']}/fd"):
        assert time.monotonic() < deadline, "the phone did not open /dev/ttyS1 again"
        time.sleep(1)
