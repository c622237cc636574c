"""The phone supervises its baresip: a crash or a hang mid-call is survived, nothing is orphaned."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time


from deskphone.engine.baresip import Timing
from support.phone import write_config
from support.sip_calls import T, call_alice
from support.sip_lab import (BOARD, MAC_FILE, phone_overrides, processes_mentioning,
                             start_sip_phone)
from support.sip_lab_fixtures import alice, lab, sip_phone, stop_and_check  # noqa: F401


def gone(pid: int) -> bool:
    """Not running: no /proc entry, or only a zombie left to its parent to reap."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


async def test_sigkill_mid_call_is_survived(sip_phone, receiver, alice):
    engine = sip_phone.engine
    est = await call_alice(sip_phone, receiver, alice)
    registered = await receiver.wait("registered")
    old_pid = engine.pid
    assert old_pid is not None and engine.starts == 1
    screens = []
    sip_phone.runtime.adapters.listeners.append(
        lambda effect: screens.append(effect.screen) if type(effect).__name__ == "Render" else None)
    os.kill(old_pid, signal.SIGKILL)
    killed = time.monotonic()
    term = await receiver.wait("call_terminated", timeout=T)
    assert term["sip_call_id"] == est["sip_call_id"]
    await receiver.wait("unregistered", timeout=T)
    assert sip_phone.display.screen.kind != "connected"
    assert any("Phone service down" in screen.lines for screen in screens)    # the phone shows it
    again = await receiver.wait("registered", timeout=10, after=registered.at + 1e-6)
    assert again.at - killed < 10.0
    assert again["active_user"] == sip_phone.sip_user
    assert engine.starts == 2 and engine.pid not in (None, old_pid)
    assert gone(old_pid)
    assert processes_mentioning(str(engine.runtime_dir)) == [engine.pid]
    # And it works again: a new call goes through the new baresip.
    sip_phone.hook.hang_up()
    await receiver.wait("busy_to_idle", timeout=T, after=again.at)
    mark = alice.mark()
    sip_phone.keypad.type("201#")
    out = await receiver.wait("outgoing_call", timeout=T, after=again.at)
    ring = await alice.wait("CALL_INCOMING", after=mark)
    assert ring["id"] == out["sip_call_id"]


async def test_a_hung_baresip_is_killed_and_restarted(lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user)
    try:
        engine = app.engine
        # Short watchdog times, so the test does not wait for the production ones.
        engine.timing = Timing(ping_interval=0.3, command_timeout=1.0, restart_timeout=0.3)
        registered = await receiver.wait("registered", timeout=T)
        old_pid = engine.pid
        os.kill(old_pid, signal.SIGSTOP)               # alive, but answers nothing
        down = await receiver.wait("unregistered", timeout=T)
        again = await receiver.wait("registered", timeout=T, after=registered.at + 1e-6)
        assert again.at > down.at
        assert again["active_user"] == user
        assert engine.pid != old_pid
        assert gone(old_pid)                          # the stopped one was killed, not left
    finally:
        await stop_and_check(app)


async def test_stop_hangs_up_unregisters_and_leaves_no_process(lab, tmp_path, receiver, alice):
    app = await start_sip_phone(tmp_path, receiver.base, lab, lab.next_user())
    app.sip_user = app.settings["account.1.user_name"]
    await receiver.wait("registered", timeout=T)
    est = await call_alice(app, receiver, alice)
    runtime_dir = str(app.engine.runtime_dir)
    pid = app.engine.pid
    assert processes_mentioning(runtime_dir) == [pid]
    mark = alice.mark()
    started = time.monotonic()
    await app.stop()
    assert time.monotonic() - started < 2.0
    assert processes_mentioning(runtime_dir) == []
    assert gone(pid)
    # Stopped with SIGTERM: baresip said goodbye to Alice on its way out.
    closed = await alice.wait("CALL_CLOSED", after=mark)
    assert closed["id"] == est["sip_call_id"]


async def test_accounts_file_is_private(sip_phone):
    runtime_dir = sip_phone.engine.runtime_dir
    accounts = runtime_dir / "accounts"
    config = (runtime_dir / "config").read_text()
    assert accounts.stat().st_mode & 0o777 == 0o600
    assert runtime_dir.stat().st_mode & 0o777 == 0o700
    assert "auth_pass=secret" in accounts.read_text()
    assert "ctrl_tcp_listen\t\t127.0.0.1:" in config
    assert "sip_listen\t\t127.0.0.1:" in config
    assert "audio_player\t\talsa,null" in config        # the sim board has no sound card


async def test_killing_the_daemon_itself_takes_baresip_along(lab, tmp_path, receiver):
    """SIGKILL gives the daemon no chance to clean up: the kernel does (the parent-death signal
    of engine/baresip_process.py's wrappers), for baresip and the SIP edge's kamailio alike."""
    (tmp_path / "board.toml").write_text(BOARD)
    write_config(tmp_path / "config", receiver.base)
    (tmp_path / "config" / MAC_FILE).write_text(phone_overrides(lab, lab.next_user()))
    state = tmp_path / "state"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deskphone", "run", "--board", str(tmp_path / "board.toml"),
        "--config-dir", str(tmp_path / "config"), "--state-dir", str(state),
        "--bind", "127.0.0.1", "--http-port", "0", "--https-port", "0",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True)
    try:
        await receiver.wait("registered", timeout=15)
        children = processes_mentioning(str(state / "baresip"))
        assert len(children) == 1
        # The SIP edge's kamailio and its forked workers go too (they outlived it once).
        edge = processes_mentioning(str(state / "sip-edge"))
        assert len(edge) >= 2
        proc.kill()
        await proc.wait()
        async with asyncio.timeout(5):
            while processes_mentioning(str(state)):
                await asyncio.sleep(0.02)
        assert gone(children[0]) and all(gone(pid) for pid in edge)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
