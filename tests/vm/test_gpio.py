"""The hook switch and the LEDs on a GPIO character device: gpio-sim lines (built out of tree
for Debian's 6.1 kernel, tests/vm/modules/gpio-sim), opened by lgpio as on a Pi. The host
flips the hook line's simulated pull and reads the LED lines back."""

from __future__ import annotations

import time

from conftest import ARCH, BOARD_SUFFIX, record

CONFIGFS = "/sys/kernel/config/gpio-sim/deskphone"
# gpiozero picks pins from the Pi revision in /proc/cpuinfo; an x86 VM has none, and the
# unit's ProtectProc= gives the service its own /proc: a VM-only drop-in binds one in.
DROPIN = "/etc/systemd/system/deskphone.service.d/vm-pi-revision.conf"
BOARD_GPIO = f"/opt/deskphone/src/tests/vm/board-vm{BOARD_SUFFIX}-gpio.toml"
BOARD = f"/opt/deskphone/src/tests/vm/board-vm{BOARD_SUFFIX}.toml"


def make_chip(vm) -> str:
    """A 28-line gpio-sim chip (the Pi header's GPIO 0-27); its sysfs directory."""
    vm.ssh("modprobe gpio-sim && (mountpoint -q /sys/kernel/config || "
           "mount -t configfs none /sys/kernel/config)")
    # The image's udev rule gives /dev/gpiochip* to group gpio (as Raspberry Pi OS does); the
    # installer created that group after udevd had resolved its rules: restart udevd.
    vm.ssh("systemctl restart systemd-udevd")
    vm.ssh(f"[ -d {CONFIGFS} ] || {{ mkdir {CONFIGFS} {CONFIGFS}/bank0 && "
           f"echo 28 > {CONFIGFS}/bank0/num_lines && echo 1 > {CONFIGFS}/live; }}; "
           "udevadm settle; udevadm trigger --action=add --subsystem-match=gpio; udevadm settle")
    dev = vm.out(f"cat {CONFIGFS}/dev_name").strip()
    chip = vm.out(f"cat {CONFIGFS}/bank0/chip_name").strip()
    assert chip == "gpiochip0", chip            # what lgpio opens on a Pi 4
    assert vm.out(f"stat -c %G /dev/{chip}").strip() == "gpio"
    return f"/sys/devices/platform/{dev}/{chip}"


def test_hook_edges_and_power_led_pwm_on_gpio_sim(installed, receiver):
    vm = installed.vm
    sysfs = make_chip(vm)
    cpuinfo = vm.out("cat /proc/cpuinfo") + "\nHardware\t: BCM2835\nRevision\t: c03114\n" \
        "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
    vm.write("/etc/deskphone-vm/cpuinfo", cpuinfo)
    vm.write(DROPIN, "[Service]\nBindReadOnlyPaths=/etc/deskphone-vm/cpuinfo:/proc/cpuinfo\n")
    mark = receiver.mark()
    try:
        vm.ssh("systemctl daemon-reload")
        vm.out(f"/opt/deskphone/src/systemd/install.sh --board {BOARD_GPIO}", timeout=600)
        receiver.wait("setup_completed", since=mark, timeout=180)
        pid = installed.show("MainPID")["MainPID"]
        assert "gpiochip0" in vm.out(f"ls -l /proc/{pid}/fd")
        # The power LED at brightness 0.3: lgpio's PWM on line 18, its duty sampled from sysfs.
        samples = vm.out(f"for i in $(seq 200); do cat {sysfs}/sim_gpio18/value; done").split()
        duty = samples.count("1") / len(samples)
        record(f"{ARCH}.gpio_power_led_duty", round(duty, 2))
        assert 0.12 <= duty <= 0.5, duty
        # The hook line: its pull flipped from the host is the handset lifted and put down.
        # gpiozero's pull-up bias (set through the chip) reads high at the start: off hook.
        for pull, event in (("pull-down", "on_hook"), ("pull-up", "off_hook"),
                            ("pull-down", "on_hook")):
            mark = receiver.mark()
            start = time.monotonic()
            vm.ssh(f"echo {pull} > {sysfs}/sim_gpio17/pull")
            when, _ = receiver.wait(event, since=mark, timeout=60)
            record(f"{ARCH}.gpio_{event}_edge_to_action_url_s", round(when - start, 2))
    finally:
        vm.ssh(f"rm -f {DROPIN} && systemctl daemon-reload")
        mark = receiver.mark()
        vm.out(f"/opt/deskphone/src/systemd/install.sh --board {BOARD}", timeout=600)
        receiver.wait("setup_completed", since=mark, timeout=180)
