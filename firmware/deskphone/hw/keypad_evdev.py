"""The keypad (and optionally the hook switch) as Linux input devices, read with python-evdev.

A device is found by its name, its ``phys`` or a stable ``/dev/input/by-id`` /
``by-path`` link from the board config, never by a bare ``eventN`` (those
numbers change from boot to boot). It is grabbed, so the console does not see
the keys, and read by one long-lived task using evdev's ``async_read_loop``.

An unplugged device makes the read raise ``OSError`` (``ENODEV`` from a real
event node; a pty carrying the same records says ``EIO``): the reader closes
it, reports it missing, and looks for it again every ``rescan`` seconds (a
bounded rescan, no busy loop) until it is back.

The kernel boundary is ``InputBus``: which event nodes exist and how one is
opened. ``KernelInputBus`` is the real one; tests pass a bus whose nodes are
ptys carrying packed ``struct input_event`` records, read by evdev's own
``InputDevice`` code.
"""

from __future__ import annotations

import asyncio
import errno
import glob
import logging
import os
from typing import Any, Callable, Protocol

from ..config.board_input import DeviceMatch
from ..core import inputs as ins
from ..core.keys import NAVIGATION

log = logging.getLogger("deskphone.hw.keypad")

Post = Callable[[ins.Input], None]

RESCAN_SECONDS = 0.5        # while a device is missing: well inside the 2 s promise
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2


class InputBus(Protocol):
    """The kernel side: the event nodes there are, and opening one as an ``evdev.InputDevice``."""

    def paths(self) -> list[str]: ...

    def open(self, path: str) -> Any: ...


class KernelInputBus:
    def paths(self) -> list[str]:
        # Every event node we may read, not evdev.list_devices(): that keeps only nodes
        # access(R_OK|W_OK) allows, and under the unit's DeviceAllow=char-input r the
        # device cgroup refuses W_OK, so it returned [] and no name/phys ever matched.
        # open() still gets a read-only descriptor (InputDevice falls back to O_RDONLY).
        return sorted(p for p in glob.glob("/dev/input/event*") if os.access(p, os.R_OK))

    def open(self, path: str) -> Any:
        import evdev
        return evdev.InputDevice(path)


def find_device(match: DeviceMatch, bus: InputBus) -> Any | None:
    """Open the device ``match`` names, or None when it is not there (yet)."""
    if match.path:
        try:
            return bus.open(match.path)
        except OSError:
            return None             # the link appears when the device does
    for path in bus.paths():
        try:
            device = bus.open(path)
        except OSError:
            continue                # gone meanwhile, or not ours to read
        if match.matches(device):
            return device
        device.close()
    return None


class EvdevSource:
    """One input device, read for as long as the phone runs; reopened when it comes back."""

    def __init__(self, match: DeviceMatch, on_event: Callable[[Any], None],
                 on_presence: Callable[["EvdevSource", bool], None], *,
                 bus: InputBus | None = None, rescan: float = RESCAN_SECONDS,
                 grab: bool = True, on_open: Callable[[Any], None] | None = None) -> None:
        self.match = match
        self.bus = bus or KernelInputBus()
        self.rescan = rescan
        self.grab = grab
        self.present: bool | None = None     # None until the first look
        self.device: Any = None
        self.opened = 0                      # how many times it was (re)opened
        self._on_event = on_event
        self._on_presence = on_presence
        self._on_open = on_open
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"evdev {self.match}")

    async def close(self) -> None:
        # Cancel the reader first, then close the device (evdev's order).
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._release()

    def _set_present(self, present: bool) -> None:
        if self.present is None and not present:
            log.warning("%s: not found; looking for it every %.1f s", self.match, self.rescan)
        if present != self.present:
            self.present = present
            self._on_presence(self, present)

    async def run(self) -> None:
        while True:
            device = find_device(self.match, self.bus)
            if device is None:
                self._set_present(False)
                await asyncio.sleep(self.rescan)
                continue
            self.device = device
            self.opened += 1
            if self.grab:
                try:
                    device.grab()
                except OSError as exc:
                    log.warning("%s: cannot grab it (%s); other programs see its keys too",
                                self.match, os.strerror(exc.errno or 0))
            log.info("%s: reading %s (%s)", self.match, device.path, device.name)
            if self._on_open is not None:
                self._on_open(device)
            self._set_present(True)
            try:
                async for event in device.async_read_loop():
                    self._on_event(event)
            except OSError as exc:
                log.warning("%s: lost (%s); looking for it every %.1f s", self.match,
                            errno.errorcode.get(exc.errno or 0, exc), self.rescan)
            finally:
                self._release()
            self._set_present(False)

    def _release(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            try:
                device.close()
            except OSError:
                pass


def _code(name: str) -> int:
    from evdev import ecodes
    try:
        return int(ecodes.ecodes[name])
    except KeyError:
        raise ValueError(f"{name!r} is not a key code this kernel knows") from None


class EvdevKeypad:
    """The phone's keys from one or more input devices (a keypad, a row of buttons)."""

    role = "keypad"

    def __init__(self, post: Post, matches: list[DeviceMatch], keymap: dict[str, str], *,
                 bus: InputBus | None = None, rescan: float = RESCAN_SECONDS,
                 grab: bool = True) -> None:
        self._post = post
        self.keymap = {_code(name): key for name, key in keymap.items()}
        self.sources = [EvdevSource(m, self._on_event, self._on_presence, bus=bus,
                                    rescan=rescan, grab=grab) for m in matches]
        self._reported: bool | None = None

    def start(self) -> None:
        for source in self.sources:
            source.start()

    async def close(self) -> None:
        for source in self.sources:
            await source.close()

    def _on_event(self, event: Any) -> None:
        from evdev import ecodes
        if event.type != ecodes.EV_KEY:
            return
        key = self.keymap.get(event.code)
        if key is None:
            if event.value == KEY_DOWN:
                log.debug("key code %d is not in the key map", event.code)
            return
        # Autorepeat only moves through menus; a held digit is one digit.
        if event.value == KEY_DOWN or (event.value == KEY_REPEAT and key in NAVIGATION):
            self._post(ins.KeyPress(key))

    def _on_presence(self, source: EvdevSource, present: bool) -> None:
        if any(s.present is None for s in self.sources):
            return          # still looking for the first time
        missing = [str(s.match) for s in self.sources if not s.present]
        now_present = not missing
        if now_present != self._reported:
            self._reported = now_present
            self._post(ins.DeviceState(self.role, now_present, ", ".join(missing)))


class EvdevHookSwitch:
    """The hook switch as an input device (the kernel's gpio-keys, ``dtoverlay=gpio-key``).

    ``code`` is the KEY_/SW_ code it sends; ``closed_means`` says what value 1
    (switch closed, key "pressed") means: ``on_hook`` when the resting handset
    presses the switch, the usual build.
    """

    role = "hook"

    def __init__(self, post: Post, match: DeviceMatch, code: str = "KEY_PHONE", *,
                 closed_means: str = "on_hook", bus: InputBus | None = None,
                 rescan: float = RESCAN_SECONDS) -> None:
        from evdev import ecodes
        self._post = post
        self.type = ecodes.EV_SW if code.startswith("SW_") else ecodes.EV_KEY
        self.code = int(ecodes.ecodes[code])
        self.closed_off_hook = closed_means == "off_hook"
        self.source = EvdevSource(match, self._on_event, self._on_presence, bus=bus,
                                  rescan=rescan, grab=True, on_open=self._initial)

    def start(self) -> None:
        self.source.start()

    async def close(self) -> None:
        await self.source.close()

    def _initial(self, device: Any) -> None:
        # The level the switch is at now, so a phone started off hook knows it.
        if self.type == self._ev_key():
            closed = self.code in device.active_keys()
            self._post(ins.HookChanged(closed == self.closed_off_hook))

    @staticmethod
    def _ev_key() -> int:
        from evdev import ecodes
        return int(ecodes.EV_KEY)

    def _on_event(self, event: Any) -> None:
        if event.type == self.type and event.code == self.code and event.value in (0, 1):
            closed = event.value == 1
            self._post(ins.HookChanged(closed == self.closed_off_hook))

    def _on_presence(self, source: EvdevSource, present: bool) -> None:
        self._post(ins.DeviceState(self.role, present, "" if present else str(source.match)))
