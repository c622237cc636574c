"""Issue 15, item 12: another local process connects to baresip's ctrl_tcp mid-call.

baresip's ctrl_tcp serves one client: a new connection closes the one before
(measured with baresip 1.0.0, /work/shared/sip-lab/README.md "One client at a
time"). The phone used to take its connection closing for a dead baresip and
kill and restart it, dropping the call. Now it sees baresip still running,
takes the control back (which closes the intruder's connection in turn) and
the call goes on. Real kamailio and baresip (tests/support/sip_lab.py).
"""

from __future__ import annotations

import asyncio
import re
import socket

from support.sip_calls import T, call_alice
from support.sip_lab_fixtures import alice, lab, sip_phone  # noqa: F401


def ctrl_port(app) -> int:
    config = (app.engine.runtime_dir / "config").read_text()
    return int(re.search(r"ctrl_tcp_listen\s+127\.0\.0\.1:(\d+)", config).group(1))


def read_to_eof(sock: socket.socket) -> int:
    """Bytes read until the peer closed; socket.timeout (the test fails) if it never does."""
    total = 0
    while chunk := sock.recv(4096):
        total += len(chunk)
        assert total < 64 * 1024, "the intruder is still being fed"
    return total


async def test_a_foreign_ctrl_tcp_client_drops_no_call_and_is_put_out(sip_phone, receiver,
                                                                        alice):
    engine = sip_phone.engine
    est = await call_alice(sip_phone, receiver, alice)
    pid = engine.pid
    intruder = socket.create_connection(("127.0.0.1", ctrl_port(sip_phone)), timeout=T)
    try:
        await receiver.quiet(1.5)
        assert "call_terminated" not in receiver.events()
        assert engine.pid == pid                  # the same baresip: nothing restarted
        # The intruder's connection is the one closed now (EOF), the phone's works. While it
        # held the control it may have been sent an event or two (baresip's, not the phone's).
        intruder.settimeout(T)
        assert await asyncio.to_thread(read_to_eof, intruder) < 64 * 1024
        assert engine.supervisor.takeovers == 1
    finally:
        intruder.close()
    # The call is still the phone's to end: hanging up reaches the far end.
    mark = alice.mark()
    sip_phone.hook.hang_up()
    closed = await alice.wait("CALL_CLOSED", after=mark)
    term = await receiver.wait("call_terminated", timeout=T)
    assert term["sip_call_id"] == est["sip_call_id"] == closed["id"]
