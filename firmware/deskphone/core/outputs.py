"""What follows from the state after every input: Idle To Busy / Busy To Idle, the
screen, the LEDs, the status line and the sounds, each sent only when it changed.

In two parts (``Phone.react`` / ``Phone.settle``): ``events_and_route`` with the
input's own effects, ``devices`` after them, once the runtime has sent the events.

Idle To Busy / Busy To Idle: the phone leaves / returns to its idle screen (a
call in any state, dialing, or the handset lifted makes it busy). They fire
after the event that caused the change.
"""

from __future__ import annotations

from . import effects as fx
from . import blf_control, sound_model
from . import voicemail_control as voicemail
from .features import DND
from .screens import build_screen
from .state import PhoneState
from .step import Step


def events_and_route(step: Step) -> None:
    """Idle To Busy / Busy To Idle, when the input changed which one the phone is; and
    the engine's audio route, which must go before the input's answer or dial."""
    sound_model.route(step)
    state, sent = step.state, step.state.sent
    busy = state.busy
    if busy != sent.busy:
        sent.busy = busy
        step.emit("idle_to_busy" if busy else "busy_to_idle")


def devices(step: Step) -> None:
    """The screen, LEDs, status line and sounds, each sent when it differs from the last."""
    state, sent = step.state, step.state.sent
    screen = build_screen(state, step.now)
    if screen != sent.screen:
        sent.screen = screen
        step.send(fx.Render(screen))
    for led, pattern in led_patterns(state).items():
        if sent.leds.get(led) != pattern:
            sent.leds[led] = pattern
            step.send(fx.SetLed(led, pattern))
    if screen.status != sent.status:
        sent.status = screen.status
        step.send(fx.Status(screen.status))
    sound_model.sound_effects(step)


def led_patterns(state: PhoneState) -> dict[str, str]:
    focused = state.focused
    leds = {
        # Voicemail flashes the power LED as on a Yealink (core.voicemail_control, README "Voicemail").
        "power": "slow" if voicemail.lamp(state)
        and state.settings.get("phone_setting.mail_power_led_flash_enable", True) else "on",
        "dnd": "on" if DND.on(state.settings) else "off",
        "mwi": "slow" if state.missed or voicemail.lamp(state) else "off",
        "mute": "on" if focused and focused.muted else "off",
        "speaker": "on" if state.audio == "speaker" else "off",
        "headset": "on" if state.audio == "headset" else "off",
    }
    for n in range(1, state.device.line_keys + 1):
        if (blf_led := blf_control.led(state, n)) is not None:
            leds[f"line{n}"] = blf_led          # a BLF key shows the watched user
            continue
        on_line = [c for c in state.calls if c.account == n]
        if any(c.ringing for c in on_line):
            leds[f"line{n}"] = "fast"
        elif any(c.held for c in on_line):
            leds[f"line{n}"] = "slow"
        elif on_line:
            leds[f"line{n}"] = "on"
        else:
            leds[f"line{n}"] = "off"
    return leds
