"""Board TOML hardware sections: every shipped board loads; mistakes name the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskphone.config.board import load_board
from deskphone.errors import BoardError

ROOT = Path(__file__).resolve().parents[2]
BOARDS = sorted((ROOT / "board-configs").glob("*.toml"))


@pytest.mark.parametrize("path", BOARDS, ids=[p.stem for p in BOARDS])
def test_every_shipped_board_loads_without_hardware(path):
    board = load_board(path)
    hw = board.hardware
    if board.kind == "pi":
        assert hw.display is not None and hw.keypad_driver == "evdev"
        assert hw.hook_driver in ("gpio", "evdev") and hw.leds_driver == "gpio"
        assert board.pin_factory == "lgpio"


@pytest.mark.parametrize("path", [p for p in BOARDS if p.stem != "sim"], ids=lambda p: p.stem)
def test_each_pi_board_has_its_wiring_documented_with_the_same_pins(path):
    """hardware/<board>/README.md's wiring table names every GPIO the board config uses."""
    board = load_board(path)
    readme = ROOT / "hardware" / path.stem / "README.md"
    assert readme.exists(), f"no wiring document {readme}"
    documented = {int(n) for n in re.findall(r"\|\s*GPIO\s?(\d+)\s*\|", readme.read_text())}
    hw = board.hardware
    used = {spec["pin"] for spec in hw.leds.values()}
    if hw.hook_driver == "gpio":
        used.add(hw.hook["pin"])
    if hw.display.interface == "spi":
        used |= {hw.display.gpio_dc, hw.display.gpio_reset}
    assert used <= documented, f"not in the wiring table: {sorted(used - documented)}"
    assert (ROOT / "hardware" / path.stem / "wiring.svg").exists()


def load(tmp_path: Path, text: str):
    path = tmp_path / "b.toml"
    path.write_text('[board]\nkind = "pi"\n' + text)
    return load_board(path)


@pytest.mark.parametrize("text,key,words", [
    ('[display]\ndriver = "ssd1309"\n', "display.driver", "must be one of"),
    ('[display]\ndriver = "ssd1306"\nheight = 48\n', "display.height", "128x64 or 128x32"),
    ('[display]\ndriver = "ssd1306"\ni2c_address = 0x27\n', "display.i2c_address", "0x3C"),
    ('[display]\ndriver = "sh1106"\ninterface = "spi"\nspi_bus_speed_hz = 3000000\n',
     "display.spi_bus_speed_hz", "SPI speeds"),
    ('[display]\ndriver = "ssd1306"\nnight_off = "late"\n', "display.night_off", "23:00-07:00"),
    ('[display]\ndriver = "ssd1306"\nrotation = 2\n', "display.rotation", "unknown key"),
    ('[keypad]\ndriver = "evdev"\n', "keypad.device", "needs device"),
    ('[keypad]\ndriver = "evdev"\ndevice = { path = "/dev/input/event0" }\nkeymaps = ["buttons"]\n',
     "keypad.device", "by-id"),
    ('[keypad]\ndriver = "evdev"\ndevice = { name = "k" }\nkeymaps = ["qwerty"]\n',
     "keypad.keymaps", "no key map"),
    ('[keypad]\ndriver = "evdev"\ndevice = { name = "k" }\n[keypad.keys]\nKEY_F5 = "F9"\n',
     "keypad.keys", "not a phone key"),
    ('[keypad]\ndriver = "evdev"\ndevice = { name = "k" }\n[keypad.keys]\nKEY_NOPE = "1"\n',
     "keypad.keys.KEY_NOPE", "python-evdev"),
    ('[hook]\ndriver = "gpio"\n', "hook.pin", "BCM GPIO"),
    ('[hook]\ndriver = "gpio"\npin = 40\n', "hook.pin", "BCM GPIO"),
    ('[hook]\ndriver = "gpio"\npin = 17\npull = "sideways"\n', "hook.pull", "must be one of"),
    ('[hook]\ndriver = "evdev"\ndevice = { name = "hook" }\ncode = "phone"\n', "hook.code", "KEY_"),
    ('[leds]\ndriver = "gpio"\nline3 = 5\n', "leds.line3", "unknown key"),
    ('[leds]\ndriver = "gpio"\npower = { pin = 5, brightness = 2 }\n', "leds.power.brightness",
     "at most 1"),
    ('[leds]\ndriver = "gpio"\npower = 5\nmwi = 5\n', "leds.mwi", "already the power LED"),
    ('[hook]\ndriver = "gpio"\npin = 5\n[leds]\ndriver = "gpio"\npower = 5\n', "leds.power",
     "already used by hook.pin"),
    ('[display]\ndriver = "ssd1306"\n[leds]\ndriver = "gpio"\npower = 2\n', "leds.power",
     "I2C SDA"),
    ('[console]\nport = "ttyS0"\n', "console.port", "device path"),
    ('[sound]\ncard = { name = "x" }\n', "sound.card", "plain value"),
])
def test_mistakes_name_file_and_key(tmp_path, text, key, words):
    with pytest.raises(BoardError) as err:
        load(tmp_path, text)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'b.toml'}: {key}: "), message
    assert words in message


def test_board_pin_factory_is_checked(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text('[board]\nkind = "pi"\npin_factory = "wiringpi"\n')
    with pytest.raises(BoardError, match="board.pin_factory"):
        load_board(path)


def test_a_pi_board_without_hardware_sections_is_headless(tmp_path):
    hw = load(tmp_path, "").hardware
    assert (hw.display_driver, hw.keypad_driver, hw.hook_driver, hw.leds_driver) == \
        ("none", "none", "none", "none")
