"""What the phone sounds like: the tone each route wants, volumes, microphones, the bell.

``wanted_tones`` and ``device_levels`` are read from the state alone;
``sound_effects`` turns the difference from what was last sent into effects.
The one-shot tones (key tones, the confirmation) and the progress tone after a
call ended are started here too.
"""

from __future__ import annotations

from . import effects as fx
from . import inputs as ins
from .keys import DIGITS
from .state import MESSAGE_SECONDS, ROUTES, VOLUME_STEPS, Call, CallState, PhoneState
from .step import Step
from .tones import key_tone, tone_plan

# Close details (SIP status) that mean "no such number": the special information tone.
UNAVAILABLE_CODES = ("404", "410", "484", "604")
VOLUME_KEYS = ("VOLUME_UP", "VOLUME_DOWN")


def wanted_tones(state: PhoneState) -> dict[str, str]:
    """Which tone each route plays now, by name, from the state alone.

    A ringing call rings on the loudspeaker, or, while a route is in use (a call,
    dialing), sounds the call waiting tone there. Otherwise the route in use
    plays the dial tone until the first digit, the ringback tone while the far
    end rings without early media, and after a failed or remotely ended call
    the busy / congestion / number unavailable tone for
    ``features.busy_tone_delay`` seconds.
    """
    want: dict[str, str] = {}
    if state.progress is not None:
        tone, route = state.progress
        want[route] = tone
    audio = state.audio
    if state.ringing() is not None:
        in_use = audio is not None and (
            state.dial is not None or any(not c.ringing for c in state.calls))
        if audio is not None and in_use:
            want[audio] = "call_waiting"
        else:
            want["speaker"] = "ring"
        return want
    if audio is None or audio in want:
        return want
    call = state.focused
    if state.dial is not None and not state.dial.digits:
        want[audio] = "dial"
    elif call is not None and call.direction == "out" and call.state is CallState.RINGBACK \
            and call.remote_ringing and not call.early_media and not call.held:
        want[audio] = "ringback"
    return want


def volume_context(state: PhoneState) -> str:
    """What the volume keys adjust now: ringer, the route in use, or the key tones."""
    if wanted_tones(state).get("speaker") == "ring":
        return "ring"
    if state.audio is not None:
        return state.audio
    if state.progress is not None:
        return state.progress[1]
    return "tones"


def device_levels(state: PhoneState, tones: dict[str, str]) -> dict[str, int]:
    # Each device plays at the level of what is on it: the loudspeaker rings at the
    # ring volume, carries a handsfree call at the speaker volume, else key tones.
    if tones.get("speaker") == "ring":
        speaker = "ring"
    elif state.audio == "speaker" or (state.progress and state.progress[1] == "speaker"):
        speaker = "speaker"
    else:
        speaker = "tones"
    return {"handset": state.volume_level("handset"), "speaker": state.volume_level(speaker),
            "headset": state.volume_level("headset")}


def route(step: Step) -> None:
    """The engine's audio route, when the input changed it: first of the step's effects,
    so the engine opens the right device for an answer or a dial of this step."""
    state, sent = step.state, step.state.sent
    if state.audio is not None and state.audio != sent.route:
        sent.route = state.audio
        step.out.insert(0, fx.EngineRoute(state.audio))


def sound_effects(step: Step) -> None:
    """Sound effects derived from the state: tones, levels, microphones, bell (the route
    goes with the input's own effects, ``route``)."""
    state, sent, out = step.state, step.state.sent, step.out
    tones = wanted_tones(state)
    plan = None
    for route in ROUTES:
        tone = tones.get(route)
        if tone == sent.tones.get(route):
            continue
        if tone is None:
            del sent.tones[route]
            out.append(fx.StopTone(route))
        else:
            plan = plan or tone_plan(state.settings)
            sent.tones[route] = tone
            out.append(fx.PlayTone(route, tone, plan[tone]))
    for route, level in device_levels(state, tones).items():
        if sent.levels.get(route) != level:
            sent.levels[route] = level
            out.append(fx.SetVolume(route, level))
    focused = state.focused
    muted = state.audio if focused is not None and focused.muted else None
    for route in ROUTES:
        if sent.mics.get(route) != (route == muted):
            sent.mics[route] = route == muted
            out.append(fx.SetMicMute(route, route == muted))
    bell = tones.get("speaker") == "ring"
    if bell != sent.bell:
        sent.bell = bell
        out.append(fx.Bell(tone_plan(state.settings)["ring"] if bell else ()))


def volume_key(step: Step, key: str) -> None:
    """VOLUME_UP / VOLUME_DOWN: one step on what they adjust now, shown as a bar."""
    state = step.state
    context = volume_context(state)
    before = state.volume_level(context)
    level = max(0, min(VOLUME_STEPS, before + (1 if key == "VOLUME_UP" else -1)))
    if level != before:
        step.persist(f"deskphone.volume.{context}", level)
    state.volume = level
    state.show_volume = True
    step.timer("volume", MESSAGE_SECONDS)


def overlay(step: Step, tone: str, cadence: tuple) -> None:
    step.send(fx.PlayTone(step.state.audio or "speaker", tone, cadence, overlay=True))


def key_click(step: Step, key: str) -> None:
    if step.state.setting("features.key_tone", True) and key in DIGITS:
        overlay(step, "key", key_tone(key))


def confirm(step: Step) -> None:
    """A feature was switched: the confirmation tone."""
    overlay(step, "confirm", tone_plan(step.state.settings)["confirm"])


def start_progress(step: Step, tone: str, route: str | None) -> None:
    delay = step.state.number("features.busy_tone_delay", 3)
    if route is None or delay <= 0:
        return
    step.state.progress = (tone, route)
    step.timer("progress", float(delay))


def end_progress(step: Step) -> None:
    step.state.progress = None
    step.cancel_timer("progress")


def progress_tone(call: Call, closed: ins.CallClosed) -> str | None:
    """The tone after ``call`` closed as ``closed`` says, or None."""
    if call.connected:
        return "busy" if closed.reason == "normal" else None      # the far end hung up
    if call.direction != "out":
        return None
    code = closed.detail[:3]
    if closed.reason == "busy":
        return "busy"
    if closed.reason == "declined":
        if code in UNAVAILABLE_CODES:
            return "unavailable"
        return "congestion" if code.startswith("5") else "busy"
    if closed.reason == "error":
        return "unavailable" if code in UNAVAILABLE_CODES else "congestion"
    return None


def ends_progress_tone(inp: object) -> bool:
    """The person at the phone does something (not the volume keys): the busy tone stops."""
    if isinstance(inp, ins.KeyPress):
        return inp.key not in VOLUME_KEYS
    return isinstance(inp, (ins.HookChanged, ins.Dial, ins.Answer, ins.CallIncoming))
