"""Fault injection: the display and the keypad vanish mid-call and come back; the call goes on.

The whole phone with its real hardware adapters and only the kernel side
replaced: luma.oled's real SSD1306 driver and I2C interface over a fake SMBus
(unplugged, every write fails with EREMOTEIO, as /dev/i2c-1 does), and
python-evdev's real reader over a pty carrying ``struct input_event`` records
(unplugged, reads fail as a vanished node does). The PBX is the simulated one.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from deskphone.app import PhoneApp
from deskphone.config.board import load_board
from deskphone.core import inputs as ins
from support.phone import BOARD, write_config

evdev = pytest.importorskip("evdev")
pytest.importorskip("luma.oled")
from evdev import ecodes  # noqa: E402
from luma.core.interface.serial import i2c  # noqa: E402

from deskphone.hw import display_luma, keypad_evdev  # noqa: E402
from deskphone.hw.render import render  # noqa: E402
from support.evdev_node import FakeInputBus  # noqa: E402
from support.oled import FakeSMBus, PanelRam  # noqa: E402
from support.waiting import until  # noqa: E402

HARDWARE = """
[display]
driver = "ssd1306"
interface = "i2c"

[keypad]
driver = "evdev"
device = { name = "matrix-keypad" }
keymaps = ["matrix-keypad", "buttons"]
rescan_ms = 100
"""


async def test_display_and_keypad_vanish_and_return_while_a_call_goes_on(
        tmp_path, receiver, monkeypatch):
    smbus = FakeSMBus(PanelRam())
    inputs = FakeInputBus()
    node = inputs.plug("matrix-keypad", phys="gpio-keys/input0")
    real_open = display_luma.make_luma_device
    monkeypatch.setattr(display_luma, "make_luma_device", lambda spec, **kw: real_open(
        spec, serial=i2c(bus=smbus, address=spec.i2c_address)))
    monkeypatch.setattr(keypad_evdev, "KernelInputBus", lambda: inputs)
    # The test board with real display and keypad sections instead of simulated ones.
    board_text = BOARD.format(password="").replace('[display]\ndriver = "sim"\n', "") + HARDWARE
    phone = await start(tmp_path, receiver.base, board_text)
    try:
        await receiver.wait("setup_completed")
        display = phone.display

        def shows_current() -> bool:
            return smbus.panel.image().tobytes() == display.frame.tobytes()
        await until(lambda: display.present and shows_current(), 3, "the first frame on the panel")

        phone.hook.lift()
        for key in ("KEY_NUMERIC_2", "KEY_NUMERIC_0", "KEY_NUMERIC_1", "KEY_NUMERIC_POUND"):
            node.tap(ecodes.ecodes[key])
        est = await receiver.wait("call_established", timeout=5)

        # Both go away mid-call.
        smbus.unplug()
        inputs.unplug(node)
        await until(lambda: display.present is False, 3, "the display reported missing")
        await until(lambda: "Keypad missing" in " ".join(display.screen.lines)
                    + display.screen.status, 3, "Keypad missing on the screen")
        frames = display.frames
        # The phone goes on: the call stays, other inputs (a remote key) work, frames are made.
        phone.runtime.post(ins.KeyPress("MUTE", remote=True))
        await receiver.wait("mute", timeout=3)
        assert display.frames > frames
        assert "call_terminated" not in receiver.events()

        # Both come back: the panel is re-initialised and shows the current frame,
        # the keypad is found again and its keys work.
        back = time.monotonic()
        smbus.replug()
        node = inputs.plug("matrix-keypad", phys="gpio-keys/input0")
        await until(lambda: display.present and shows_current(), 5, "the panel back")
        assert smbus.panel.on
        await until(lambda: "Keypad missing" not in " ".join(display.screen.lines)
                    + display.screen.status, 3, "the keypad back")
        assert time.monotonic() - back < 5
        assert "call_terminated" not in receiver.events()
        node.tap(ecodes.ecodes["KEY_ESC"])             # X on the keypad ends the call
        term = await receiver.wait("call_terminated", timeout=3)
        assert term["sip_call_id"] == est["sip_call_id"]
        await until(shows_current, 3, "the idle screen on the panel")
        assert smbus.panel.image().tobytes() == render(display.screen).tobytes()
    finally:
        await phone.stop()
        inputs.close()


async def start(tmp, receiver_base: str, board_text: str) -> PhoneApp:
    (tmp / "board.toml").write_text(board_text)
    write_config(tmp / "config", receiver_base)
    app = PhoneApp(load_board(tmp / "board.toml"), tmp / "config", tmp / "state",
                   bind="127.0.0.1", http_port=0, https_port=0, sip_notify_port=0)
    await app.start()
    return app
