"""The far end of a serial line for tests: the master side of a pty pair.

The phone opens the slave side (``path``) with real pyserial, exactly as it
opens /dev/serial0 on a Pi; the test types into the master and reads what a
terminal program would show.
"""

from __future__ import annotations

import asyncio
import os


class PtyTerminal:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)
        self.received = b""          # everything the phone sent
        self._seen = 0               # how far expect() has consumed
        self._new = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:              # EIO: no slave open any more
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            return
        self.received += data
        self._new.set()

    def send(self, data: bytes | str) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    async def expect(self, text: str, timeout: float = 3.0) -> str:
        """Wait until ``text`` arrives; returns what came up to and including it."""
        want = text.encode()
        try:
            async with asyncio.timeout(timeout):
                while (at := self.received.find(want, self._seen)) < 0:
                    self._new.clear()
                    await self._new.wait()
        except TimeoutError:
            raise AssertionError(f"{text!r} did not arrive; got "
                                 f"{self.received[self._seen:]!r}") from None
        chunk = self.received[self._seen:at + len(want)]
        self._seen = at + len(want)
        return chunk.decode(errors="replace")

    async def rest(self, quiet: float = 0.2) -> str:
        """What arrives until the line has been quiet for ``quiet`` seconds."""
        while True:
            before = len(self.received)
            await asyncio.sleep(quiet)
            if len(self.received) == before:
                break
        chunk = self.received[self._seen:]
        self._seen = len(self.received)
        return chunk.decode(errors="replace")

    def close_master(self) -> None:
        if self.master >= 0:
            try:
                asyncio.get_running_loop().remove_reader(self.master)
            except (RuntimeError, ValueError):
                pass
            os.close(self.master)
            self.master = -1

    def close(self) -> None:
        self.close_master()
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1
