"""The serial debug console: the console commands on a serial port (UART, USB gadget, pty).

pyserial opens and configures the port (raw mode: no kernel echo, no line
discipline); the asyncio side is ours, because pyserial-asyncio is
unmaintained and asyncio serial does not work over pyserial's ``loop://``:

* reading: ``loop.add_reader`` on the port's file descriptor; the port is
  non-blocking (``timeout=0``), so a read takes what is there and returns;
* writing: one writer thread that owns ``Serial.write`` (with a write
  timeout), fed through a queue. A slow or stuck line never holds up the event
  loop: live log lines beyond ``MAX_PENDING`` bytes are dropped (and counted),
  command answers always go out.

When the port goes away (a USB gadget unplugged, the other end of a pty
closed) the console closes it and tries again every ``REOPEN_DELAY`` seconds.

At start, a port the kernel gives to a login console (``console=serial0`` in
/proc/cmdline: a getty runs on it) is left alone with a warning that says how
to free it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Callable, Mapping

import serial

from .. import __version__, logs
from ..config.board_console import DEFAULT_BAUDRATE, console_settings
from ..host import PhoneHost
from .commands import Command, Commands
from .editor import LineEditor

log = logging.getLogger("deskphone.console")

PROC_CMDLINE = Path("/proc/cmdline")
DEV = Path("/dev")
PROMPT = "deskphone> "
WRITE_TIMEOUT = 2.0          # seconds a write may wait for the line (flow control, a full buffer)
MAX_PENDING = 64 * 1024      # bytes of live log lines allowed to wait for the line
REOPEN_DELAY = 5.0


# --- is the port a login console? ---------------------------------------------------

def kernel_consoles(cmdline: str) -> list[str]:
    """The device names of ``console=`` entries (``serial0``, ``ttyS0``, ``tty1``)."""
    names = []
    for word in cmdline.split():
        if word.startswith("console="):
            name = word.removeprefix("console=").split(",", 1)[0]
            if name:
                names.append(name)
    return names


def login_console_conflict(port: str, cmdline: str, dev: Path = DEV) -> str | None:
    """The ``console=`` entry that names ``port`` (directly or through a symlink), or None."""
    mine = os.path.realpath(port)
    for name in kernel_consoles(cmdline):
        theirs = dev / name
        if str(theirs) == port or os.path.realpath(theirs) == mine:
            return name
    return None


# --- live log lines -----------------------------------------------------------------------

class ConsoleLogTap(logging.Handler):
    """Log records as lines on the console while ``active`` (``log on``)."""

    def __init__(self, console: "SerialConsole") -> None:
        super().__init__(logging.DEBUG)
        self.console = console
        self.setFormatter(logs.JournalFormatter(prefix=False))   # redacts secrets too
        self.active = False

    def start(self) -> None:
        if not self.active:
            logging.getLogger().addHandler(self)
            self.active = True

    def stop(self) -> None:
        logging.getLogger().removeHandler(self)
        self.active = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        # Records come from any thread (to_thread workers): cross into the loop.
        self.console.call_soon_threadsafe(self.console.show_log_line, text)


# --- the console ----------------------------------------------------------------------------

class SerialConsole:
    def __init__(self, host: PhoneHost, port: str, baudrate: int = DEFAULT_BAUDRATE, *,
                 cmdline_path: Path | None = None, dev: Path = DEV,
                 open_port: Callable[..., serial.Serial] = serial.Serial,
                 extra: Mapping[str, Command] | None = None) -> None:
        self.host = host
        self.port = port
        self.baudrate = baudrate
        self.cmdline_path = PROC_CMDLINE if cmdline_path is None else cmdline_path
        self.dev = dev
        self._open_port = open_port
        self.tap = ConsoleLogTap(self)
        # ``extra``: the commands of the board's own parts (the sim's hook switch).
        self.commands = Commands(host, extra=extra, log_tap=self.tap)
        self.editor = LineEditor(mask=Commands.masks_input)
        self.dropped = 0                    # live log lines dropped on a slow line
        self.active = False                 # the port is ours and open
        self._ser: serial.Serial | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._outq: queue.Queue[bytes | None] = queue.Queue()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._writer: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._open_failures = 0

    @classmethod
    def from_board(cls, host: PhoneHost, console: Mapping[str, object], path: str = "",
                   **kw: object) -> "SerialConsole":
        """The console of a board's ``[console]`` section (checked: ConfigError names the key)."""
        port, baudrate = console_settings(console, path)
        return cls(host, port, baudrate, **kw)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- life

    async def start(self) -> bool:
        """Open the port and serve it. False (logged) when the port is a login console."""
        self._loop = asyncio.get_running_loop()
        try:
            cmdline = await asyncio.to_thread(self.cmdline_path.read_text, errors="replace")
        except OSError:
            cmdline = ""
        name = login_console_conflict(self.port, cmdline, self.dev)
        if name is not None:
            log.warning(
                "console: %s is the kernel's login console (console=%s in %s), so a getty owns "
                "it; leaving it alone. To use it for the deskphone console: sudo raspi-config "
                "nonint do_serial_cons 1 (or remove console=%s,... from "
                "/boot/firmware/cmdline.txt), then reboot", self.port, name, self.cmdline_path,
                name)
            return False
        self._tasks.append(asyncio.create_task(self._serve(), name="serial-console"))
        if not await self._open():
            self._tasks.append(asyncio.create_task(self._reopen_later(), name="serial-reopen"))
        return True

    async def stop(self) -> None:
        self._closing = True
        self.tap.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._close()

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:
                pass                        # the loop is shutting down

    # ---------------------------------------------------------------- port

    async def _open(self) -> bool:
        try:
            ser = await asyncio.to_thread(self._open_port, self.port, self.baudrate, timeout=0,
                                          write_timeout=WRITE_TIMEOUT, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            # Said once (then at debug level): a port that is not there stays quiet in the log.
            level = logging.WARNING if self._open_failures == 0 else logging.DEBUG
            self._open_failures += 1
            log.log(level, "console: cannot open %s: %s; trying again every %.0f s", self.port,
                    exc, REOPEN_DELAY)
            return False
        self._open_failures = 0
        self._ser = ser
        self._outq = queue.Queue()
        self._pending = 0
        self._writer = threading.Thread(target=self._write_loop, args=(ser, self._outq),
                                        name="serial-console-writer", daemon=True)
        self._writer.start()
        assert self._loop is not None
        self._loop.add_reader(ser.fileno(), self._readable)
        self.active = True
        log.info("console on %s at %d baud", self.port, self.baudrate)
        self._send(f"\r\ndeskphone {__version__} console: type 'help'\r\n{PROMPT}", force=True)
        return True

    async def _close(self) -> None:
        ser, self._ser = self._ser, None
        self.active = False
        if ser is None:
            return
        if self._loop is not None:
            try:
                self._loop.remove_reader(ser.fileno())
            except (ValueError, OSError):
                pass
        self._outq.put(None)
        writer, self._writer = self._writer, None
        if writer is not None:
            # Let it send what is queued (the goodbye); a writer stuck on a dead line
            # (up to WRITE_TIMEOUT) is not waited for: it is a daemon thread.
            await asyncio.to_thread(writer.join, 0.1)
        await asyncio.to_thread(ser.close)

    def _lost(self, why: object) -> None:
        if self._ser is None or self._closing or not self.active:
            return                          # already being handled (reader and writer both saw it)
        self.active = False
        log.warning("console: %s went away (%s); trying again every %.0f s", self.port, why,
                    REOPEN_DELAY)
        self._tasks.append(asyncio.create_task(self._reconnect(), name="serial-reopen"))

    async def _reconnect(self) -> None:
        await self._close()
        await self._reopen_later()

    async def _reopen_later(self) -> None:
        while not self._closing:
            await asyncio.sleep(REOPEN_DELAY)
            if await self._open():
                return

    # ---------------------------------------------------------------- reading

    def _readable(self) -> None:
        ser = self._ser
        if ser is None:
            return
        try:
            data = ser.read(4096)
        except (serial.SerialException, OSError) as exc:
            assert self._loop is not None
            self._loop.remove_reader(ser.fileno())
            self._lost(exc)
            return
        if not data:
            return
        edited = self.editor.feed(data)
        if edited.echo:
            self._send_bytes(edited.echo, force=True)
        for line in edited.lines:
            self._lines.put_nowait(line)

    async def _serve(self) -> None:
        while True:
            line = await self._lines.get()
            try:
                answer = await self.commands.execute(line)
            except Exception:               # a bug in a command must not end the console
                log.exception("console: %r failed", line)
                answer = "error: the command failed (see the log)"
            text = answer.replace("\n", "\r\n") + "\r\n" if answer else ""
            self._send(text + PROMPT + self.editor.shown, force=True)

    # ---------------------------------------------------------------- writing

    def show_log_line(self, text: str) -> None:
        """A live log line, above the line being typed (which is redrawn after it)."""
        if not self.active:
            return
        note = ""
        if self.dropped:
            note, self.dropped = f"[{self.dropped} log line(s) dropped: the line is slow]\r\n", 0
        self._send(f"\r\x1b[K{note}{text}\r\n{PROMPT}{self.editor.shown}", force=False)

    def _send(self, text: str, *, force: bool) -> None:
        self._send_bytes(text.encode("utf-8", "replace"), force=force)

    def _send_bytes(self, data: bytes, *, force: bool) -> None:
        if self._ser is None:
            return
        with self._pending_lock:
            if not force and self._pending + len(data) > MAX_PENDING:
                self.dropped += 1
                return
            self._pending += len(data)
        self._outq.put(data)

    def _write_loop(self, ser: serial.Serial, outq: "queue.Queue[bytes | None]") -> None:
        while True:
            data = outq.get()
            if data is None:
                return
            try:
                ser.write(data)
            except serial.SerialTimeoutException:
                pass                        # the line is stuck: this chunk is lost, go on
            except (serial.SerialException, OSError) as exc:
                self.call_soon_threadsafe(self._lost, exc)
                return
            finally:
                with self._pending_lock:
                    self._pending -= len(data)
