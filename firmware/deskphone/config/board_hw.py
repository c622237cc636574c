"""The hardware sections of a board TOML ([display] [keypad] [hook] [leds], plus checks of
[console] and [sound]), checked and turned into typed specs for the adapters.

Everything here is plain data and imports no hardware library, so
``deskphone check-config`` validates a Pi board on any machine. Each error
names the file and the key (``pi4.toml: hook.pin: ...``).

    [display]   driver = ssd1306 | sh1106 | sim | none; interface = i2c | spi | noop;
                width, height (128x64, 128x32), rotate (0-3), contrast (0-255),
                i2c_port, i2c_address, spi_port, spi_device, spi_bus_speed_hz,
                gpio_dc, gpio_reset, dim_after_s, dim_contrast, night_off = "23:00-07:00"
    [keypad]    driver = evdev | sim | none; device = {name|phys|path} or devices = [...];
                keymaps = ["matrix-keypad", "buttons", "usb-numpad"]; grab; rescan_ms;
                [keypad.keys] KEY_... = "PHONEKEY"
    [hook]      driver = gpio | evdev | sim | none; gpio: pin, pull = up|down|none,
                active_low, closed_means = on_hook|off_hook; evdev: device, code, closed_means
    [leds]      driver = gpio | sim | none; power, mwi, dnd, mute, speaker, headset,
                line1..lineN = PIN or { pin, active_high, brightness }
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import BoardError, ConfigError
from .board_console import console_settings
from .board_input import DeviceMatch, build_keymap
from .board_sound import parse_sound

DRIVERS = {
    "display": ("ssd1306", "sh1106", "sim", "none"),
    "keypad": ("evdev", "sim", "none"),
    "hook": ("gpio", "evdev", "sim", "none"),
    "leds": ("gpio", "sim", "none"),
}
LED_NAMES = ("power", "mwi", "dnd", "mute", "speaker", "headset")
PIN_FACTORIES = ("lgpio", "rpigpio", "pigpio", "native", "mock")
# BCM GPIO numbers on the 40-pin header.
GPIO_PINS = range(0, 28)
_DISPLAY_KEYS = {"driver", "interface", "width", "height", "rotate", "contrast", "i2c_port",
                 "i2c_address", "spi_port", "spi_device", "spi_bus_speed_hz", "gpio_dc",
                 "gpio_reset", "dim_after_s", "dim_contrast", "night_off"}
_KEYPAD_KEYS = {"driver", "device", "devices", "keymaps", "keys", "grab", "rescan_ms"}
_HOOK_KEYS = {"driver", "pin", "pull", "active_low", "closed_means", "device", "code"}
_SPI_SPEEDS = {int(mhz * 1_000_000) for mhz in (0.5, 1, 2, 4, 8, 16, 20, 24, 28, 32, 36, 40,
                                                44, 48, 50, 52)}


@dataclass(frozen=True)
class DisplaySpec:
    driver: str = "ssd1306"             # ssd1306 | sh1106
    interface: str = "i2c"              # i2c | spi | noop (a dry run: the bytes go nowhere)
    width: int = 128
    height: int = 64
    rotate: int = 0                     # 0..3, quarter turns clockwise, as luma
    i2c_port: int = 1
    i2c_address: int = 0x3C
    spi_port: int = 0
    spi_device: int = 0
    spi_bus_speed_hz: int = 8_000_000
    gpio_dc: int = 24
    gpio_reset: int | None = 25
    contrast: int = 0xCF
    dim_contrast: int = 0x10
    dim_after: float = 0.0              # seconds without activity before dimming; 0: never
    night: tuple[int, int] | None = None  # (from, to) minutes after midnight: panel off


@dataclass(frozen=True)
class Hardware:
    """What the composition root builds the board from."""
    display_driver: str
    display: Any = None          # hw.display_luma.DisplaySpec for a real panel
    width: int = 128
    height: int = 64
    keypad_driver: str = "sim"
    keypad_devices: tuple[dict[str, str], ...] = ()
    keymap: dict[str, str] = field(default_factory=dict)
    keypad_grab: bool = True
    keypad_rescan: float = 0.5
    hook_driver: str = "sim"
    hook: dict[str, Any] = field(default_factory=dict)
    leds_driver: str = "sim"
    leds: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Checker:
    def __init__(self, path: str, section: str, raw: dict[str, Any]) -> None:
        self.path, self.section, self.raw = path, section, raw

    def fail(self, key: str, message: str) -> BoardError:
        where = f"{self.section}.{key}" if key else self.section
        return BoardError(message, file=self.path, key=where)

    def known(self, keys: set[str]) -> None:
        for key in self.raw:
            if key not in keys:
                raise self.fail(key, f"unknown key (known: {', '.join(sorted(keys))})")

    def int(self, key: str, default: int | None, lo: int, hi: int) -> int | None:
        value = self.raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self.fail(key, f"must be a whole number from {lo} to {hi}")
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw.get(key, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)} (not {value!r})")
        return value

    def pin(self, key: str, value: Any = None) -> int:
        value = self.raw.get(key) if value is None else value
        if not isinstance(value, int) or isinstance(value, bool) or value not in GPIO_PINS:
            raise self.fail(key, "must be a BCM GPIO number from 0 to 27")
        return value

    def device_match(self, key: str, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or set(value) - {"name", "phys", "path"} or \
                not all(isinstance(v, str) for v in value.values()):
            raise self.fail(key, 'must be a table like { name = "matrix-keypad" } '
                                 "(name, phys and/or path)")
        try:
            DeviceMatch(**value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        return dict(value)


def _night(c: _Checker) -> tuple[int, int] | None:
    value = c.raw.get("night_off")
    if value is None:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d\d)-(\d{1,2}):(\d\d)", str(value))
    if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
        raise c.fail("night_off", 'must be a time range like "23:00-07:00"')
    return int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])


def _display(path: str, raw: dict[str, Any], default: str, pin_factory: Any) -> dict[str, Any]:
    c = _Checker(path, "display", raw)
    c.known(_DISPLAY_KEYS)
    driver = c.choice("driver", default, DRIVERS["display"])
    width = c.int("width", 128, 1, 1024)
    height = c.int("height", 64, 1, 1024)
    if (width, height) not in ((128, 64), (128, 32)):
        raise c.fail("height", f"{width}x{height}: the screens are laid out for 128x64 or 128x32")
    out: dict[str, Any] = {"display_driver": driver, "width": width, "height": height}
    if driver in ("sim", "none"):
        return out
    interface = c.choice("interface", "i2c", ("i2c", "spi", "noop"))
    address = raw.get("i2c_address", 0x3C)
    if address not in (0x3C, 0x3D):
        raise c.fail("i2c_address", "must be 0x3C or 0x3D (SSD1306 / SH1106 modules)")
    speed = c.int("spi_bus_speed_hz", 8_000_000, 500_000, 52_000_000)
    if speed not in _SPI_SPEEDS:
        raise c.fail("spi_bus_speed_hz", "must be one of luma's SPI speeds (8000000, 4000000, ...)")
    reset = raw.get("gpio_reset", 25)
    out["display"] = DisplaySpec(
        driver=driver, interface=interface, width=width, height=height,
        rotate=c.int("rotate", 0, 0, 3) or 0,
        i2c_port=c.int("i2c_port", 1, 0, 22) or 0, i2c_address=address,
        spi_port=c.int("spi_port", 0, 0, 6) or 0, spi_device=c.int("spi_device", 0, 0, 3) or 0,
        spi_bus_speed_hz=speed or 8_000_000,
        gpio_dc=c.pin("gpio_dc", raw.get("gpio_dc", 24)),
        gpio_reset=None if reset is False else c.pin("gpio_reset", reset),
        contrast=c.int("contrast", 0xCF, 0, 255) or 0,
        dim_contrast=c.int("dim_contrast", 0x10, 0, 255) or 0,
        dim_after=float(c.int("dim_after_s", 0, 0, 86400) or 0),
        night=_night(c))
    return out


def _keypad(path: str, raw: dict[str, Any], default: str) -> dict[str, Any]:
    c = _Checker(path, "keypad", raw)
    c.known(_KEYPAD_KEYS)
    driver = c.choice("driver", default, DRIVERS["keypad"])
    if driver != "evdev":
        return {"keypad_driver": driver}
    if "device" in raw and "devices" in raw:
        raise c.fail("devices", "give either device or devices, not both")
    if "device" in raw:
        devices = [c.device_match("device", raw["device"])]
    else:
        listed = raw.get("devices")
        if not isinstance(listed, list) or not listed:
            raise c.fail("device",
                         "an evdev keypad needs device = { name = ... } (or devices = [...])")
        devices = [c.device_match(f"devices[{i}]", d) for i, d in enumerate(listed)]
    maps = raw.get("keymaps", [])
    if not isinstance(maps, list) or not all(isinstance(m, str) for m in maps):
        raise c.fail("keymaps", "must be a list of key map names")
    extra = raw.get("keys", {})
    if not isinstance(extra, dict):
        raise c.fail("keys", "must be a table of KEY_... = \"PHONEKEY\"")
    try:
        keymap = build_keymap(maps, extra)
    except ValueError as exc:
        raise c.fail("keymaps" if "key map" in str(exc) else "keys", str(exc)) from None
    if not keymap:
        raise c.fail("keymaps", "no keys: name a ready-made map or list [keypad.keys]")
    _check_codes(c, keymap)
    return {"keypad_driver": driver, "keypad_devices": tuple(devices), "keymap": keymap,
            "keypad_grab": c.bool("grab", True),
            "keypad_rescan": (c.int("rescan_ms", 500, 50, 2000) or 500) / 1000.0}


def _check_codes(c: _Checker, keymap: dict[str, str]) -> None:
    """With python-evdev installed, every code name must be one this kernel header knows."""
    try:
        from evdev import ecodes
    except ImportError:
        return
    for code in keymap:
        if code not in ecodes.ecodes:
            raise c.fail(f"keys.{code}", "not a key code python-evdev knows")


def _hook(path: str, raw: dict[str, Any], default: str) -> dict[str, Any]:
    c = _Checker(path, "hook", raw)
    c.known(_HOOK_KEYS)
    driver = c.choice("driver", default, DRIVERS["hook"])
    closed = c.choice("closed_means", "on_hook", ("on_hook", "off_hook"))
    if driver == "gpio":
        spec = {"pin": c.pin("pin"), "pull": c.choice("pull", "up", ("up", "down", "none")),
                "active_low": c.bool("active_low", True), "closed_means": closed}
    elif driver == "evdev":
        code = raw.get("code", "KEY_PHONE")
        if not isinstance(code, str) or not re.fullmatch(r"(KEY|BTN|SW)_[A-Z0-9_]+", code):
            raise c.fail("code", "must be a KEY_..., BTN_... or SW_... code name")
        if "device" not in raw:
            raise c.fail("device", 'an evdev hook switch needs device = { name = "hook" }')
        spec = {"device": c.device_match("device", raw["device"]), "code": code,
                "closed_means": closed}
    else:
        spec = {}
    return {"hook_driver": driver, "hook": spec}


def _leds(path: str, raw: dict[str, Any], default: str, line_keys: int) -> dict[str, Any]:
    c = _Checker(path, "leds", raw)
    driver = c.choice("driver", default, DRIVERS["leds"])
    names = set(LED_NAMES) | {f"line{n}" for n in range(1, line_keys + 1)} | {"driver"}
    c.known(names)
    leds: dict[str, dict[str, Any]] = {}
    used: dict[int, str] = {}
    for name, value in raw.items():
        if name == "driver":
            continue
        if isinstance(value, dict):
            extra = set(value) - {"pin", "active_high", "brightness"}
            if extra:
                raise c.fail(f"{name}.{sorted(extra)[0]}",
                             "unknown key (known: pin, active_high, brightness)")
            pin = c.pin(name, value.get("pin"))
            active_high = value.get("active_high", True)
            brightness = value.get("brightness", 1.0)
            if not isinstance(active_high, bool):
                raise c.fail(f"{name}.active_high", "must be true or false")
            if not isinstance(brightness, (int, float)) or isinstance(brightness, bool) \
                    or not 0 < brightness <= 1:
                raise c.fail(f"{name}.brightness", "must be a number above 0, at most 1")
        else:
            pin, active_high, brightness = c.pin(name, value), True, 1.0
        if pin in used:
            raise c.fail(name, f"GPIO {pin} is already the {used[pin]} LED")
        used[pin] = name
        leds[name] = {"pin": pin, "active_high": active_high, "brightness": float(brightness)}
    if driver == "gpio" and not leds:
        raise c.fail("driver", "gpio LEDs, but no LED has a pin")
    return {"leds_driver": driver, "leds": leds if driver == "gpio" else {}}


def _pins_shared(path: str, hw: Hardware) -> None:
    """No GPIO may serve two parts (the hook switch and an LED, the display's DC and an LED...)."""
    owners: dict[int, str] = {}
    claims: list[tuple[str, int]] = []
    if hw.display is not None and hw.display.interface == "i2c":
        claims += [("display (I2C SDA)", 2), ("display (I2C SCL)", 3)]
    if hw.hook_driver == "gpio":
        claims.append(("hook.pin", hw.hook["pin"]))
    if hw.leds_driver == "gpio":
        claims += [(f"leds.{name}", spec["pin"]) for name, spec in hw.leds.items()]
    if hw.display is not None and hw.display.interface == "spi":
        claims.append(("display.gpio_dc", hw.display.gpio_dc))
        if hw.display.gpio_reset is not None:
            claims.append(("display.gpio_reset", hw.display.gpio_reset))
    for key, pin in claims:
        if pin in owners:
            raise BoardError(f"GPIO {pin} is already used by {owners[pin]}", file=path, key=key)
        owners[pin] = key


def check_hardware(path: str, data: dict[str, Any], kind: str, line_keys: int) -> Hardware:
    """Validate the hardware sections of a loaded board TOML; raises BoardError(file, key)."""
    default = "sim" if kind == "sim" else "none"
    parts: dict[str, Any] = {}
    parts.update(_display(path, dict(data.get("display", {})), default, None))
    parts.update(_keypad(path, dict(data.get("keypad", {})), default))
    parts.update(_hook(path, dict(data.get("hook", {})), default))
    parts.update(_leds(path, dict(data.get("leds", {})), default, line_keys))
    hw = Hardware(**parts)
    _pins_shared(path, hw)
    _console(path, dict(data.get("console", {})))
    _sound(path, dict(data.get("sound", {})), kind)
    return hw


def _console(path: str, raw: dict[str, Any]) -> None:
    if not raw:
        return
    try:
        console_settings(raw, path)
    except ConfigError as exc:
        raise BoardError(exc.message, file=exc.file, key=exc.key) from None


def _sound(path: str, raw: dict[str, Any], kind: str = "pi") -> None:
    # The shape first (TOML allows tables), then the section's own check.
    for key, value in raw.items():
        if not isinstance(value, (str, int, float, bool)):
            raise BoardError("must be a plain value (text, number, true/false)", file=path,
                             key=f"sound.{key}")
    try:
        parse_sound(raw, kind == "sim")
    except ConfigError as exc:
        raise BoardError(exc.message, file=path, key=exc.key) from None
