"""The call log on disk: ``call_log.json`` in the state directory.

Written whole, atomically (``yealink_cfg.atomic_write_text``: temp file, fsync,
rename), on a worker thread so the event loop never waits for the disk. Saves
that arrive while one is being written coalesce: only the newest log is
written next. A file that cannot be read or parsed gives an empty log and one
log line; the phone starts all the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from ..core.call_log import Entry, SaveCallLog, from_data, to_data
from .yealink_cfg import atomic_write_text

log = logging.getLogger("deskphone.call_log")

FILENAME = "call_log.json"
MAX_FILE = 1024 * 1024       # 300 entries are some 40 kB; anything far larger is not ours


class CallLogFile:
    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / FILENAME
        self._pending: tuple[Entry, ...] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0

    def read(self) -> tuple[Entry, ...]:
        """The entries on disk (blocking: call it through ``load``)."""
        try:
            if self.path.stat().st_size > MAX_FILE:
                log.error("%s: larger than %d bytes, not read", self.path, MAX_FILE)
                return ()
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ()
        except (OSError, ValueError) as exc:
            log.error("%s cannot be read (%s): the call log starts empty", self.path, exc)
            return ()
        return from_data(data.get("entries") if isinstance(data, dict) else None)

    async def load(self) -> tuple[Entry, ...]:
        return await asyncio.to_thread(self.read)

    def execute(self, effect: SaveCallLog) -> None:
        self._pending = effect.entries
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self._pending is not None:
            entries, self._pending = self._pending, None
            text = json.dumps({"version": 1, "entries": to_data(entries)}, indent=1)
            try:
                await asyncio.to_thread(atomic_write_text, self.path, text)
                self.writes += 1
            except OSError as exc:
                log.error("the call log could not be written to %s: %s", self.path, exc)

    async def flush(self) -> None:
        """Until the newest save is on disk (shutdown, tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
