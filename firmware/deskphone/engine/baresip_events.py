"""baresip's ctrl_tcp events in, the core's inputs and the adapter's jobs out: no I/O here.

``BaresipEvents`` keeps what the adapter knows of each call in baresip (the
``BaresipCall`` table) and turns every event dict ctrl_tcp delivers into a
list of outputs: core inputs (``ins.CallIncoming``, ``ins.RegState``, ...) to
post, and jobs (``CheckRemoteHold``, ``ReconcileHolds``, ...) for the port
(``engine/baresip.py``) to run against baresip, because an answer needs a
command first. Events are dispatched by a table from event type to handler.

What baresip 1.x makes necessary, and the translator therefore knows:
- ``dial`` does not return the Call-ID: events of a call we are placing that
  overtake it are stashed (``PendingDial``) and replayed once the port binds
  the call, so the core always hears CallOutgoing first;
- CALL_CLOSED carries text (``486 Rejected``, ``Connection reset by peer``,
  ``Call transfered``); with the call's direction and whether it was answered
  it becomes one of the core's ``CLOSE_REASONS`` (``close_reason``);
- the far end holding us has no event in 1.x: only its SDP offer can say so,
  and the negotiated audio direction tells (``audio_direction``);
- a failed transfer makes 1.x end the call itself, with no CALL_CLOSED.
"""

from __future__ import annotations

import collections
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core import inputs as ins
from ..core.text import printable
from .baresip_version import Capabilities

ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REG_LINE = re.compile(r"^[> ] (\S+)\s+(OK|ERR|zzz)\b", re.MULTILINE)
_AUDIO_DIR = re.compile(r"audio dir=(\w+)")
_STATUS = re.compile(r"^(\d{3})\b")
TRANSFERRED = "Call transfered"            # sic: baresip's spelling

log = logging.getLogger("deskphone.engine.baresip")

Event = dict[str, Any]


@dataclass
class BaresipCall:
    """What the adapter knows of one call in baresip."""
    call_id: str
    account: int
    aor: str
    direction: str                  # "in" | "out"
    peer_uri: str
    peer_name: str = ""
    ref: str | None = None          # the core's ref, for calls we placed
    established: bool = False
    want_hold: bool = False         # what the core asked; baresip 1.x changes it on its own
    remote_held: bool = False
    muted: bool = False
    transferring: bool = False
    consult_id: str | None = None   # emulated attended transfer: the consultation call we ended
    forward_to: str | None = None   # answered only to REFER the caller to this URI
    ended_by_us: bool = False


@dataclass
class PendingDial:
    """A call being placed whose Call-ID baresip has not told yet."""
    ref: str
    uri: str
    account: int
    aor: str
    stash: list[Event] = field(default_factory=list)


# ------------------------------------------------------------------ jobs

@dataclass(frozen=True)
class CheckRemoteHold:
    """Ask baresip for the call's audio direction: the far end may have put us on hold."""
    call_id: str


@dataclass(frozen=True)
class ReconcileHolds:
    """baresip 1.x resumed a held call on its own: put back the hold the core asked for."""


@dataclass(frozen=True)
class ReferToForwardTarget:
    """A call answered only to forward it is up: REFER the caller to the target."""
    call_id: str
    target: str


@dataclass(frozen=True)
class DialEventArrived:
    """An event of the call being placed arrived before its Call-ID was bound."""
    ref: str


Job = CheckRemoteHold | ReconcileHolds | ReferToForwardTarget | DialEventArrived
Output = ins.Input | Job


def close_reason(call: BaresipCall, text: str) -> str:
    """The core's close reason for a CALL_CLOSED with ``text`` on ``call``."""
    status = _STATUS.match(text)
    code = int(status.group(1)) if status else 0
    if text == TRANSFERRED:
        return "transferred"
    if call.direction == "out" and not call.established:
        if code in (486, 600):
            return "busy"
        if 400 <= code <= 699:
            return "declined"
        if text.startswith("Connection reset by"):
            return "normal"
        return "error"
    if call.direction == "in" and not call.established:
        # The caller's CANCEL reads "Connection reset by peer"; anything else (baresip's
        # local ring timeout) is just an unanswered call.
        return "canceled" if text == "Connection reset by peer" else "normal"
    if text.startswith("Connection reset by") or code:
        return "normal"
    return "error"


def first_line(text: str) -> str:
    """The first line of a ctrl_tcp response's console text, colours removed."""
    return ANSI.sub("", text).strip().split("\n", 1)[0]


_REGISTER_STATES: dict[str, str] = {
    "REGISTER_OK": "registered",
    "REGISTER_FAIL": "failed",
    "UNREGISTERING": "unregistered",
}


class BaresipEvents:
    """The call table and the translation of baresip's events into the core's inputs."""

    def __init__(self) -> None:
        self.calls: dict[str, BaresipCall] = {}
        self.uas: dict[int, str] = {}       # account -> aor, as baresip has them now
        self.caps: Capabilities | None = None
        self.dialing: PendingDial | None = None
        self._ref_ids: dict[str, str] = {}
        # Call-IDs already closed: a late event about one must not pass for a new call.
        self._closed: collections.deque[str] = collections.deque(maxlen=64)

    def reset(self) -> None:
        """baresip is gone, and every call with it."""
        self.calls.clear()
        self.dialing = None
        self._ref_ids.clear()
        self._closed.clear()

    def find(self, call_id_or_ref: str) -> BaresipCall | None:
        """The call by its Call-ID, or by the core's ref for a call we placed."""
        return self.calls.get(self._ref_ids.get(call_id_or_ref, call_id_or_ref))

    def known(self, call_id: str) -> bool:
        return call_id in self.calls or call_id in self._closed

    # -------------------------------------------------------------- events

    def feed(self, ev: Event) -> list[Output]:
        kind = str(ev.get("type", ""))
        if ev.get("class") == "register" or kind.startswith(("REGISTER", "UNREGISTER")):
            return self._register_event(kind, ev)
        call_id = str(ev.get("id", ""))
        if not call_id or call_id in self._closed:
            return []
        call = self.calls.get(call_id)
        dial = self.dialing
        if call is None and dial is not None and ev.get("direction") == "outgoing" \
                and ev.get("peeruri") == dial.uri:
            dial.stash.append(ev)               # ours, but its Call-ID is not bound yet
            return [DialEventArrived(dial.ref)]
        if kind == "CALL_INCOMING":
            return self._incoming(call_id, ev)
        handler = _CALL_EVENTS.get(kind)
        if call is None or handler is None:
            return []
        return handler(self, call, ev)

    def _register_event(self, kind: str, ev: Event) -> list[Output]:
        aor = str(ev.get("accountaor", ""))
        n = next((i for i, a in self.uas.items() if a == aor), None)
        state = _REGISTER_STATES.get(kind)
        if n is None or state is None:
            return []
        detail = str(ev.get("param", "")) if state == "failed" else ""
        return [ins.RegState(n, state, detail)]

    def _incoming(self, call_id: str, ev: Event) -> list[Output]:
        if call_id in self.calls:
            return []       # the same INVITE forked to a stale binding of ours
        aor = str(ev.get("accountaor", ""))
        n = next((i for i, a in self.uas.items() if a == aor), 1)
        # The far end writes its name and URI: no control character gets past here.
        call = BaresipCall(call_id, n, aor, "in", printable(str(ev.get("peeruri", ""))),
                           printable(str(ev.get("peerdisplayname", "") or "")))
        self.calls[call_id] = call
        return [ins.CallIncoming(call_id, n, call.peer_uri, call.peer_name)]

    def _ringing(self, call: BaresipCall, ev: Event) -> list[Output]:
        if call.direction == "out" and not call.established:
            return [ins.CallRinging(call.call_id)]
        return []

    def _progress(self, call: BaresipCall, ev: Event) -> list[Output]:
        # 183 with SDP: baresip plays the far end's early media; no local ringback.
        if call.direction == "out" and not call.established:
            return [ins.CallRinging(call.call_id, early_media=True)]
        return []

    def _established(self, call: BaresipCall, ev: Event) -> list[Output]:
        call.established = True
        if call.forward_to is not None:
            return [ReferToForwardTarget(call.call_id, call.forward_to)]
        if call.direction == "out":
            return [ins.CallEstablished(call.call_id)]
        return []           # an incoming call: the core already moved on its own answer

    def _closed_event(self, call: BaresipCall, ev: Event) -> list[Output]:
        text = str(ev.get("param", ""))
        self._forget(call)
        out: list[Output] = []
        if call.forward_to is not None:
            # The core never showed it: a forward that ends is no call of its.
            if text != TRANSFERRED:
                log.warning("forwarding %s to %s ended: %s", call.peer_uri, call.forward_to, text)
        elif call.transferring and text == TRANSFERRED:
            out += [ins.TransferResult(call.call_id, True),
                    ins.CallClosed(call.call_id, "transferred")]
        elif not call.ended_by_us:
            out.append(ins.CallClosed(call.call_id, close_reason(call, text), text))
        if self.calls:
            out.append(ReconcileHolds())    # baresip 1.x resumes a held call when another ends
        return out

    def _transfer_failed(self, call: BaresipCall, ev: Event) -> list[Output]:
        text = str(ev.get("param", ""))
        out: list[Output] = []
        if call.forward_to is not None:
            log.warning("forwarding %s to %s failed: %s", call.peer_uri, call.forward_to, text)
        elif call.transferring:
            call.transferring = False
            out.append(ins.TransferResult(call.call_id, False, text))
            if call.consult_id is not None:
                # The core still shows the consultation call we ended for the transfer.
                out.append(ins.CallClosed(call.consult_id, "normal"))
        if self.caps is None or self.caps.transfer_failure_ends_call:
            # baresip 1.x ends the call itself (BYE) and sends no CALL_CLOSED for it.
            self._forget(call)
            if call.forward_to is None:
                out.append(ins.CallClosed(call.call_id, "error", f"transfer failed: {text}"))
            if self.calls:
                out.append(ReconcileHolds())
        return out

    def _remote_sdp(self, call: BaresipCall, ev: Event) -> list[Output]:
        # Only an offer from the far end (its re-INVITE) can say it holds us; the
        # answer to our own hold says nothing about that.
        if call.established and call.forward_to is None and ev.get("param") == "offer":
            return [CheckRemoteHold(call.call_id)]
        return []

    def _remote_hold(self, call: BaresipCall, ev: Event) -> list[Output]:
        return self._remote_held(call, True)

    def _remote_resume(self, call: BaresipCall, ev: Event) -> list[Output]:
        return self._remote_held(call, False)

    def _remote_held(self, call: BaresipCall, held: bool) -> list[Output]:
        if call.remote_held == held:
            return []
        call.remote_held = held
        return [ins.CallRemoteHold(call.call_id, held)]

    def _forget(self, call: BaresipCall) -> None:
        self.calls.pop(call.call_id, None)
        self._closed.append(call.call_id)
        if call.ref is not None:
            self._ref_ids.pop(call.ref, None)

    # ------------------------------------------------ answers to the port's jobs

    def audio_direction(self, call: BaresipCall, audio_debug: str) -> list[Output]:
        """What ``audio_debug``'s negotiated direction says of the far end holding us."""
        m = _AUDIO_DIR.search(audio_debug)
        if m is None or self.calls.get(call.call_id) is not call:
            return []
        # The negotiated direction is ours AND theirs: with "send" gone, the far end
        # stopped listening (sendonly/inactive from them) - it holds us.
        return self._remote_held(call, "send" not in m.group(1))

    def reginfo(self, text: str) -> list[Output]:
        """The accounts' states in ``reginfo``'s text (the events before we connected are lost)."""
        by_aor = {aor: n for n, aor in self.uas.items()}
        out: list[Output] = []
        for aor, state in _REG_LINE.findall(ANSI.sub("", text)):
            n = by_aor.get(aor)
            if n is None:
                continue
            if state == "OK":
                out.append(ins.RegState(n, "registered"))
            elif state == "ERR":
                out.append(ins.RegState(n, "failed", "registration failed"))
        return out

    # ------------------------------------------------------------- dialling

    def begin_dial(self, ref: str, uri: str, account: int, aor: str) -> PendingDial:
        self.dialing = PendingDial(ref, uri, account, aor)
        return self.dialing

    def bind_dial(self, dial: PendingDial, call_id: str) -> list[Output]:
        """The placed call is ``call_id``: the core hears CallOutgoing, then what was stashed."""
        self.dialing = None
        call = BaresipCall(call_id, dial.account, dial.aor, "out", dial.uri, ref=dial.ref)
        self.calls[call_id] = call
        self._ref_ids[dial.ref] = call_id
        return [ins.CallOutgoing(dial.ref, call_id, dial.uri, ""), *self._replay(dial)]

    def end_dial(self, dial: PendingDial) -> list[Output]:
        """The dial is over without a bound call: what was stashed is judged as it is."""
        if self.dialing is not dial:
            return []
        self.dialing = None
        return self._replay(dial)

    def drop_dial(self, dial: PendingDial) -> None:
        if self.dialing is dial:
            self.dialing = None

    def _replay(self, dial: PendingDial) -> list[Output]:
        pending, dial.stash = dial.stash, []
        return [out for ev in pending for out in self.feed(ev)]


_CallHandler = Callable[[BaresipEvents, BaresipCall, Event], list[Output]]
_CALL_EVENTS: dict[str, _CallHandler] = {
    "CALL_RINGING": BaresipEvents._ringing,
    "CALL_PROGRESS": BaresipEvents._progress,
    "CALL_ESTABLISHED": BaresipEvents._established,
    "CALL_CLOSED": BaresipEvents._closed_event,
    "TRANSFER_FAILED": BaresipEvents._transfer_failed,
    "CALL_REMOTE_SDP": BaresipEvents._remote_sdp,
    "CALL_HOLD": BaresipEvents._remote_hold,          # baresip after 1.1 only
    "CALL_RESUME": BaresipEvents._remote_resume,
}
