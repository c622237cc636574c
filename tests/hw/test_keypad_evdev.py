"""The evdev keypad over python-evdev's real reading code (ptys carrying struct input_event records)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from deskphone.core import inputs as ins
from deskphone.core.phone import DeviceInfo, Phone
from deskphone.core import effects as fx
from deskphone.config.board_input import KEYMAPS, build_keymap
from deskphone.hw.keypad_evdev import DeviceMatch, EvdevHookSwitch, EvdevKeypad

evdev = pytest.importorskip("evdev")
from evdev import ecodes as e  # noqa: E402

from support.evdev_node import INPUT_EVENT, FakeInputBus, PtyInputDevice, pack  # noqa: E402

MATRIX = "matrix-keypad"


class Inbox:
    def __init__(self) -> None:
        self.items: list[ins.Input] = []
        self._changed = asyncio.Event()

    def post(self, inp: ins.Input) -> None:
        self.items.append(inp)
        self._changed.set()

    async def until(self, pred, timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred(self.items):
                self._changed.clear()
                await self._changed.wait()

    def keys(self) -> str:
        return " ".join(i.key for i in self.items if isinstance(i, ins.KeyPress))

    def states(self) -> list[tuple[str, bool]]:
        return [(i.device, i.present) for i in self.items if isinstance(i, ins.DeviceState)]


@pytest.fixture
def bus():
    b = FakeInputBus()
    yield b
    b.close()


def keypad(inbox: Inbox, bus: FakeInputBus, *matches: DeviceMatch, maps=("matrix-keypad", "buttons"),
           rescan: float = 0.2) -> EvdevKeypad:
    kp = EvdevKeypad(inbox.post, list(matches) or [DeviceMatch(name=MATRIX)],
                     build_keymap(list(maps), {}), bus=bus, rescan=rescan)
    kp.start()
    return kp


def test_the_record_layout_is_the_native_struct_input_event():
    # 24 bytes on 64-bit Linux (arm64, x86_64), 16 on 32-bit (armhf): two longs, two u16, one s32.
    import struct
    assert INPUT_EVENT.size == 2 * struct.calcsize("@l") + 8


async def test_evdev_reads_the_packed_records_as_the_kernel_would_send_them(bus):
    node = bus.plug(MATRIX)
    dev = PtyInputDevice(node)
    node.write(pack(e.EV_KEY, e.KEY_NUMERIC_5, 1, when=1700000000.25)
               + pack(e.EV_SYN, e.SYN_REPORT, 0, when=1700000000.25))
    got = []
    async with asyncio.timeout(2):
        async for event in dev.async_read_loop():
            got.append(event)
            if len(got) == 2:
                break
    dev.close()
    assert (got[0].sec, got[0].usec, got[0].type, got[0].code, got[0].value) == \
        (1700000000, 250000, e.EV_KEY, e.KEY_NUMERIC_5, 1)
    assert got[1].type == e.EV_SYN


async def test_digits_arrive_in_order_and_releases_and_held_digits_do_not_repeat(bus):
    node = bus.plug(MATRIX, phys="gpio-keys/input0")
    inbox = Inbox()
    kp = keypad(inbox, bus)
    try:
        await inbox.until(lambda items: ("keypad", True) in [(i.device, i.present) for i in items
                                                              if isinstance(i, ins.DeviceState)])
        assert node.grabs == 1
        for code in (e.KEY_NUMERIC_2, e.KEY_NUMERIC_0, e.KEY_NUMERIC_1, e.KEY_NUMERIC_POUND):
            node.press(code)
            node.repeat(code)               # held: the kernel autorepeats it
            node.release(code)
        node.press(e.KEY_DOWN)              # navigation keys do repeat
        node.repeat(e.KEY_DOWN)
        node.repeat(e.KEY_DOWN)
        node.release(e.KEY_DOWN)
        node.tap(e.KEY_A)                   # not in the key map: ignored
        node.tap(e.KEY_OK)
        await inbox.until(lambda items: inbox.keys().endswith("OK"))
        assert inbox.keys() == "2 0 1 # DOWN DOWN DOWN OK"
    finally:
        await kp.close()


@pytest.mark.parametrize("match", [DeviceMatch(phys="usb-0000:01:00.0-1.3/input0"),
                                   DeviceMatch(path="/dev/input/by-id/usb-Numpad-event-kbd")])
async def test_found_by_phys_or_by_id_link_among_other_devices(bus, match):
    bus.plug("vc4-hdmi", phys="vc4-hdmi/input0")
    pad = bus.plug("USB Numpad", phys="usb-0000:01:00.0-1.3/input0",
                   link="/dev/input/by-id/usb-Numpad-event-kbd")
    inbox = Inbox()
    kp = keypad(inbox, bus, match, maps=("usb-numpad",))
    try:
        await inbox.until(lambda items: inbox.states() == [("keypad", True)])
        pad.tap(e.KEY_KP7)
        pad.tap(e.KEY_KPASTERISK)
        pad.tap(e.KEY_KPENTER)
        await inbox.until(lambda items: inbox.keys() == "7 * OK")
    finally:
        await kp.close()


def test_a_bare_event_number_is_refused():
    with pytest.raises(ValueError, match="by-id"):
        DeviceMatch(path="/dev/input/event3")


async def test_unplug_mid_stream_then_replug_is_picked_up_within_two_seconds(bus):
    node = bus.plug(MATRIX)
    inbox = Inbox()
    kp = keypad(inbox, bus, rescan=0.5)
    try:
        await inbox.until(lambda items: inbox.states() == [("keypad", True)])
        node.tap(e.KEY_NUMERIC_1)
        node.tap(e.KEY_NUMERIC_2)
        bus.unplug(node)                    # mid-stream: what was sent still arrives
        await inbox.until(lambda items: ("keypad", False) in inbox.states())
        assert inbox.keys() == "1 2"
        assert kp.sources[0].device is None  # closed, not leaked
        missing = [i for i in inbox.items if isinstance(i, ins.DeviceState)][-1]
        assert missing.detail == "name='matrix-keypad'"

        await asyncio.sleep(0.3)
        plugged = time.monotonic()
        node2 = bus.plug(MATRIX)            # back, under a new eventN
        await inbox.until(lambda items: inbox.states()[-1] == ("keypad", True), timeout=2.0)
        assert time.monotonic() - plugged < 2.0
        node2.tap(e.KEY_NUMERIC_3)
        await inbox.until(lambda items: inbox.keys() == "1 2 3")
        assert node2.grabs == 1 and kp.sources[0].opened == 2
    finally:
        await kp.close()


async def test_missing_at_start_is_reported_and_found_later(bus):
    inbox = Inbox()
    kp = keypad(inbox, bus)
    try:
        await inbox.until(lambda items: inbox.states() == [("keypad", False)])
        node = bus.plug(MATRIX)
        await inbox.until(lambda items: inbox.states() == [("keypad", False), ("keypad", True)])
        node.tap(e.KEY_NUMERIC_9)
        await inbox.until(lambda items: inbox.keys() == "9")
    finally:
        await kp.close()


async def test_close_cancels_the_reader_then_closes_the_device(bus):
    node = bus.plug(MATRIX)
    inbox = Inbox()
    kp = keypad(inbox, bus)
    await inbox.until(lambda items: inbox.states() == [("keypad", True)])
    fd = kp.sources[0].device.fd
    await kp.close()
    with pytest.raises(OSError):
        os.fstat(fd)
    node.tap(e.KEY_NUMERIC_1)           # nobody reads it, and nothing breaks
    await asyncio.sleep(0.05)
    assert inbox.keys() == ""


async def test_hook_switch_from_a_gpio_key_device(bus):
    node = bus.plug("hook")
    node.held.add(e.KEY_PHONE)          # the handset rests on the switch at start
    inbox = Inbox()
    hook = EvdevHookSwitch(inbox.post, DeviceMatch(name="hook"), "KEY_PHONE", bus=bus, rescan=0.2)
    hook.start()
    try:
        await inbox.until(lambda items: any(isinstance(i, ins.HookChanged) for i in items))
        node.release(e.KEY_PHONE)       # lifted
        node.press(e.KEY_PHONE)         # put back
        await inbox.until(lambda items: len([i for i in items if isinstance(i, ins.HookChanged)]) == 3)
        assert [i.off_hook for i in inbox.items if isinstance(i, ins.HookChanged)] == [False, True, False]
    finally:
        await hook.close()


def test_every_ready_made_map_names_real_codes_and_phone_keys():
    for name, mapping in KEYMAPS.items():
        for code in mapping:
            assert code in e.ecodes, (name, code)
    keymap = build_keymap(["usb-numpad", "matrix-keypad", "buttons"], {"KEY_F5": "L3"})
    assert keymap["KEY_F5"] == "L3" and keymap["KEY_NUMERIC_POUND"] == "#"
    with pytest.raises(ValueError, match="not a phone key"):
        build_keymap([], {"KEY_F5": "L99"})


def test_the_core_shows_keypad_missing_and_clears_it():
    phone = Phone({"account.1.enable": True, "account.1.label": "Desk"},
                  DeviceInfo("001565000001", "T", "1"))
    phone.handle(ins.Start(), 0.0)
    out = phone.handle(ins.DeviceState("keypad", False), 1.0)
    screen = next(x.screen for x in out if isinstance(x, fx.Render))
    assert screen.lines[2] == "Keypad missing"
    assert "Keypad missing" in screen.status
    out = phone.handle(ins.DeviceState("keypad", True), 2.0)
    screen = next(x.screen for x in out if isinstance(x, fx.Render))
    assert "Keypad missing" not in screen.lines
