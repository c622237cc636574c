"""Yealink Action URI values -> core inputs. Pure: shared by the HTTP servlet and SIP NOTIFY.

A remote key is the same input the keypad (or the feature menu) produces, so it
fires the same Action URL events: ``OFFHOOK`` is the hook switch, ``DNDOn`` is
the DND toggle, ``number=..`` places a call as dialling does.

Two entry points, both taking already-decoded text:

- ``parse_key(value)``: the value of one ``key=`` (``OK``, ``F1;F3;DOWN;OK``,
  ``AlwaysFwdOn=1234``, ``number=1234``, ``201;ENTER;``), as it comes in a
  servlet query or a NOTIFY body ``key=VALUE``; a run of digits (``1234``) is
  each digit pressed in turn (pre-dialling on an idle phone, DTMF in a call);
- ``parse_request(params)``: a whole request's parameters (``key``, ``number``,
  ``outgoing_uri``; names in any case), for the ``number=N&outgoing_uri=URI``
  form that comes with or without ``key=``.

Both return the inputs in order, or raise ``ActionUriError`` with a one-line
reason; nothing is half-parsed, so a bad value anywhere means nothing is done.
Values are matched without regard to case (``x``, ``Reboot``, ``DNDON``).
A value that does not apply in the phone's state (MUTE while idle) parses
fine: the core ignores it, as a Yealink phone does.
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Mapping

from ..errors import DeskphoneError
from . import inputs as ins
from .accounts import MAX_ACCOUNTS, account, enabled_accounts
from .features import FEATURES, FORWARDS, Feature
from .keys import DIGITS, MAX_LINE_KEYS

MAX_KEYS = 64            # keys in one request: a key sequence, not a script
MAX_TARGET = 128         # characters of a number or forward target


class ActionUriError(DeskphoneError, ValueError):
    """An Action URI value this phone does not know or cannot use; the message is one line."""


# Value (upper case) -> the key it presses on this phone.
_KEY_ALIASES = {
    "OK": "OK", "ENTER": "OK", "SPEAKER": "SPEAKER", "F_TRANSFER": "TRANSFER",
    "VOLUME_UP": "VOLUME_UP", "VOLUME_DOWN": "VOLUME_DOWN", "MUTE": "MUTE", "F_HOLD": "HOLD",
    "F_CONFERENCE": "CONF", "X": "X", "POUND": "#", "#": "#", "*": "*", "MSG": "MSG",
    "HEADSET": "HEADSET", "RD": "RD", "UP": "UP", "DOWN": "DOWN", "LEFT": "LEFT",
    "RIGHT": "RIGHT", "F1": "F1", "F2": "F2", "F3": "F3", "F4": "F4",
    "BACK_IDLE": "BACK_IDLE", "SWAP": "SWAP", "SPLIT": "SPLIT",
    **{d: d for d in "0123456789"},
}

# The switches of the feature table that are not forwards (DND, call waiting): the input
# each <stem>On / <stem>Off makes, by the feature's name.
_SWITCH_INPUT: dict[str, Callable[[bool], ins.Input]] = {
    "dnd": ins.SetDnd, "call_waiting": ins.SetCallWaiting,
}


def _switches(feature: Feature) -> dict[str, ins.Input]:
    if feature.forward_kind is not None:      # a forward's On takes its target: _FORWARD_ON
        return {f"{feature.uri.upper()}OFF": ins.SetForward(feature.forward_kind, False)}
    make = _SWITCH_INPUT[feature.name]
    return {f"{feature.uri.upper()}ON": make(True), f"{feature.uri.upper()}OFF": make(False)}


# Value (upper case) -> the input, for values that are not a single key.
_PLAIN: dict[str, ins.Input] = {
    "REBOOT": ins.RequestRestart(reset=False),
    "RESET": ins.RequestRestart(reset=True),
    "AUTOP": ins.RequestAutoProvision(),
    "OFFHOOK": ins.HookChanged(True, remote=True),
    "ONHOOK": ins.HookChanged(False, remote=True),
    "ANSWER": ins.Answer(),
    "ASW": ins.Answer(),
    "CALLEND": ins.EndCall(),
    "CANCEL": ins.EndCall(),
    "HOLD": ins.SetHold(True),
    "UNHOLD": ins.SetHold(False),
    "F_UNHOLD": ins.SetHold(False),
    # The feature switches' <stem>On / <stem>Off, named as the feature table names them.
    **{name: inp for f in FEATURES for name, inp in _switches(f).items()},
}

# VALUE:<call-id> forms (the id as sent in $call_id).
_WITH_CALL_ID = {
    "ASW": lambda cid: ins.Answer(cid),
    "CANCEL": lambda cid: ins.EndCall(cid),
    "HOLD": lambda cid: ins.SetHold(True, cid),
    "UNHOLD": lambda cid: ins.SetHold(False, cid),
}

_FORWARD_ON = {f"{f.uri.upper()}ON": kind for kind, f in FORWARDS.items()}


# Characters no number, forward target or call id holds. Cc: controls (C0, DEL, C1 with
# U+0085 NEXT LINE); Zl / Zp: U+2028 / U+2029, which str.splitlines() and many clients
# take for line ends (a phonecfg line could be forged); Cf: format characters such as the
# right-to-left override U+202E and zero-width joiners, which make one number look like
# another on a screen or in a log.
_REFUSED_CATEGORIES = {"Cc": "a control character", "Zl": "a line separator",
                       "Zp": "a paragraph separator", "Cf": "an invisible format character",
                       "Cs": "an undecodable byte"}


def _clean(text: str, what: str) -> str:
    for c in text:
        why = _REFUSED_CATEGORIES.get(unicodedata.category(c))
        if why is not None:
            raise ActionUriError(f"{what} contains {why} (U+{ord(c):04X})")
        if not c.isascii() and (c.isdigit() or c.isspace()):
            # Arabic-Indic or full-width digits pass str.isdigit() but dial nothing a
            # PBX knows; a no-break space is a blank in disguise.
            raise ActionUriError(f"{what} contains a non-ASCII "
                                 f"{'digit' if c.isdigit() else 'blank'} (U+{ord(c):04X})")
    if len(text) > MAX_TARGET:
        raise ActionUriError(f"{what} longer than {MAX_TARGET} characters")
    return text


def _show(value: str) -> str:
    """A value for an error message: short, printable, one line."""
    shown = value if len(value) <= 40 else value[:37] + "..."
    return repr(shown.encode("unicode_escape", "backslashreplace").decode("ascii"))


def _one(value: str, line_keys: int) -> ins.Input:
    item = value.strip()
    if not item:
        raise ActionUriError("empty key value")
    upper = item.upper()
    if upper in _KEY_ALIASES:
        return ins.KeyPress(_KEY_ALIASES[upper], remote=True)
    if upper in _PLAIN:
        return _PLAIN[upper]
    if 1 < len(item) <= MAX_TARGET and all(c in DIGITS for c in item):
        # A run of digits (key=1234): each digit pressed in turn: see parse_key.
        return ins.KeyPress(item, remote=True)
    if upper.startswith("L") and upper[1:].isdigit() and upper[1:].isascii():
        n = int(upper[1:])
        if not 1 <= n <= min(line_keys, MAX_LINE_KEYS):
            raise ActionUriError(f"no line key {item} on this phone (it has L1..L{line_keys})"
                                 if line_keys else f"no line key {item}: this phone has none")
        return ins.KeyPress(f"L{n}", remote=True)
    name, sep, arg = item.partition("=")
    name_up = name.strip().upper()
    if sep:
        arg = arg.strip()
        if name_up in ("ATRANS", "BTRANS"):
            if not arg:
                raise ActionUriError(f"{name} needs a number to transfer to ({name}=1234)")
            return ins.Transfer(_clean(arg, "transfer target"), attended=name_up == "ATRANS")
        if name_up in _FORWARD_ON:
            kind = _FORWARD_ON[name_up]
            target, _, rings = arg.partition("=") if kind == "no_answer" else (arg, "", "")
            target = target.strip()
            if not target:
                raise ActionUriError(f"{name} needs a forward target ({name}=1234)")
            timeout = None
            count = rings.strip()     # str.strip also takes \x1c-\x1f, which int() refuses
            if count:
                if not (count.isdigit() and count.isascii()) or not 1 <= int(count) <= 20:
                    raise ActionUriError(f"{name}: ring count must be 1..20 (x 6 s), "
                                         f"got {_show(rings)}")
                timeout = int(count)
            return ins.SetForward(kind, True, _clean(target, "forward target"), timeout)
        if name_up == "NUMBER":
            raise ActionUriError("number= must be the only key of a request")
    head, colon, call_id = item.partition(":")
    if colon and head.upper() in _WITH_CALL_ID:
        call_id = call_id.strip()
        if not call_id:
            raise ActionUriError(f"{head}: needs a call id ({head}:<call-id>)")
        return _WITH_CALL_ID[head.upper()](_clean(call_id, "call id"))
    raise ActionUriError(f"unknown key value {_show(item)}")


def parse_key(value: str, *, line_keys: int = MAX_LINE_KEYS,
              settings: Mapping[str, object] | None = None,
              outgoing_uri: str | None = None) -> list[ins.Input]:
    """The inputs for the value of one ``key=``: one value, or several separated by ``;``.

    ``number=N`` (alone) dials N from the account ``outgoing_uri`` names
    (see ``account_for_uri``; ``settings`` is needed to resolve it).
    """
    text = value.strip()
    name, sep, rest = text.partition("=")
    if sep and name.strip().upper() == "NUMBER":
        return [_dial(rest, outgoing_uri, settings)]
    parts = text.split(";")
    if len(parts) > MAX_KEYS:
        raise ActionUriError(f"too many keys in one request ({len(parts)}; at most {MAX_KEYS})")
    if len(parts) > 1 and parts[-1].strip() == "":
        parts.pop()                         # "OK;" : a trailing separator
    out: list[ins.Input] = []
    for p in parts:
        inp = _one(p, line_keys)
        if isinstance(inp, ins.KeyPress) and len(inp.key) > 1 and inp.key[0] in DIGITS:
            out += [ins.KeyPress(d, remote=True) for d in inp.key]   # a digit run
        else:
            out.append(inp)
    if len(out) > MAX_KEYS + MAX_TARGET:
        raise ActionUriError(f"too many key presses in one request ({len(out)})")
    return out


def parse_request(params: Mapping[str, str], *, line_keys: int = MAX_LINE_KEYS,
                  settings: Mapping[str, object] | None = None) -> list[ins.Input]:
    """The inputs for a request's decoded parameters (``key``, ``number``, ``outgoing_uri``).

    Parameter names are matched without regard to case. Raises ActionUriError
    when there is nothing to do or a value is bad.
    """
    lower = {k.lower(): v for k, v in params.items()}
    outgoing = lower.get("outgoing_uri")
    if "key" in lower:
        return parse_key(lower["key"], line_keys=line_keys, settings=settings,
                         outgoing_uri=outgoing)
    if "number" in lower:
        return [_dial(lower["number"], outgoing, settings)]
    raise ActionUriError("no key= in the request")


def _dial(number: str, outgoing_uri: str | None,
          settings: Mapping[str, object] | None) -> ins.Dial:
    number = number.strip()
    if not number:
        raise ActionUriError("number= is empty")
    _clean(number, "number")
    if any(c.isspace() for c in number):
        raise ActionUriError(f"number {_show(number)} contains a blank")
    acc = account_for_uri(settings or {}, outgoing_uri) if outgoing_uri else None
    return ins.Dial(number, acc)


def account_for_uri(settings: Mapping[str, object], outgoing_uri: str) -> int | None:
    """The enabled account ``outgoing_uri`` names, or None when it names none.

    Named by its SIP URI (``sip:`` optional), ``user@host``, its user part, its
    account number (``2``) or ``AccountN`` in any case (``account2``), as the
    firmware reads it. A value naming no enabled account (clients send ``URI``
    literally, ``@host``, an empty value) means the default account: the caller
    dials from it, as a Yealink does, instead of failing the call.
    """
    want = outgoing_uri.strip()
    if not want:
        return None
    accounts = enabled_accounts(settings)
    bare = want.split(":", 1)[1] if want.lower().startswith(("sip:", "sips:")) else want
    index = bare[7:] if bare.lower().startswith("account") else bare
    if index.isdigit() and index.isascii() and 1 <= int(index) <= MAX_ACCOUNTS \
            and account(settings, int(index)).enabled and not any(
                a.user_name == bare for a in accounts):
        return int(index)
    for a in accounts:
        uri = a.uri.split(":", 1)[1] if a.uri else ""
        host_only = f"{a.user_name}@{a.server}" if a.user_name else ""
        if bare.lower() in (uri.lower(), host_only.lower()) and bare:
            return a.index
    user = bare.split("@", 1)[0]
    for a in accounts:
        if a.user_name and a.user_name == user:
            return a.index
    return None
