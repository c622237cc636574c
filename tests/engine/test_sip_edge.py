"""The SIP edge as a supervised process: a real kamailio on 127.0.0.1, started and ended.

No phone here: the edge alone, with its settings given as a mapping, a real
kamailio child, and real datagrams to its sockets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat

import pytest

from deskphone.engine.sip_edge import EdgeTiming, SipEdge, find_module_dir
from support.needs import unavailable
from support.sip_lab import free_port_pair, processes_mentioning
from support.sip_udp import SipPeer
from support.waiting import until

FAST = EdgeTiming(ready_timeout=5.0, backoff_first=0.1, backoff_max=0.2)


@pytest.fixture
async def edge(tmp_path):
    if find_module_dir() is None:
        unavailable("kamailio is not installed (make test installs it)")
    settings = {"sip.listen_port": free_port_pair()}
    e = SipEdge(lambda: settings, tmp_path / "sip-edge",
                public_host="127.0.0.1", notify=lambda: ("127.0.0.1", 9), timing=FAST)
    e.settings = settings
    e.test_port = settings["sip.listen_port"]
    yield e
    await e.stop()
    assert processes_mentioning(str(e.runtime_dir)) == [], "kamailio outlived stop()"


def options(port: int, peer: SipPeer, target: str) -> bytes:
    return (f"OPTIONS {target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bKt{os.getpid()}\r\n"
            f"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <{target}>\r\nCall-ID: t{os.getpid()}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n").encode()


async def test_starts_answers_and_stops_leaving_nothing(edge):
    assert await edge.start()
    assert edge.pid is not None and edge.starts == 1
    assert os.getpgid(edge.pid) == edge.pid            # a process group of its own
    cfg = edge.runtime_dir / "kamailio.cfg"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert stat.S_IMODE(edge.runtime_dir.stat().st_mode) == 0o700
    assert f"listen=udp:127.0.0.1:{edge.test_port}" in cfg.read_text()
    # The public UDP socket is kamailio's now; TCP is not taken (no account uses TCP).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        with pytest.raises(OSError):
            s.bind(("127.0.0.1", edge.test_port))
    with socket.socket() as s:
        s.bind(("127.0.0.1", edge.test_port))
    await edge.stop()
    assert edge.pid is None and not edge.up.is_set()
    assert processes_mentioning(str(edge.runtime_dir)) == []


async def test_killed_it_is_started_again(edge):
    assert await edge.start()
    first = edge.pid
    os.killpg(first, signal.SIGKILL)
    await until(lambda: edge.up.is_set() and edge.pid not in (None, first), timeout=10)
    assert edge.starts == 2


async def test_a_port_that_is_taken_fails_the_start_in_bounds_and_is_retried(edge):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", edge.test_port))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await edge.start() is False
        assert loop.time() - t0 < FAST.ready_timeout + 1.5
        await until(lambda: edge.starts >= 2, timeout=10)       # tried again, after a backoff
    # Once the port is free again, the edge comes up by itself.
    await until(lambda: edge.up.is_set(), timeout=10)


async def test_from_outside_a_request_for_another_host_is_refused(edge):
    assert await edge.start()
    peer = await SipPeer.open("127.0.0.3")
    try:
        answer = await peer.ask(options(edge.test_port, peer, "sip:someone@192.0.2.1"),
                                edge.test_port)
        assert answer.status == 403
        # The loopback socket is the phone's: another address gets nothing there.
        peer.send(options(edge.link.inner_port, peer, f"sip:127.0.0.1:{edge.link.inner_port}"),
                  edge.link.inner_port)
        await peer.silence(0.3)
    finally:
        peer.close()


async def test_with_a_tcp_account_it_takes_tcp_too(edge):
    edge.settings.update({"account.1.enable": True, "account.1.user_name": "1001",
                          "account.1.sip_server.1.address": "127.0.0.1",
                          "account.1.sip_server.1.transport_type": 1})
    assert await edge.start()
    with socket.socket() as s:
        with pytest.raises(OSError):
            s.bind(("127.0.0.1", edge.test_port))
        s.connect(("127.0.0.1", edge.test_port))        # kamailio accepts


async def test_moved_to_a_new_address_it_listens_there(edge):
    """The phone's IP changed (netwatch): the edge is started again on the new address."""
    assert await edge.start()
    first = edge.pid
    edge.move("127.0.0.2")
    await until(lambda: edge.up.is_set() and edge.pid not in (None, first), timeout=10)
    config = (edge.runtime_dir / "kamailio.cfg").read_text()
    assert f"listen=udp:127.0.0.2:{edge.test_port}" in config
    peer = await SipPeer.open("127.0.0.3")
    try:
        peer.send(options(edge.test_port, peer, "sip:someone@192.0.2.1"), edge.test_port,
                  host="127.0.0.2")
        answer = await peer.answer()
        assert answer.status == 403             # kamailio answers on the new address
    finally:
        peer.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", edge.test_port))   # ... and has left the old one


async def test_without_kamailio_the_start_fails_at_once(tmp_path):
    e = SipEdge(lambda: {"sip.listen_port": 5060}, tmp_path / "e", public_host="127.0.0.1",
                notify=lambda: None, timing=FAST, binary="no-such-kamailio")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        assert await e.start() is False
        assert loop.time() - t0 < 1.0           # no waiting out the readiness timeout
        assert e.starts == 0
    finally:
        await e.stop()


async def test_as_an_unprivileged_user_it_needs_nothing_outside_its_state_dir(tmp_path):
    """The service runs as its own user: kamailio starts as nobody from its state dir.

    (Where /var/run/kamailio does not exist, as on the VM image, kamailio without -Y
    fails to create it; here a root kamailio may have made it already, so the VM lab's
    tests/vm/test_sip_edge.py is where that is seen.)"""
    import shutil as _shutil
    from deskphone.engine.sip_edge_config import EdgeConfig, command_line
    if os.geteuid() != 0 or _shutil.which("setpriv") is None or find_module_dir() is None:
        unavailable("needs root and setpriv to start kamailio as nobody")
    import tempfile
    from pathlib import Path
    state = Path(tempfile.mkdtemp(prefix="deskphone-edge-"))   # pytest's tmp is root's only
    port = free_port_pair()
    (state / "k.cfg").write_text(EdgeConfig(
        "127.0.0.1", port, free_port_pair(), free_port_pair(), "127.0.0.1", 9,
        find_module_dir(), tcp=False).render())
    os.chown(state, 65534, 65534)
    argv = command_line(str(state / "k.cfg"), str(state))
    proc = await asyncio.create_subprocess_exec(
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        with pytest.raises(TimeoutError):          # still running after 2 s: it started
            await asyncio.wait_for(asyncio.shield(proc.wait()), 2.0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 5.0)
        _shutil.rmtree(state, ignore_errors=True)
    assert b"failed to create runtime dir" not in out, out[-1500:]
