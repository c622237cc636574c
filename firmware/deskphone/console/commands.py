"""The debug console's commands, shared by the serial console and the sim's terminal.

``Commands.execute(line)`` runs one line and returns the text to show (lines
joined by "\\n"; the front end turns them into what its terminal needs). A bad
line is answered with ``error: ...`` and changes nothing. Front ends add their
own commands through ``extra`` (the sim's terminal adds ``call-in``, ``far``...), and
a command of ``extra`` replaces the shared one of its name (the simulated board's
``hook``, which moves its twin of the switch).

Every command is logged at info level (the serial console; the sim's terminal
shows its own log already), with the value of a secret setting (``config set
account.1.password ...``) masked.
"""

from __future__ import annotations

import inspect
import logging
import shlex
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Protocol

from .. import __version__, logs
from ..config.schema import lookup
from ..config.settings import HIDDEN, shown_value
from ..core import inputs as ins
from ..core.accounts import MAX_ACCOUNTS, account
from ..core.features import CALL_WAITING, DND, FORWARDS
from ..core.keys import DIGITS
from ..core.trust import TRUST_PREFIX, decisions, trust_key
from ..core.uri import parse_key, parse_request
from ..errors import DeskphoneError
from ..host import PhoneHost
from .records_commands import records_commands

log = logging.getLogger("deskphone.console")

Result = str | None
Handler = Callable[[list[str]], Result | Awaitable[Result]]


class CommandError(DeskphoneError, ValueError):
    """A console line that cannot be run; the message says why, in one line."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str                  # "config get KEY | config set KEY VALUE"
    summary: str
    run: Handler


class LogTap(Protocol):
    """What a front end offers for ``log on|off``: live log lines on its terminal."""
    active: bool

    def start(self) -> None: ...
    def stop(self) -> None: ...


_ON_OFF = {"on": True, "off": False, "1": True, "0": False}
FWD_USAGE = f"fwd {'|'.join(FORWARDS)} TARGET|off"


def on_off(word: str) -> bool:
    """on/off/1/0 as a console command's argument; CommandError otherwise."""
    try:
        return _ON_OFF[word.lower()]
    except KeyError:
        raise CommandError(f"expected on or off, not {word!r}") from None


def _need(args: list[str], n: int, usage: str) -> None:
    if len(args) < n:
        raise CommandError(f"usage: {usage}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}:{minutes:02}:{secs:02}"


class Commands:
    def __init__(self, host: PhoneHost, *, extra: Mapping[str, Command] | None = None,
                 log_tap: LogTap | None = None, log_commands: bool = True) -> None:
        self.host = host
        self.log_tap = log_tap
        self.log_commands = log_commands
        own = [
            Command("help", "help", "this list", self._help),
            Command("status", "status", "state, accounts, DND/forward, IP, uptime, engine",
                    self._status),
            Command("events", "events [N]", "the last N Action URL deliveries (10)", self._events),
            Command("log", "log [on|off|debug|info|warning|error]",
                    "live log lines here; set the log level now (not kept)", self._log),
            Command("key", "key NAME", "press a key: an Action URI key value (OK, X, F1, "
                    "OFFHOOK, DNDOn, AlwaysFwdOn=123, F1;F3...)", self._key),
            Command("keys", "keys DIGITS", "press several digit keys (keys 201#)", self._keys),
            Command("hook", "hook on|off", "put down / lift the handset", self._hook),
            Command("dial", "dial NUMBER", "call NUMBER", self._dial),
            Command("uri", "uri KEY=VALUE[&KEY=VALUE]", "run an Action URI as if from a "
                    "trusted source (uri key=OK, uri number=201)", self._uri),
            Command("config", "config get KEY | config set KEY VALUE",
                    "read a setting / change it (checked, kept, applied now)", self._config),
            Command("trust", "trust list | trust forget SOURCE",
                    "remote-control decisions (Allow Remote Control?)", self._trust),
            Command("autop", "autop", "run auto provisioning now", self._autop),
            Command("dnd", "dnd on|off", "do not disturb", self._dnd),
            Command("cw", "cw on|off", "call waiting", self._cw),
            Command("fwd", FWD_USAGE, "call forward", self._fwd),
            Command("account", "account N on|off", "enable / disable account N", self._account),
            Command("restart", "restart", "restart the phone (the service manager starts it again)",
                    self._restart),
        ]
        self.commands: dict[str, Command] = {c.name: c for c in own}
        self.commands.update({c.name: c for c in records_commands(host, Command)})
        self.commands.update(extra or {})

    # ------------------------------------------------------------- running

    async def execute(self, line: str) -> str:
        """Run one line; the answer to show (maybe ""). Never raises for a bad line."""
        line = line.strip()
        if not line:
            return ""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return f"error: {exc}"
        name, args = words[0].lower(), words[1:]
        loggable = self._loggable(name, args)       # also registers a secret being set
        if self.log_commands:
            log.info("console: %s", loggable)
        command = self.commands.get(name)
        if command is None:
            return f"error: unknown command {name!r} (type 'help')"
        try:
            result = command.run(args)
            if inspect.isawaitable(result):
                result = await result
        except (ValueError, KeyError, IndexError) as exc:
            # ConfigError, ActionUriError and CommandError are all ValueErrors.
            text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            return f"error: {text}"
        return result or ""

    @staticmethod
    def _loggable(name: str, args: list[str]) -> str:
        shown = [shlex.quote(a) for a in args]
        if name == "config" and len(args) >= 3 and args[0] == "set":
            try:
                spec = lookup(args[1])
            except ValueError:
                spec = None
            if spec is not None and spec.secret:
                logs.register_secrets([" ".join(args[2:])])
                shown[2:] = [HIDDEN]
        return " ".join([name, *shown])

    @staticmethod
    def masks_input(typed: str) -> bool:
        """True once ``typed`` is ``config set <secret key> ``: what follows is a password."""
        words = typed.split()
        if len(words) != 3 or words[0].lower() != "config" or words[1].lower() != "set" \
                or not typed[-1:].isspace():
            return False
        try:
            spec = lookup(words[2])
        except ValueError:
            return False
        return spec is not None and spec.secret

    def help_text(self) -> str:
        width = max(len(c.usage) for c in self.commands.values())
        rows = [f"  {c.usage:<{width}}  {c.summary}" for c in self.commands.values()]
        return "commands:\n" + "\n".join(rows)

    # ------------------------------------------------------------ helpers

    @property
    def _post(self) -> Callable[[ins.Input], None]:
        return self.host.post

    @property
    def _line_keys(self) -> int:
        return self.host.device.line_keys

    # ------------------------------------------------------------ commands

    def _help(self, args: list[str]) -> str:
        return self.help_text()

    def _status(self, args: list[str]) -> str:
        host, s = self.host, self.host.settings
        regs = host.registrations
        rows = [f"deskphone {__version__} on {host.board_name!r}", f"state:    {host.status}"]
        accounts = []
        for n in range(1, MAX_ACCOUNTS + 1):
            acc = account(s, n)
            if acc.enabled:
                who = f"{acc.user_name}@{acc.server}" if acc.server else acc.user_name
                accounts.append(f"{n} {acc.label or who} ({who}): "
                                f"{regs.get(n, 'not registered')}")
        rows.append("accounts: " + ("; ".join(accounts) or "none enabled"))
        fwd = [f"{kind} -> {f.target(s)}" if f.on(s) else f"{kind} off"
               for kind, f in FORWARDS.items()]
        rows.append(f"DND:      {'on' if DND.on(s) else 'off'}; "
                    f"forward: {', '.join(fwd)}; "
                    f"call waiting: {'on' if CALL_WAITING.on(s) else 'off'}")
        rows.append(f"IP:       {host.ip or 'none'} (MAC {host.device.mac})")
        uptime = host.uptime
        if uptime is not None:
            rows.append(f"uptime:   {_duration(uptime)}")
        rows.append(f"engine:   {s['deskphone.engine']} ({host.engine_name}): "
                    f"{'up' if host.engine_up else 'DOWN'}")
        rows.append(f"log:      {logs.current_level()}")
        return "\n".join(rows)

    def _events(self, args: list[str]) -> str:
        n = 10
        if args:
            if not args[0].isdigit() or int(args[0]) < 1:
                raise CommandError(f"N must be a positive number, not {args[0]!r}")
            n = int(args[0])
        deliveries = list(self.host.deliveries)[-n:]
        if not deliveries:
            return "no Action URL sent yet"
        rows = []
        for d in deliveries:
            stamp = time.strftime("%H:%M:%S", time.localtime(d.at))
            result = d.error or f"HTTP {d.status}"
            rows.append(f"{stamp} {d.event_name:<22} {result:<14} {d.latency * 1000:5.0f} ms  "
                        f"{d.url}")
        return "\n".join(rows)

    def _log(self, args: list[str]) -> str:
        tap = self.log_tap
        if not args:
            live = "on" if tap is not None and tap.active else "off"
            return f"log level {logs.current_level()}; live lines here: {live}"
        word = args[0].lower()
        if word in ("on", "off"):
            if tap is None:
                return "the log already goes to this terminal"
            tap.start() if word == "on" else tap.stop()
            return f"live log lines {word}"
        logs.set_level(word)            # ValueError names the levels
        if tap is not None:
            tap.start()
        log.warning("log level set to %s from the console", word)
        return f"log level {word}" + ("; live log lines on (log off stops them)" if tap else "")

    def _key(self, args: list[str]) -> str | None:
        _need(args, 1, "key NAME")
        inputs = parse_key(" ".join(args), line_keys=self._line_keys, settings=self.host.settings)
        for inp in inputs:
            self._post(inp)
        return None

    def _keys(self, args: list[str]) -> None:
        _need(args, 1, "keys DIGITS")
        digits = "".join(args)
        bad = [d for d in digits if d not in DIGITS]
        if bad:
            raise CommandError(f"not a digit key: {bad[0]!r} (use key NAME for the others)")
        for d in digits:
            self._post(ins.KeyPress(d))

    def _hook(self, args: list[str]) -> None:
        _need(args, 1, "hook on|off")
        # A real switch stays where it is: the phone is told it moved, as a remote
        # OFFHOOK/ONHOOK key does. (The simulated board replaces this command.)
        self._post(ins.HookChanged(not on_off(args[0]), remote=True))

    def _dial(self, args: list[str]) -> None:
        _need(args, 1, "dial NUMBER")
        for inp in parse_request({"number": args[0]}, line_keys=self._line_keys,
                                 settings=self.host.settings):
            self._post(inp)

    def _uri(self, args: list[str]) -> None:
        _need(args, 1, "uri KEY=VALUE[&KEY=VALUE]")
        params: dict[str, str] = {}
        for part in "&".join(args).split("&"):
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or not name:
                raise CommandError(f"expected KEY=VALUE, not {part!r}")
            params[name] = value
        for inp in parse_request(params, line_keys=self._line_keys, settings=self.host.settings):
            self._post(inp)

    def _config(self, args: list[str]) -> str:
        usage = "config get KEY | config set KEY VALUE"
        _need(args, 2, usage)
        verb, key = args[0].lower(), args[1]
        if verb == "get":
            if key.startswith(TRUST_PREFIX) and key not in self.host.settings:
                return f"{key} is not set"
            value = self.host.settings[key]              # KeyError: unknown setting
            return f"{key} = {shown_value(key, value)}    # {self.host.settings.origin(key)}"
        if verb == "set":
            _need(args, 3, usage)
            value = " ".join(args[2:])
            # The store checks key and value against the schema (ConfigError) before keeping it.
            settings = self.host.writer.set(key, value)
            return f"{key} = {shown_value(key, settings[key])}    # kept in the runtime state"
        raise CommandError(f"usage: {usage}")

    async def _trust(self, args: list[str]) -> str:
        _need(args, 1, "trust list | trust forget SOURCE")
        if args[0] == "list":
            known = decisions(self.host.settings)
            limit = self.host.settings["features.action_uri_limit_ip"] or "(nobody)"
            rows = [f"trusted sources (features.action_uri_limit_ip): {limit}"]
            rows += [f"  {source}: {decision}" for source, decision in known.items()] \
                or ["  no remembered decisions"]
            return "\n".join(rows)
        if args[0] == "forget":
            _need(args, 2, "trust forget SOURCE")
            key = trust_key(args[1])
            if not await self.host.writer.forget([key]):
                raise CommandError(f"no decision remembered for {args[1]!r}")
            return f"forgot {args[1]}: it will be asked again"
        raise CommandError("usage: trust list | trust forget SOURCE")

    def _autop(self, args: list[str]) -> str:
        self._post(ins.RequestAutoProvision())
        return "auto provisioning started"

    def _dnd(self, args: list[str]) -> None:
        _need(args, 1, "dnd on|off")
        self._post(ins.SetDnd(on_off(args[0])))

    def _cw(self, args: list[str]) -> None:
        _need(args, 1, "cw on|off")
        self._post(ins.SetCallWaiting(on_off(args[0])))

    def _fwd(self, args: list[str]) -> None:
        usage = FWD_USAGE
        _need(args, 2, usage)
        kind = args[0].lower().replace("-", "_")
        if kind not in FORWARDS:
            raise CommandError(f"usage: {usage}")
        if args[1].lower() == "off":
            self._post(ins.SetForward(kind, False))
        else:
            self._post(ins.SetForward(kind, True, args[1]))

    def _account(self, args: list[str]) -> None:
        _need(args, 2, "account N on|off")
        if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_ACCOUNTS:
            raise CommandError(f"N must be 1..{MAX_ACCOUNTS}")
        self._post(ins.SetAccountEnabled(int(args[0]), on_off(args[1])))

    def _restart(self, args: list[str]) -> str:
        self._post(ins.RequestRestart(reset=False))
        return "restarting"
