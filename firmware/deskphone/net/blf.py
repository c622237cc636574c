"""The BLF line keys' subscriptions: one ``dialog`` SUBSCRIBE per ``linekey.N.type = 16`` key.

Each key watches ``linekey.N.value`` at its account's server (``linekey.N.line``;
an extension becomes ``sip:<value>@<server>``, a ``user@host`` or ``sip:`` URI is
taken as it is) through ``net.sip_subscribe.Subscription`` (its own UDP socket,
digest, refresh, re-subscribe). Each NOTIFY body is parsed (``net.dialog_info``),
merged into that key's ``DialogBook`` and posted as ``DialogChanged``; a body that
does not parse changes nothing (a log line, bounded).

It follows the settings and the registrations: ``sync()`` (called on a settings
change, and every ``POLL`` seconds for the registrations) starts a subscription
for each BLF key whose account is registered and stops the ones whose key went
away, changed, or whose account is no longer registered (the key then shows
"unknown", LED off). At most ``MAX_SUBSCRIPTIONS`` at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..core.accounts import MAX_ACCOUNTS, account
from ..core.blf import DialogChanged, configured
from ..core.keys import MAX_LINE_KEYS
from ..host import PhoneHost
from .dialog_info import DialogBook, DialogInfoError, parse
from .log_limit import LogLimiter
from .sip_subscribe import Identity, Subscription

log = logging.getLogger("deskphone.blf")

POLL = 2.0                       # seconds between looks at the registrations
MAX_SUBSCRIPTIONS = 32           # at most one per line key (29)
ACCEPT = "application/dialog-info+xml"


@dataclass(frozen=True)
class Watch:
    """What one key's subscription is made of; a change of any part makes a new one."""
    key: int
    value: str                   # linekey.N.value as the settings have it
    target: str
    aor: str
    auth_name: str
    password: str
    server: tuple[str, int]


def target_uri(value: str, host: str) -> str:
    if value.startswith(("sip:", "sips:")):
        return value
    return f"sip:{value}" if "@" in value else f"sip:{value}@{host}"


def watches(settings, registrations) -> dict[int, Watch]:
    """Key -> the subscription it should have now (registered accounts only)."""
    found: dict[int, Watch] = {}
    for key, (value, _label, line) in configured(settings, MAX_LINE_KEYS).items():
        n = line if 1 <= line <= MAX_ACCOUNTS else 1
        acc = account(settings, n)
        if not acc.enabled or not acc.server or registrations.get(n) != "registered":
            continue
        server = (acc.outbound_host, acc.outbound_port) if acc.outbound_proxy_enable \
            and acc.outbound_host else (acc.server, acc.port or 5060)
        found[key] = Watch(key, value, target_uri(value, acc.host), acc.uri, acc.auth_name
                           or acc.user_name, acc.password, server)
        if len(found) >= MAX_SUBSCRIPTIONS:
            break
    return found


class BlfWatcher:
    def __init__(self, host: PhoneHost, bind: str = "0.0.0.0") -> None:
        self.host = host
        self.bind = bind
        self.subs: dict[int, tuple[Watch, Subscription, DialogBook]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._logged = LogLimiter(burst=10, total=30)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="blf")

    def settings_changed(self, _settings=None) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
            except Exception:                       # one bad round must not end the watch
                log.exception("BLF: sync failed")
            try:
                await asyncio.wait_for(self._wake.wait(), POLL)
            except TimeoutError:
                pass
            self._wake.clear()

    async def sync(self) -> None:
        wanted = watches(self.host.settings, self.host.registrations)
        for key, (watch, sub, _book) in list(self.subs.items()):
            if wanted.get(key) != watch:
                del self.subs[key]
                await sub.stop()
                self.host.post(DialogChanged(key, "unknown", (), watch.value))
        for key, watch in wanted.items():
            if key not in self.subs:
                await self._subscribe(watch)

    async def _subscribe(self, watch: Watch) -> None:
        book = DialogBook()
        key = watch.key
        sub = Subscription(
            event="dialog", accept=ACCEPT, target=watch.target,
            me=Identity(aor=watch.aor, auth_name=watch.auth_name, password=watch.password),
            server=watch.server, bind=self.bind, name=f"BLF L{key} {watch.target}",
            on_notify=lambda headers, body: self._notified(watch, book, body),
            on_state=lambda state: self._state(watch, book, state))
        if await sub.start():
            self.subs[key] = (watch, sub, book)

    def _state(self, watch: Watch, book: DialogBook, state: str) -> None:
        if state in ("failed", "subscribing"):
            book.reset()                  # a new dialog starts its versions again
        if state == "failed":
            self.host.post(DialogChanged(watch.key, "unknown", (), watch.value))

    def _notified(self, watch: Watch, book: DialogBook, body: bytes) -> None:
        key = watch.key
        if not body.strip():
            return                        # a NOTIFY with no body (pending): nothing known yet
        try:
            info = parse(body)
        except DialogInfoError as exc:
            if self._logged.allow(f"bad{key}") is not None:
                log.warning("BLF L%d: NOTIFY body refused: %s", key, exc)
            return
        if book.apply(info):
            self.host.post(DialogChanged(key, book.state, tuple(book.dialogs.values()),
                                         watch.value))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        subs, self.subs = self.subs, {}
        await asyncio.gather(*(sub.stop() for _w, sub, _b in subs.values()),
                             return_exceptions=True)
