"""A PhoneHost for the network adapters' tests: a real core and a real settings writer, no app.

The servlet, the web pages and the SIP NOTIFY listener are given this instead
of a whole phone. It runs the real ``Phone`` core and the real
``SettingsWriter`` over a ``StateStore`` in a temporary directory, so what an
adapter posts really changes the screen, and what it writes really changes the
settings; and it records every input posted, for the tests to compare.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Mapping

from deskphone.config.settings import Settings
from deskphone.config.store import StateStore
from deskphone.config.writer import SettingsWriter
from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.phone import Phone
from deskphone.core.screens import Screen
from deskphone.core.state import DeviceInfo
from deskphone.host import Delivery

DEVICE = DeviceInfo(mac="001565abcdef", model="deskphone", firmware="9.9.9", ip="127.0.0.1",
                    line_keys=2)


class FakeHost:
    """``FakeHost(tmp_path, {"features.action_uri_limit_ip": "127.0.0.1"})``."""

    def __init__(self, state_dir: Path, config: Mapping[str, object] | None = None, *,
                 device: DeviceInfo = DEVICE) -> None:
        self._files = Settings.defaults().with_overrides(dict(config or {}))
        self._state_dir = Path(state_dir)
        self._state_dir.mkdir(parents=True, exist_ok=True)
        self.store = StateStore(self._state_dir)
        self._writer = SettingsWriter(self.store, lambda: self._files, self._settings_changed)
        self._writer.load()
        self._device = device
        self.phone = Phone(self._writer.settings, device)
        self.posted: list[ins.Input] = []       # every input an adapter posted, in order
        self.effects: list[fx.Effect] = []      # what the core answered them with
        self.delivered: list[Delivery] = []
        self._status = "Idle"
        self._status_listeners: list[Callable[[str], None]] = []
        self._effect_listeners: list[Callable[[fx.Effect], None]] = []
        self._run(ins.Start())

    # --- what the tests do ------------------------------------------------------

    def set_files(self, config: Mapping[str, object]) -> None:
        """The config directory as if edited: read at the next reload (forget does one)."""
        self._files = Settings.defaults().with_overrides(dict(config))

    def press(self, key: str) -> None:
        """A key pressed at the phone itself (not posted by an adapter, so not recorded)."""
        self._run(ins.KeyPress(key))

    def _run(self, inp: ins.Input) -> None:
        for effect in self.phone.handle(inp, time.monotonic()):
            self.effects.append(effect)
            if isinstance(effect, fx.Persist):
                self._writer.persist(effect.key, effect.value)
            for listener in self._effect_listeners:
                listener(effect)

    def _settings_changed(self, settings: Settings, tell_core: bool) -> None:
        if tell_core:
            self._run(ins.SettingsChanged(settings))

    # --- PhoneHost: what an adapter may see ---------------------------------------

    @property
    def settings(self) -> Settings:
        return self._writer.settings

    @property
    def device(self) -> DeviceInfo:
        return self._device

    @property
    def board_name(self) -> str:
        return "fake host"

    @property
    def state_dir(self) -> Path:
        return self._state_dir

    @property
    def status(self) -> str:
        return self._status

    @property
    def ip(self) -> str:
        return self.phone.ip

    @property
    def registrations(self) -> Mapping[int, str]:
        return dict(self.phone.regs)

    @property
    def screen(self) -> Screen:
        return self.phone.screen

    def frame(self):
        from deskphone.hw.render import render
        return render(self.phone.screen)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.delivered)

    @property
    def engine_name(self) -> str:
        return "none"

    @property
    def engine_up(self) -> bool:
        return self.phone.engine_up

    @property
    def uptime(self) -> float | None:
        return None

    @property
    def call_log(self):
        return self.phone.state.call_log.all()

    @property
    def directory(self):
        return self.phone.state.directory.contacts

    @property
    def calls(self):
        return tuple(self.phone.state.calls)

    @property
    def voicemail(self):
        return dict(self.phone.state.voicemail)

    @property
    def blf(self):
        return dict(self.phone.state.blf)

    @property
    def last_provisioning(self):
        return None             # no provisioning run here

    # --- PhoneHost: what an adapter may do ----------------------------------------

    def post(self, inp: ins.Input) -> None:
        self.posted.append(inp)
        self._run(inp)

    @property
    def writer(self) -> SettingsWriter:
        return self._writer

    def on_status(self, listener: Callable[[str], None]) -> None:
        self._status_listeners.append(listener)

    def on_effect(self, listener: Callable[[fx.Effect], None]) -> None:
        self._effect_listeners.append(listener)
