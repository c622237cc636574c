"""The person at the phone: keys, soft keys, the feature menu, the hook switch, dialing.

- Off Hook / On Hook fire for the handset hook switch after debouncing (mock
  pins and some kernels ignore gpiozero's ``bounce_time``, so the level has to
  settle here), and at once for the OFFHOOK / ONHOOK remote keys, which are
  presses, not a bouncing contact.
- A key pressed through Action URI (``KeyPress.remote``) acts like the real
  key, except that it never answers the "Allow Remote Control?" prompt.
"""

from __future__ import annotations

from typing import Callable

from . import calls, feature_control, lifecycle, records, sound_model, xml_browser
from . import voicemail_control as voicemail
from . import blf_control
from . import effects as fx
from . import inputs as ins
from .accounts import MAX_ACCOUNTS, account
from .features import BY_MENU_LABEL, DND, MENU
from .keys import DIGITS, is_line_key
from .screens import build_screen
from .state import DialBuffer, Menu
from .step import Step

# What each soft key label presses.
SOFT_KEYS = {
    "Answer": "OK", "Send": "OK", "Reject": "X", "Cancel": "X", "End": "X",
    "Hold": "HOLD", "Resume": "HOLD", "Xfer": "TRANSFER", "Mute": "MUTE",
    "Unmute": "MUTE", "Del": "LEFT", "Menu": "OK", "Back": "X", "Ok": "OK",
    "Redial": "RD",
}


# ------------------------------------------------------------- the hook

def on_hook_changed(step: Step, inp: ins.HookChanged) -> None:
    state = step.state
    state.raw_hook = inp.off_hook
    debounce_ms = state.number("deskphone.hook.debounce_ms", 0)
    if inp.remote or debounce_ms <= 0:
        # A remote OFFHOOK/ONHOOK is a press: it acts now, before the request's next key.
        if inp.off_hook != state.hook_off:
            apply_hook(step, inp.off_hook)
    else:
        step.timer("hook", debounce_ms / 1000.0)


def hook_settled(step: Step) -> None:
    """The debounce time is up: the level that stayed is the hook's."""
    if step.state.raw_hook != step.state.hook_off:
        apply_hook(step, step.state.raw_hook)


def apply_hook(step: Step, off: bool) -> None:
    state = step.state
    state.hook_off = off
    step.emit("off_hook" if off else "on_hook")
    call = state.focused
    if off:
        ringing = state.ringing()
        if ringing and (call is None or call is ringing or not call.connected):
            calls.answer(step, ringing, "handset")
        elif call is not None:
            state.audio = "handset"
        else:
            go_off_hook(step, "handset")
    elif state.audio == "handset":
        if call is not None:
            calls.end(step, call)
        state.dial = None
        state.menu = None
        state.audio = None


def go_off_hook(step: Step, audio: str, line: int | None = None) -> None:
    state = step.state
    state.audio = audio
    state.menu = None
    if state.dial is None:
        state.dial = DialBuffer(account=line or state.default_account())
    elif line:
        state.dial.account = line


# ------------------------------------------------------------- the keys

def on_key_press(step: Step, inp: ins.KeyPress) -> None:
    state = step.state
    key = inp.key
    if key in sound_model.VOLUME_KEYS:
        return sound_model.volume_key(step, key)
    if key == "AUTOP":
        return lifecycle.on_request_auto_provision(step, ins.RequestAutoProvision())
    if key.startswith("F") and key[1:].isdigit():
        label = build_screen(state, step.now).softkeys[int(key[1:]) - 1]
        return softkey(step, label, inp.remote)
    if key in ("OK", "X") and state.prompts and build_screen(state, step.now).kind == "prompt":
        # The prompt owns OK and X; only the person at the phone may answer it.
        if not inp.remote:
            lifecycle.answer_prompt(step, key == "OK")
        return
    if xml_browser.on_key(step, key) or records.on_key(step, key):
        return      # a pushed XML object, History or a list (and RD) took the key
    if state.menu is not None and _menu_key(step, key):
        return
    if key == "HEADSET":
        step.emit("headset")
        return _audio_key(step, "headset")
    if key == "SPEAKER":
        step.emit("handfree")
        return _audio_key(step, "speaker")
    if is_line_key(key):
        return _line_key(step, int(key[1:]))
    handler = KEYS.get(key)
    if handler is not None:
        handler(step)
    elif key in DIGITS:
        _digit(step, key)


def softkey(step: Step, label: str, remote: bool = False) -> None:
    if label == "DND":
        feature_control.toggle(step, DND)
    elif records.softkey(step, label):
        return
    elif label in SOFT_KEYS:
        on_key_press(step, ins.KeyPress(SOFT_KEYS[label], remote))


def _ok(step: Step) -> None:
    state = step.state
    ringing = state.ringing()
    if ringing:
        calls.answer(step, ringing, state.audio or "speaker")
    elif state.dial is not None:
        send_dial(step)
    elif state.focused is None:
        state.menu = Menu(MENU)


def _cancel(step: Step) -> None:
    state = step.state
    ringing, call = state.ringing(), state.focused
    if ringing:
        calls.reject(step, ringing)
    elif state.dial is not None:
        calls.cancel_dial(step)
    elif call is not None:
        calls.end(step, call)
    else:
        state.message = ""


def _mute(step: Step) -> None:
    call = step.state.focused
    if call and call.connected:
        calls.mute(step, call, not call.muted)


def _hold(step: Step) -> None:
    call = step.state.focused
    if call and call.connected:
        calls.hold(step, call, not call.held)


def _redial(step: Step) -> None:
    state = step.state
    if not state.calls and state.last_number:
        go_off_hook(step, state.audio or "speaker")
        assert state.dial is not None
        state.dial.digits = state.last_number
        send_dial(step)


def _conference(step: Step) -> None:
    if step.state.focused is not None:
        step.flash("No conference")


def _focus_next(step: Step, by: int) -> None:
    state, call = step.state, step.state.focused
    if len(state.calls) > 1 and call is not None:
        i = state.calls.index(call) + by
        state.focus = state.calls[i % len(state.calls)].ref


def _back_idle(step: Step) -> None:
    """BACK_IDLE: leave the menu, the number being dialled and any message for the idle
    screen. Calls stay as they are (a call is not "what the phone is doing" on the screen),
    and a transfer being dialled gives its held call back."""
    state = step.state
    state.menu = None
    state.message = ""
    if state.dial is not None:
        calls.cancel_dial(step)


def _delete_digit(step: Step) -> None:
    dial = step.state.dial
    if dial is not None and dial.digits:
        dial.digits = dial.digits[:-1]


# The function keys by name (digits, line keys, the audio keys and soft keys are above).
KEYS: dict[str, Callable[[Step], None]] = {
    "OK": _ok, "X": _cancel, "MUTE": _mute, "HOLD": _hold, "TRANSFER": calls.transfer_key,
    "RD": _redial, "MSG": voicemail.msg_key, "CONF": _conference,
    "UP": lambda step: _focus_next(step, -1), "DOWN": lambda step: _focus_next(step, 1),
    "LEFT": _delete_digit, "BACK_IDLE": _back_idle, "SWAP": calls.swap, "SPLIT": calls.split,
}


def _menu_key(step: Step, key: str) -> bool:
    """Keys while the feature menu is open; False lets the key through."""
    state = step.state
    menu = state.menu
    assert menu is not None
    if menu.editing is not None:
        if key in DIGITS:
            menu.entry += key
        elif key == "LEFT":
            menu.entry = menu.entry[:-1]
        elif key == "OK" and menu.entry:
            feature_control.on_set_forward(step, ins.SetForward(menu.editing, True, menu.entry))
            menu.editing, menu.entry = None, ""
        elif key == "X":
            menu.editing, menu.entry = None, ""
        return True
    if key in ("UP", "DOWN"):
        menu.index = (menu.index + (1 if key == "DOWN" else -1)) % len(menu.items)
    elif key == "OK":
        feature = BY_MENU_LABEL[menu.items[menu.index]]
        if feature.forward_kind is not None and not feature.on(state.settings):
            # Switching a forward on asks for its target first.
            menu.editing = feature.forward_kind
            menu.entry = feature.target(state.settings)
        else:
            feature_control.toggle(step, feature)
    elif key == "X":
        state.menu = None
    else:
        state.menu = None
        return False
    return True


def _audio_key(step: Step, mode: str) -> None:
    state = step.state
    call = state.focused
    ringing = state.ringing()
    if ringing and (call is None or call is ringing):
        return calls.answer(step, ringing, mode)
    if call is not None or state.dial is not None:
        if state.audio == mode and not state.hook_off:
            # Pressing the lit handsfree/headset key again hangs up, as on a desk phone.
            if call is not None:
                calls.end(step, call)
            state.dial = None
            if not state.calls:
                state.audio = None
        else:
            state.audio = mode
        return
    go_off_hook(step, mode)


def _line_key(step: Step, n: int) -> None:
    state = step.state
    if n in state.blf:
        return blf_control.press(step, state.blf[n])
    ringing = state.ringing()
    if ringing and (ringing.account == n or state.focused in (None, ringing)):
        return calls.answer(step, ringing, state.audio or "speaker")
    on_line = [c for c in state.calls if c.account == n]
    if on_line:
        state.focus = on_line[0].ref
    elif not state.calls and 1 <= n <= MAX_ACCOUNTS and account(state.settings, n).enabled:
        go_off_hook(step, state.audio or "speaker", line=n)


# ------------------------------------------------------------- dialing

def _digit(step: Step, key: str) -> None:
    state = step.state
    call = state.focused
    in_call = call is not None and call.connected
    if state.dial is not None or not state.calls or in_call:
        sound_model.key_click(step, key)
    if state.dial is not None:
        if key == "#" and state.dial.digits:
            return send_dial(step)
        state.dial.digits += key
        _restart_dial_timer(step)
    elif call is not None and in_call:
        step.send(fx.EngineDtmf(call.call_id, key))
    elif not state.calls:
        # Digits on an idle phone start pre-dialling; the call goes out on the speaker.
        state.menu = None
        state.dial = DialBuffer(digits=key, account=state.default_account())
        _restart_dial_timer(step)


def _restart_dial_timer(step: Step) -> None:
    seconds = step.state.setting("phone_setting.inter_digit_time", 4)
    step.timer("dial", float(seconds))  # type: ignore[arg-type]


def dial_timeout(step: Step) -> None:
    """No digit for the inter-digit time: what is dialled goes out."""
    if step.state.dial and step.state.dial.digits:
        send_dial(step)


def send_dial(step: Step) -> None:
    state = step.state
    dial = state.dial
    assert dial is not None
    step.cancel_timer("dial")
    number = dial.digits
    if not number:
        return
    state.dial = None
    if state.audio is None:
        state.audio = "speaker"
    calls.place(step, number, dial.account, consult_for=dial.transfer_of)
