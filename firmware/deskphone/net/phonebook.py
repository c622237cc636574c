"""The directory's sources: the local file and the Yealink remote phone books.

- The local directory (``config.directory_file``) is read at start, and again
  whenever the web page or the console changes it (``save_local``).
- Remote books: ``remote_phonebook.data.N.url`` (N = 1..5) and ``.name``. Each is
  fetched at start and then every ``features.remote_phonebook.flash_time``
  seconds (0: at start only), over http(s) with Basic or Digest when the URL
  carries ``user:password@`` (the provisioning fetcher's, so a password never goes
  in clear to a server that asked for Digest). The XML is parsed on a worker
  thread with the push parser's hardening (no DTD, a size cap, an element cap).
  Both Yealink shapes are read: ``YealinkIPPhoneDirectory`` / ``DirectoryEntry``
  (``Name``, ``Telephone``...) and ``YealinkIPPhoneBook`` / ``Menu`` / ``Unit``
  (``Name``, ``Phone1``..``Phone3``).
- A fetch that fails (unreachable, 401, not XML, a body that is no phone book)
  keeps the last good book and logs one line saying why; the next refresh tries
  again.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import yarl

from ..config.directory_file import read_directory, write_directory
from ..core.directory import LOCAL, MAX_CONTACTS, Contact, DirectoryLoaded, WriteDirectory
from ..host import PhoneHost
from .provisioning_fetch import Fetcher, ProvisioningError, target_for
from .xml_push import XmlPushError, attr, child_text, children, local_name, text_of, tree

log = logging.getLogger("deskphone.phonebook")

BOOKS = range(1, 6)
MAX_BOOK = 1024 * 1024               # bytes of one remote book
FETCH_TIMEOUT = 10.0


class PhonebookError(ValueError):
    pass


def parse_book(data: bytes, book: str) -> tuple[Contact, ...]:
    """The contacts of a remote phone book; PhonebookError for anything else."""
    if len(data) > MAX_BOOK:
        raise PhonebookError(f"larger than {MAX_BOOK // 1024} KiB")
    try:
        root = tree(data, max_elements=MAX_CONTACTS * 8)
    except XmlPushError as exc:
        raise PhonebookError(str(exc)) from None
    kind = local_name(root.tag).lower()
    contacts: list[Contact] = []
    if kind.endswith("directory"):
        for entry in children(root, "DirectoryEntry"):
            numbers = tuple(text_of(t) for t in entry
                            if local_name(t.tag).lower() == "telephone" and text_of(t))
            contacts.append(Contact(child_text(entry, "Name")[:64], numbers[:4], book))
    elif kind.endswith("phonebook") or kind.endswith("book"):
        for unit in root.iter():
            if local_name(unit.tag).lower() == "unit":
                numbers = tuple(v for v in (attr(unit, f"Phone{n}") for n in (1, 2, 3)) if v)
                contacts.append(Contact(attr(unit, "Name")[:64], numbers, book))
    else:
        raise PhonebookError(f"<{local_name(root.tag)}> is not a Yealink phone book "
                             "(YealinkIPPhoneDirectory or YealinkIPPhoneBook)")
    return tuple(c for c in contacts if c.numbers)[:MAX_CONTACTS]


class Phonebooks:
    def __init__(self, host: PhoneHost, config_dir: Path | str, *,
                 timeout: float = FETCH_TIMEOUT) -> None:
        self.host = host
        self.config_dir = Path(config_dir)
        self.timeout = timeout
        self.local: tuple[Contact, ...] = ()
        self.books: dict[int, tuple[Contact, ...]] = {}     # the last good one of each
        self.failures: dict[int, str] = {}                  # the last reason, while failing
        self.fetches = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.writes: set[asyncio.Task[None]] = set()
        self._seen = book_settings(host.settings)

    def execute(self, effect: WriteDirectory) -> None:
        write_local_later(self, effect)

    # ------------------------------------------------------------ local

    async def load_local(self) -> None:
        contacts, problems = await asyncio.to_thread(read_directory, self.config_dir)
        for problem in problems[:5]:
            log.warning("directory: %s", problem)
        if contacts or self.local:          # no file and nothing before: nothing to tell
            self.host.post(DirectoryLoaded(LOCAL, contacts))  # type: ignore[arg-type]
        self.local = contacts

    async def save_local(self, contacts: tuple[Contact, ...]) -> None:
        await asyncio.to_thread(write_directory, self.config_dir, contacts[:MAX_CONTACTS])
        await self.load_local()

    # ------------------------------------------------------------ remote

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deskphone-phonebooks")

    def refresh(self) -> None:
        """Fetch every book now (the settings changed, a test)."""
        self._wake.set()

    def settings_changed(self, settings: object) -> None:
        """A book's URL or name changed: fetch now rather than at the next refresh."""
        now = book_settings(settings)
        if now != self._seen:
            self._seen = now
            self.refresh()

    async def _run(self) -> None:
        await self.load_local()
        while True:
            await self.fetch_all()
            period = int(self.host.settings.get("features.remote_phonebook.flash_time", 21600))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), period if period > 0 else None)
            except TimeoutError:
                pass

    async def fetch_all(self) -> None:
        settings = self.host.settings
        for n in BOOKS:
            url = str(settings.get(f"remote_phonebook.data.{n}.url", "") or "")
            if not url:
                if self.books.pop(n, None) is not None:
                    self.host.post(DirectoryLoaded(f"remote.{n}", ()))  # type: ignore[arg-type]
                continue
            name = str(settings.get(f"remote_phonebook.data.{n}.name", "") or "") or f"Book {n}"
            await self._fetch(n, url, name)

    async def _fetch(self, n: int, url: str, name: str) -> None:
        self.fetches += 1
        try:
            target = target_for(url, "", "", verify=bool(
                self.host.settings.get("security.trust_certificates", True)))
            full = yarl.URL(url).with_user(None)
            async with Fetcher(target, timeout=self.timeout) as fetcher:
                data = await fetcher.get(str(full))
            if data is None:
                raise PhonebookError("HTTP 404")
            contacts = await asyncio.to_thread(parse_book, data, name)
        except (ProvisioningError, PhonebookError, ValueError) as exc:
            why = str(exc).replace("(check static.auto_provision.server.username and .password)",
                                   "(check the user:password in the URL)")
            kept = len(self.books.get(n, ()))
            log.warning("remote phone book %d (%s): %s; keeping the last good book "
                        "(%d contacts)", n, name, why, kept)
            self.failures[n] = why
            return
        self.books[n] = contacts
        self.failures.pop(n, None)
        self.host.post(DirectoryLoaded(f"remote.{n}", contacts))  # type: ignore[arg-type]

    async def close(self) -> None:
        if self.writes:
            await asyncio.gather(*self.writes, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def write_local_later(books: Phonebooks, effect: WriteDirectory) -> None:
    """``WriteDirectory``: the file written on a worker thread; a failure is one log line."""
    async def write() -> None:
        try:
            await asyncio.to_thread(write_directory, books.config_dir, effect.contacts)
            books.local = effect.contacts
        except OSError as exc:
            log.error("the local directory could not be written: %s", exc)

    task = asyncio.ensure_future(write())
    books.writes.add(task)
    task.add_done_callback(books.writes.discard)


def book_settings(settings: object) -> tuple[str, ...]:
    """What a refresh depends on: each book's URL and name."""
    get = getattr(settings, "get")
    return tuple(str(get(f"remote_phonebook.data.{n}.{part}", "") or "")
                 for n in BOOKS for part in ("url", "name"))
