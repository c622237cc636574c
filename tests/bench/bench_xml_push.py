"""XML push and phone books: what the hardening and the size caps cost, and what the loop sees.

    make bench      (or: .venv/bin/python tests/bench/bench_xml_push.py)

1. Parsing: ``net.xml_push.parse_object`` (expat with every DTD refused, the element
   cap, the object built) on a 1.2 kB TextMenu; baseline: plain
   ``xml.etree.ElementTree.fromstring`` of the same bytes in the same run (no
   hardening, no object).
2. A 1000-contact remote phone book (about 90 kB): ``net.phonebook.parse_book``;
   baseline the same plain ``fromstring``.
3. Pushes over HTTP: TextScreen pushes a second through the real servlet on
   127.0.0.1 (a FakeHost behind it: a real core), 20 clients; baseline: ``key=OK``
   Action URI requests to the same servlet in the same run.
4. The event loop while a 1000-contact book is fetched and parsed (the parse is on a
   worker thread): the longest gap between 1 ms ticks; baseline: the same ticks with
   nothing fetched.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
from aiohttp import web

from common import figure, header, run

import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))

from deskphone.net.phonebook import Phonebooks, parse_book  # noqa: E402
from deskphone.net.web import PhoneWeb  # noqa: E402
from deskphone.net.xml_push import parse_object  # noqa: E402
from fake_host import FakeHost  # noqa: E402
from support.http_server import LocalHttpServer  # noqa: E402

MENU = ("<YealinkIPPhoneTextMenu defaultIndex='1' Timeout='0'><Title>Queues</Title>"
        + "".join(f"<MenuItem><Prompt>Queue {n}</Prompt><URI>http://pbx.test/q{n}.xml</URI>"
                  "</MenuItem>" for n in range(12))
        + "</YealinkIPPhoneTextMenu>").encode()
BOOK = ("<YealinkIPPhoneDirectory>"
        + "".join(f"<DirectoryEntry><Name>Contact number {n}</Name><Telephone>{1000 + n}"
                  f"</Telephone><Telephone>+4930{n:07d}</Telephone></DirectoryEntry>"
                  for n in range(1000))
        + "</YealinkIPPhoneDirectory>").encode()
SCREEN = ("<YealinkIPPhoneTextScreen Beep='no' Timeout='0'><Title>Door</Title>"
          "<Text>Someone at the front door</Text></YealinkIPPhoneTextScreen>")


def per_call(fn, data: bytes, seconds: float = 1.0) -> float:
    """Microseconds a call, over ``seconds``."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(data)
        n += 1
    return (time.perf_counter() - start) / n * 1e6


async def load(url: str, body: str | None, clients: int = 20, seconds: float = 3.0) -> float:
    done = 0
    stop = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        async def client() -> None:
            nonlocal done
            while time.monotonic() < stop:
                if body is None:
                    async with session.get(url) as resp:
                        assert resp.status == 200, await resp.text()
                else:
                    async with session.post(url, data=body,
                                            headers={"Content-Type": "text/xml"}) as resp:
                        assert resp.status == 200, await resp.text()
                done += 1
        await asyncio.gather(*(client() for _ in range(clients)))
    return done / seconds


async def longest_gap(during) -> float:
    """The longest gap (ms) between 1 ms ticks of the loop while ``during`` runs."""
    gaps: list[float] = []
    running = True

    async def ticks() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticks())
    await during()
    running = False
    await task
    return max(gaps) * 1000


async def main() -> None:
    header("XML push and remote phone books")
    figure("parse a 1.2 kB TextMenu (hardened, object built)", per_call(parse_object, MENU),
           per_call(ET.fromstring, MENU), "us")
    figure(f"parse a 1000-contact phone book ({len(BOOK) // 1024} kB)",
           per_call(lambda d: parse_book(d, "PBX"), BOOK), per_call(ET.fromstring, BOOK), "us")

    with tempfile.TemporaryDirectory() as d:
        host = FakeHost(Path(d) / "state", {
            "push_xml.server": "127.0.0.1", "features.action_uri_limit_ip": "127.0.0.1",
            "features.show_action_uri_option": False})
        app = web.Application()
        PhoneWeb(host).servlet.install(app)
        async with LocalHttpServer(app) as server:
            await load(f"{server.url}/servlet?key=OK", None, seconds=1)      # warm-up
            keys = await load(f"{server.url}/servlet?key=OK", None)
            pushes = await load(f"{server.url}/servlet?push=xml", SCREEN)
        figure("XML pushes a second (TextScreen, 20 clients)", pushes, keys, "req/s",
               note="baseline: key=OK to the same servlet")

        books = web.Application()
        books.router.add_get("/book.xml", lambda r: web.Response(body=BOOK,
                                                               content_type="text/xml"))
        async with LocalHttpServer(books) as server:
            host = FakeHost(Path(d) / "state2", {
                "remote_phonebook.data.1.url": f"{server.url}/book.xml"})
            pb = Phonebooks(host, Path(d))
            idle = await longest_gap(lambda: asyncio.sleep(0.5))
            busy = await longest_gap(pb.fetch_all)
            assert len(pb.books[1]) == 1000
        figure("longest event-loop gap while a 1000-contact book is fetched and parsed", busy,
               idle, "ms", note="baseline: the same 1 ms ticks, nothing fetched")


if __name__ == "__main__":
    run(main)
