"""Who may remote-control the phone, over real sockets: the trusted list, the on-screen prompt,
credentials and the lockout, IPv6 and IPv4-mapped peers."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web

from deskphone.hw.render import render
from deskphone.net.servlet import Servlet
from support.phone import record_inputs, settle, start_phone
from test_action_uri import PASSWORD, basic, request

TRUSTED = "features.action_uri_limit_ip = 127.0.0.1\n"
PASSWORD_SET = f"static.security.user_password = admin:{PASSWORD}\n"

# What an untrusted source tries: every kind of request the servlet knows.
ATTEMPTS = [
    ("GET", "/servlet?key=OFFHOOK"), ("GET", "/servlet?key=DNDOn"),
    ("GET", "/servlet?key=Reboot"), ("GET", "/servlet?key=Reset"),
    ("POST", "/servlet?key=number=201"), ("GET", "/servlet?number=201"),
    ("GET", "/cgi-bin/ConfigManApp.com?key=F1"), ("GET", "/cgi-bin/cgiServer.exx?key=SPEAKER"),
    ("GET", "/servlet?phonecfg=get[&accounts=1]"), ("GET", "/screencapture"),
    ("GET", "/screencapture/download"), ("GET", "/servlet?command=screenshot"),
    ("GET", "/servlet?key=BOGUS"),
    ("GET", f"/servlet?p=login&q=login&username=admin&pwd={PASSWORD}&jumpto=x&key=DNDOn"),
]


async def phone_with(tmp_path, receiver, extra: str):
    started = time.monotonic()
    app = await start_phone(tmp_path, receiver.base, extra=extra)
    # This phone's own Registered (a restarted phone shares the receiver with its first run).
    await receiver.wait("registered", after=started)
    await settle(app)
    return app



def side_effects(app, receiver) -> tuple:
    """Everything a request could change, to compare before and after (the clock aside)."""
    return (len(receiver.hits), replace(app.display.screen, corner=""), app.store.snapshot(),
            list(app.phone.prompts), dict(app.engine.calls), app.restart_requested,
            dict(app.leds.state))


@pytest.mark.parametrize("extra, reason", [
    ("", "not a trusted source"),                                    # blank list: nobody
    ("features.action_uri_limit_ip = 10.0.0.1, 192.168.*.*\n", "not a trusted source"),
    ("features.action_uri_limit_ip = ::1\n", "not a trusted source"),  # IPv6 loopback only
    (TRUSTED + "features.action_uri.enable = 0\n", "disabled"),
])
async def test_untrusted_source_gets_403_and_nothing_happens(tmp_path, receiver, extra, reason):
    app = await phone_with(tmp_path, receiver, extra + "features.show_action_uri_option = 0\n"
                           + PASSWORD_SET)
    try:
        await receiver.quiet(0.1)
        before = side_effects(app, receiver)
        posted = record_inputs(app)
        for method, path in ATTEMPTS:
            status, text, _ = await request(
                app, path, method, headers={"X-Forwarded-For": "127.0.0.1",
                                            "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"})
            assert status == 403, (path, text)
            assert reason in text
        await receiver.quiet(0.1)
        assert side_effects(app, receiver) == before
        assert posted == []
        assert app.phone.hook_off is False and app.display.screen.kind == "idle"
    finally:
        await app.stop()


async def test_prompt_flow_allow_and_remember_across_restart(tmp_path, receiver):
    app = await phone_with(tmp_path, receiver, TRUSTED)
    try:
        frames = app.display.frames
        status, text, _ = await request(app, "/servlet?key=DNDOn")
        assert (status, text) == (403, "Remote control forbidden\n")
        screen = app.display.screen
        assert screen.kind == "prompt"
        assert screen.lines[:2] == ("Allow Remote Control?", "127.0.0.1")
        assert app.display.frames > frames
        assert app.display.frame.tobytes() == render(screen).tobytes()   # on the real pixels
        # More requests meanwhile: the same 403, one prompt, nothing done.
        for _ in range(3):
            status, text, _ = await request(app, "/servlet?key=DNDOn")
            assert (status, text) == (403, "Remote control forbidden\n")
        assert app.phone.prompts == ["127.0.0.1"]
        assert app.settings["features.dnd.enable"] is False
        app.keypad.press("OK")                       # the person at the phone allows it
        await settle(app)
        assert app.display.screen.kind == "idle"
        status, _, _ = await request(app, "/servlet?key=DNDOn")
        assert status == 200
        await receiver.wait("dnd_on")
        assert await app.store.flush()
    finally:
        await app.stop()
    assert "deskphone.trust.127.0.0.1 = allow" in (tmp_path / "state" / "state.cfg").read_text()
    app = await phone_with(tmp_path, receiver, TRUSTED)    # restart: still allowed
    try:
        status, _, _ = await request(app, "/servlet?key=DNDOff")
        assert status == 200
        await receiver.wait("dnd_off")
        assert app.phone.prompts == []
    finally:
        await app.stop()


async def test_prompt_flow_deny_is_remembered_and_not_asked_again(tmp_path, receiver):
    app = await phone_with(tmp_path, receiver, TRUSTED)
    try:
        await request(app, "/servlet?key=OFFHOOK")
        assert app.display.screen.kind == "prompt"
        app.keypad.press("X")
        await settle(app)
        assert app.settings["deskphone.trust.127.0.0.1"] == "deny"
        status, text, _ = await request(app, "/servlet?key=OFFHOOK")
        assert (status, text) == (403, "Remote control forbidden\n")
        assert app.display.screen.kind == "idle" and app.phone.prompts == []
        assert await app.store.flush()
    finally:
        await app.stop()
    app = await phone_with(tmp_path, receiver, TRUSTED)
    try:
        before = side_effects(app, receiver)
        posted = record_inputs(app)
        status, _, _ = await request(app, "/servlet?key=OFFHOOK")
        assert status == 403 and posted == []
        assert app.display.screen.kind == "idle"
        await receiver.quiet(0.1)
        assert side_effects(app, receiver) == before
        assert "off_hook" not in receiver.events()
    finally:
        await app.stop()


# ------------------------------------------------------------- credentials

AUTH_CONFIG = TRUSTED + "features.show_action_uri_option = 0\n" + PASSWORD_SET


@pytest.fixture
async def guarded(tmp_path, receiver):
    app = await phone_with(tmp_path, receiver, AUTH_CONFIG)
    yield app
    await app.stop()


@pytest.mark.parametrize("how", ["basic", "login-prefix"])
async def test_right_credentials_are_accepted(guarded, receiver, how):
    if how == "basic":
        status, _, _ = await request(guarded, "/servlet?key=DNDOn",
                                     headers=basic("admin", PASSWORD))
    else:
        status, _, _ = await request(
            guarded, f"/servlet?p=login&q=login&username=admin&pwd={PASSWORD}"
                     "&jumpto=status&key=DNDOn")
    assert status == 200
    await receiver.wait("dnd_on")


async def test_credentials_in_the_url_userinfo(guarded, receiver):
    # http://user:pass@phone/servlet?key=... as click-to-dial tools write it.
    url = f"http://admin:{PASSWORD}@127.0.0.1:{guarded.http.port}/servlet?key=DNDOn"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            assert resp.status == 200
    await receiver.wait("dnd_on")


@pytest.mark.parametrize("how", ["basic", "login-prefix", "malformed-basic"])
async def test_wrong_credentials_get_401_even_from_a_trusted_source(guarded, receiver, how):
    kw = {}
    path = "/servlet?key=DNDOn"
    if how == "basic":
        kw["headers"] = basic("admin", "wrong")
    elif how == "malformed-basic":
        kw["headers"] = {"Authorization": "Basic !!!not-base64"}
    else:
        path = "/servlet?p=login&q=login&username=admin&pwd=wrong&jumpto=x&key=DNDOn"
    status, text, resp = await request(guarded, path, **kw)
    assert status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    await receiver.quiet(0.1)
    assert "dnd_on" not in receiver.events()


async def test_require_auth_makes_credentials_mandatory(tmp_path, receiver):
    app = await phone_with(tmp_path, receiver,
                           AUTH_CONFIG + "deskphone.action_uri_require_auth = 1\n")
    try:
        status, text, _ = await request(app, "/servlet?key=DNDOn")
        assert status == 401 and "credentials required" in text
        status, _, _ = await request(app, "/servlet?key=DNDOn",
                                     headers=basic("admin", PASSWORD))
        assert status == 200
        await receiver.wait("dnd_on")
    finally:
        await app.stop()


async def test_require_auth_without_a_password_set_says_so(tmp_path, receiver):
    app = await phone_with(tmp_path, receiver, TRUSTED + "features.show_action_uri_option = 0\n"
                           "deskphone.action_uri_require_auth = 1\n")
    try:
        status, text, _ = await request(app, "/servlet?key=DNDOn",
                                        headers=basic("admin", "admin"))
        assert status == 401                     # no working default password
        status, text, _ = await request(app, "/servlet?key=DNDOn")
        assert status == 401 and "no admin password is set" in text
    finally:
        await app.stop()


async def test_three_wrong_passwords_lock_the_source_out_for_ten_minutes(guarded, receiver):
    now = [1000.0]
    guarded.web.servlet.clock = lambda: now[0]
    wrong = basic("admin", "guess")
    right = basic("admin", PASSWORD)
    for _ in range(3):
        status, text, _ = await request(guarded, "/servlet?key=DNDOn", headers=wrong)
        assert status == 401 and "wrong user name or password" in text
    for attempt in ({"headers": right}, {"headers": wrong}):
        status, text, _ = await request(guarded, "/servlet?key=DNDOn", **attempt)
        assert status == 401 and "locked out" in text
    # A request without credentials guesses nothing: the lockout does not refuse it
    # (one guesser behind a PBX's NAT must not lock the PBX's plain key presses out).
    status, _, _ = await request(guarded, "/servlet?key=VOLUME_UP")
    assert status == 200
    now[0] += 599
    status, _, _ = await request(guarded, "/servlet?key=DNDOn", headers=right)
    assert status == 401
    now[0] += 2                                   # ten minutes later
    status, _, _ = await request(guarded, "/servlet?key=DNDOn", headers=right)
    assert status == 200
    await receiver.wait("dnd_on")
    assert receiver.events().count("dnd_on") == 1


async def test_the_password_is_never_logged(tmp_path, receiver, caplog):
    caplog.set_level("DEBUG")
    app = await phone_with(tmp_path, receiver, AUTH_CONFIG)
    try:
        await request(app, f"/servlet?p=login&q=login&username=admin&pwd={PASSWORD}x&key=OK")
        await request(app, f"/servlet?p=login&q=login&username=admin&pwd={PASSWORD}&key=OK")
        await request(app, "/servlet?key=OK", headers=basic("admin", PASSWORD + "y"))
    finally:
        await app.stop()
    assert caplog.records
    assert PASSWORD not in caplog.text


# ------------------------------------------------------------------- IPv6

async def test_ipv6_peer_matches_its_ipv6_entry(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base, bind="::1",
                            extra="features.action_uri_limit_ip = ::1\n"
                                  "features.show_action_uri_option = 0\n")
    try:
        await receiver.wait("registered")
        url = f"http://[::1]:{app.http.port}/servlet?key=DNDOn"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:
                assert resp.status == 200
        await receiver.wait("dnd_on")
    finally:
        await app.stop()


@pytest.mark.parametrize("limit, decision, expected", [
    ("127.0.0.1", None, 200),
    ("127.0.0.0/8", None, 200),
    ("127.0.*.*", None, 200),
    ("::1", None, 403),
    ("127.0.0.1", "deny", 403),                  # the IPv4 decision applies to the mapped peer
])
async def test_ipv4_mapped_peer_matches_its_ipv4_entry(tmp_path, receiver, limit, decision,
                                                       expected):
    """A dual-stack socket on ::ffff:127.0.0.1 reports an IPv4 client as ::ffff:127.0.0.1."""
    state = tmp_path / "state"
    if decision:
        state.mkdir()
        (state / "state.cfg").write_text(f"#!version:1.0.0.1\ndeskphone.trust.127.0.0.1 = "
                                         f"{decision}\n")
    app = await phone_with(tmp_path, receiver, f"features.action_uri_limit_ip = {limit}\n"
                           "features.show_action_uri_option = 0\n")
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::ffff:127.0.0.1", 0))
    web_app = web.Application()
    seen: list[str] = []

    @web.middleware
    async def record_peer(req, handler):
        seen.append(req.transport.get_extra_info("peername")[0])
        return await handler(req)

    web_app.middlewares.append(record_peer)
    Servlet(app, app.web.throttle).install(web_app)
    runner = web.AppRunner(web_app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        port = sock.getsockname()[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/servlet?key=DNDOn") as resp:
                assert resp.status == expected
        assert seen == ["::ffff:127.0.0.1"]
        if expected == 200:
            await receiver.wait("dnd_on")
        else:
            await settle(app)
            await receiver.quiet(0.1)
            assert "dnd_on" not in receiver.events()
    finally:
        await runner.cleanup()
        await app.stop()


async def test_requests_never_block_the_phone(tmp_path, receiver):
    """Many concurrent remote keys: every one answered, the phone handles them all in order."""
    app = await phone_with(tmp_path, receiver, AUTH_CONFIG)
    try:
        async with aiohttp.ClientSession() as session:
            async def one(i: int) -> int:
                url = f"http://127.0.0.1:{app.http.port}/servlet?key=VOLUME_UP"
                async with session.get(url) as resp:
                    return resp.status
            statuses = await asyncio.gather(*(one(i) for i in range(40)))
        assert statuses == [200] * 40
        await settle(app)
        assert app.phone.volume == 15            # 8 + 40, capped at the top step
    finally:
        await app.stop()


@pytest.mark.parametrize("source", ["2001:db8::1", "::1", "192.0.2.7"])
async def test_decisions_about_any_address_survive_the_state_file(tmp_path, source):
    from deskphone.config.store import StateStore
    from deskphone.core.trust import trust_key
    store = StateStore(tmp_path)
    store.set(trust_key(source), "deny")
    assert await store.flush()
    assert StateStore(tmp_path).load() == {trust_key(source): "deny"}
