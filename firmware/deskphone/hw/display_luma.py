"""The OLED (SSD1306 or SH1106, I2C or SPI) through luma.oled, written from a worker thread.

- ``show(screen)`` renders on the loop (pure, about a millisecond) and hands
  the frame to the worker: the latest frame wins, an unchanged frame costs
  nothing, and the loop never waits for the bus.
- luma's ``display()`` always sends the whole frame (1024 bytes at 128x64).
  ``PagedSSD1306`` / ``PagedSH1106`` are luma's drivers plus
  ``display_changed()``, which sends only the 8-pixel-high pages that changed,
  each narrowed to the columns that changed: a typed digit costs a few dozen
  bytes instead of a frame.
- A panel that goes away (``luma.core.error.DeviceNotFoundError`` or a raw
  ``OSError``, errno 121 on I2C) is reported missing; the worker re-creates
  the device (its init sequence included) every ``REOPEN_SECONDS`` until it
  answers, then sends the latest frame in full. While idle it sends one
  contrast command every ``HEALTH_CHECK_SECONDS``, so an unplugged panel is
  noticed even when nothing changes. (SPI has no acknowledge: a panel lost
  on SPI cannot be noticed, only re-initialised when the phone restarts.)
- Power save: the contrast drops after ``dim_after`` seconds without activity
  and the panel switches off during the night hours, if configured; a key, the
  hook or a screen change other than the clock wakes it.
- Clean-up is explicit (``close()``): luma's atexit hook is made a no-op.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from PIL import Image

from ..config.board_hw import DisplaySpec
from ..core.screens import Screen
from .render import render

log = logging.getLogger("deskphone.hw.display")

REOPEN_SECONDS = 1.0
HEALTH_CHECK_SECONDS = 2.0


# ---------------------------------------------------------------- page maths


def to_pages(image: Image.Image) -> list[bytes]:
    """A 1-bit image in the panel's own orientation -> one bytes per page, a byte per column.

    Bit 0 of each byte is the top pixel row of the page, as SSD1306 and SH1106 take it.
    """
    width, height = image.size
    pages = []
    for top in range(0, height, 8):
        strip = image.crop((0, top, width, top + 8))
        # Turn the 8-row strip so each column becomes a row of 8 pixels, packed
        # by Pillow into one byte (first pixel = most significant bit)...
        column_rows = strip.transpose(Image.Transpose.ROTATE_90).transpose(
            Image.Transpose.FLIP_TOP_BOTTOM)
        # ...then mirror so the top pixel lands in bit 0.
        packed = column_rows.transpose(Image.Transpose.FLIP_LEFT_RIGHT).tobytes()
        pages.append(packed)
    return pages


@dataclass(frozen=True)
class Window:
    """A rectangle of the panel's memory to rewrite: pages ``p0..p1``, columns ``c0..c1`` (inclusive)."""
    p0: int
    p1: int
    c0: int
    c1: int


WINDOW_COST = 6          # command bytes that set one window (SSD1306: 0x21 c0 c1 0x22 p0 p1)


def changed_windows(old: list[bytes] | None, new: list[bytes]) -> list[Window]:
    """The windows that cover every changed byte; neighbouring pages merge when that is cheaper."""
    if old is None or len(old) != len(new):
        return [Window(0, len(new) - 1, 0, len(new[0]) - 1)]
    spans: list[tuple[int, int, int]] = []
    for page, (a, b) in enumerate(zip(old, new)):
        if a == b:
            continue
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        spans.append((page, diff[0], diff[-1]))
    windows: list[Window] = []
    for page, c0, c1 in spans:
        last = windows[-1] if windows else None
        if last is not None and last.p1 == page - 1:
            merged = Window(last.p0, page, min(last.c0, c0), max(last.c1, c1))
            separate = ((last.c1 - last.c0 + 1) * (last.p1 - last.p0 + 1)
                        + (c1 - c0 + 1) + WINDOW_COST)
            if (merged.c1 - merged.c0 + 1) * (merged.p1 - merged.p0 + 1) <= separate:
                windows[-1] = merged
                continue
        windows.append(Window(page, page, c0, c1))
    return windows


class _PagedMixin:
    """What the paged drivers add to luma's: ``display_changed`` and explicit clean-up."""

    _pages_sent: list[bytes] | None
    _closing = False

    def _after_init(self) -> None:
        # luma's constructor has just cleared the panel: it shows blank pages.
        blank = Image.new("1", (self._w, self._h))  # type: ignore[attr-defined]
        self._pages_sent = to_pages(blank)

    def display_changed(self, image: Image.Image) -> int:
        """Send only what differs from the last frame sent; returns the windows written."""
        assert image.mode == "1" and image.size == self.size  # type: ignore[attr-defined]
        native = self.preprocess(image)  # type: ignore[attr-defined]  # rotation, as luma does it
        pages = to_pages(native)
        windows = changed_windows(self._pages_sent, pages)
        for w in windows:
            self._write_window(w, pages)
        self._pages_sent = pages
        return len(windows)

    def display(self, image: Image.Image) -> None:   # luma's full-frame path stays available
        super().display(image)  # type: ignore[misc]
        self._pages_sent = to_pages(self.preprocess(image))  # type: ignore[attr-defined]

    def _write_window(self, w: Window, pages: list[bytes]) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        # luma registers cleanup() with atexit; only our close() may run it.
        if self._closing:
            super().cleanup()  # type: ignore[misc]


def _paged_classes() -> tuple[type, type]:
    from luma.oled.device import sh1106, ssd1306

    class PagedSSD1306(_PagedMixin, ssd1306):
        def __init__(self, serial_interface: Any, **kwargs: Any) -> None:
            ssd1306.__init__(self, serial_interface, **kwargs)
            self._after_init()

        def _write_window(self, w: Window, pages: list[bytes]) -> None:
            # Horizontal addressing (set by luma's init): the window fills row by row.
            self.command(self._const.COLUMNADDR, self._colstart + w.c0, self._colstart + w.c1,
                         self._const.PAGEADDR, w.p0, w.p1)
            self.data(b"".join(pages[p][w.c0:w.c1 + 1] for p in range(w.p0, w.p1 + 1)))

    class PagedSH1106(_PagedMixin, sh1106):
        def __init__(self, serial_interface: Any, **kwargs: Any) -> None:
            sh1106.__init__(self, serial_interface, **kwargs)
            self._after_init()

        def _write_window(self, w: Window, pages: list[bytes]) -> None:
            # Page addressing only: one page at a time, from column c0 on.
            column = self._page_address_offset + w.c0
            for p in range(w.p0, w.p1 + 1):
                self.command(0xB0 + p, column & 0x0F, 0x10 | (column >> 4))
                self.data(pages[p][w.c0:w.c1 + 1])

    return PagedSSD1306, PagedSH1106


# ------------------------------------------------------------ configuration


class GpiozeroGpio:
    """The corner of RPi.GPIO luma's SPI interface uses (DC and RESET), on gpiozero pins.

    RPi.GPIO does not work on the Pi 5; gpiozero's lgpio factory does.
    """

    OUT, LOW, HIGH = "out", 0, 1

    def __init__(self, pin_factory: Any = None) -> None:
        self._factory = pin_factory
        self._pins: dict[int, Any] = {}

    def setup(self, pin: int, direction: str) -> None:
        from gpiozero import DigitalOutputDevice
        self._pins[pin] = DigitalOutputDevice(pin, pin_factory=self._factory)

    def output(self, pin: int, level: int) -> None:
        self._pins[pin].value = 1 if level else 0

    def cleanup(self, pins: Any = None) -> None:
        for device in self._pins.values():
            device.close()
        self._pins.clear()


def make_luma_device(spec: DisplaySpec, *, pin_factory: Any = None,
                     serial: Any = None) -> Any:
    """A paged luma driver for ``spec``: the bus opened, the init sequence sent."""
    ssd1306_cls, sh1106_cls = _paged_classes()
    if serial is None:
        from luma.core.interface import serial as luma_serial
        if spec.interface == "i2c":
            serial = luma_serial.i2c(port=spec.i2c_port, address=spec.i2c_address)
        elif spec.interface == "spi":
            serial = luma_serial.spi(gpio=GpiozeroGpio(pin_factory), port=spec.spi_port,
                                     device=spec.spi_device, bus_speed_hz=spec.spi_bus_speed_hz,
                                     gpio_DC=spec.gpio_dc, gpio_RST=spec.gpio_reset)
        else:
            serial = luma_serial.noop()
    cls = ssd1306_cls if spec.driver == "ssd1306" else sh1106_cls
    try:
        device = cls(serial, width=spec.width, height=spec.height, rotate=spec.rotate)
        device.contrast(spec.contrast)
    except BaseException:
        # The bus is open (smbus2 holds a bare fd that only cleanup() closes): a panel that
        # does not answer its init sequence must not leak it on every retry (found by
        # tests/vm/test_display_i2c.py: one fd a second, and the adapter could never go).
        try:
            serial.cleanup()
        except Exception:
            pass
        raise
    return device


# ------------------------------------------------------------- power save


def power_level(spec: DisplaySpec, idle_for: float, minute_of_day: int) -> str:
    """on | dim | off, from the seconds since the last activity and the local time."""
    if spec.night is not None:
        start, end = spec.night
        at_night = start <= minute_of_day < end if start < end else \
            minute_of_day >= start or minute_of_day < end
        if at_night and idle_for >= max(spec.dim_after, 30.0):
            return "off"
    if spec.dim_after and idle_for >= spec.dim_after:
        return "dim"
    return "on"


# ----------------------------------------------------------------- adapter


class LumaDisplay:
    """Implements the runtime's ``Display`` port on a luma panel; keeps ``screen``/``frame`` like SimDisplay."""

    def __init__(self, spec: DisplaySpec, *, open_device: Callable[[], Any] | None = None,
                 on_presence: Callable[[bool, str], None] = lambda present, detail: None,
                 reopen: float = REOPEN_SECONDS, health_check: float = HEALTH_CHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 local_minute: Callable[[], int] | None = None) -> None:
        self.spec = spec
        self.width, self.height = spec.width, spec.height
        self.screen: Screen | None = None
        self.frame: Image.Image = Image.new("1", (spec.width, spec.height), 0)
        self.frames = 0
        self.listeners: list[Callable[[Image.Image], None]] = []
        self.present: bool | None = None
        self.opened = 0                     # devices created (1 + re-initialisations)
        self.written = 0                    # frames that reached the bus
        self.power = "on"
        self._open_device = open_device or (lambda: make_luma_device(spec))
        self._on_presence = on_presence
        self._reopen = reopen
        self._health_check = health_check
        self._clock = clock
        self._local_minute = local_minute or _local_minute
        self._cond = threading.Condition()
        self._pending: Image.Image | None = None
        self._stopping = False
        self._last_activity = clock()
        self._device: Any = None
        self._thread = threading.Thread(target=self._run, name="display-writer", daemon=True)
        self._thread.start()

    # -- the loop side ----------------------------------------------------

    def show(self, screen: Screen) -> None:
        previous = self.screen
        self.screen = screen
        if previous is None or replace(previous, corner="") != replace(screen, corner=""):
            self.poke()                     # a new state, not just the clock: wake up
        frame = render(screen, self.width, self.height)
        if frame.tobytes() == self.frame.tobytes() and self.frames:
            return
        self.frame = frame
        self.frames += 1
        for listener in list(self.listeners):
            listener(frame)
        with self._cond:
            self._pending = frame           # latest frame wins
            self._cond.notify()

    def poke(self) -> None:
        """Someone is at the phone: full brightness, and the idle timers start again."""
        with self._cond:
            self._last_activity = self._clock()
            self._cond.notify()

    async def close(self) -> None:
        import asyncio
        with self._cond:
            self._stopping = True
            self._cond.notify()
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 3.0)

    # -- the worker thread --------------------------------------------------

    def _run(self) -> None:
        sent: Image.Image | None = None      # the frame the panel shows
        last_io = self._clock()
        open_at = 0.0                        # when to try (re)opening the panel next
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        break
                    now = self._clock()
                    frame = self._pending if self._pending is not sent else None
                    wanted = power_level(self.spec, now - self._last_activity,
                                         self._local_minute())
                    if self._device is None:
                        if now >= open_at:
                            break
                        timeout: float | None = open_at - now
                    else:
                        due = self._health_check and now - last_io >= self._health_check
                        if frame is not None or wanted != self.power or due:
                            break
                        timeout = self._health_check - (now - last_io) \
                            if self._health_check else None
                        if self.spec.dim_after or self.spec.night:
                            timeout = min(timeout or 1.0, 1.0)
                    self._cond.wait(timeout)
                if self._stopping:
                    break
            try:
                if self._device is None:
                    self._device = self._open_device()
                    self.opened += 1
                    self.power = "on"
                    sent = None
                    self._presence(True, "")
                    frame = self._pending
                if wanted != self.power:
                    self._set_power(wanted)
                if frame is not None and frame is not sent:
                    self._device.display_changed(frame)
                    self.written += 1
                    sent = frame
                elif self._health_check and self._clock() - last_io >= self._health_check:
                    # Nothing to draw: one small write tells whether the panel is still there.
                    self._device.contrast(self._contrast_for(self.power))
                last_io = self._clock()
            except Exception as exc:   # DeviceNotFoundError, OSError 121, a half-dead bus...
                if self.present is not False:
                    log.warning("display lost (%s); trying it again every %.1f s",
                                _describe(exc), self._reopen)
                self._drop()
                self._presence(False, _describe(exc))
                open_at = self._clock() + self._reopen
        self._shutdown()

    def _contrast_for(self, power: str) -> int:
        return self.spec.dim_contrast if power == "dim" else self.spec.contrast

    def _set_power(self, wanted: str) -> None:
        device = self._device
        if wanted == "off":
            device.hide()
        else:
            if self.power == "off":
                device.show()
            device.contrast(self._contrast_for(wanted))
        self.power = wanted

    def _presence(self, present: bool, detail: str) -> None:
        if present != self.present:
            self.present = present
            self._on_presence(present, detail)

    def _drop(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device._serial_interface.cleanup()
            except Exception:
                pass

    def _shutdown(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        try:
            device._closing = True
            device.persist = False          # blank and switch off the panel: the phone is gone
            device.cleanup()
        except Exception as exc:
            log.info("display clean-up failed (%s)", _describe(exc))


def _describe(exc: BaseException) -> str:
    errno_ = getattr(exc, "errno", None)
    return f"{type(exc).__name__}: {exc}" + (f" (errno {errno_})" if errno_ else "")


def _local_minute() -> int:
    t = time.localtime()
    return t.tm_hour * 60 + t.tm_min
