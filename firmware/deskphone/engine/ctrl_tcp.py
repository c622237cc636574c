"""An asyncio client for baresip's ``ctrl_tcp`` module: JSON in netstrings, both ways.

There is no maintained Python library for this protocol (the few on PyPI are
synchronous, unmaintained, or wrap the console instead), and it is small, so
the phone has its own. What it must survive, all seen from real baresip:

- events arrive at any time, also *before* the response of the command that
  caused them: responses are matched to commands by ``token`` only;
- a command baresip cannot parse gets no response at all, and a busy or hung
  baresip may never answer: every command has a timeout;
- garbage on the wire (a bad length, a frame that is not JSON): the client
  skips it, logs it and keeps reading;
- the connection drops (baresip died): every pending command fails with
  ``ConnectionLost`` and ``on_close`` is called once.

A command that must act on one particular call in baresip 1.0.0 needs the
call selected first (``uafind``, ``callfind``); ``send_batch`` writes several
commands in one ``write`` so baresip reads and runs them back to back, with no
SIP event handled in between.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import DeskphoneError

log = logging.getLogger("deskphone.engine.ctrl_tcp")

MAX_FRAME = 256 * 1024         # a ctrl_tcp message is a few hundred bytes to a few KiB
MAX_LENGTH_DIGITS = 6
MAX_COMMAND = 1000             # ctrl_tcp copies "command params" into a 1024-byte buffer
DEFAULT_TIMEOUT = 5.0


class CtrlTcpError(DeskphoneError):
    """Talking to baresip over ctrl_tcp failed."""


class ConnectionLost(CtrlTcpError, ConnectionError):
    pass


class CommandTimeout(CtrlTcpError, TimeoutError):
    pass


@dataclass(frozen=True)
class Response:
    ok: bool
    data: str               # console text for humans; may hold ANSI colour codes


class NetstringDecoder:
    """Splits a byte stream into netstring payloads; skips what is not one."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0            # bytes thrown away as garbage, for tests and logs

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        buf = self._buf
        while buf:
            digits = 0
            while digits < len(buf) and 0x30 <= buf[digits] <= 0x39:
                digits += 1
            if digits == 0:
                self._skip(1)                       # not the start of a length
                continue
            if digits == len(buf):
                if digits > MAX_LENGTH_DIGITS:
                    self._skip(digits)
                    continue
                break                               # the length is still arriving
            if buf[digits] != 0x3A or digits > MAX_LENGTH_DIGITS or \
                    (digits > 1 and buf[0] == 0x30) or int(buf[:digits]) > MAX_FRAME:
                self._skip(digits)                  # a run of digits that is no length
                continue
            end = digits + 1 + int(buf[:digits])
            if len(buf) < end + 1:
                break                               # the payload is still arriving
            if buf[end] != 0x2C:
                self._skip(digits)                  # no ",": look for a frame inside
                continue
            out.append(bytes(buf[digits + 1:end]))
            del buf[:end + 1]
        return out

    def _skip(self, n: int) -> None:
        # Resynchronise: the next "<digits>:<payload>," that holds together wins.
        del self._buf[:n]
        self.skipped += n


def encode_netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode("ascii") + b":" + payload + b","


class CtrlTcpClient:
    """One connection to one baresip. ``on_event`` gets every event dict, in order."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None],
                 on_close: Callable[[BaseException | None], None] | None = None) -> None:
        self._on_event = on_event
        self._on_close = on_close
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Response]] = {}
        self._tokens = itertools.count(1)
        self._decoder = NetstringDecoder()
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._closed

    async def connect(self, host: str, port: int, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            self._reader, self._writer = await asyncio.open_connection(host, port)
        self._task = asyncio.create_task(self._read_loop(), name=f"ctrl_tcp-{port}")

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._fail_pending(ConnectionLost("closed"))

    # ------------------------------------------------------------ commands

    async def command(self, command: str, params: str | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> Response:
        (future,) = self._send([(command, params)])
        return await self._await(future, command, timeout)

    async def batch(self, commands: Iterable[tuple[str, str | None]],
                    timeout: float = DEFAULT_TIMEOUT) -> list[Response]:
        """Send ``commands`` in one write; their responses in the same order."""
        commands = list(commands)
        futures = self._send(commands)
        results = []
        for (name, _), future in zip(commands, futures):
            results.append(await self._await(future, name, timeout))
        return results

    def _send(self, commands: list[tuple[str, str | None]]) -> list[asyncio.Future[Response]]:
        if not self.connected:
            raise ConnectionLost("not connected to baresip")
        assert self._writer is not None
        loop = asyncio.get_running_loop()
        wire = bytearray()
        futures = []
        for name, params in commands:
            token = str(next(self._tokens))
            message: dict[str, str] = {"command": name, "token": token}
            if params is not None:
                message["params"] = params
            if len(name) + len(params or "") + 1 > MAX_COMMAND:
                raise CtrlTcpError(f"command too long for ctrl_tcp: {name}")
            wire += encode_netstring(json.dumps(message).encode("utf-8"))
            future: asyncio.Future[Response] = loop.create_future()
            self._pending[token] = future
            futures.append(future)
        self._writer.write(bytes(wire))
        return futures

    async def _await(self, future: asyncio.Future[Response], name: str,
                     timeout: float) -> Response:
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            for token, f in list(self._pending.items()):
                if f is future:
                    del self._pending[token]
            future.cancel()
            raise CommandTimeout(f"baresip did not answer {name!r} within {timeout:g} s") from None

    # -------------------------------------------------------------- reading

    async def _read_loop(self) -> None:
        assert self._reader is not None
        error: BaseException | None = None
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                for payload in self._decoder.feed(data):
                    self._dispatch(payload)
        except asyncio.CancelledError:
            raise
        except (OSError, ConnectionError) as exc:
            error = exc
        finally:
            was_open = not self._closed
            self._closed = True
            if self._writer is not None:
                self._writer.close()
            self._fail_pending(ConnectionLost("baresip closed the control connection"))
            if was_open and self._on_close is not None:
                self._on_close(error)

    def _dispatch(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("ctrl_tcp: skipped a frame that is not JSON (%d bytes)", len(payload))
            return
        if not isinstance(message, dict):
            log.warning("ctrl_tcp: skipped a frame that is not a JSON object")
            return
        if message.get("response") is True:
            future = self._pending.pop(str(message.get("token", "")), None)
            if future is None:
                log.debug("ctrl_tcp: response to no pending command: %.80r", message)
            elif not future.done():
                future.set_result(Response(bool(message.get("ok")), str(message.get("data", ""))))
            return
        if message.get("event") in (True, "true"):
            try:
                self._on_event(message)
            except Exception:
                # A bug in one event handler must not cut the phone off from baresip.
                log.exception("ctrl_tcp: handling event %s failed", message.get("type"))
            return
        # baresip >= 1.1.0 sends {"message": true, "ua", "from", "ctype", "body"} here for an
        # incoming SIP MESSAGE; 1.0.0 never does. Action URI over MESSAGE would start here
        # (net/sip_notify.py says what it lacks: the sender's address, for sip.trust_ctrl).
        log.debug("ctrl_tcp: skipped a message that is neither response nor event")

    def _fail_pending(self, exc: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(exc)
                future.exception()      # marked retrieved: nobody may be waiting any more

