"""Drive the simulated board from a terminal: one command per line on stdin.

Until the web simulator exists this is how a person presses keys, lifts the
handset and makes the simulated PBX call in. The commands are the serial
console's (``console.commands``: key, hook, dial, status, config...) plus the
sim's own below (call-in, far, ip, engine, screen, leds, quit) and its own ``hook``,
which moves the simulated switch (``board_commands``: the serial console of a
simulated board gets it too).
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from typing import Callable

from ..console.commands import Command, CommandError, Commands, on_off
from ..core import inputs as ins
from ..core.screens import Screen
from ..host import PhoneHost
from .controls import SimControls


def format_screen(screen: Screen) -> str:
    width = 30
    top = f" {screen.title} "[:width - len(screen.corner) - 2]
    lines = [f"+{'-' * width}+",
             f"|{top}{' ' * (width - len(top) - len(screen.corner) - 1)}{screen.corner} |",
             f"|{'-' * width}|"]
    for i, text in enumerate((screen.lines + ("", "", ""))[:3]):
        mark = ">" if screen.selected == i else " "
        lines.append(f"|{mark}{text[:width - 1]:<{width - 1}}|")
    keys = " ".join(f"[{k}]" for k in screen.softkeys if k)
    lines.append(f"|{keys[:width]:<{width}}|")
    lines.append(f"+{'-' * width}+" + (f"  {' '.join(screen.icons)}" if screen.icons else ""))
    return "\n".join(lines)


def board_commands(controls: SimControls) -> dict[str, Command]:
    """The console commands that act on the simulated board itself rather than on the host."""
    def hook(args: list[str]) -> None:
        if not args:
            raise CommandError("usage: hook on|off")
        # The simulated switch keeps its own state (the web simulator shows it): move it.
        controls.hook.set(not on_off(args[0]))

    return {"hook": Command("hook", "hook on|off", "put down / lift the handset", hook)}


class Terminal:
    """stdin commands: the console's shared set (``console.commands``) plus the sim's own."""

    def __init__(self, host: PhoneHost, controls: SimControls,
                 out: Callable[[str], None] = print) -> None:
        self.host = host
        self.controls = controls
        self.out = out
        self.quit = asyncio.Event()
        extra = [
            Command("call-in", "call-in NUMBER [NAME]", "a call from NUMBER rings the phone",
                    self._call_in),
            Command("far", "far answer|hangup|hold|resume",
                    "what the far end of the current call does", self._far),
            Command("ip", "ip ADDRESS", "pretend the phone's IP address changed", self._ip),
            Command("engine", "engine crash|restart", "the simulated engine fails / comes back",
                    self._engine),
            Command("screen", "screen", "show the screen", self._screen),
            Command("leds", "leds", "show the LEDs", self._leds),
            Command("quit", "quit", "stop the phone", self._quit),
            Command("exit", "exit", "stop the phone", self._quit),
        ]
        self.commands = Commands(host, extra={**board_commands(controls),
                                              **{c.name: c for c in extra}},
                                 log_commands=False)

    async def run(self) -> None:
        # No terminal or pipe on stdin (a service, /dev/null): nothing to read, and no
        # reason to stop either; the phone runs until a signal or `quit` ends it. (The
        # end of a pipe that was read is the user's `quit`.)
        if not _readable_by_the_loop(sys.stdin):
            await asyncio.Event().wait()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        except (ValueError, OSError):
            await asyncio.Event().wait()
        while not reader.at_eof():
            line = (await reader.readline()).decode(errors="replace").strip()
            if line:
                await self.command(line)

    async def command(self, line: str) -> None:
        answer = await self.commands.execute(line)
        if answer:
            self.out(answer)

    # ------------------------------------------------------- the sim's own

    def _call_in(self, args: list[str]) -> None:
        self.controls.pbx().incoming(args[0], args[1] if len(args) > 1 else "")

    def _far(self, args: list[str]) -> str | None:
        engine = self.controls.pbx()
        done = {"answer": engine.remote_answer, "hangup": engine.remote_hangup,
                "hold": lambda: engine.remote_hold(True),
                "resume": lambda: engine.remote_hold(False)}[args[0]]()
        return None if done else "no call for that"

    def _ip(self, args: list[str]) -> None:
        self.host.post(ins.IpChanged(args[0]))

    def _engine(self, args: list[str]) -> None:
        engine = self.controls.pbx()
        {"crash": engine.crash, "restart": engine.restart}[args[0]]()

    def _screen(self, args: list[str]) -> str | None:
        screen = self.controls.display.screen
        return format_screen(screen) if screen is not None else None

    def _leds(self, args: list[str]) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.controls.leds.state.items()))

    def _quit(self, args: list[str]) -> None:
        self.quit.set()


def _readable_by_the_loop(stream) -> bool:
    """A terminal, pipe or socket: what epoll can watch (/dev/null and plain files it cannot)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, ValueError, OSError):
        return False
    return os.isatty(fd) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
