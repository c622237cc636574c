"""The remote phone books and the local directory file, against a local web server on 127.0.0.1.

The books are served in the shapes PBXs publish them: FreePBX's and 3CX's
``YealinkIPPhoneDirectory`` / ``DirectoryEntry`` with ``Name`` and several
``Telephone`` elements, and the ``YealinkIPPhoneBook`` / ``Menu`` / ``Unit Name=
Phone1= Phone2=`` shape of Yealink's own remote phone book template (used by
FusionPBX's Yealink provisioning). The server asks for Basic or Digest (RFC 7616,
``qop="auth"``, as FusionPBX's provisioning challenges) when credentials are set.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging

import pytest
from aiohttp import web

from deskphone.config.directory_file import parse_directory, render_directory
from deskphone.core import inputs as ins
from deskphone.core.directory import Contact
from deskphone.net.phonebook import Phonebooks, PhonebookError, parse_book
from fake_host import FakeHost
from support.http_server import LocalHttpServer
from support.waiting import until

DIRECTORY = b"""<?xml version="1.0" encoding="UTF-8"?>
<YealinkIPPhoneDirectory>
<DirectoryEntry><Name>Carol Jones</Name><Telephone>203</Telephone>
<Telephone>+49301234567</Telephone></DirectoryEntry>
<DirectoryEntry><Name>Dave</Name><Telephone>204</Telephone></DirectoryEntry>
</YealinkIPPhoneDirectory>"""
BOOK = b"""<?xml version="1.0" encoding="UTF-8"?>
<YealinkIPPhoneBook><Title>Yealink</Title>
<Menu Name="Sales"><Unit Name="Erin" default_photo="Resource:" Phone3="" Phone2="0301"
 Phone1="205"/></Menu></YealinkIPPhoneBook>"""


class BookServer:
    """Serves /book.xml; ``body``, ``auth`` ("", "basic" or "digest") and ``status`` change it."""

    def __init__(self) -> None:
        self.body, self.auth, self.status = DIRECTORY, "", 200
        self.requests: list[str] = []
        app = web.Application()
        app.router.add_get("/book.xml", self.book)
        self.server = LocalHttpServer(app)

    async def book(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        self.requests.append(header.split(" ", 1)[0])
        if self.auth == "basic" and header != "Basic " + base64.b64encode(b"pb:pb-pw").decode():
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="pb"'})
        if self.auth == "digest" and not self._digest_ok(header):
            return web.Response(status=401, headers={"WWW-Authenticate":
                                'Digest realm="pb", qop="auth", nonce="abc123", opaque="o1"'})
        return web.Response(status=self.status, body=self.body, content_type="text/xml")

    @staticmethod
    def _digest_ok(header: str) -> bool:
        if not header.startswith("Digest "):
            return False
        f = dict(part.strip().split("=", 1) for part in header[7:].split(","))
        f = {k: v.strip('"') for k, v in f.items()}
        ha1 = hashlib.md5(b"pb:pb:pb-pw").hexdigest()
        ha2 = hashlib.md5(f"GET:{f['uri']}".encode()).hexdigest()
        want = hashlib.md5(f"{ha1}:abc123:{f['nc']}:{f['cnonce']}:auth:{ha2}".encode()).hexdigest()
        return f.get("response") == want and f.get("opaque") == "o1"


@pytest.fixture
async def served():
    server = BookServer()
    await server.server.start()
    yield server
    await server.server.stop()


def host_with(tmp_path, url: str) -> FakeHost:
    return FakeHost(tmp_path / "state", {"remote_phonebook.data.1.url": url,
                                         "remote_phonebook.data.1.name": "PBX",
                                         "account.1.enable": True,
                                         "account.1.sip_server.1.address": "127.0.0.1"})


def ring_from_203(host: FakeHost) -> tuple[str, str]:
    host.post(ins.CallIncoming("in-1", 1, "sip:203@127.0.0.1", ""))
    lines = host.screen.lines[:2]
    host.post(ins.CallClosed("in-1", "canceled"))
    return lines


@pytest.mark.parametrize("auth, user", [("", ""), ("basic", "pb:pb-pw@"),
                                        ("digest", "pb:pb-pw@")])
async def test_the_book_names_a_caller_without_a_display_name(tmp_path, served, auth, user):
    served.auth = auth
    host = host_with(tmp_path, f"http://{user}127.0.0.1:{served.server.port}/book.xml")
    pb = Phonebooks(host, tmp_path, timeout=2.0)
    await pb.fetch_all()
    assert pb.failures == {} and [c.name for c in pb.books[1]] == ["Carol Jones", "Dave"]
    assert ring_from_203(host) == ("Carol Jones", "203")
    log = host.phone.state.call_log.lists["missed"]
    assert (log[0].name, log[0].number) == ("Carol Jones", "203")
    if auth == "digest":
        assert served.requests == ["", "Digest"]       # the password never went as Basic


@pytest.mark.parametrize("change, why", [
    ({"status": 401}, "HTTP 401"),
    ({"auth": "basic"}, "HTTP 401"),
    ({"body": b"<YealinkIPPhoneDirectory><DirectoryEntry><Name>x"}, "not well-formed"),
    ({"body": b"<html>Login</html>"}, "not a Yealink phone book"),
    ({"status": 404}, "HTTP 404"),
])
async def test_a_failed_fetch_keeps_the_last_good_book_with_one_line_why(tmp_path, served,
                                                                        caplog, change, why):
    host = host_with(tmp_path, f"http://127.0.0.1:{served.server.port}/book.xml")
    pb = Phonebooks(host, tmp_path, timeout=2.0)
    await pb.fetch_all()
    for name, value in change.items():
        setattr(served, name, value)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="deskphone.phonebook"):
        await pb.fetch_all()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and why in lines[0] and "keeping the last good book (2" in lines[0]
    assert [c.name for c in pb.books[1]] == ["Carol Jones", "Dave"]
    assert ring_from_203(host)[0] == "Carol Jones"
    served.status, served.auth, served.body = 200, "", DIRECTORY
    await pb.fetch_all()
    assert pb.failures == {}


async def test_an_unreachable_server_keeps_nothing_lost_and_says_so(tmp_path, caplog):
    host = host_with(tmp_path, "http://127.0.0.1:9/book.xml")
    pb = Phonebooks(host, tmp_path, timeout=1.0)
    with caplog.at_level(logging.WARNING, logger="deskphone.phonebook"):
        await pb.fetch_all()
    assert "cannot reach 127.0.0.1:9" in pb.failures[1] and len(caplog.records) == 1


def test_both_yealink_book_shapes_parse():
    assert parse_book(DIRECTORY, "PBX")[0] == Contact("Carol Jones", ("203", "+49301234567"),
                                                      "PBX")
    assert parse_book(BOOK, "PBX") == (Contact("Erin", ("205", "0301"), "PBX"),)
    with pytest.raises(PhonebookError, match="DTDs"):
        parse_book(b'<!DOCTYPE x [<!ENTITY a "b">]><YealinkIPPhoneDirectory/>', "PBX")


async def test_the_local_directory_file_loads_and_writes_back(tmp_path):
    (tmp_path / "directory.cfg").write_text(
        "#!version:1.0.0.1\ndirectory.1.name = Alice\ndirectory.1.number = 201\n"
        "directory.2.name = Front desk\ndirectory.2.number = 200, 0301234567\n"
        "phone.book = nonsense\n")
    host = FakeHost(tmp_path / "state")
    pb = Phonebooks(host, tmp_path)
    await pb.load_local()
    assert pb.local == (Contact("Alice", ("201",)), Contact("Front desk", ("200", "0301234567")))
    assert host.phone.state.directory.name_of("0301234567") == "Front desk"
    await pb.save_local(pb.local + (Contact("Bob", ("202",)),))
    contacts, problems = parse_directory((tmp_path / "directory.cfg").read_text())
    assert [c.name for c in contacts] == ["Alice", "Front desk", "Bob"] and problems == []
    assert parse_directory(render_directory(contacts))[0] == contacts


async def test_a_new_book_url_is_fetched_at_once_not_at_the_next_refresh(tmp_path, served):
    host = FakeHost(tmp_path / "state", {"features.remote_phonebook.flash_time": 0})
    pb = Phonebooks(host, tmp_path, timeout=2.0)
    pb.start()
    try:
        await until(lambda: pb.fetches == 0 and pb._task is not None)
        host.writer.update({"remote_phonebook.data.1.url":
                            f"http://127.0.0.1:{served.server.port}/book.xml"})
        pb.settings_changed(host.settings)
        await until(lambda: 1 in pb.books)
        pb.settings_changed(host.settings)         # nothing changed: no fetch
        await asyncio.sleep(0.05)
        assert pb.fetches == 1
    finally:
        await pb.close()
