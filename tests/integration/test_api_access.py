"""Who may read the JSON API, on a whole phone over real sockets: clients bind to other
127.x addresses to be other hosts (the trusted list names 127.0.0.1 only)."""

from __future__ import annotations

import gc
import tracemalloc

import aiohttp
import pytest

from support.phone import registered_phone
from support.waiting import until

PASSWORD = "Api-pass-9"
ADMIN = f"static.security.user_password = admin:{PASSWORD}\n"
TRUSTED = "features.action_uri_limit_ip = 127.0.0.1\n"
NO_PROMPT = "features.show_action_uri_option = 0\n"
RIGHT = {"Authorization": aiohttp.encode_basic_auth("admin", PASSWORD)}
WRONG = {"Authorization": aiohttp.encode_basic_auth("admin", "guess")}


def client(source: str = "127.0.0.2", **kw) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0)), **kw)


def url(app, name: str = "status") -> str:
    return f"http://127.0.0.1:{app.http.port}/api/v1/{name}"


async def answer(session, app, name: str = "status", method: str = "GET",
                 **kw) -> tuple[int, dict, aiohttp.typedefs.LooseHeaders]:
    async with session.request(method, url(app, name), **kw) as resp:
        body = await resp.read()
        return resp.status, body, resp.headers


def no_data(body: bytes) -> bool:
    return b"device" not in body and b"calls" not in body and b"001565" not in body


async def test_a_stranger_gets_401_with_the_challenges_and_credentials_or_a_session_open_it(
        tmp_path, receiver):
    async with registered_phone(tmp_path, receiver, extra=ADMIN + TRUSTED + NO_PROMPT) as app:
        async with client() as s:
            status, body, headers = await answer(s, app)
            assert status == 401 and no_data(body)
            challenges = headers.getall("WWW-Authenticate")
            assert challenges[0].startswith('Digest realm="deskphone API"')
            assert challenges[1].startswith("Basic ")
            assert headers["Cache-Control"] == "no-store"
            status, body, _ = await answer(s, app, headers=WRONG)
            assert status == 401 and no_data(body)
            status, body, _ = await answer(s, app, headers=RIGHT)
            assert status == 200 and b'"device"' in body
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                status, body, headers = await answer(s, app, method=method, headers=RIGHT,
                                                     data=b"x" * 1000)
                assert status == 405 and headers["Allow"] == "GET, HEAD" and no_data(body)
            status, body, _ = await answer(s, app, method="HEAD", headers=RIGHT)
            assert status == 200 and body == b""
        digest = aiohttp.DigestAuthMiddleware("admin", PASSWORD)
        async with client(middlewares=(digest,)) as s:
            status, body, _ = await answer(s, app, "calls")
            assert status == 200 and b'"calls"' in body
        async with client(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            login = f"http://127.0.0.1:{app.http.port}/servlet?p=login&q=login"
            async with s.post(login, allow_redirects=False,
                              data={"username": "admin", "pwd": PASSWORD}) as resp:
                assert resp.status == 303
            status, body, _ = await answer(s, app, "voicemail")
            assert status == 200 and b'"voicemail"' in body
        async with client("127.0.0.1") as s:                    # on the trusted list
            status, body, _ = await answer(s, app, "blf")
            assert status == 200 and b'"blf"' in body
        async with client("127.0.0.3") as s:                    # three wrong: locked out
            for _ in range(3):
                assert (await answer(s, app, headers=WRONG))[0] == 401
            status, body, _ = await answer(s, app, headers=RIGHT)
            assert status == 401 and b"locked out" in body and no_data(body)
            assert (await answer(s, app))[0] == 401     # and no credentials: as any stranger


async def test_a_trusted_source_not_yet_allowed_gets_403_and_the_phone_asks(
        tmp_path, receiver):
    async with registered_phone(tmp_path, receiver, extra=ADMIN + TRUSTED) as app:
        async with client("127.0.0.1") as s:
            status, body, _ = await answer(s, app)
            assert status == 403 and no_data(body)
            await until(lambda: app.display.screen.kind == "prompt")
            assert app.display.screen.lines[:2] == ("Allow Remote Control?", "127.0.0.1")
            assert (await answer(s, app, headers=RIGHT))[0] == 200     # the login still reads


async def test_without_an_admin_password_a_stranger_gets_403_and_the_trusted_list_reads(
        tmp_path, receiver):
    async with registered_phone(tmp_path, receiver, extra=TRUSTED + NO_PROMPT) as app:
        async with client() as s:
            status, body, headers = await answer(s, app)
            assert status == 403 and "WWW-Authenticate" not in headers and no_data(body)
            assert (await answer(s, app, headers=RIGHT))[0] == 401     # no password to match
        async with client("127.0.0.1") as s:
            assert (await answer(s, app))[0] == 200


@pytest.mark.parametrize("headers, status", [
    ({"Host": "evil.example"}, 421),                                # DNS rebinding
    ({"Origin": "http://evil.example"}, 403),                       # a cross-site fetch
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "null"}, 403),
])
async def test_another_sites_page_reads_nothing_even_from_a_trusted_logged_in_browser(
        tmp_path, receiver, headers, status):
    async with registered_phone(tmp_path, receiver, extra=ADMIN + TRUSTED + NO_PROMPT) as app:
        async with client("127.0.0.1") as s:
            got, body, _ = await answer(s, app, headers={**headers, **RIGHT})
            assert got == status and no_data(body)
            assert (await answer(s, app, headers=RIGHT))[0] == 200


async def test_a_flood_of_requests_stays_bounded_and_big_headers_are_refused(
        tmp_path, receiver):
    async with registered_phone(tmp_path, receiver, extra=ADMIN + TRUSTED + NO_PROMPT) as app:
        async with client("127.0.0.1") as trusted, client() as stranger:
            async def burst(n: int) -> None:
                for i in range(n):
                    assert (await answer(trusted, app, ("status", "calls")[i % 2]))[0] == 200
                    assert (await answer(stranger, app))[0] == 401
            await burst(200)                                     # warm: caches, log limiter
            gc.collect()
            tracemalloc.start()
            try:
                first = tracemalloc.take_snapshot()
                await burst(1000)
                gc.collect()
                second = tracemalloc.take_snapshot()
            finally:
                tracemalloc.stop()
            grown = sum(s.size_diff for s in second.compare_to(first, "filename"))
            print(f"API flood: {grown} bytes more after 2000 requests")
            assert grown < 256 * 1024, f"{grown} bytes more after 2000 requests"
            for size in (9000, 70000):
                status, body, _ = await answer(trusted, app, headers={"X-Big": "a" * size})
                assert status == 400 and no_data(body)          # aiohttp: 8190 bytes
            status, body, _ = await answer(trusted, app, "status?" + "q=1&" * 3000)
            assert status == 400 and no_data(body)
            assert (await answer(trusted, app))[0] == 200       # the phone still answers
        assert len(app.web.throttle._failures) <= 1


async def test_curl_and_aiohttp_digest_open_it_and_a_wrong_digest_does_not(tmp_path, receiver):
    # The README's example, `curl --digest -u admin:PASSWORD`, and aiohttp's own
    # DigestAuthMiddleware: each answers the API's challenge (realm "deskphone API").
    import asyncio
    async with registered_phone(tmp_path, receiver, extra=ADMIN + TRUSTED + NO_PROMPT) as app:
        for password, want in ((PASSWORD, b"200"), ("guess", b"401")):
            curl = await asyncio.create_subprocess_exec(
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface",
                "127.0.0.3", "--digest", "-u", f"admin:{password}", url(app),
                stdout=asyncio.subprocess.PIPE)
            out, _ = await asyncio.wait_for(curl.communicate(), 20)
            assert out == want, (password, out)
        async with client("127.0.0.4", middlewares=(
                aiohttp.DigestAuthMiddleware("admin", PASSWORD),)) as s:
            status, body, _ = await answer(s, app, "calls")
            assert status == 200 and b'"calls"' in body

