"""The board's ``[console]`` section: the serial port of the debug console and its speed.

Checked here, with the standard library only, so ``check-config`` and the
installer's board check need neither pyserial nor the console itself.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ConfigError

DEFAULT_BAUDRATE = 115200
# pyserial's Serial.BAUDRATES, the rates its POSIX backend knows by name.
BAUDRATES = (50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
             57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
             2000000, 2500000, 3000000, 3500000, 4000000)


def console_settings(raw: Mapping[str, Any], path: str = "") -> tuple[str, int]:
    """``[console] port`` and ``baudrate``, checked; ConfigError names the file and key."""
    port = raw.get("port", "")
    if not isinstance(port, str) or not port.startswith("/"):
        raise ConfigError("must be a device path such as \"/dev/serial0\"", file=path,
                          key="console.port")
    baudrate = raw.get("baudrate", DEFAULT_BAUDRATE)
    if not isinstance(baudrate, int) or isinstance(baudrate, bool) or baudrate not in BAUDRATES:
        raise ConfigError(f"not a standard baud rate: {baudrate!r} (115200, 9600, ...)",
                          file=path, key="console.baudrate")
    unknown = set(raw) - {"port", "baudrate"}
    if unknown:
        raise ConfigError("unknown key (known: port, baudrate)", file=path,
                          key=f"console.{sorted(unknown)[0]}")
    return port, baudrate
