"""Reboot and Reset over HTTP against the real `deskphone run` process: it exits with 75
(the service manager restarts it), and Reset leaves the runtime state empty."""

from __future__ import annotations

import asyncio
import socket
import sys

import aiohttp
import pytest

from support.phone import BOARD, write_config

DESKPHONE = [sys.executable, "-m", "deskphone"]
TRUST = "features.action_uri_limit_ip = 127.0.0.1\nfeatures.show_action_uri_option = 0\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("value, reset", [("Reboot", False), ("Reset", True)])
async def test_remote_reboot_and_reset_exit_75(tmp_path, receiver, value, reset):
    write_config(tmp_path / "config", receiver.base, TRUST)
    board = tmp_path / "board.toml"
    board.write_text(BOARD.format(password=""))
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.cfg").write_text("#!version:1.0.0.1\nfeatures.dnd.enable = 1\n")
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *DESKPHONE, "run", "--board", str(board), "--config-dir", str(tmp_path / "config"),
        "--state-dir", str(state), "--bind", "127.0.0.1", "--http-port", str(port),
        "--https-port", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        await receiver.wait("registered", timeout=5)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/servlet?key={value}") as resp:
                assert resp.status == 200
        out, _ = await asyncio.wait_for(proc.communicate(), 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 75, out.decode()
    assert f"restarting on request ({'reset' if reset else 'reboot'})" in out.decode()
    assert ("features.dnd.enable" in (state / "state.cfg").read_text()) is not reset
