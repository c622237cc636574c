"""The OLED through luma.oled's real drivers: bytes on the bus, page updates, the worker, unplug/replug."""

from __future__ import annotations

import asyncio
import time

import pytest

from deskphone.core.screens import Screen
from deskphone.hw.display_luma import (DisplaySpec, LumaDisplay, changed_windows,
                                       make_luma_device, power_level, to_pages)
from deskphone.hw.render import render

luma = pytest.importorskip("luma.oled")
from luma.core.error import DeviceNotFoundError  # noqa: E402
from luma.core.interface.serial import i2c  # noqa: E402

from support.oled import FakeSMBus, PanelRam, RecordingSerial  # noqa: E402
from support.waiting import until  # noqa: E402

# luma.oled still calls Image.getdata(), which Pillow 12 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


def dialing(digits: str) -> Screen:
    return Screen("dialing", "Desk", "12:34", (digits, "", ""), ("Send", "Del", "", "Cancel"))


def device(driver: str = "ssd1306", height: int = 64, rotate: int = 0):
    offset = 2 if driver == "sh1106" else 0
    serial = RecordingSerial(PanelRam(driver, 128, height, column_offset=offset))
    spec = DisplaySpec(driver=driver, interface="noop", height=height, rotate=rotate)
    return make_luma_device(spec, serial=serial), serial


@pytest.mark.parametrize("driver", ["ssd1306", "sh1106"])
def test_pages_are_the_bytes_luma_itself_sends(driver):
    dev, serial = device(driver)
    frame = render(dialing("0123456789*#"))
    serial.reset_counts()
    dev.display(frame)                          # luma's own full-frame path
    assert serial.data_bytes == 1024
    assert serial.panel.image().tobytes() == frame.tobytes()
    assert b"".join(to_pages(frame)) == bytes(
        b for page in serial.panel.ram for b in page[serial.panel.offset:serial.panel.offset + 128])


@pytest.mark.parametrize("driver,height", [("ssd1306", 64), ("sh1106", 64), ("ssd1306", 32)])
def test_a_typed_digit_sends_a_few_bytes_and_the_panel_shows_the_frame(driver, height):
    dev, serial = device(driver, height)
    dev.display_changed(render(dialing("20"), 128, height))
    serial.reset_counts()
    frame = render(dialing("201"), 128, height)
    windows = dev.display_changed(frame)
    assert windows >= 1
    assert serial.total < 64, (serial.command_bytes, serial.data_bytes)
    assert serial.panel.image().tobytes() == frame.tobytes()
    serial.reset_counts()
    dev.display_changed(frame)                  # nothing changed: nothing sent
    assert serial.total == 0


@pytest.mark.parametrize("driver", ["ssd1306", "sh1106"])
def test_any_sequence_of_screens_leaves_the_panel_equal_to_the_last_frame(driver):
    dev, serial = device(driver, rotate=2)
    screens = [dialing(""), dialing("5"), Screen("ringing", "Incoming: Desk", "12:35",
                                                 ("Alice", "201", ""), ("Answer", "", "", "Reject")),
               Screen("menu", "Features", "12:35", ("DND   Off", "Always Fwd  On", "Busy"),
                      ("Ok", "", "", "Back"), selected=2),
               dialing("5")]
    for screen in screens:
        frame = render(screen)
        dev.display_changed(frame)
        # The panel is mounted upside down (rotate=2): its memory holds the turned frame.
        assert serial.panel.image().tobytes() == frame.rotate(180).tobytes()


def test_changed_windows_merge_neighbouring_pages_only_when_cheaper():
    blank = [bytes(128)] * 8
    one = list(blank)
    one[1] = bytes(10) + b"\x01" * 5 + bytes(113)
    one[2] = bytes(10) + b"\x01" * 5 + bytes(113)
    windows = changed_windows(blank, one)
    assert [(w.p0, w.p1, w.c0, w.c1) for w in windows] == [(1, 2, 10, 14)]
    far = list(blank)
    far[1] = b"\x01" + bytes(127)
    far[2] = bytes(127) + b"\x01"
    assert len(changed_windows(blank, far)) == 2
    assert changed_windows(None, one)[0] == changed_windows(None, one)[0]


def test_power_level_dims_and_switches_off_at_night():
    spec = DisplaySpec(dim_after=30, night=(23 * 60, 7 * 60))
    assert power_level(spec, 5, 12 * 60) == "on"
    assert power_level(spec, 31, 12 * 60) == "dim"
    assert power_level(spec, 31, 23 * 60 + 30) == "off"
    assert power_level(spec, 31, 6 * 60) == "off"
    assert power_level(spec, 5, 2 * 60) == "on"            # someone is using it at night
    assert power_level(DisplaySpec(), 10_000, 0) == "on"


async def wait_for(pred, timeout: float = 3.0) -> None:
    await until(pred, timeout, "the display's state")


def i2c_display(bus: FakeSMBus, **kw) -> tuple[LumaDisplay, list[tuple[bool, str]]]:
    presence: list[tuple[bool, str]] = []
    spec = DisplaySpec(**kw)
    display = LumaDisplay(
        spec, open_device=lambda: make_luma_device(spec, serial=i2c(bus=bus, address=0x3C)),
        on_presence=lambda p, d: presence.append((p, d)), reopen=0.2, health_check=0.2)
    return display, presence


async def test_the_worker_writes_off_the_loop_and_the_latest_frame_wins():
    bus = FakeSMBus(PanelRam())
    bus.delay = 0.002                           # a slow bus: ~0.1 s per full frame
    display, _ = i2c_display(bus)
    try:
        await wait_for(lambda: display.present)
        started = time.monotonic()
        for n in range(1, 30):
            display.show(dialing("1" * n))
        assert time.monotonic() - started < 0.2   # show() never waits for the bus
        last = render(dialing("1" * 29))
        await wait_for(lambda: bus.panel.image().tobytes() == last.tobytes())
        assert display.written < 29
        assert bus.panel.on
    finally:
        await display.close()
    assert not bus.panel.on                     # closed: switched off explicitly


async def test_panel_unplugged_and_back_recovers_within_five_seconds():
    bus = FakeSMBus(PanelRam())
    display, presence = i2c_display(bus)
    try:
        display.show(dialing("2"))
        await wait_for(lambda: bus.panel.image().tobytes() == render(dialing("2")).tobytes())
        bus.fail_on = "data"                    # luma passes the raw OSError 121 up from data()
        bus.unplug()
        display.show(dialing("20"))
        await wait_for(lambda: presence and presence[-1][0] is False)
        assert "121" in presence[-1][1]
        display.show(dialing("201"))            # the phone goes on; frames keep coming
        await asyncio.sleep(0.3)
        back = time.monotonic()
        bus.fail_on = "all"
        bus.replug()
        await wait_for(lambda: presence[-1][0] is True, timeout=5)
        frame = render(dialing("201"))
        await wait_for(lambda: bus.panel.image().tobytes() == frame.tobytes(), timeout=5)
        assert time.monotonic() - back < 5
        assert display.opened == 2 and bus.panel.on   # re-initialised, switched on
    finally:
        await display.close()


async def test_an_idle_panel_that_goes_away_is_noticed_by_the_health_check():
    bus = FakeSMBus(PanelRam())
    display, presence = i2c_display(bus)
    try:
        display.show(dialing("7"))
        await wait_for(lambda: display.written == 1)
        bus.unplug()                            # nothing is drawn after this
        await wait_for(lambda: presence[-1] [0] is False, timeout=2)
        assert "DeviceNotFoundError" in presence[-1][1]     # luma's own error, from command()
        bus.replug()
        await wait_for(lambda: presence[-1][0] is True, timeout=5)
        await wait_for(lambda: bus.panel.image().tobytes() == render(dialing("7")).tobytes())
    finally:
        await display.close()


async def test_dims_after_idle_and_wakes_on_a_key():
    bus = FakeSMBus(PanelRam())
    display, _ = i2c_display(bus, dim_after=0.3, contrast=200, dim_contrast=10)
    try:
        display.show(dialing("1"))
        await wait_for(lambda: bus.panel.contrast == 200)
        await wait_for(lambda: bus.panel.contrast == 10, timeout=3)
        display.poke()
        await wait_for(lambda: bus.panel.contrast == 200, timeout=2)
        # The clock ticking over is not activity; a new screen is.
        display.show(Screen("dialing", "Desk", "12:35", ("1", "", ""), ("Send", "Del", "", "Cancel")))
        await wait_for(lambda: bus.panel.contrast == 10, timeout=3)
        display.show(dialing("12"))
        await wait_for(lambda: bus.panel.contrast == 200, timeout=2)
    finally:
        await display.close()


def test_a_panel_that_does_not_answer_its_init_leaves_no_bus_open():
    # The host twin of tests/vm/test_display_i2c.py: luma's real i2c interface on a bus whose
    # panel NACKs. smbus2 holds a bare descriptor that only cleanup() closes, so every failed
    # open (one a second while the panel is away) leaked one before the fix.
    def opened(bus: FakeSMBus):
        serial = i2c(bus=bus, address=0x3C)
        serial._managed = True          # as when luma opens /dev/i2c-N itself (port=): its bus
        return serial

    bus = FakeSMBus(PanelRam())
    bus.unplug()
    spec = DisplaySpec()
    for attempt in range(1, 4):
        with pytest.raises(DeviceNotFoundError):      # luma's own error for a NACKing panel
            make_luma_device(spec, serial=opened(bus))
        assert bus.closed == attempt
    bus.replug()
    make_luma_device(spec, serial=i2c(bus=bus, address=0x3C))
    assert bus.closed == 3 and bus.panel.on      # a good open keeps its bus
