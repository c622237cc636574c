"""The SIP servers' addresses for sip.trust_ctrl: looked up off the event loop, kept briefly."""

from __future__ import annotations

import asyncio
import logging

from deskphone.net.sip_notify import ServerAddresses


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_addresses_need_no_lookup():
    servers = ServerAddresses()
    assert servers.cached(("127.0.0.1", "::1")) == {"127.0.0.1", "::1"}
    assert servers.cached(()) == frozenset()


async def test_a_name_is_looked_up_once_and_kept_for_the_ttl():
    clock = Clock()
    servers = ServerAddresses(ttl=30.0, clock=clock)
    assert servers.cached(("localhost", "10.0.0.1")) is None          # not known yet
    both = await asyncio.gather(servers.resolve(("localhost",)), servers.resolve(("localhost",)))
    assert both[0] == both[1] and "127.0.0.1" in both[0]
    assert servers.cached(("localhost", "10.0.0.1")) == both[0] | {"10.0.0.1"}
    clock.now += 29.9
    assert servers.cached(("localhost",)) == both[0]
    clock.now += 0.2
    assert servers.cached(("localhost",)) is None                      # stale: ask again
    assert "127.0.0.1" in await servers.resolve(("localhost",))


async def test_concurrent_lookups_of_one_name_share_one(monkeypatch):
    loop = asyncio.get_running_loop()
    calls = []
    real = loop.getaddrinfo

    async def counting(host, *args, **kw):
        calls.append(host)
        await asyncio.sleep(0.05)
        return await real(host, *args, **kw)

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    servers = ServerAddresses()
    results = await asyncio.gather(*(servers.resolve(("localhost",)) for _ in range(5)))
    assert calls == ["localhost"] and len(set(results)) == 1


async def test_a_name_that_does_not_resolve_trusts_nobody_and_says_so(caplog):
    clock = Clock()
    servers = ServerAddresses(failed_ttl=5.0, timeout=1.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="deskphone.sip_notify"):
        assert await servers.resolve(("no-such-host.invalid", "10.0.0.1")) == {"10.0.0.1"}
    assert any("no-such-host.invalid" in r.message and "does not resolve" in r.message
               for r in caplog.records)
    assert servers.cached(("no-such-host.invalid",)) == frozenset()
    clock.now += 5.1
    assert servers.cached(("no-such-host.invalid",)) is None           # asked again soon
