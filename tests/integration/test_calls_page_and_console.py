"""The call log and the local directory from the web page and the console, on a whole phone.

The sim board and the simulated PBX (201 answers, 202 is busy); the web page over a
real HTTP socket with its login and CSRF token; the console's commands as the serial
console runs them. What they change shows on the screen and lands in the files of the
state and config directories.
"""

from __future__ import annotations

import re

import aiohttp

from deskphone.config.directory_file import parse_directory
from deskphone.console.commands import Commands
from deskphone.core import inputs as ins
from support.phone import start_phone, settle
from support.waiting import until

PASSWORD = "Calls-pass-7"
CONFIG = f"static.security.user_password = admin:{PASSWORD}\n"


def csrf_of(html: str) -> str:
    match = re.search(r"name=csrf value=['\"]([^'\"]+)['\"]", html)
    assert match
    return match.group(1)


async def test_the_web_page_lists_clears_and_edits(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base, extra=CONFIG)
    try:
        await receiver.wait("registered")
        app.runtime.post(ins.Dial("202"))                      # busy: a placed call
        await receiver.wait("remote_busy")
        base = f"http://127.0.0.1:{app.http.port}/servlet"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.post(f"{base}?p=login&q=login", allow_redirects=False,
                              data={"username": "admin", "pwd": PASSWORD}) as resp:
                assert resp.status == 303
            async with s.get(f"{base}?p=calllog&q=load") as resp:
                text = await resp.text()
            assert resp.status == 200 and "<td>202</td>" in text
            token = csrf_of(text)
            async with s.post(f"{base}?p=calllog&q=add", allow_redirects=False,
                              data={"csrf": token, "name": "Bob Jones",
                                    "numbers": "202"}) as resp:
                assert resp.status == 303
            async with s.post(f"{base}?p=calllog&q=add",
                              data={"csrf": token, "name": "", "numbers": "x;y"}) as resp:
                assert resp.status == 400 and "Not added" in await resp.text()
            async with s.post(f"{base}?p=calllog&q=clear", allow_redirects=False,
                              data={"csrf": "forged", }) as resp:
                assert resp.status == 403                       # no valid token: nothing
            assert app.call_log
            async with s.post(f"{base}?p=calllog&q=clear", allow_redirects=False,
                              data={"csrf": token}) as resp:
                assert resp.status == 303
        await until(lambda: not app.call_log)
        await until(lambda: (tmp_path / "config" / "directory.cfg").exists())
        contacts, _ = parse_directory((tmp_path / "config" / "directory.cfg").read_text())
        assert [(c.name, c.numbers) for c in contacts] == [("Bob Jones", ("202",))]
        assert app.phone.state.directory.name_of("202") == "Bob Jones"
    finally:
        await app.stop()


async def test_the_console_lists_clears_and_edits_and_the_directory_survives_a_restart(
        tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base)
    try:
        await receiver.wait("registered")
        console = Commands(app)
        app.runtime.post(ins.Dial("201"))
        await receiver.wait("call_established")
        app.runtime.post(ins.EndCall())
        await receiver.wait("call_terminated")
        await settle(app)
        listing = await console.execute("calllog placed")
        assert listing.splitlines()[0] == "Placed calls (1):" and "201" in listing
        assert await console.execute("dir add Alice Smith 201") == "added Alice Smith (201)"
        assert await console.execute("dir add Front desk 200,0301234567") \
            == "added Front desk (200, 0301234567)"
        await settle(app)
        assert "Front desk" in await console.execute("dir find 376")      # "Fro"
        assert (await console.execute("dir del 9")).startswith("error: usage: dir del N")
        assert await console.execute("dir del 1") == "deleted Alice Smith"
        assert (await console.execute("calllog bogus")).startswith("error: no list")
        assert await console.execute("calllog clear") == "Call log cleared"
        await settle(app)
        assert app.call_log == () and "(0):" in await console.execute("calllog missed")
    finally:
        await app.stop()
    again = await start_phone(tmp_path, receiver.base)
    try:
        await until(lambda: [c.name for c in again.directory] == ["Front desk"])
    finally:
        await again.stop()
