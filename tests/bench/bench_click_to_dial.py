"""Click-to-dial: from a client's ``/servlet?key=number=N`` to the INVITE on the wire.

    make bench      (or: .venv/bin/python tests/bench/bench_click_to_dial.py)

The proxy is a UDP listener on 127.0.0.1 standing in for the PBX: it answers
REGISTER with 200 and every INVITE with 486 Busy Here (so each call ends at once),
and stamps the moment each INVITE datagram arrives. Two paths to the same listener,
in the same run:

- the phone on the default config, with the real baresip as its engine: the clock
  starts just before the GET is written to the phone's HTTP port;
- baseline: a second real baresip, given the same ``dial`` over its own ctrl_tcp (what
  the phone does in the end, without the servlet, the core and the runtime in front).

Each dial waits until its call has ended before the next one starts. Times are
CLOCK_MONOTONIC in this process.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from common import figure, header, percentile, run

N = 200
WARMUP = 20


class ProxyStandIn(asyncio.DatagramProtocol):
    """REGISTER -> 200, INVITE -> stamped and 486, ACK -> nothing, anything else -> 200."""

    def __init__(self) -> None:
        self.invites: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001
        at = time.monotonic_ns()
        text = data.decode("utf-8", "replace")
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")
        parts = head[0].split()
        if len(parts) < 3 or parts[0].startswith("SIP/") or parts[0] == "ACK":
            return
        method, uri = parts[0], parts[1]
        keep = [h for h in head[1:] if h.split(":", 1)[0].strip().lower() in
                ("via", "v", "from", "f", "call-id", "i", "cseq", "to", "t", "contact", "m")]
        lines = []
        for h in keep:
            name = h.split(":", 1)[0].strip().lower()
            if name in ("to", "t") and ";tag=" not in h:
                h += ";tag=standin"
            if name in ("contact", "m") and method != "REGISTER":
                continue
            lines.append(h)
        if method == "INVITE":
            self.invites.put_nowait((at, uri))
            status = "486 Busy Here"
        else:
            status = "200 OK"
            if method == "REGISTER":
                lines.append("Expires: 600")
        reply = "\r\n".join([f"SIP/2.0 {status}", *lines, "Content-Length: 0", "", ""])
        assert self.transport is not None
        self.transport.sendto(reply.encode(), addr)


async def http_get(port: int, target: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic_ns()
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "Connection: close\r\n\r\n".encode())
    await writer.drain()
    await reader.read()
    writer.close()
    return t0


async def phone_dials(app, proxy: ProxyStandIn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = await http_get(app.http.port, f"/servlet?key=number={2000 + i}")
        at, uri = await asyncio.wait_for(proxy.invites.get(), 10)
        assert f"sip:{2000 + i}@" in uri, uri
        out.append((at - t0) / 1e6)
        while app.phone.calls:                   # the 486 ends it; then the next one
            await asyncio.sleep(0.002)
    return out


async def baresip_dials(far, proxy: ProxyStandIn, port: int, n: int) -> list[float]:
    out = []
    for i in range(n):
        mark = far.mark()
        t0 = time.monotonic_ns()
        await far.client.command("dial", f"sip:{3000 + i}@127.0.0.1:{port}", timeout=5.0)
        at, uri = await asyncio.wait_for(proxy.invites.get(), 10)
        assert f"sip:{3000 + i}@" in uri, uri
        out.append((at - t0) / 1e6)
        await far.wait("CALL_CLOSED", after=mark)
    return out


async def main() -> None:
    header("Click-to-dial: key=number= -> INVITE on the wire (p50 / p99 over %d dials)" % N)
    from deskphone.core.events import EVENTS
    from support.sip_lab import FarEnd, FarEndControl, lab_missing, start_sip_phone

    missing = lab_missing()
    if missing:
        raise SystemExit(f"cannot run: {missing}")
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    transport, proxy = await loop.create_datagram_endpoint(ProxyStandIn, sock=sock)
    port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        far_end = FarEnd("bench", "900", tmp / "far", port).start()
        far = FarEndControl(far_end)
        # The default config: no Action URL configured (the device file blanks the test's).
        no_urls = "".join(f"action_url.{e.id} =\n" for e in EVENTS)
        app = await start_sip_phone(
            tmp / "phone", "http://127.0.0.1:9", SimpleNamespace(port=port), "100",
            extra="features.action_uri_limit_ip = 127.0.0.1\n"
                  "features.show_action_uri_option = 0\n" + no_urls)
        try:
            await far.connect(timeout=20)
            async with asyncio.timeout(30):
                while app.registrations.get(1) != "registered":
                    await asyncio.sleep(0.05)
            await phone_dials(app, proxy, WARMUP)
            await baresip_dials(far, proxy, port, WARMUP)
            phone = await phone_dials(app, proxy, N)
            bare = await baresip_dials(far, proxy, port, N)
        finally:
            await far.close()
            await app.stop()
            far_end.stop()
            transport.close()
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        figure(f"key=number= -> INVITE {name} (default config, baresip engine)",
               percentile(phone, q), percentile(bare, q), "ms",
               note="baseline: baresip's own dial over ctrl_tcp")


if __name__ == "__main__":
    run(main)
