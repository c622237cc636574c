"""The one writer of settings: every change of a setting, whoever makes it, goes through here.

The web pages, the serial console, auto provisioning and the core's ``Persist``
effect all change settings; each used to do its own dance of runtime state,
reload and apply. ``SettingsWriter`` owns that dance:

- ``set`` / ``update``: checked against the schema (all or nothing, a
  ``ConfigError`` naming the key otherwise), kept in the runtime state, applied
  at once and told to the core;
- ``persist``: the core's own ``Persist`` effect (a DND key, a trust decision):
  kept and applied, not told back to the core, which already knows;
- ``forget``: runtime values dropped, so the config directory (or the default)
  applies again;
- ``reload``: the config files read afresh (in a thread: they may be large)
  under the runtime state, as after auto provisioning.

Who is told is the ``on_change`` callback of the composition root: it gets the
new ``Settings`` and whether the core must hear of them.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Iterable, Mapping

from .settings import Settings
from .store import StateStore

OnChange = Callable[[Settings, bool], None]


class SettingsWriter:
    def __init__(self, store: StateStore, read_files: Callable[[], Settings],
                 on_change: OnChange, *, pinned: Mapping[str, object] | None = None) -> None:
        self.store = store
        self._read_files = read_files           # config directory + provisioned files; blocking
        self._on_change = on_change
        # Start-up choices (--http-port) that win over files and runtime state alike.
        self._pinned = dict(pinned or {})
        self.settings: Settings = Settings.defaults()

    # ------------------------------------------------------------ reading

    def runtime_state(self) -> dict[str, object]:
        """What the runtime state holds now (keys the phone or a user changed)."""
        return self.store.snapshot()

    def load(self) -> Settings:
        """At start: the files under the runtime state on disk. Blocking; nobody is told."""
        overrides = self.store.load()
        self.settings = self._compose(self._read_files(), overrides)
        return self.settings

    # ------------------------------------------------------------ writing

    def set(self, key: str, value: object) -> Settings:
        return self.update({key: value})

    def update(self, changes: Mapping[str, object]) -> Settings:
        """Check, keep and apply ``changes``; the core is told. ConfigError changes nothing."""
        if not changes:
            return self.settings
        self.store.update(changes)             # checks every value first: all or nothing
        return self._apply(self.settings.with_overrides(changes), tell_core=True)

    def persist(self, key: str, value: object) -> Settings:
        """The core's ``Persist`` effect: kept and applied; the core already knows."""
        self.store.set(key, value)
        return self._apply(self.settings.with_overrides({key: value}), tell_core=False)

    async def forget(self, keys: Iterable[str]) -> bool:
        """Drop the runtime values of ``keys``; True when any was there (then reloaded)."""
        held = self.store.snapshot()
        gone = [k for k in keys if k in held]
        for key in gone:
            self.store.discard(key)
        if gone:
            await self.reload()
        return bool(gone)

    async def reload(self) -> Settings:
        """The config files read afresh in a thread, the runtime state applied over them here,
        on the loop, so a change made meanwhile is not lost."""
        files = await asyncio.to_thread(self._read_files)
        return self._apply(self._compose(files, self.store.snapshot()), tell_core=True)

    def reset(self) -> None:
        """Factory reset of the runtime state (the config directory is not touched)."""
        self.store.clear()

    # ------------------------------------------------------------ helpers

    def _compose(self, files: Settings, overrides: Mapping[str, object]) -> Settings:
        return files.with_overrides(overrides).with_overrides(self._pinned)

    def _apply(self, settings: Settings, *, tell_core: bool) -> Settings:
        self.settings = settings
        self._on_change(settings, tell_core)
        return settings
