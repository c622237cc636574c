"""An HTTP remote key's Action URL leaves the phone before the key's own 200 (and the screen).

The receiver is a plain socket served from a thread, so what the test reads is
the kernel's: once the client holds its 200, the phone's GET for the event is
already in the receiver's socket buffer (loopback delivers on write), read
with ``MSG_PEEK`` while the receiver's thread is held back from reading it.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from deskphone.core.events import EVENTS
from support.phone import start_phone
from support.waiting import until

REMOTE = "features.action_uri_limit_ip = 127.0.0.1\nfeatures.show_action_uri_option = 0\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class HeldReceiver:
    """Answers every connection (a thread each); before each read it waits for ``go``."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.go = threading.Event()
        self.go.set()
        self.conns: list[socket.socket] = []
        self.heads: list[bytes] = []
        self.stopped = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]

    def start(self) -> None:
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.2)
            self.conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while not self.stopped:
                self.go.wait()
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    self.heads.append(head.split(b"\r\n", 1)[0])
                    conn.sendall(ANSWER)

    def waiting(self) -> list[bytes]:
        """What the phone wrote that no thread has read yet, per connection."""
        out = []
        for conn in list(self.conns):
            try:
                out.append(conn.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            except (BlockingIOError, OSError):
                pass
        return out

    def stop(self) -> None:
        self.stopped = True
        self.go.set()
        for thread in self.threads:
            thread.join(3)
        self.listener.close()


async def key(port: int, value: str) -> bytes:
    """One key request on a keep-alive connection: its whole answer, the moment it is in
    (not at the close, which may come later)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /servlet?key={value} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    answer = head + await reader.readexactly(length)
    writer.close()
    return answer


async def test_the_action_url_is_on_the_wire_before_the_keys_200(tmp_path):
    rx = HeldReceiver()
    rx.start()
    base = f"http://127.0.0.1:{rx.port}"
    urls = {e.id: "" for e in EVENTS} | {"off_hook": base + "/off_hook?mac=$mac",
                                          "on_hook": base + "/on_hook?mac=$mac"}
    app = await start_phone(tmp_path, base, extra=REMOTE, url_for=urls)
    try:
        # The first press opens the sender's connection (an await of its own); the
        # promise is for a receiver the phone already talks to, as it does after one event.
        for value in ("OFFHOOK", "ONHOOK"):
            assert (await key(app.http.port, value)).startswith(b"HTTP/1.1 200")
        await until(lambda: len(rx.heads) == 2, what="the first two events")
        for value, path in (("OFFHOOK", b"/off_hook"), ("ONHOOK", b"/on_hook")):
            assert await app.sender.drain(5)      # the last answer read: the host is idle
            rx.go.clear()                   # the receiver's thread reads nothing now
            await asyncio.sleep(0.3)        # (past its current read)
            answer = await key(app.http.port, value)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            waiting = rx.waiting()
            assert any(w.startswith(b"GET " + path) for w in waiting), waiting
            rx.go.set()
        await until(lambda: len(rx.heads) == 4, what="all four events")
        assert [h.split(b"?")[0] for h in rx.heads] == [
            b"GET /off_hook", b"GET /on_hook", b"GET /off_hook", b"GET /on_hook"]
    finally:
        await app.stop()
        rx.stop()
