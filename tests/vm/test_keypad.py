"""The keypad as a real input device: QEMU's virtio-keyboard-pci, found by its name under the
unit's DeviceAllow=char-input r, typed from the host with QMP send-key, unplugged and replugged.

Caught here first: python-evdev's list_devices() keeps only nodes it may open read-write;
under the unit it returned [] and a keypad named by name/phys was never found.
"""

from __future__ import annotations

import time

from conftest import poll


def status(installed) -> str:
    return installed.show("StatusText")["StatusText"]


def wait_status(installed, predicate, timeout: float = 60) -> str:
    return poll(lambda: status(installed), predicate, timeout)


def press(vm, qcode: str) -> None:
    # No "device": send-key reaches a virtio-keyboard-pci only without one.
    vm.qmp("send-key", keys=[{"type": "qcode", "data": qcode}])


def test_keypad_found_by_name_under_the_unit(installed):
    wait_status(installed, lambda t: "Keypad missing" not in t)


def test_typed_key_reaches_the_phone(installed, receiver):
    wait_status(installed, lambda t: "Keypad missing" not in t)
    mark = receiver.mark()
    start = time.monotonic()
    press(installed.vm, "num_lock")         # the usb-numpad map: NumLock is SPEAKER (Handfree)
    when, _ = receiver.wait("handfree", since=mark, timeout=60)
    from conftest import record
    record("amd64.key_to_action_url_s", round(when - start, 2))
    mark = receiver.mark()
    press(installed.vm, "num_lock")
    receiver.wait("busy_to_idle", since=mark, timeout=60)


def test_keypad_unplug_and_replug(installed, receiver):
    wait_status(installed, lambda t: "Keypad missing" not in t)
    installed.vm.qmp("device_del", id="kbd")
    wait_status(installed, lambda t: "Keypad missing" in t)
    installed.vm.qmp("device_add", driver="virtio-keyboard-pci", id="kbd")
    wait_status(installed, lambda t: "Keypad missing" not in t)
    mark = receiver.mark()
    press(installed.vm, "num_lock")
    receiver.wait("handfree", since=mark, timeout=60)
    mark = receiver.mark()
    press(installed.vm, "num_lock")
    receiver.wait("busy_to_idle", since=mark, timeout=60)
