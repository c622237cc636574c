"""The OLED on a real I2C adapter: i2c-stub with plain I2C transfers (tests/vm/modules/i2c-stub,
built as i2c-stub-rdwr.ko), a chip at 0x3C, opened by luma through smbus2 and i2c-dev under
the unit (DeviceAllow=char-i2c rw, group i2c).

luma sends the SSD1306's commands as SMBus I2C-block writes and its pixels as plain I2C
messages (I2C_RDWR, 0x40 then the bytes): the stock stub refuses the latter. What reached
the stub is read back from its counters. Then the panel stops answering (rdwr_nack: a panel
pulled off the bus), the phone lets the bus go, the module is unloaded and loaded again, and
the phone draws on the new adapter by itself.
"""

from __future__ import annotations

import time

from conftest import poll, record

PARAMS = "/sys/module/i2c_stub_rdwr/parameters"
BOARD = "/etc/deskphone/board.toml"
SAVED = "/etc/deskphone-vm/board.toml.before-i2c"
SIM_DISPLAY = '[display]\ndriver = "sim"\n'
FRAME = 128 * 64 // 8           # bytes of one full SSD1306 frame


def load_stub(vm) -> int:
    """Load i2c-dev and the stub; the number of the stub's adapter (its /dev/i2c-N)."""
    vm.ssh("modprobe i2c-dev && modprobe i2c-stub-rdwr chip_addr=0x3c && udevadm settle")
    bus = vm.out("for d in /sys/class/i2c-dev/i2c-*; do "
                 "[ \"$(cat $d/name)\" = 'SMBus stub driver' ] && basename $d; done; true").strip()
    assert bus.startswith("i2c-"), vm.out("ls -l /sys/class/i2c-dev/; cat /sys/class/i2c-dev/*/name")
    assert vm.out(f"stat -c %G /dev/{bus}").strip() == "i2c"
    return int(bus.removeprefix("i2c-"))


def counters(vm) -> dict[str, int]:
    text = vm.out(f"cd {PARAMS} && for f in rdwr_*; do echo $f $(cat $f); done")
    return {k: (1 if v == "Y" else 0 if v == "N" else int(v))
            for k, v in (line.split() for line in text.splitlines())}


def wait_counters(vm, predicate, timeout: float = 120) -> dict[str, int]:
    return poll(lambda: counters(vm), predicate, timeout)


def test_oled_on_i2c_stub_plain_i2c_and_a_reload(installed, receiver):
    vm = installed.vm
    # The installer made group i2c after udevd had read its rules (the image's i2c-dev rule).
    vm.ssh("systemctl restart systemd-udevd")
    bus = load_stub(vm)
    board = vm.out(f"cat {BOARD}")
    assert SIM_DISPLAY in board, board
    vm.ssh(f"mkdir -p /etc/deskphone-vm && cp -p {BOARD} {SAVED}")
    vm.write(BOARD, board.replace(SIM_DISPLAY, (
        '[display]\ndriver = "ssd1306"\ninterface = "i2c"\n'
        f"i2c_port = {bus}\ni2c_address = 0x3C\nwidth = 128\nheight = 64\n")))
    try:
        mark = installed.restart()
        receiver.wait("setup_completed", since=mark, timeout=240)
        # luma's init (SMBus) then the first full frame as plain I2C data messages.
        first = wait_counters(vm, lambda c: c["rdwr_data_bytes"] >= FRAME)
        assert first["rdwr_last_addr"] == 0x3C
        assert first["rdwr_lit_bytes"] > 0, first          # the idle screen draws something
        pid = installed.show("MainPID")["MainPID"]
        assert f"/dev/i2c-{bus}" in vm.out(f"ls -l /proc/{pid}/fd")
        record("amd64.i2c_first_frame_bytes", first["rdwr_data_bytes"])
        # The panel stops answering: the phone says so and lets the bus go.
        vm.ssh(f"echo 1 > {PARAMS}/rdwr_nack")
        deadline = time.monotonic() + 60
        while "display lost" not in installed.run_journal():
            assert time.monotonic() < deadline, installed.run_journal()[-2000:]
            time.sleep(1)
        deadline = time.monotonic() + 60
        while f"/dev/i2c-{bus}" in vm.out(f"ls -l /proc/{pid}/fd"):
            assert time.monotonic() < deadline, "the phone kept the lost bus open"
            time.sleep(1)
        # Unloaded (the adapter is gone: the phone's reopening meets no /dev/i2c-N) and back.
        # (The phone's reopening holds the device for an instant each second: rmmod may meet it.)
        vm.ssh("for i in $(seq 20); do rmmod i2c_stub_rdwr 2>/dev/null && exit 0; sleep 0.5; done; "
               "rmmod i2c_stub_rdwr")
        time.sleep(3)
        assert not vm.out(f"ls /dev/i2c-{bus} 2>/dev/null; true").strip()
        start = time.monotonic()
        assert load_stub(vm) == bus
        again = wait_counters(vm, lambda c: c["rdwr_data_bytes"] >= FRAME)
        record("amd64.i2c_reload_to_full_frame_s", round(time.monotonic() - start, 1))
        assert again["rdwr_lit_bytes"] > 0 and again["rdwr_nack"] == 0, again
        assert installed.show("MainPID")["MainPID"] == pid          # recovered, not restarted
        assert f"/dev/i2c-{bus}" in vm.out(f"ls -l /proc/{pid}/fd")
    finally:
        vm.ssh(f"cp -p {SAVED} {BOARD}")
        mark = installed.restart()
        receiver.wait("setup_completed", since=mark, timeout=240)
        vm.ssh("rmmod i2c_stub_rdwr; true")
