"""The composition root: reads the board and the config, picks the adapters, runs the phone.

This is the only module that chooses between real and simulated parts, and it
imports hardware libraries lazily so the package imports on any machine. It
builds in order (settings writer, core, engine, Action URL sender, the board's
parts posting into an inbox made first, then the runtime with every adapter),
and it is the ``PhoneHost`` the other adapters are given; only the command
line imports it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from . import MODEL, __version__, logs
from .config.board import Board
from .config.board_console import console_settings
from .config.board_input import DeviceMatch
from .config.board_sound import parse_sound
from .config.layers import load_layers
from .config.schema import SCHEMA
from .config.settings import Settings
from .config.store import StateStore
from .config.writer import SettingsWriter
from .config.yealink_cfg import LoadedConfig
from .console.serial_console import SerialConsole
from .core import effects as fx
from .core import inputs as ins
from .core.phone import Phone
from .core.screens import Screen
from .core.call_log import CallLogLoaded, Entry, SaveCallLog
from .core.directory import Contact, WriteDirectory
from .core.blf import BlfLine
from .core.state import Call, DeviceInfo
from .core.voicemail import Mailbox
from .core.xml_objects import FetchXml
from .engine.port import Engine
from .errors import ConfigError
from .host import Delivery, ProvisioningRun
from .hw.netinfo import read_mac
from .hw.netwatch import NetWatcher, current_ip, sip_target
from .net.action_url import ActionUrlSender
from .net.http_server import HttpServer
from .net.provisioning import Provisioner
from .config.call_log_file import CallLogFile
from .net.phonebook import Phonebooks
from .net.blf import BlfWatcher
from .net.mwi import MwiSubscriptions
from .net.sip_notify import SipNotifyListener
from .net.xml_push import XmlFetcher
from .net.web import PhoneWeb
from .runtime import Adapters, Runtime

if TYPE_CHECKING:
    from PIL.Image import Image

    from .engine.sip_edge import SipEdge

    from .sim.controls import SimControls

log = logging.getLogger("deskphone.app")

SECRET_KEYS = tuple(key for key, spec in SCHEMA.items() if spec.secret)
STOP_TIMEOUT = 1.5      # seconds all the parts get to stop; the whole stop stays under 2 s
STOP_FLOOR = 0.05       # seconds kept for each part, whatever the parts before it took


class PhoneApp:
    """One phone: its settings, core, runtime and adapters, started and stopped in order.

    It is the ``PhoneHost`` the adapters are given (host.py): they see the phone
    through the properties below and act on it by ``post`` and ``writer`` only.
    """

    def __init__(self, board: Board, config_dir: str | Path, state_dir: str | Path, *,
                 bind: str | None = None, http_port: int | None = None,
                 https_port: int | None = None, sip_notify_port: int | None = None) -> None:
        self.board = board
        self.config_dir = Path(config_dir)
        self.state_dir = Path(state_dir)
        self.bind = board.default_bind if bind is None else bind
        self.http_port = http_port
        self.https_port = https_port     # None: static.network.port.https; 0: any free port
        self.sip_notify_port = sip_notify_port  # None: deskphone.sip_notify_port; 0: any free port
        self.sip_notify: SipNotifyListener | None = None   # Action URI over SIP NOTIFY (UDP)
        self.mwi: MwiSubscriptions | None = None   # voicemail SUBSCRIBEs (net/mwi.py)
        self.sip_edge: SipEdge | None = None    # kamailio on the SIP port, baresip behind it
        self._edge_said: str | None = None      # what _edge_note last told the log
        self.mac = board.mac or read_mac() or "000000000000"
        self.store = StateStore(self.state_dir)
        # --http-port is a start-up choice, not a user setting: pinned over files and
        # runtime state, never persisted. (0, "any free port", is for tests and stays
        # out of the settings.)
        self.writer = SettingsWriter(
            self.store, self._read_files, self._settings_changed,
            pinned={"static.network.port.http": http_port} if http_port else None)
        self.restart_requested: bool | None = None   # set by Reboot / Reset: the caller exits
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.status = "Starting"
        # Told of every new status line (the systemd notifier, the console).
        self._status_listeners: list[Callable[[str], None]] = []
        # Told of every effect the core returns (the web simulator's live view).
        self._effect_listeners: list[Callable[[fx.Effect], None]] = []
        self.console: SerialConsole | None = None      # [console] port of the board
        # IP changes (none on a simulated board bound to one address).
        self.netwatch: NetWatcher | None = None
        self.sim_controls: SimControls | None = None    # the simulated board's parts, for sim/
        self.started_at: float | None = None            # time.monotonic() at start, for uptime
        self._sip_target = ""
        self._loaded: LoadedConfig | None = None        # the files as last read
        self._last_provisioning: ProvisioningRun | None = None   # for the web page

    # ------------------------------------------------------------ PhoneHost

    @property
    def settings(self) -> Settings:
        return self.writer.settings

    @property
    def board_name(self) -> str:
        return self.board.name

    @property
    def ip(self) -> str:
        return self.phone.ip

    @property
    def registrations(self) -> Mapping[int, str]:
        return MappingProxyType(self.phone.regs)

    @property
    def screen(self) -> Screen:
        return self.phone.screen

    def frame(self) -> Image:
        return self.display.frame

    @property
    def deliveries(self) -> Sequence[Delivery]:
        return self.sender.deliveries

    @property
    def engine_name(self) -> str:
        return type(self.engine).__name__

    @property
    def engine_up(self) -> bool:
        return self.phone.engine_up

    @property
    def uptime(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at

    @property
    def call_log(self) -> Sequence[Entry]:
        return self.phone.state.call_log.all()

    @property
    def directory(self) -> Sequence[Contact]:
        return self.phone.state.directory.contacts

    @property
    def calls(self) -> Sequence[Call]:
        return tuple(self.phone.state.calls)

    @property
    def voicemail(self) -> Mapping[int, Mailbox]:
        return MappingProxyType(self.phone.state.voicemail)

    @property
    def blf(self) -> Mapping[int, BlfLine]:
        return MappingProxyType(self.phone.state.blf)

    @property
    def last_provisioning(self) -> ProvisioningRun | None:
        return self._last_provisioning

    async def _provision(self) -> ins.AutoProvisionDone:
        result = await self.provisioner.run()
        self._last_provisioning = ProvisioningRun(time.time(), result.ok, result.reason)
        return result

    def post(self, inp: ins.Input) -> None:
        # Looked up at each call, so a test that wraps runtime.post sees what adapters post.
        self.runtime.post(inp)

    def on_status(self, listener: Callable[[str], None]) -> None:
        self._status_listeners.append(listener)

    def on_effect(self, listener: Callable[[fx.Effect], None]) -> None:
        self._effect_listeners.append(listener)

    # ------------------------------------------------------------ settings

    def _read_files(self) -> Settings:
        """The config directory and the provisioned files (blocking; the writer calls it)."""
        self._loaded = load_layers(self.config_dir, self.state_dir, self.mac)
        return Settings.build(self._loaded)

    def _load(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        settings = self.writer.load()
        loaded = self._loaded
        assert loaded is not None
        logs.register_secrets(settings[k] for k in SECRET_KEYS)   # before anything is logged
        for err in loaded.errors:
            # A bad value is reported and left at its default; the phone still starts.
            log.error("config: %s", err)
        if loaded.ignored:
            log.info("config: %d setting(s) of other Yealink features ignored (first: %s)",
                     len(loaded.ignored), loaded.ignored[0][2])
        self._settings_changed(settings, False)

    def _settings_changed(self, settings: Settings, tell_core: bool) -> None:
        # What the settings steer outside the core: secrets kept out of logs, the log level.
        logs.register_secrets(settings[k] for k in SECRET_KEYS)
        logs.apply_configured_level(settings["deskphone.log_level"])
        target = sip_target(settings)
        if self.netwatch is not None and target != self._sip_target:
            self.netwatch.request_check()      # another SIP server: $ip may be another address
        self._sip_target = target
        if tell_core:
            self._edge_note(settings)
            self.post(ins.SettingsChanged(settings))
            if getattr(self, "phonebooks", None) is not None:
                self.phonebooks.settings_changed(settings)     # a new book URL: fetch now
            if self.mwi is not None:
                self.mwi.settings_changed(settings)            # MWI subscriptions on, off
            if getattr(self, "blf_watcher", None) is not None:
                self.blf_watcher.settings_changed(settings)    # BLF keys added, removed

    def _edge_note(self, settings: Settings) -> None:
        """Say once (per change of what is to be said) when the running SIP edge no longer
        fits the settings: it is chosen at start."""
        from .engine.sip_edge_config import edge_restart_note
        note = edge_restart_note(settings, getattr(self, "sip_edge", None) is not None)
        if note is not None and note != self._edge_said:
            log.warning("SIP edge: %s", note)
        self._edge_said = note

    # ------------------------------------------------------------ adapters

    def _make_engine(self) -> Engine:
        kind = self.settings["deskphone.engine"]
        if kind == "sim":
            from .engine.sim import SimEngine
            return SimEngine(self.board.sim_pbx, lambda: self.settings)
        if kind == "baresip":
            from .engine.baresip import BaresipEngine
            self.sip_edge = self._make_sip_edge()
            # baresip's config directory (rewritten at every start) lives in the state dir.
            return BaresipEngine(lambda: self.settings, runtime_dir=self.state_dir / "baresip",
                                 bind=self.bind, sound=self.board.sound,
                                 simulated=self.board.simulated,
                                 edge=self.sip_edge.link if self.sip_edge else None)
        raise ConfigError(f"engine {kind!r} is not available in deskphone {__version__}",
                          key="deskphone.engine")

    def _make_sip_edge(self) -> SipEdge | None:
        """The SIP edge, unless turned off (deskphone.sip_edge.enable) or a TLS account needs
        the port (the edge carries UDP and TCP): then baresip holds the SIP port itself."""
        from .engine.sip_edge import SipEdge, missing
        from .engine.sip_edge_config import uses_tls
        if not self.settings["deskphone.sip_edge.enable"]:
            return None
        if missing():
            log.warning("SIP edge off: %s; baresip holds the SIP port", missing())
            return None
        if uses_tls(self.settings):
            log.warning("SIP edge off: an account uses TLS; NOTIFYs to the registered contact "
                        "are answered by baresip")
            return None
        public = self.bind if self.bind not in ("", "0.0.0.0", "::") else self.device.ip
        return SipEdge(lambda: self.settings, self.state_dir / "sip-edge", public_host=public,
                       notify=lambda: None if self.sip_notify is None or not self.sip_notify.port
                       else (self.bind, self.sip_notify.port))

    def _make_board(self, post: Callable[[ins.Input], None]) -> None:
        """Each part of the board by its driver; hardware libraries are imported here, lazily.

        Built before the runtime, so the runtime gets them complete: they post into
        the inbox it will read."""
        from .sim.board import SimDisplay, SimHook, SimKeypad, SimLeds
        hw = self.board.hardware
        loop = asyncio.get_running_loop()

        def from_thread(inp: ins.Input) -> None:     # for the display's worker thread
            try:
                loop.call_soon_threadsafe(post, inp)
            except RuntimeError:
                pass        # the loop is closed: the phone stopped while the display worked

        def touched(inp: ins.Input) -> None:         # a person at the phone wakes the display
            poke = getattr(self.display, "poke", None)
            if poke is not None:
                poke()
            post(inp)

        self.board_parts: list[Any] = []
        factory = None
        sound = parse_sound(self.board.sound, self.board.simulated)
        if "gpio" in (hw.hook_driver, hw.leds_driver) or sound.bell_pin is not None or (
                hw.display is not None and hw.display.interface == "spi"):
            from .hw.gpio import make_pin_factory
            factory = make_pin_factory(self.board.pin_factory, str(self.state_dir))

        if hw.display is not None:
            from .hw.display_luma import LumaDisplay, make_luma_device
            spec = hw.display
            self.display = LumaDisplay(
                spec, open_device=lambda: make_luma_device(spec, pin_factory=factory),
                on_presence=lambda present, detail: from_thread(
                    ins.DeviceState("display", present, detail)))
            self.board_parts.append(self.display)
        else:
            self.display = SimDisplay(hw.width, hw.height)

        if hw.keypad_driver == "evdev":
            from .hw.keypad_evdev import EvdevKeypad
            self.keypad = EvdevKeypad(touched, [DeviceMatch(**d) for d in hw.keypad_devices],
                                      hw.keymap, rescan=hw.keypad_rescan, grab=hw.keypad_grab)
            self.board_parts.append(self.keypad)
        else:
            self.keypad = SimKeypad(touched)

        if hw.hook_driver == "gpio":
            from .hw.gpio import GpioHookSwitch
            self.hook = GpioHookSwitch(touched, hw.hook["pin"], pull=hw.hook["pull"],
                                       active_low=hw.hook["active_low"],
                                       closed_means=hw.hook["closed_means"], pin_factory=factory)
            self.board_parts.append(self.hook)
        elif hw.hook_driver == "evdev":
            from .hw.keypad_evdev import EvdevHookSwitch
            self.hook = EvdevHookSwitch(touched, DeviceMatch(**hw.hook["device"]), hw.hook["code"],
                                        closed_means=hw.hook["closed_means"])
            self.board_parts.append(self.hook)
        else:
            self.hook = SimHook(touched)

        if hw.leds_driver == "gpio":
            from .hw.gpio import GpioLeds, LedPin
            self.leds = GpioLeds({name: LedPin(**spec) for name, spec in hw.leds.items()},
                                 pin_factory=factory)
            self.board_parts.append(self.leds)
        else:
            self.leds = SimLeds()

        # The phone's own sounds on the board's devices (or their twin without any).
        from .sound.output import make_sound
        self.sound = make_sound(sound, pin_factory=factory)
        self.board_parts.append(self.sound)

    def _start_board(self) -> None:
        for part in self.board_parts:
            start = getattr(part, "start", None)
            if start is not None:
                start()

    async def _close_board(self) -> None:
        for part in reversed(getattr(self, "board_parts", [])):
            try:
                await part.close()
            except Exception:
                log.exception("closing %s failed", type(part).__name__)

    # ----------------------------------------------------------- lifecycle

    def _make_sim_controls(self) -> SimControls:
        from .engine.sim import SimEngine
        from .sim.controls import SimControls
        pbx = self.engine if isinstance(self.engine, SimEngine) else None
        return SimControls(self.keypad, self.hook, self.leds, self.display,  # type: ignore[arg-type]
                           pbx)

    def _make_console(self) -> SerialConsole | None:
        """The serial console of the board's ``[console]`` (checked before anything starts)."""
        if not self.board.console.get("port"):
            return None
        extra = None
        if self.sim_controls is not None:
            from .sim.terminal import board_commands     # `hook` moves the simulated switch
            extra = board_commands(self.sim_controls)
        return SerialConsole.from_board(self, self.board.console, self.board.path, extra=extra)

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._load()
        # $ip: the address SIP traffic leaves from (a simulated board bound to one address: that).
        fixed_ip = self.board.simulated and self.bind not in ("", "0.0.0.0", "::")
        ip = self.bind if fixed_ip else (await current_ip(sip_target(self.settings)) or "127.0.0.1")
        if self.board.console.get("port"):
            # A bad [console] fails the start before anything is built.
            console_settings(self.board.console, self.board.path)
        self.device = DeviceInfo(mac=self.mac, model=MODEL, firmware=__version__, ip=ip,
                                 line_keys=self.board.line_keys)
        self.phone = Phone(self.settings, self.device)
        self.engine = self._make_engine()
        def s(key: str) -> Any:            # read at each use: the settings change
            return self.settings[key]

        self.sender = ActionUrlSender(
            lambda event: str(self.settings.get(f"action_url.{event}", "")),
            timeout=lambda: float(s("deskphone.action_url.timeout")),  # type: ignore[arg-type]
            verify_tls=lambda: bool(s("security.trust_certificates")),
            ca_file=lambda: str(s("deskphone.action_url.ca_file")) or None,
            max_in_flight=lambda: int(s("deskphone.action_url.max_in_flight")),  # type: ignore[arg-type]
        )
        self.provisioner = Provisioner(self)
        # What the phone remembers and fetches: the call log file, the phone books, XML.
        self.call_log_file = CallLogFile(self.state_dir)
        self.phonebooks = Phonebooks(self, self.config_dir)
        self.xml_fetcher = XmlFetcher(self)
        # The inbox first: the board's parts post into it from the moment they exist.
        inbox: asyncio.Queue[ins.Input] = asyncio.Queue()
        self._make_board(inbox.put_nowait)
        self.runtime = Runtime(self.phone, Adapters(
            display=self.display, leds=self.leds, sound=self.sound, engine=self.engine,
            events=self.sender, settings=self.writer, on_status=self._set_status,
            on_restart=self._on_restart, provision=self._provision,
            listeners=self._effect_listeners,
            more={SaveCallLog: self.call_log_file.execute, FetchXml: self.xml_fetcher.execute,
                  WriteDirectory: self.phonebooks.execute},
        ), inbox=inbox)
        if self.board.simulated:
            self.sim_controls = self._make_sim_controls()
        console = self._make_console()
        port = self.http_port if self.http_port == 0 else self.settings["static.network.port.http"]
        self.http = HttpServer(self.bind, int(port),  # type: ignore[arg-type]
                               plain=bool(self.settings["static.wui.http_enable"]))
        self.web = PhoneWeb(self)                 # the Action URI servlet and the web pages
        self.web.install(self.http)
        if self.sim_controls is not None:
            from .sim.web import SimWeb          # the web simulator, at /sim
            self.sim_web = SimWeb(self, self.sim_controls)
            self.sim_web.install(self.http.app)
        await self.sender.start()
        await self.http.start()
        if self.settings["static.wui.https_enable"]:
            https = self.settings["static.network.port.https"] if self.https_port is None \
                else self.https_port
            await self.web.start_https(self.http, int(https))  # type: ignore[arg-type]
        notify_port = self.settings["deskphone.sip_notify_port"] if self.sip_notify_port is None \
            else self.sip_notify_port
        self.sip_notify = SipNotifyListener(
            self, self.bind, int(notify_port))  # type: ignore[arg-type]
        await self.sip_notify.start()         # a port that is taken costs a log line, not the start
        if self.sip_edge is not None:         # before baresip, which registers through it
            self.sip_notify.edge = self.sip_edge.address
            await self.sip_edge.start()       # bounded; a failed start is retried by itself
        await self.engine.start(self.runtime.post)
        self._task = asyncio.create_task(self.runtime.run(), name="deskphone-runtime")
        self.runtime.post(CallLogLoaded(await self.call_log_file.load()))
        self.runtime.post(ins.Start())
        self.phonebooks.start()
        self.mwi = MwiSubscriptions(self, self.bind)        # account.N.subscribe_mwi
        await self.mwi.start()                              # binds its sockets; no waiting
        self.blf_watcher = BlfWatcher(self, self.bind)      # the BLF keys' dialog SUBSCRIBEs
        self.blf_watcher.start()
        self._start_board()
        self.started_at = time.monotonic()
        if not fixed_ip:
            self.netwatch = NetWatcher(self._ip_changed, lambda: sip_target(self.settings),
                                       ip=ip)
            await self.netwatch.start()
        if console is not None:
            self.console = console
            await console.start()
        log.info("deskphone %s up on board %r (MAC %s, IP %s)", __version__, self.board.name,
                 self.mac, ip)

    def _set_status(self, text: str) -> None:
        self.status = text
        for listener in list(self._status_listeners):
            listener(text)

    def _on_restart(self, reset: bool) -> None:
        if reset:
            self.writer.reset()
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
        for name, part in (("console", self.console), ("IP watch", self.netwatch),
                           ("SIP NOTIFY", self.sip_notify), ("voicemail", self.mwi)):
            if part is not None:
                try:
                    await asyncio.wait_for(part.stop(), 0.2)
                except TimeoutError:
                    log.warning("stopping %s took too long; going on", name)
        steps = [("BLF", self._close_blf()),
                 ("engine", self.engine.stop()), ("SIP edge", self._stop_sip_edge()),
                 ("board", self._close_board()),
                 ("http", self.http.stop()),
                 ("action URLs", self.sender.close()), ("state", self.store.close()),
                 ("call log", self.call_log_file.flush()), ("phone books", self.phonebooks.close()),
                 ("XML fetch", self.xml_fetcher.close())]
        # One budget for all the steps: each may use what the ones before it left, less a floor
        # kept for each step after it (an even share gave the engine 0.15 s once there were ten
        # steps, under its own 0.25 s SIGTERM -> SIGKILL, so a loaded host cut it off unreaped).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TIMEOUT
        for i, (name, coro) in enumerate(steps):
            later = len(steps) - i - 1
            budget = max(STOP_FLOOR, deadline - loop.time() - STOP_FLOOR * later)
            try:
                await asyncio.wait_for(coro, budget)
            except TimeoutError:
                log.warning("stopping %s took too long; going on", name)
            except Exception:
                log.exception("stopping %s failed", name)

    async def _close_blf(self) -> None:
        if getattr(self, "blf_watcher", None) is not None:
            await self.blf_watcher.close()

    def _ip_changed(self, new: str) -> None:
        self.runtime.post(ins.IpChanged(new))
        if self.sip_edge is not None and self.bind in ("", "0.0.0.0", "::"):
            self.sip_edge.move(new)           # it listens on the phone's address

    async def _stop_sip_edge(self) -> None:
        if self.sip_edge is not None:
            await self.sip_edge.stop()


def running_as_service() -> bool:
    return "INVOCATION_ID" in os.environ and not sys.stdin.isatty()
