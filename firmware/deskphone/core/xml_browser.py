"""The XML browser: what a pushed Yealink XML object does on the phone (see core.xml_objects).

- TextScreen and TextMenu take the screen over everything but a ringing call and
  the "Allow Remote Control?" prompt. A call that rings over one takes the
  screen; once the phone has no call any more the object is back (its timeout
  still running). A newer object replaces the one shown.
- On a TextScreen: UP/DOWN scroll, OK leaves it (requesting ``doneAction`` when
  it has one), X leaves it (requesting ``cancelAction`` when it has one).
- On a TextMenu: UP/DOWN choose, a digit chooses that item, OK requests the
  item's URI (``Dial:N`` dials instead, ``Key:K`` presses nothing but leaves),
  X leaves (requesting ``cancelAction``).
- Status: the idle screen shows the sessions' lines under the date, until the
  Timeout (per session) or a Status of the same session without text.
- Execute is turned into the inputs it stands for (``execute_inputs``), the way
  the Action URI turns a request into inputs.
"""

from __future__ import annotations

from typing import Mapping

from . import calls, sound_model
from . import effects as fx
from . import inputs as ins
from .keys import DIGITS, is_line_key
from .state import PhoneState
from .step import Step
from .uri import ActionUriError, parse_key
from .xml_objects import (MAX_SESSIONS, Execute, FetchXml, PlayWav, PushXml, Status, TextMenu,
                          TextScreen, XmlLed)

TIMER = "xml"
STATUS_TIMER = "xmlstatus:"
LED_PATTERNS = {"on": "on", "off": "off", "slowflash": "slow", "fastflash": "fast",
                "slow": "slow", "fast": "fast", "flash": "slow"}
LED_NAMES = {"mwi": "mwi", "power": "power", "dnd": "dnd", "mute": "mute",
             "speaker": "speaker", "headset": "headset"}


class XmlError(ActionUriError):
    """A pushed object the phone cannot take (the door answers 400)."""


def showing(state: PhoneState) -> bool:
    xml = state.xml
    return xml.shown is not None and state.ringing() is None and not state.prompts \
        and not (xml.under_call and state.calls)


# ------------------------------------------------------------ inputs

def on_push(step: Step, inp: PushXml) -> None:
    state, obj = step.state, inp.obj
    if isinstance(obj, Status):
        return _status(step, obj)
    if isinstance(obj, Execute):
        return              # the door turned it into inputs already (execute_inputs)
    state.xml.shown = obj
    state.xml.index = max(0, min(obj.default_index - 1, len(obj.items) - 1)) \
        if isinstance(obj, TextMenu) else 0
    state.xml.under_call = bool(state.calls) and state.ringing() is not None
    _restart_timer(step)
    if obj.beep:
        sound_model.confirm(step)


def _status(step: Step, obj: Status) -> None:
    statuses = step.state.xml.statuses
    lines = tuple(m for m in obj.messages if m.strip())
    statuses.pop(obj.session, None)
    if not lines:
        step.cancel_timer(STATUS_TIMER + obj.session)
        return
    statuses[obj.session] = lines
    while len(statuses) > MAX_SESSIONS:
        oldest = next(iter(statuses))
        statuses.pop(oldest)
        step.cancel_timer(STATUS_TIMER + oldest)
    if obj.timeout > 0:
        step.timer(STATUS_TIMER + obj.session, float(obj.timeout))
    else:
        step.cancel_timer(STATUS_TIMER + obj.session)
    if obj.beep:
        sound_model.confirm(step)


def on_xml_led(step: Step, inp: XmlLed) -> None:
    # Sent now and noted as sent: the LED stays so until the phone's state moves it.
    step.state.sent.leds[inp.led] = inp.pattern
    step.send(fx.SetLed(inp.led, inp.pattern))


def on_timer(step: Step, name: str) -> bool:
    """The XML browser's timers; False for a timer that is not one of them."""
    if name == TIMER:
        _leave(step)
        return True
    if name.startswith(STATUS_TIMER):
        step.state.xml.statuses.pop(name[len(STATUS_TIMER):], None)
        return True
    return False


def after(step: Step, inp: object) -> None:
    xml = step.state.xml
    if not step.state.calls:
        xml.under_call = False
    elif xml.shown is not None and isinstance(inp, ins.CallIncoming):
        xml.under_call = True


def _restart_timer(step: Step) -> None:
    shown = step.state.xml.shown
    if shown is not None and shown.timeout > 0:
        step.timer(TIMER, float(shown.timeout))
    else:
        step.cancel_timer(TIMER)


def _leave(step: Step, uri: str = "") -> None:
    step.state.xml.shown = None
    step.cancel_timer(TIMER)
    if uri:
        _follow(step, uri)


def _follow(step: Step, uri: str) -> None:
    head, _, rest = uri.partition(":")
    if head.lower() in ("http", "https"):
        step.send(FetchXml(uri))
    elif head.lower() == "dial" and rest.strip():
        number, _, account = rest.strip().partition(":")
        calls.on_dial(step, ins.Dial(number, int(account) if account.isdigit() else None))


# ------------------------------------------------------------ keys

def on_key(step: Step, key: str) -> bool:
    """A key while a pushed object is shown; False lets it go on to the phone."""
    state = step.state
    if not showing(state):
        return False
    shown = state.xml.shown
    if key in ("OK", "X", "UP", "DOWN") or (isinstance(shown, TextMenu) and key in DIGITS):
        _restart_timer(step)
    if isinstance(shown, TextScreen):
        if key == "OK":
            _leave(step, shown.done_action)
        elif key == "X":
            _leave(step, shown.cancel_action)
        elif key in ("UP", "DOWN"):
            state.xml.index = max(0, state.xml.index + (1 if key == "DOWN" else -1))
        else:
            return False
        return True
    assert isinstance(shown, TextMenu)
    count = len(shown.items)
    if key in ("UP", "DOWN") and count:
        state.xml.index = (state.xml.index + (1 if key == "DOWN" else -1)) % count
    elif key in DIGITS and key.isdigit() and 1 <= int(key) <= count:
        state.xml.index = int(key) - 1
        _leave(step, shown.items[state.xml.index].uri)
    elif key == "OK" and count:
        _leave(step, shown.items[state.xml.index].uri)
    elif key == "X":
        _leave(step, shown.cancel_action)
    else:
        # The audio keys, RD and the line keys go on to the phone; the rest stop here.
        return key not in ("HEADSET", "SPEAKER", "RD") and not is_line_key(key)
    return True


# ------------------------------------------------------------ Execute

def execute_inputs(obj: Execute, *, line_keys: int,
                   settings: Mapping[str, object] | None = None) -> list[object]:
    """The inputs an Execute object stands for, in order; XmlError for an item it cannot do."""
    out: list[object] = []
    for uri in obj.items:
        head, _, arg = uri.partition(":")
        what, arg = head.strip().lower(), arg.strip()
        if what == "key" and arg:
            name = arg.upper()
            if name.startswith("LINE") and name[4:].isdigit():
                name = f"L{int(name[4:])}"
            try:
                out += parse_key(name, line_keys=line_keys, settings=settings)
            except ActionUriError as exc:
                raise XmlError(f"ExecuteItem {uri!r}: {exc}") from None
        elif what == "dial" and arg:
            number, _, account = arg.partition(":")
            out.append(ins.Dial(number.strip(), int(account) if account.isdigit() else None))
        elif what == "led" and "=" in arg:
            led, _, pattern = arg.partition("=")
            name = _led_name(led.strip().lower(), line_keys)
            if name is None or pattern.strip().lower() not in LED_PATTERNS:
                raise XmlError(f"ExecuteItem {uri!r}: no such LED or pattern")
            out.append(XmlLed(name, LED_PATTERNS[pattern.strip().lower()]))
        elif what == "wav.play" and arg:
            out.append(PlayWav(arg))
        else:
            raise XmlError(f"ExecuteItem {uri!r}: expected Key:, Dial:, Led: or Wav.Play:")
    return out


def _led_name(led: str, line_keys: int) -> str | None:
    if led in LED_NAMES:
        return LED_NAMES[led]
    for prefix in ("line", "l"):
        rest = led[len(prefix):].split("_", 1)[0]
        if led.startswith(prefix) and rest.isdigit() and 1 <= int(rest) <= line_keys:
            return f"line{int(rest)}"
    return None
