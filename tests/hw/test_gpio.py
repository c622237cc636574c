"""Hook switch and LEDs over gpiozero's real device classes on its MockFactory pins."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from deskphone.core import inputs as ins
from deskphone.hw.gpio import BLINK, GpioHookSwitch, GpioLeds, LedPin, make_pin_factory

gpiozero = pytest.importorskip("gpiozero")
from gpiozero.pins.mock import MockFactory, MockPWMPin  # noqa: E402


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()
    f.close()


@pytest.fixture
def pwm_factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()
    f.close()


class LoopInbox:
    """Records inputs and the thread each one was handed over on."""

    def __init__(self) -> None:
        self.items: list[tuple[ins.Input, str]] = []
        self.event = asyncio.Event()

    def post(self, inp: ins.Input) -> None:
        self.items.append((inp, threading.current_thread().name))
        self.event.set()

    def hooks(self) -> list[bool]:
        return [i.off_hook for i, _ in self.items if isinstance(i, ins.HookChanged)]

    async def until(self, pred, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred():
                self.event.clear()
                await self.event.wait()


async def test_hook_edges_from_a_foreign_thread_cross_into_the_loop(factory):
    inbox = LoopInbox()
    hook = GpioHookSwitch(inbox.post, 17, pin_factory=factory)
    pin = factory.pin(17)
    pin.drive_low()                         # the handset rests on the switch: closed, pulled low
    hook.start()
    try:
        assert inbox.hooks() == [False]     # the level at start

        def lift_and_replace() -> None:     # what lgpio's alert thread does on a real Pi
            pin.drive_high()
            pin.drive_low()
        driver = threading.Thread(target=lift_and_replace, name="gpio-edges")
        driver.start()
        driver.join()
        await inbox.until(lambda: len(inbox.hooks()) == 3)
        assert inbox.hooks() == [False, True, False]
        assert hook.callbacks_on == {"gpio-edges"}
        loop_thread = threading.current_thread().name
        assert {thread for _, thread in inbox.items} == {loop_thread}
    finally:
        await hook.close()


async def test_hook_polarity_is_configurable(factory):
    pin = factory.pin(27)
    inbox = LoopInbox()
    # Switch to 3V3 with a pull-down, closed while the handset is lifted.
    hook = GpioHookSwitch(inbox.post, 27, pull="down", closed_means="off_hook", pin_factory=factory)
    hook.start()
    try:
        threading.Thread(target=pin.drive_high).start()
        await inbox.until(lambda: len(inbox.hooks()) == 2)
        assert inbox.hooks() == [False, True]
    finally:
        await hook.close()


async def test_a_bouncing_hook_switch_gives_one_off_hook_through_the_core(factory, tmp_path):
    """The whole phone on a Pi board with mock pins: contacts bounce, the core settles them."""
    from support.phone import write_config
    from support.receiver import Receiver
    from deskphone.app import PhoneApp
    from deskphone.config.board import load_board

    rx = await Receiver().start()
    board = tmp_path / "pi.toml"
    board.write_text('[board]\nkind = "pi"\nmac = "00:15:65:00:00:02"\npin_factory = "mock"\n'
                     '[display]\ndriver = "none"\n[keypad]\ndriver = "none"\n'
                     '[hook]\ndriver = "gpio"\npin = 17\n'
                     '[leds]\ndriver = "gpio"\npower = 5\nline1 = { pin = 6, brightness = 0.5 }\n')
    write_config(tmp_path / "config", rx.base)
    cfg = tmp_path / "config" / "y000000000000.cfg"
    cfg.write_text(cfg.read_text().replace("deskphone.hook.debounce_ms = 0",
                                           "deskphone.hook.debounce_ms = 40"))
    app = PhoneApp(load_board(board), tmp_path / "config", tmp_path / "state",
                   bind="127.0.0.1", http_port=0)
    await app.start()
    try:
        await rx.wait("setup_completed")
        pin = app.hook.device.pin
        assert app.leds.leds["power"].pin.state == 1

        def bounce() -> None:
            for level in (True, False, True, False, True):   # lifting: the contact chatters
                (pin.drive_high if level else pin.drive_low)()
                time.sleep(0.005)
        pin.drive_low()
        threading.Thread(target=bounce).start()
        await rx.wait("off_hook")
        await rx.quiet(0.15)
        assert rx.events().count("off_hook") == 1 and "on_hook" not in rx.events()
    finally:
        await app.stop()
        await rx.stop()


def test_leds_patterns_with_pwm_brightness(pwm_factory):
    leds = GpioLeds({"power": LedPin(5, brightness=0.25), "line1": LedPin(6),
                     "mwi": LedPin(13, active_high=False)}, pin_factory=pwm_factory)
    try:
        power, line1, mwi = (pwm_factory.pin(n) for n in (5, 6, 13))
        leds.set("power", "on")
        assert power.state == pytest.approx(0.25)
        leds.set("mwi", "on")
        assert mwi.state == 0                       # active low: on is a low pin
        leds.set("dnd", "on")                       # this board has no DND LED: ignored
        line1.clear_states()
        leds.set("line1", "fast")
        time.sleep(BLINK["fast"] * 4.5)
        leds.set("line1", "off")
        toggles = [s for s in line1.states[1:]]
        assert len(toggles) >= 4, toggles
        for change in toggles[1:4]:
            assert change.timestamp == pytest.approx(BLINK["fast"], abs=0.06)
        assert line1.state == 0
        slow_pin = pwm_factory.pin(5)
        leds.set("power", "slow")
        time.sleep(0.05)
        assert slow_pin.state == pytest.approx(0.25)  # blinks at its brightness
        leds.set("power", "off")
        assert slow_pin.state == 0
    finally:
        asyncio.run(leds.close())


def test_a_pin_without_pwm_lights_fully(factory, caplog):
    leds = GpioLeds({"power": LedPin(5, brightness=0.3)}, pin_factory=factory)
    try:
        leds.set("power", "on")
        assert factory.pin(5).state is True
        assert "cannot dim" in caplog.text
    finally:
        asyncio.run(leds.close())


def test_pin_factory_choice(monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    assert make_pin_factory(None) is None
    assert isinstance(make_pin_factory("mock"), MockFactory)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    assert isinstance(make_pin_factory("lgpio"), MockFactory)   # the environment wins
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY")
    with pytest.raises(ValueError, match="no pin factory"):
        make_pin_factory("nonesuch")
