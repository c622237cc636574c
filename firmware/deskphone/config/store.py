"""Runtime state that must survive a restart: DND, forwards, edited Action URLs, trust decisions.

Format: the file is ``state_dir/state.cfg`` in the Yealink ``.cfg`` format,
not JSON, because
  * a person (or support) can read and diff it next to the provisioning files,
    and could even copy it into one: same keys, same value spelling;
  * it goes through the very parser and schema the config directory uses, so
    a value that loads from a ``.cfg`` file loads from here, and vice versa;
    JSON would bring its own types (true vs 1, "5060" vs 5060) to reconcile.

Writes are atomic (temp file, fsync, rename, fsync of the directory), so a
crash or kill -9 leaves the old file or the new one, never half of one. They
happen in a worker thread (``asyncio.to_thread``), one at a time, and are
coalesced: ``set`` only changes memory and wakes the writer, which writes the
latest state; changes made while a write is under way go into the next one.
A failed write (disk full, read-only) is logged; memory stays right and the
next change tries again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from . import yealink_cfg
from .schema import lookup, normalize
from .yealink_cfg import parse_cfg, render_cfg

log = logging.getLogger(__name__)

STATE_FILE = "state.cfg"
_COMMENT = "Runtime state of the deskphone (DND, forwards, web page edits). Written by the phone."


class StateStore:
    """Persisted runtime overrides, kept in memory and written to disk in the background."""

    def __init__(self, state_dir: Path | str, *, coalesce_delay: float = 0.05) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_FILE
        # How long the writer waits for more changes before it writes: a burst of
        # key presses becomes one write.
        self.coalesce_delay = coalesce_delay
        self._state: dict[str, object] = {}
        self._version = 0  # bumped by every change
        self._saved_version = 0  # the version the file on disk holds
        self._writer: asyncio.Task | None = None
        self._write_lock: asyncio.Lock | None = None  # made lazily, inside the loop
        # Serializes the disk itself, even if a cancelled writer's thread is still running.
        self._disk_lock = threading.Lock()
        self._disk_version = 0

    # --- reading ---------------------------------------------------------------

    def load(self) -> dict[str, object]:
        """Read the file (once, at start-up) and return the state. Never raises."""
        self._remove_stale_temp_files()
        self._state = self._read()
        self._version = self._saved_version = self._disk_version = 0
        return dict(self._state)

    def _read(self) -> dict[str, object]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.error("cannot read %s: %s; starting with no runtime state", self.path, exc)
            return {}
        try:
            parsed = parse_cfg(data.decode("utf-8"), self.path.name)
        except UnicodeDecodeError:
            parsed = None
        if parsed is None or parsed.errors:
            self._set_aside(parsed.errors[0] if parsed else "not valid UTF-8")
            return {}
        state: dict[str, object] = {}
        for entry in parsed.entries:
            try:
                spec = lookup(entry.key)
                if spec is None:
                    raise ConfigError("not a setting this phone knows")
                state[entry.key] = normalize(spec, entry.value)
            except ConfigError as exc:
                log.warning("%s:%d: %s: %s; dropped", self.path.name, entry.line, entry.key,
                            exc.message)
        return state

    def _set_aside(self, why: object) -> None:
        # The file is the user's data: never delete it, move it where a person can find it.
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{STATE_FILE}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            aside = self.path.with_name(f"{STATE_FILE}.corrupt-{stamp}-{n}")
            n += 1
        try:
            os.replace(self.path, aside)
            log.error("%s cannot be read (%s); moved to %s, starting with no runtime state",
                      self.path, why, aside.name)
        except OSError as exc:
            log.error("%s cannot be read (%s) nor moved aside (%s); ignoring it",
                      self.path, why, exc)

    def _remove_stale_temp_files(self) -> None:
        # Left by a write that was killed half way; the real file is intact.
        try:
            stale = list(self.state_dir.glob(f".{STATE_FILE}.*.tmp"))
        except OSError:
            return
        for temp in stale:
            try:
                temp.unlink()
            except OSError:
                pass

    def get(self, key: str, default: object = None) -> object:
        return self._state.get(key, default)

    def snapshot(self) -> dict[str, object]:
        """A copy of the current state (what ``Settings.build`` takes as overrides)."""
        return dict(self._state)

    # --- changing (synchronous, in memory; the disk follows) -----------------

    def set(self, key: str, value: object) -> None:
        """Remember ``key = value``. ConfigError for a bad key or value, never for the disk."""
        self.update({key: value})

    def update(self, changes: Mapping[str, object]) -> None:
        """Several changes at once (all or nothing), written together."""
        checked = {}
        for key, value in changes.items():
            spec = lookup(key)
            if spec is None:
                raise ConfigError("not a setting this phone knows", key=key)
            checked[key] = normalize(spec, value)
        self._state.update(checked)
        self._changed()

    def discard(self, key: str) -> None:
        """Forget the runtime value of ``key`` (the config file or default applies again)."""
        if self._state.pop(key, None) is not None:
            self._changed()

    def clear(self) -> None:
        """Factory reset of the runtime state. The config directory is not touched."""
        self._state.clear()
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (start-up code): the next flush() writes it
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_when_quiet(), name="state-store-writer")

    # --- writing ---------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """True while the file does not yet hold the state in memory."""
        return self._saved_version != self._version

    async def _write_when_quiet(self) -> None:
        if self.coalesce_delay:
            await asyncio.sleep(self.coalesce_delay)
        await self._write_pending()

    async def _write_pending(self) -> bool:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            while self.dirty:
                version = self._version
                text = render_cfg(self._state, _COMMENT)  # on the loop: a consistent snapshot
                try:
                    await asyncio.to_thread(self._write_file, version, text)
                except OSError as exc:
                    log.error("cannot save runtime state to %s: %s (kept in memory; "
                              "retrying on the next change)", self.path, exc)
                    return False
                self._saved_version = version
            return True

    def _write_file(self, version: int, text: str) -> None:
        with self._disk_lock:
            if version <= self._disk_version:
                return  # a newer state is already on disk
            self.state_dir.mkdir(parents=True, exist_ok=True)
            # Looked up at call time so tests can make the disk fail.
            yealink_cfg.atomic_write_text(self.path, text)
            self._disk_version = version

    async def flush(self) -> bool:
        """Wait until the file holds the current state. False (logged) if the write failed."""
        # No coalescing delay here: the lock orders us after a write under way,
        # and the writer task, when it wakes, finds nothing left to do.
        return await self._write_pending()

    async def close(self) -> bool:
        """Flush, for an orderly shutdown."""
        return await self.flush()
