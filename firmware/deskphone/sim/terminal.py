"""Drive the simulated board from a terminal: one command per line on stdin.

Until the web simulator exists this is how a person presses keys, lifts the
handset and makes the simulated PBX call in.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from typing import TYPE_CHECKING, Callable

from ..core import inputs as ins
from ..core.screens import Screen

if TYPE_CHECKING:
    from ..app import PhoneApp

HELP = """\
commands:
  key NAME            press a key: 0-9 * # OK X UP DOWN LEFT RIGHT SPEAKER HEADSET MUTE HOLD
                      TRANSFER CONF MSG RD VOLUME_UP VOLUME_DOWN F1-F4 L1-Ln
  keys DIGITS         press several digit keys (e.g. keys 201#)
  hook off|on         lift / put down the handset
  call-in NUMBER [NAME]   a call from NUMBER rings the phone
  far answer|hangup|hold|resume   what the far end of the current call does
  dnd on|off, cw on|off, fwd always|busy|no_answer TARGET|off
  account N on|off    enable / disable account N (registers / unregisters)
  ip ADDRESS          pretend the phone's IP address changed
  autop               run auto provisioning
  engine crash|restart
  screen, leds, help, quit"""


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


class Terminal:
    def __init__(self, app: "PhoneApp", out: Callable[[str], None] = print) -> None:
        self.app = app
        self.out = out
        self.quit = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        except (ValueError, OSError):
            return          # no usable stdin (a service, or closed): nothing to read
        while not reader.at_eof():
            line = (await reader.readline()).decode(errors="replace").strip()
            if line:
                try:
                    self.command(line)
                except (ValueError, IndexError) as exc:
                    self.out(f"?? {exc}  (type 'help')")

    def command(self, line: str) -> None:
        words = shlex.split(line)
        cmd, args = words[0].lower(), words[1:]
        app, engine, post = self.app, self.app.engine, self.app.runtime.post
        on = lambda word: {"on": True, "off": False}[word]  # noqa: E731
        if cmd == "help":
            self.out(HELP)
        elif cmd == "key":
            app.keypad.press(args[0].upper() if len(args[0]) > 1 else args[0])
        elif cmd == "keys":
            app.keypad.type(args[0])
        elif cmd == "hook":
            app.hook.set(args[0] == "off")
        elif cmd == "call-in":
            engine.incoming(args[0], args[1] if len(args) > 1 else "")
        elif cmd == "far":
            done = {"answer": engine.remote_answer, "hangup": engine.remote_hangup,
                    "hold": lambda: engine.remote_hold(True),
                    "resume": lambda: engine.remote_hold(False)}[args[0]]()
            if not done:
                self.out("no call for that")
        elif cmd == "dnd":
            post(ins.SetDnd(on(args[0])))
        elif cmd == "cw":
            post(ins.SetCallWaiting(on(args[0])))
        elif cmd == "fwd":
            if args[1] == "off":
                post(ins.SetForward(args[0], False))
            else:
                post(ins.SetForward(args[0], True, args[1]))
        elif cmd == "account":
            post(ins.SetAccountEnabled(int(args[0]), on(args[1])))
        elif cmd == "ip":
            post(ins.IpChanged(args[0]))
        elif cmd == "autop":
            post(ins.RequestAutoProvision())
        elif cmd == "engine":
            {"crash": engine.crash, "restart": engine.restart}[args[0]]()
        elif cmd == "screen":
            if app.display.screen is not None:
                self.out(format_screen(app.display.screen))
        elif cmd == "leds":
            self.out(" ".join(f"{k}={v}" for k, v in sorted(app.leds.state.items())))
        elif cmd in ("quit", "exit"):
            self.quit.set()
        else:
            raise ValueError(f"unknown command {cmd!r}")
