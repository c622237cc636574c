"""The IP watch without namespaces: real netlink message bytes over an injected socket.

tests/integration/test_ip_changed.py runs the same watcher against the kernel
in a network namespace; this twin runs anywhere.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from deskphone.hw import netwatch
from deskphone.hw.netwatch import NetChange, NetWatcher, parse_messages, sip_target


def rtattr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def addr_message(kind: int, address: str, label: str = "eth0", index: int = 2) -> bytes:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    raw = socket.inet_pton(family, address)
    body = struct.pack("=BBBBI", family, 24, 0, 0, index) + rtattr(netwatch.IFA_ADDRESS, raw) \
        + rtattr(netwatch.IFA_LOCAL, raw) + rtattr(netwatch.IFA_LABEL, label.encode() + b"\0")
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def route_message() -> bytes:
    body = b"\0" * 12
    return struct.pack("=IHHII", 16 + len(body), netwatch.RTM_NEWROUTE, 0, 0, 0) + body


def test_parse_address_and_route_messages():
    data = addr_message(netwatch.RTM_NEWADDR, "192.0.2.10") + route_message() \
        + addr_message(netwatch.RTM_DELADDR, "2001:db8::5", "wlan0")
    assert parse_messages(data) == [
        NetChange("address added", "192.0.2.10", "eth0"), NetChange("route"),
        NetChange("address removed", "2001:db8::5", "wlan0")]


def test_parse_never_misreads_truncated_or_foreign_data():
    good = addr_message(netwatch.RTM_NEWADDR, "192.0.2.10")
    assert parse_messages(good[:-3]) == []
    assert parse_messages(b"") == []
    assert parse_messages(struct.pack("=IHHII", 16, netwatch.NLMSG_DONE, 0, 0, 0)) == []
    assert parse_messages(struct.pack("=IHHII", 4, 20, 0, 0, 0)) == []     # length too small


def test_sip_target_is_the_proxy_or_the_server():
    settings = {"account.1.enable": True, "account.1.sip_server.1.address": "pbx.example",
                "account.1.outbound_proxy_enable": False, "account.1.outbound_host": "proxy"}
    assert sip_target(settings) == "pbx.example"
    assert sip_target({**settings, "account.1.outbound_proxy_enable": True}) == "proxy"
    assert sip_target({}) == ""


class FakeNetwork:
    """What outbound_ip would say, and how often it was asked."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.asked: list[str] = []

    async def lookup(self, server: str) -> str:
        self.asked.append(server)
        return self.ip


async def watcher_on_socketpair(network: FakeNetwork, **kw):
    kernel, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    changes: list[str] = []
    watch = NetWatcher(changes.append, lambda: "pbx.example", ip=network.ip,
                       open_socket=lambda: ours, lookup=network.lookup, **kw)
    await watch.start()
    return watch, kernel, changes


async def test_a_burst_of_changes_is_one_check_and_one_event():
    network = FakeNetwork("192.0.2.10")
    watch, kernel, changes = await watcher_on_socketpair(network, settle=0.05)
    try:
        network.ip = "198.51.100.7"
        for _ in range(5):
            kernel.send(addr_message(netwatch.RTM_NEWADDR, "198.51.100.7") + route_message())
        await asyncio.sleep(0.3)
        assert changes == ["198.51.100.7"]
        assert network.asked == ["pbx.example"]          # one check for the whole burst
        # A change that leaves the outbound address as it was: checked, not reported.
        kernel.send(addr_message(netwatch.RTM_NEWADDR, "fe80::1"))
        await asyncio.sleep(0.2)
        assert changes == ["198.51.100.7"] and len(network.asked) == 2
        # No route at all: the last address is kept, nothing is reported.
        network.ip = ""
        kernel.send(addr_message(netwatch.RTM_DELADDR, "198.51.100.7"))
        await asyncio.sleep(0.2)
        assert changes == ["198.51.100.7"] and watch.ip == "198.51.100.7"
    finally:
        await watch.stop()
        kernel.close()


async def test_the_slow_recheck_catches_what_netlink_cannot_see():
    network = FakeNetwork("192.0.2.10")
    watch, kernel, changes = await watcher_on_socketpair(network, recheck=0.1)
    try:
        network.ip = "192.0.2.99"            # e.g. the server's name now resolves elsewhere
        await asyncio.sleep(0.35)
        assert changes == ["192.0.2.99"]
    finally:
        await watch.stop()
        kernel.close()


async def test_without_netlink_it_still_rechecks(caplog):
    network = FakeNetwork("192.0.2.10")
    changes: list[str] = []

    def refuse() -> socket.socket:
        raise PermissionError(13, "Permission denied")

    watch = NetWatcher(changes.append, lambda: "", ip="192.0.2.10", open_socket=refuse,
                       lookup=network.lookup, recheck=0.05)
    await watch.start()
    try:
        network.ip = "192.0.2.11"
        await asyncio.sleep(0.2)
        assert changes == ["192.0.2.11"]
        assert "cannot watch address changes" in caplog.text
    finally:
        await watch.stop()


async def test_current_ip_is_the_source_address_towards_the_server():
    assert await netwatch.current_ip("127.0.0.1") == "127.0.0.1"


async def test_a_check_can_be_asked_for():
    network = FakeNetwork("192.0.2.10")
    watch, kernel, changes = await watcher_on_socketpair(network, settle=0.01)
    try:
        network.ip = "192.0.2.50"            # e.g. provisioning named another SIP server
        watch.request_check()
        watch.request_check()
        await asyncio.sleep(0.1)
        assert changes == ["192.0.2.50"] and len(network.asked) == 1
    finally:
        await watch.stop()
        kernel.close()
