"""What the screen shows, as data: the phone state reduced to a small screen model.

``hw/render.py`` turns a ``Screen`` into pixels for the OLED, the simulated
display and ``/screencapture``; the core only decides the words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from . import blf, features, voicemail_control, xml_screens
from .accounts import account, enabled_accounts
from .state import Call, PhoneState

NO_KEYS = ("", "", "", "")
# The error line for a board part that went away, most important first (a lost
# display shows nothing on itself, so it has none).
DEVICE_MISSING = {"network": "No network", "keypad": "Keypad missing",
                  "hook": "Hook switch missing"}


@dataclass(frozen=True)
class Screen:
    kind: str                          # idle | dialing | ringing | ringback | connected | menu...
    title: str                         # status bar, left: account or state
    corner: str                        # status bar, right: clock or call timer
    lines: tuple[str, ...]             # the body, top to bottom (at most 3)
    softkeys: tuple[str, str, str, str] = NO_KEYS
    icons: tuple[str, ...] = ()        # dnd, fwd, missed, mute, hold, held, speaker, headset
    selected: int | None = None        # highlighted body line (menus)
    bar: int | None = None             # a 0..15 level bar (volume) under the body
    status: str = ""                   # one line for the service manager and console


def _clock(now: float) -> str:
    return time.strftime("%H:%M", time.localtime(now))


def _duration(call: Call, now: float) -> str:
    secs = max(0, int(now - (call.established_at or now)))
    return f"{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}" if secs >= 3600 \
        else f"{secs // 60:02d}:{secs % 60:02d}"


def _peer(call: Call) -> tuple[str, str]:
    """(name, number) of the other party, each possibly empty."""
    uri = call.remote_uri
    number = uri.split(":", 1)[-1].split("@", 1)[0].split(";", 1)[0] if uri else call.number
    return call.remote_name, number or call.number


def _switched_on(phone: PhoneState, menu_label: str) -> bool:
    feature = features.BY_MENU_LABEL.get(menu_label)
    return feature is not None and feature.on(phone.settings)


def _icons(phone: PhoneState) -> list[str]:
    icons = features.icons(phone.settings)
    if phone.missed:
        icons.append("missed")
    if phone.audio in ("speaker", "headset"):
        icons.append(phone.audio)
    return icons


def build_screen(phone: PhoneState, now: float) -> Screen:
    """The screen for the state ``phone`` at ``now``."""
    screen = _base_screen(phone, now)
    extra: dict[str, object] = {}
    if phone.show_volume:
        extra["bar"] = phone.volume
    if phone.message:
        lines = (screen.lines + ("", "", ""))[:2] + (phone.message,)
        extra["lines"] = lines
    if not phone.engine_up:
        extra["lines"] = (screen.lines + ("", "", ""))[:2] + ("Phone service down",)
    problem = next((DEVICE_MISSING[d] for d in DEVICE_MISSING if d in phone.missing), None)
    if problem:
        extra["lines"] = (screen.lines + ("", "", ""))[:2] + (problem,)
        extra["status"] = f"{screen.status} ({problem})"
    if extra:
        screen = replace(screen, **extra)  # type: ignore[arg-type]
    return screen


def _base_screen(phone: PhoneState, now: float) -> Screen:
    icons = _icons(phone)
    focused = phone.focused
    ringing = phone.ringing()

    if phone.prompts and not phone.calls:
        # Over the menu and the idle screen, never over a call: OK allows, X denies.
        source = phone.prompts[0]
        return Screen("prompt", "Remote control", _clock(now),
                      ("Allow Remote Control?", source, "OK: allow  X: deny"),
                      ("Ok", "", "", "Cancel"), tuple(icons),
                      status=f"Asking: remote control from {source}")

    mine = xml_screens.screen_fields(phone, now)     # a pushed XML object, History, lists
    if mine is not None:
        return Screen(icons=tuple(icons), **mine)

    if phone.menu is not None:
        menu = phone.menu
        if menu.editing is not None:
            return Screen("menu", "Forward to", _clock(now), (menu.entry or "_",),
                          ("Ok", "Del", "", "Back"), tuple(icons),
                          status="Menu")
        start = max(0, min(menu.index - 1, len(menu.items) - 3))
        window = menu.items[start:start + 3]
        lines = tuple(f"{item:<13}{'On' if _switched_on(phone, item) else 'Off':>3}"
                      for item in window)
        return Screen("menu", "Features", _clock(now), lines, ("Ok", "", "", "Back"),
                      tuple(icons), selected=menu.index - start, status="Menu")

    if ringing is not None and (focused is None or focused is ringing
                                or not focused.connected):
        name, number = _peer(ringing)
        acc = account(phone.settings, ringing.account)
        return Screen("ringing", f"Incoming: {acc.title}", _clock(now),
                      (name or number, number if name else "", ""),
                      ("Answer", "", "", "Reject"), tuple(icons),
                      status=f"Ringing: {name or number}")

    if phone.dial is not None:
        dial = phone.dial
        title = "Transfer to" if dial.transfer_of else account(phone.settings, dial.account).title
        return Screen("dialing", title, _clock(now), (dial.digits or "", "", ""),
                      ("Send", "Del", "Xfer" if dial.transfer_of else "", "Cancel"),
                      tuple(icons), status="Dialing")

    if focused is not None:
        name, number = _peer(focused)
        who = name or number
        marks = list(icons)
        if focused.muted:
            marks.append("mute")
        if focused.held:
            marks.append("hold")
        if focused.remote_held:
            marks.append("held")
        third = ""
        if ringing is not None:
            rname, rnumber = _peer(ringing)
            third = f"Waiting: {rname or rnumber}"
        elif len(phone.calls) > 1:
            third = f"Call {phone.calls.index(focused) + 1} of {len(phone.calls)}"
        if focused.connected:
            state = "On hold" if focused.held else "Held" if focused.remote_held else "Talking"
            keys = ("Xfer", "Resume" if focused.held else "Hold",
                    "Unmute" if focused.muted else "Mute", "End")
            if ringing is not None:
                keys = ("Answer", "", "", "Reject")
            return Screen("connected", state, _duration(focused, now),
                          (who, number if name else "", third), keys, tuple(marks),
                          status=f"{state}: {who}")
        keys = ("Xfer" if focused.consult_for else "", "", "", "Cancel")
        return Screen("ringback", "Calling", _clock(now),
                      (who, number if name else "", third), keys, tuple(marks),
                      status=f"Calling: {who}")

    accs = enabled_accounts(phone.settings)
    if accs:
        first = accs[0]
        state = phone.regs.get(first.index, "registering")
        reg = {"registered": "", "failed": "Registration failed",
               "unregistered": "Not registered"}.get(state, "Registering...")
        title, line2 = first.title, reg
    else:
        title, line2 = "No account", "Set account.1.* in the config"
    line3 = f"{phone.missed} missed call{'s' if phone.missed != 1 else ''}" if phone.missed else ""
    if vm := voicemail_control.idle_line(phone):  # the voicemail count first
        line3 = f"{vm}, {phone.missed} missed" if phone.missed else vm
    if ringing := blf.ringing_text(phone.blf):   # a watched user rings: press its key to pick up
        line3 = ringing
    body = xml_screens.idle_lines(phone, (time.strftime("%a %d %b", time.localtime(now)),
                                          line2, line3))
    return Screen("idle", title, _clock(now), body,
                  ("DND", "Calls", "Redial", "Menu"), tuple(icons),
                  status="Idle" + (f" ({line2})" if line2 else ""))
