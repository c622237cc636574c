"""Fault injection on the SIP side: baresip's control connection cut, baresip ended from outside,
kamailio restarted mid-call. Real kamailio and baresip processes (tests/support/sip_lab.py).

tests/integration/test_baresip_supervision.py covers SIGKILL and SIGSTOP (hung)
of baresip and a clean stop; this file adds the other ways the engine goes.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from support.sip_calls import T, call_alice
from support.sip_lab import (FarEndControl, lab_missing, processes_mentioning, start_group,
                             start_lab, start_sip_phone, stop_group)
from support.sip_lab_fixtures import alice, lab, sip_phone, stop_and_check  # noqa: F401
from support.needs import unavailable
from test_baresip_supervision import gone


# A control connection cut while baresip still runs is taken back, not a restart (issue 15:
# tests/adversarial/test_ctrl_tcp_foreign_client.py).
@pytest.mark.parametrize("how", ["baresip ended (SIGTERM)"])
async def test_the_engine_going_away_mid_call_is_survived(how, sip_phone, receiver, alice):
    engine = sip_phone.engine
    est = await call_alice(sip_phone, receiver, alice)
    registered = await receiver.wait("registered")
    old_pid = engine.pid
    t0 = time.monotonic()
    os.kill(old_pid, signal.SIGTERM)            # someone ended it (baresip hangs up on its way)
    term = await receiver.wait("call_terminated", timeout=T)
    assert term["sip_call_id"] == est["sip_call_id"]
    await receiver.wait("unregistered", timeout=T)
    again = await receiver.wait("registered", timeout=T, after=registered.at + 1e-6)
    assert again.at - t0 < 10
    assert engine.pid not in (None, old_pid) and gone(old_pid)   # one baresip, a new one
    assert processes_mentioning(str(engine.runtime_dir)) == [engine.pid]
    # And calls work again through the new baresip.
    sip_phone.hook.hang_up()
    await receiver.wait("busy_to_idle", timeout=T, after=again.at)
    mark = alice.mark()
    sip_phone.hook.lift()
    sip_phone.keypad.type("201#")
    out = await receiver.wait("outgoing_call", timeout=T, after=again.at)
    ring = await alice.wait("CALL_INCOMING", after=mark)
    assert ring["id"] == out["sip_call_id"]


# --- kamailio restarted mid-call: a lab of this test's own (its registrations go with it) --------

def restart_kamailio(kam) -> None:
    """Stop kamailio and start it again on the same port and config, as a service restart does."""
    stop_group(kam.proc)
    cfg = kam.workdir / "kamailio.cfg"
    kam.proc = start_group(["kamailio", "-f", str(cfg), "-P", str(kam.workdir / "kamailio.pid"),
                            "-w", str(kam.workdir), "-E", "-DD"],
                           kam.workdir / "kamailio.log", kam.workdir)
    kam._wait_ready()


@pytest.fixture
def own_lab(tmp_path_factory):
    missing = lab_missing()
    if missing:
        unavailable(f"SIP lab unavailable: {missing}")
    lab = start_lab(tmp_path_factory.mktemp("kamrestart"), (("Alice", "201", "manual"),))
    yield lab
    lab.stop()


async def test_kamailio_restarted_mid_call(own_lab, tmp_path, receiver):
    ctl = await FarEndControl(own_lab.far_ends["Alice"]).connect()
    app = await start_sip_phone(tmp_path, receiver.base, own_lab, own_lab.next_user())
    try:
        await receiver.wait("registered", timeout=15)
        est = await call_alice(app, receiver, ctl)
        old = own_lab.kamailio.proc.pid
        restart_kamailio(own_lab.kamailio)
        assert own_lab.kamailio.proc.pid != old
        # Media flows phone <-> Alice directly; the dialog does not depend on the proxy's
        # memory (record-routing is stateless): the call is still up on both sides.
        await receiver.quiet(1.0)                   # time for either side to give up on it
        assert "call_terminated" not in receiver.events()
        assert await ctl.calls() == 1
        # Hanging up goes through the restarted proxy (loose routing) and reaches Alice.
        mark = ctl.mark()
        app.hook.hang_up()
        term = await receiver.wait("call_terminated", timeout=T)
        assert term["sip_call_id"] == est["sip_call_id"]
        closed = await ctl.wait("CALL_CLOSED", after=mark)
        assert closed["id"] == est["sip_call_id"]
        assert app.engine.starts == 1               # baresip itself never had to be restarted
    finally:
        await stop_and_check(app)
        await ctl.close()
