"""Voicemail: message-summary NOTIFYs (RFC 3842) -> ``VoicemailChanged`` for the core.

Two ways in, one parser (``parse_summary``):

- **solicited**: for each enabled account with ``account.N.subscribe_mwi = 1``
  the phone SUBSCRIBEs ``message-summary`` itself (``net.sip_subscribe``, a
  socket of its own on the phone's SIP address), to the account's own address
  of record, or with ``account.N.subscribe_mwi_to_vm = 1`` to
  ``voice_mail.number.N`` at the account's server, for
  ``account.N.subscribe_mwi_expires`` seconds (Yealink's keys and defaults);
  requests go to the outbound proxy when one is enabled, else to the server.
  ``MwiSubscriptions`` keeps one subscription per such account and follows
  the settings (``settings_changed``).
- **unsolicited**: a PBX (Asterisk's ``unsolicited_mwi``, FreeSWITCH,
  kamailio) sends the NOTIFY to the registered contact; the SIP edge hands it
  to the NOTIFY listener (net/sip_notify.py), which calls ``from_notify``. It
  is taken only from an enabled account's SIP server or outbound proxy (the
  transport source the edge saw, or the datagram's own): voicemail is the
  registrar's news, so no Action URI switch, trusted-IP list or digest applies,
  and nobody else can light the lamp. The account is the one whose user the
  Request-URI, the To or the Message-Account names (the only enabled one
  when none does).

The body: ``Messages-Waiting: yes|no`` (required), ``Message-Account``, and
``Voice-Message: new/old (urgent_new/urgent_old)``; names and values in any
case, CRLF or LF, blanks anywhere; other message classes (fax, pager, ...) are
read past. Bounded: ``MAX_BODY`` bytes, ``MAX_LINES`` lines, counts of at most
``MAX_DIGITS`` digits, shown up to ``MAX_COUNT``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..core.accounts import Account, enabled_accounts
from ..core.trust import source_id
from ..core.voicemail import VoicemailChanged
from ..host import PhoneHost
from .log_limit import LogLimiter, left_out
from .sip_message import SipRequest
from .sip_subscribe import Identity, Subscription

log = logging.getLogger("deskphone.mwi")

SIP_EVENT = "message-summary"       # compared in lower case
CONTENT_TYPE = "application/simple-message-summary"
MAX_BODY = 4096
MAX_LINES = 64
MAX_DIGITS = 9
MAX_COUNT = 99999
STOP_WAIT = 0.15                    # the unsubscribes at stop (the phone stops in under 2 s)

_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*?)\s*$")
_COUNTS = re.compile(rf"^([0-9]{{1,{MAX_DIGITS}}})\s*/\s*([0-9]{{1,{MAX_DIGITS}}})"
                     rf"(?:\s*\(\s*([0-9]{{1,{MAX_DIGITS}}})\s*/\s*([0-9]{{1,{MAX_DIGITS}}})\s*\))?$")
_USER = re.compile(r"^(?:sips?|tel):([^@;>?]+)", re.IGNORECASE)


class MwiError(ValueError):
    """A message-summary body the phone cannot take (nothing changes)."""


@dataclass(frozen=True)
class Summary:
    waiting: bool
    account: str = ""               # Message-Account, as sent
    new: int = 0
    old: int = 0
    urgent_new: int = 0
    urgent_old: int = 0

    def change(self, account: int, at: float) -> VoicemailChanged:
        return VoicemailChanged(account, self.waiting, self.new, self.old, self.urgent_new,
                                self.urgent_old, at)


def parse_summary(body: bytes) -> Summary:
    """The message summary in ``body``; MwiError when it is none (see the module docstring)."""
    if len(body) > MAX_BODY:
        raise MwiError(f"a message-summary body of {len(body)} bytes (at most {MAX_BODY})")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MwiError("the body is not UTF-8 text") from None
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
             if line.strip()]
    if len(lines) > MAX_LINES:
        raise MwiError(f"{len(lines)} lines in a message-summary body (at most {MAX_LINES})")
    waiting: bool | None = None
    account, counts = "", (0, 0, 0, 0)
    for line in lines:
        m = _LINE.match(line)
        if m is None:
            continue                        # RFC 3842 bodies may carry extra lines: read past
        name, value = m.group(1).lower(), m.group(2)
        if name == "messages-waiting":
            if value.lower() not in ("yes", "no"):
                raise MwiError(f"Messages-Waiting must be yes or no, not {value[:20]!r}")
            waiting = value.lower() == "yes"
        elif name == "message-account":
            account = value[:256]
        elif name == "voice-message":
            c = _COUNTS.match(value)
            if c is None:
                raise MwiError(f"Voice-Message must be new/old (urgent_new/urgent_old), "
                               f"not {value[:40]!r}")
            counts = tuple(min(int(g or 0), MAX_COUNT) for g in c.groups())  # type: ignore
    if waiting is None:
        raise MwiError("no Messages-Waiting line")
    return Summary(waiting, account, *counts)


def _user(uri: str | None) -> str:
    m = _USER.match((uri or "").strip().strip("<>").split(">", 1)[0].lstrip("<"))
    return m.group(1) if m else ""


def _to_uri(value: str | None) -> str:
    value = value or ""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0]
    return value.split(";", 1)[0]


def account_for(settings: Mapping[str, object], request: SipRequest,
                summary: Summary) -> int | None:
    """The account an unsolicited NOTIFY is for (see the module docstring), or None."""
    accounts = enabled_accounts(settings)
    for user in (_user(request.uri), _user(_to_uri(request.get("to"))), _user(summary.account)):
        if not user:
            continue
        for acc in accounts:
            if user in (acc.user_name, str(settings.get(f"voice_mail.number.{acc.index}", ""))):
                return acc.index
    return accounts[0].index if len(accounts) == 1 else None


def from_notify(host: PhoneHost, request: SipRequest, peer: str,
                servers: frozenset[str]) -> tuple[int, str | None]:
    """An unsolicited message-summary NOTIFY from ``peer``: the SIP status and why."""
    trusted = {source_id(s) for s in servers}
    if not peer or source_id(peer) not in trusted:
        return 403, "voicemail NOTIFYs are taken from an account's SIP server only"
    ctype = (request.get("content-type") or "").split(";", 1)[0].strip().lower()
    if request.body and ctype not in (CONTENT_TYPE, "text/plain", ""):
        return 415, f"expected Content-Type: {CONTENT_TYPE}, got {ctype}"
    try:
        summary = parse_summary(request.body)
    except MwiError as exc:
        return 400, str(exc)
    account = account_for(host.settings, request, summary)
    if account is None:
        return 403, "no enabled account of that user"
    log.info("voicemail for account %d from %s: %s, %d new, %d old", account, peer,
             "waiting" if summary.waiting else "none waiting", summary.new, summary.old)
    host.post(summary.change(account, time.time()))
    return 200, None


# ------------------------------------------------------------------ solicited


@dataclass(frozen=True)
class Plan:
    """What one account's subscription is made of: a change of any part makes a new one."""
    account: int
    target: str
    aor: str
    auth_name: str
    password: str = field(repr=False)
    display: str = ""
    server: tuple[str, int] = ("", 5060)
    expires: int = 3600


def plans(settings: Mapping[str, object]) -> dict[int, Plan]:
    """The subscriptions the settings ask for, by account."""
    out: dict[int, Plan] = {}
    for acc in enabled_accounts(settings):
        n = acc.index
        if not settings.get(f"account.{n}.subscribe_mwi", False) or not acc.server:
            continue
        expires = int(settings.get(f"account.{n}.subscribe_mwi_expires", 3600) or 0)  # type: ignore
        if expires <= 0:
            continue
        vm = str(settings.get(f"voice_mail.number.{n}", "")).strip()
        to_vm = bool(settings.get(f"account.{n}.subscribe_mwi_to_vm", False)) and vm
        target = f"sip:{vm}@{acc.host}" if to_vm else acc.uri
        out[n] = Plan(n, target, acc.uri, acc.auth_name or acc.user_name, acc.password,
                      acc.display_name, _next_hop(acc), expires)
    return out


def _next_hop(acc: Account) -> tuple[str, int]:
    if acc.outbound_proxy_enable and acc.outbound_host:
        return acc.outbound_host.strip("[]"), acc.outbound_port or 5060
    return acc.server.strip("[]"), acc.port or 5060


class MwiSubscriptions:
    """One ``Subscription`` per account that asks for MWI; NOTIFYs go to the core."""

    def __init__(self, host: PhoneHost, bind: str) -> None:
        self.host, self.bind = host, bind
        self.subscriptions: dict[int, tuple[Plan, Subscription]] = {}
        self._changing: asyncio.Task[None] | None = None
        self._stopped = False
        self._logged = LogLimiter(burst=5, total=20)

    async def start(self) -> None:
        await self._apply(plans(self.host.settings))

    def settings_changed(self, settings: Mapping[str, object]) -> None:
        """New settings: subscriptions that differ are replaced (in a task, never waited on)."""
        if self._stopped:
            return
        wanted = plans(settings)
        if wanted == {n: p for n, (p, _) in self.subscriptions.items()}:
            return
        previous = self._changing

        async def change() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self._apply(wanted)

        self._changing = asyncio.create_task(change(), name="mwi-settings")

    async def _apply(self, wanted: dict[int, Plan]) -> None:
        for n in list(self.subscriptions):
            plan, sub = self.subscriptions[n]
            if wanted.get(n) != plan:
                del self.subscriptions[n]
                await sub.stop(STOP_WAIT)
        for n, plan in wanted.items():
            if n in self.subscriptions or self._stopped:
                continue
            sub = Subscription(
                event=SIP_EVENT, accept=CONTENT_TYPE, target=plan.target,
                me=Identity(plan.aor, plan.auth_name, plan.password, plan.display),
                server=plan.server, bind=self.bind if self.bind not in ("", "::") else "",
                contact_host=_contact_host(self.host, self.bind), expires=plan.expires,
                on_notify=lambda headers, body, n=n: self._notified(n, body),
                name=f"MWI of account {n}")
            if await sub.start():
                self.subscriptions[n] = (plan, sub)

    def _notified(self, account: int, body: bytes) -> None:
        try:
            summary = parse_summary(body)
        except MwiError as exc:
            skipped = self._logged.allow(str(account))
            if skipped is not None:
                log.warning("MWI of account %d: %s (ignored)%s", account, exc, left_out(skipped))
            return
        self.host.post(summary.change(account, time.time()))

    def states(self) -> dict[int, str]:
        return {n: sub.state for n, (_, sub) in self.subscriptions.items()}

    async def stop(self) -> None:
        self._stopped = True
        if self._changing is not None:
            self._changing.cancel()
        subs = [sub for _, sub in self.subscriptions.values()]
        self.subscriptions.clear()
        await asyncio.gather(*(sub.stop(STOP_WAIT) for sub in subs), return_exceptions=True)


def _contact_host(host: PhoneHost, bind: str) -> str:
    if bind and bind not in ("0.0.0.0", "::"):
        return bind
    ip: Any = getattr(host, "ip", "")
    return str(ip or "")
