"""Board TOML: what hardware this phone is built from (pins, display, keypad, sim PBX).

Only the sections and keys below are accepted; a typo is an error that names
the file and the key, so a miswired board never starts half-configured.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BoardError
from .board_hw import PIN_FACTORIES, check_hardware

BEHAVIOURS = ("answer", "busy", "no-answer", "reject")


@dataclass(frozen=True)
class SimExtension:
    number: str
    name: str = ""
    behaviour: str = "answer"


@dataclass(frozen=True)
class SimPbxConfig:
    answer_delay: float = 0.8           # seconds from ringing to answer
    password: str | None = None         # None: accept any account password
    default_behaviour: str = "answer"
    extensions: tuple[SimExtension, ...] = ()

    def extension(self, number: str) -> SimExtension:
        for ext in self.extensions:
            if ext.number == number:
                return ext
        return SimExtension(number, "", self.default_behaviour)


@dataclass(frozen=True)
class Board:
    path: str
    name: str
    kind: str                           # "sim" | "pi"
    mac: str | None                     # fixed MAC (sim); None: read it from the network interface
    default_bind: str                   # the --bind default on this board
    line_keys: int
    display: dict[str, Any] = field(default_factory=dict)
    keypad: dict[str, Any] = field(default_factory=dict)
    hook: dict[str, Any] = field(default_factory=dict)
    leds: dict[str, Any] = field(default_factory=dict)
    console: dict[str, Any] = field(default_factory=dict)
    sound: dict[str, Any] = field(default_factory=dict)
    sim_pbx: SimPbxConfig = SimPbxConfig()
    pin_factory: str | None = None      # gpiozero's: lgpio on a Pi; None: gpiozero chooses
    hardware: Any = None                # config.board_hw.Hardware: the checked [display] ... [leds]

    @property
    def simulated(self) -> bool:
        return self.kind == "sim"


_SECTIONS = {
    "board": {"name", "kind", "mac", "default_bind", "line_keys", "pin_factory"},
    "display": None, "keypad": None, "hook": None, "leds": None, "console": None, "sound": None,
    "sim_pbx": {"answer_delay_ms", "password", "default_behaviour", "extensions"},
}


def _fail(path: str, key: str, message: str) -> BoardError:
    return BoardError(message, file=path, key=key)


def normalise_mac(mac: str, path: str = "", key: str = "board.mac") -> str:
    digits = "".join(ch for ch in mac.lower() if ch in "0123456789abcdef")
    if len(digits) != 12 or len(mac.replace(":", "").replace("-", "")) != 12:
        raise _fail(path, key, f"not a MAC address: {mac!r}")
    return digits


def load_board(path: str | Path) -> Board:
    path = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise BoardError(f"cannot read board file: {exc.strerror}", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"not valid TOML: {exc}", file=path) from None

    for section, value in data.items():
        if section not in _SECTIONS:
            raise _fail(path, section, f"unknown section (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise _fail(path, section, "must be a [section]")
        allowed = _SECTIONS[section]
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise _fail(path, f"{section}.{key}", "unknown key")

    b = data.get("board", {})
    kind = b.get("kind", "pi")
    if kind not in ("sim", "pi"):
        raise _fail(path, "board.kind", f"must be 'sim' or 'pi', not {kind!r}")
    mac = b.get("mac")
    if mac is not None:
        mac = normalise_mac(str(mac), path)
    line_keys = b.get("line_keys", 2)
    if not isinstance(line_keys, int) or not 0 <= line_keys <= 29:
        raise _fail(path, "board.line_keys", "must be a whole number from 0 to 29")

    return Board(
        path=path,
        name=str(b.get("name", Path(path).stem)),
        kind=kind,
        mac=mac,
        default_bind=str(b.get("default_bind", "127.0.0.1" if kind == "sim" else "0.0.0.0")),
        line_keys=line_keys,
        display=dict(data.get("display", {})),
        keypad=dict(data.get("keypad", {})),
        hook=dict(data.get("hook", {})),
        leds=dict(data.get("leds", {})),
        console=dict(data.get("console", {})),
        sound=dict(data.get("sound", {})),
        sim_pbx=_sim_pbx(path, data.get("sim_pbx", {})),
        pin_factory=_pin_factory(path, b.get("pin_factory")),
        hardware=check_hardware(path, data, kind, line_keys),
    )


def _pin_factory(path: str, name: Any) -> str | None:
    if name is not None and name not in PIN_FACTORIES:
        raise _fail(path, "board.pin_factory", f"must be one of {', '.join(PIN_FACTORIES)}")
    return name


def _sim_pbx(path: str, raw: dict[str, Any]) -> SimPbxConfig:
    delay = raw.get("answer_delay_ms", 800)
    if not isinstance(delay, int) or delay < 0:
        raise _fail(path, "sim_pbx.answer_delay_ms", "must be a whole number of milliseconds")
    default = raw.get("default_behaviour", "answer")
    if default not in BEHAVIOURS:
        raise _fail(path, "sim_pbx.default_behaviour", f"must be one of {', '.join(BEHAVIOURS)}")
    extensions = []
    for number, ext in raw.get("extensions", {}).items():
        key = f"sim_pbx.extensions.{number}"
        if not isinstance(ext, dict) or set(ext) - {"name", "behaviour"}:
            raise _fail(path, key, "must be a table with 'name' and 'behaviour'")
        behaviour = ext.get("behaviour", default)
        if behaviour not in BEHAVIOURS:
            raise _fail(path, key + ".behaviour", f"must be one of {', '.join(BEHAVIOURS)}")
        extensions.append(SimExtension(str(number), str(ext.get("name", "")), behaviour))
    password = raw.get("password")
    return SimPbxConfig(delay / 1000.0, None if password is None else str(password), default,
                        tuple(extensions))
