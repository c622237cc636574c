"""IP Changed, for real: the daemon runs in a network namespace whose address changes.

The phone's IP watch reads netlink in the namespace; the Action URL receiver
listens on 127.0.0.1 inside the same namespace. Nothing leaves it: the account
server is an address of the TEST-NET range reached through a dummy interface,
and the simulated engine sends no SIP. (tests/hw/test_netwatch.py is the twin
that runs without namespaces, on an injected netlink socket.)
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time

import pytest

from support import netns
from support.phone import BOARD, write_config
from support.receiver import Receiver

REASON = netns.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no network namespaces: {REASON}")

SERVER = "203.0.113.5"          # TEST-NET-3, only ever routed to the namespace's dummy interface


@pytest.fixture
def ns():
    with netns.NetNs() as space:
        yield space


def test_netlink_in_the_namespace_reports_the_address_added(ns):
    from deskphone.hw.netwatch import NetChange, open_netlink_socket, parse_messages
    ns.add_interface("dp0")
    sock = ns.call(open_netlink_socket)     # the watcher's own socket, opened in the namespace
    sock.setblocking(True)
    sock.settimeout(3)

    def changes_until(want: NetChange) -> list[NetChange]:
        seen: list[NetChange] = []
        while want not in seen:             # route messages come too; a timeout fails the test
            seen += parse_messages(sock.recv(65536))
        return seen

    ns.ip("addr", "add", "192.0.2.33/24", "dev", "dp0")
    seen = changes_until(NetChange("address added", "192.0.2.33", "dp0"))
    if NetChange("route") not in seen:
        seen += parse_messages(sock.recv(65536))
    assert NetChange("route") in seen       # the subnet route the address brings
    ns.ip("addr", "del", "192.0.2.33/24", "dev", "dp0")
    changes_until(NetChange("address removed", "192.0.2.33", "dp0"))
    sock.close()


async def test_the_phone_fires_ip_changed_with_the_new_address(ns, tmp_path):
    ns.add_interface("dp0")
    ns.ip("addr", "add", "192.0.2.10/24", "dev", "dp0")
    ns.ip("route", "add", "default", "dev", "dp0")
    listener = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    receiver = await Receiver(sock=listener).start()  # served inside the namespace
    board = tmp_path / "board.toml"
    board.write_text(BOARD.format(password=""))
    write_config(tmp_path / "config", receiver.base, extra=(
        f"account.1.sip_server.1.address = {SERVER}\n"
        "static.wui.https_enable = 0\n"))
    proc = await asyncio.create_subprocess_exec(*ns.exec_argv(
        [sys.executable, "-m", "deskphone", "run", "--board", str(board),
         "--config-dir", str(tmp_path / "config"), "--state-dir", str(tmp_path / "state"),
         "--bind", "0.0.0.0", "--http-port", "0", "--log-level", "debug"]),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        hit = await receiver.wait("setup_completed", timeout=5)
        assert hit["ip"] == "192.0.2.10"      # where traffic to the server leaves from
        await asyncio.sleep(0.3)              # the watcher is up once the phone is

        changed_at = time.monotonic()
        ns.ip_batch("addr add 198.51.100.7/24 dev dp0", "addr del 192.0.2.10/24 dev dp0")
        hit = await receiver.wait("ip_change", timeout=5)
        assert hit["ip"] == "198.51.100.7"
        assert hit.at - changed_at < 3.0
        await receiver.quiet(1.0)
        assert receiver.events().count("ip_change") == 1      # one burst, one event

        # An address that does not carry SIP traffic (no route to the server) changes nothing.
        ns.ip("addr", "add", "198.18.0.1/32", "dev", "lo")
        await receiver.quiet(1.5)
        assert receiver.events().count("ip_change") == 1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 5)
        await receiver.stop()
        listener.close()
    log = out.decode()
    assert proc.returncode == 0, log
    assert "IP address 192.0.2.10 -> 198.51.100.7" in log
    assert "Traceback" not in log
