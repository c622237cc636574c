"""The composition root: reads the board and the config, picks the adapters, runs the phone.

This is the only module that chooses between real and simulated parts, and it
imports hardware libraries lazily so the package imports on any machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from . import MODEL, __version__
from .config.board import Board
from .config.settings import Settings
from .config.store import StateStore
from .config.yealink_cfg import LoadedConfig
from .core import inputs as ins
from .core.accounts import enabled_accounts
from .core.phone import DeviceInfo, Phone
from .errors import ConfigError
from .hw.netinfo import outbound_ip, read_mac
from .net.action_url import ActionUrlSender
from .net.http_server import HttpServer
from .net.provisioning import Provisioner, load_layers
from .runtime import Adapters, Runtime

log = logging.getLogger("deskphone.app")

STOP_TIMEOUT = 1.5      # seconds each part gets to stop; the whole stop stays under 2 s


def load_settings(config_dir: Path, state_dir: Path, mac: str,
                  store: StateStore | None = None) -> tuple[LoadedConfig, Settings]:
    loaded = load_layers(config_dir, state_dir, mac)
    overrides = store.load() if store is not None else {}
    return loaded, Settings.build(loaded, overrides)


class PhoneApp:
    """One phone: its settings, core, runtime and adapters, started and stopped in order."""

    def __init__(self, board: Board, config_dir: str | Path, state_dir: str | Path, *,
                 bind: str | None = None, http_port: int | None = None) -> None:
        self.board = board
        self.config_dir = Path(config_dir)
        self.state_dir = Path(state_dir)
        self.bind = board.default_bind if bind is None else bind
        self.http_port = http_port
        self.mac = board.mac or read_mac() or "000000000000"
        self.store = StateStore(self.state_dir)
        self.settings: Settings = Settings.defaults()
        self.restart_requested: bool | None = None   # set by Reboot / Reset: the caller exits
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.status = "Starting"

    # ------------------------------------------------------------ settings

    def _load(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        loaded, settings = load_settings(self.config_dir, self.state_dir, self.mac, self.store)
        for err in loaded.errors:
            # A bad value is reported and left at its default; the phone still starts.
            log.error("config: %s", err)
        if loaded.ignored:
            log.info("config: %d setting(s) of other Yealink features ignored (first: %s)",
                     len(loaded.ignored), loaded.ignored[0][2])
        if self.http_port:
            # Not persisted: --http-port is a start-up choice, not a user setting.
            # (0, "any free port", is for tests and stays out of the settings.)
            settings = settings.with_overrides({"static.network.port.http": self.http_port})
        self.settings = settings

    def _on_setting(self, key: str, value: object) -> None:
        self.settings = self.settings.with_overrides({key: value})

    def apply_settings(self, settings: Settings) -> None:
        """New effective settings (provisioning, web page): tell the core."""
        self.settings = settings
        self.runtime.post(ins.SettingsChanged(settings))

    # ------------------------------------------------------------ adapters

    def _make_engine(self) -> Any:
        kind = self.settings["deskphone.engine"]
        if kind == "sim":
            from .engine.sim import SimEngine
            return SimEngine(self.board.sim_pbx, lambda: self.settings)
        raise ConfigError(f"engine {kind!r} is not available in deskphone {__version__}",
                          key="deskphone.engine")

    def _make_board(self) -> None:
        if not self.board.simulated:
            raise ConfigError("this version drives simulated boards only (kind = \"sim\")",
                              file=self.board.path, key="board.kind")
        from .sim.board import SimDisplay, SimHook, SimKeypad, SimLeds
        post = self.runtime.post
        self.keypad = SimKeypad(post)
        self.hook = SimHook(post)
        self.leds = SimLeds()
        self.display = SimDisplay(int(self.board.display.get("width", 128)),
                                  int(self.board.display.get("height", 64)))

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._load()
        server = str(next(iter(enabled_accounts(self.settings)), None).server  # type: ignore[union-attr]
                     if enabled_accounts(self.settings) else "")
        ip = self.bind if self.board.simulated and self.bind not in ("", "0.0.0.0", "::") \
            else outbound_ip(server)
        self.device = DeviceInfo(mac=self.mac, model=MODEL, firmware=__version__, ip=ip,
                                 line_keys=self.board.line_keys)
        self.phone = Phone(self.settings, self.device)
        self.engine = self._make_engine()
        self.sender = ActionUrlSender(
            lambda event: str(self.settings.get(f"action_url.{event}", "")),
            timeout=lambda: float(self.settings["deskphone.action_url.timeout"]),  # type: ignore[arg-type]
            verify_tls=lambda: bool(self.settings["security.trust_certificates"]),
            ca_file=lambda: str(self.settings["deskphone.action_url.ca_file"]) or None,
        )
        self.provisioner = Provisioner(self)
        self.runtime = Runtime(self.phone, Adapters(
            display=None, leds=None, engine=self.engine, events=self.sender,  # type: ignore[arg-type]
            store=self.store, on_setting=self._on_setting, on_status=self._set_status,
            on_restart=self._on_restart, provision=self.provisioner.run,
        ))
        self._make_board()
        self.runtime.adapters.display = self.display
        self.runtime.adapters.leds = self.leds
        port = self.http_port if self.http_port == 0 else self.settings["static.network.port.http"]
        self.http = HttpServer(self.bind, int(port), lambda: self.status)  # type: ignore[arg-type]
        await self.sender.start()
        await self.http.start()
        await self.engine.start(self.runtime.post)
        self._task = asyncio.create_task(self.runtime.run(), name="deskphone-runtime")
        self.runtime.post(ins.Start())
        log.info("deskphone %s up on board %r (MAC %s, IP %s)", __version__, self.board.name,
                 self.mac, ip)

    def _set_status(self, text: str) -> None:
        self.status = text

    def _on_restart(self, reset: bool) -> None:
        if reset:
            self.store.clear()
        self.restart_requested = reset
        self._stopped.set()

    async def wait(self) -> None:
        """Until Reboot/Reset asks the process to go (the service manager restarts it)."""
        await self._stopped.wait()

    async def stop(self) -> None:
        """Ordered shutdown: stop taking input, stop the engine, flush state, close the rest."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        steps = [("engine", self.engine.stop()), ("http", self.http.stop()),
                 ("action URLs", self.sender.close()), ("state", self.store.close())]
        for name, coro in steps:
            try:
                await asyncio.wait_for(coro, STOP_TIMEOUT / len(steps))
            except TimeoutError:
                log.warning("stopping %s took too long; going on", name)
            except Exception:
                log.exception("stopping %s failed", name)


def running_as_service() -> bool:
    return "INVOCATION_ID" in os.environ and not sys.stdin.isatty()
