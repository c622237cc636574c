"""Which Raspberry Pi interfaces a board config needs switched on: I2C, SPI, the UART.

The installer runs this with the system Python before the venv exists
(``python3 -m deskphone.config.board_needs BOARD.toml`` with ``firmware/`` on
``PYTHONPATH``), so it uses the standard library only. It prints one word a
line: ``i2c``, ``spi``, ``uart`` (``[console] port`` on the GPIO UART) or
``usb-gadget`` (``/dev/ttyGS0``). A board that does not load is an error with
the file and key, exit status 1.

What counts as needing a bus, in any hardware section (display, keypad,
hook, leds, sound): ``interface = "i2c"`` or ``"spi"`` (also ``bus =``), or a
key that only a device on that bus has (``i2c_address``, ``i2c_port``,
``spi_port``, ``spi_device``).
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import ConfigError
from .board import Board, load_board

HARDWARE_SECTIONS = ("display", "keypad", "hook", "leds", "sound")
_BUS_KEYS = {"i2c": ("i2c_address", "i2c_port", "i2c_bus"),
             "spi": ("spi_port", "spi_device", "spi_bus")}
UART_PORTS = ("/dev/serial0", "/dev/serial1", "/dev/ttyAMA", "/dev/ttyS")
GADGET_PORTS = ("/dev/ttyGS",)


def _buses(section: dict[str, Any]) -> set[str]:
    found = set()
    for key in ("interface", "bus"):
        value = str(section.get(key, "")).lower()
        if value in _BUS_KEYS:
            found.add(value)
    for bus, keys in _BUS_KEYS.items():
        if any(k in section for k in keys):
            found.add(bus)
    return found


def needs(board: Board) -> list[str]:
    """The interfaces to enable, in a fixed order."""
    found: set[str] = set()
    for name in HARDWARE_SECTIONS:
        found |= _buses(getattr(board, name))
    port = str(board.console.get("port", ""))
    if port.startswith(UART_PORTS):
        found.add("uart")
    elif port.startswith(GADGET_PORTS):
        found.add("usb-gadget")
    return [n for n in ("i2c", "spi", "uart", "usb-gadget") if n in found]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m deskphone.config.board_needs BOARD.toml", file=sys.stderr)
        return 2
    try:
        board = load_board(argv[0])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    for need in needs(board):
        print(need)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
