"""The `deskphone` command as a user runs it: a real process, real sockets, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from support.phone import BOARD, write_config

ROOT = Path(__file__).resolve().parents[1]
DESKPHONE = [sys.executable, "-m", "deskphone"]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_board(tmp_path: Path) -> Path:
    board = tmp_path / "board.toml"
    board.write_text(BOARD.format(password=""))
    return board


async def test_run_fires_setup_completed_and_stops_cleanly(tmp_path, receiver):
    # How soon Setup Completed comes is a figure of tests/bench/bench_startup.py, not an
    # assertion here: the wait below only bounds a hang.
    write_config(tmp_path / "config", receiver.base)
    http_port = free_port()
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *DESKPHONE, "run", "--board", str(make_board(tmp_path)),
        "--config-dir", str(tmp_path / "config"), "--state-dir", str(tmp_path / "state"),
        "--bind", "127.0.0.1", "--http-port", str(http_port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        hit = await receiver.wait("setup_completed", timeout=20)
        assert hit.at > started
        await receiver.wait("registered")

        # The HTTP listener is on the --bind address and the --http-port port.
        reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        reply = await reader.read()
        writer.close()
        head = reply.split(b"\r\n\r\n")[0].split(b"\r\n")
        assert head[0].startswith(b"HTTP/1.") and b" 302 " in head[0]   # to the status page
        assert b"Location: /servlet?p=status&q=load" in head
    finally:
        stop_sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 5)
    assert time.monotonic() - stop_sent < 2.0
    assert proc.returncode == 0
    log = out.decode()
    assert "Traceback" not in log
    assert "Task was destroyed" not in log and "Unclosed" not in log
    assert "<6>deskphone.runtime: event Setup Completed" in log      # journald priority prefix


def test_sigint_during_a_call_stops_within_two_seconds(tmp_path):
    write_config(tmp_path / "config", "http://127.0.0.1:9")
    proc = subprocess.Popen(
        [*DESKPHONE, "sim", "--board", str(make_board(tmp_path)), "--config-dir",
         str(tmp_path / "config"), "--state-dir", str(tmp_path / "state"), "--http-port", "0",
         "--receiver-port", str(free_port())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        proc.stdin.write("hook off\nkeys 201#\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 5
        seen = ""
        while "Talking" not in seen and time.monotonic() < deadline:
            seen += proc.stdout.readline()
        assert "Talking" in seen, seen
    finally:
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=5)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 0
    assert "Traceback" not in out


def run_check(tmp_path: Path, cfg_text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "y000000000000.cfg").write_text(cfg_text)
    return subprocess.run(
        [*DESKPHONE, "check-config", "--board", str(make_board(tmp_path)),
         "--config-dir", str(config)], capture_output=True, text=True, timeout=30)


def test_check_config_prints_effective_settings(tmp_path):
    result = run_check(tmp_path, "#!version:1.0.0.1\nfeatures.dnd.enable = 1\n"
                                 "account.1.password = hunter2\nlang.gui = English\n")
    assert result.returncode == 0, result.stderr
    assert "features.dnd.enable = 1    # y000000000000.cfg:2" in result.stdout
    assert "hunter2" not in result.stdout
    assert "ignored (not used by deskphone): y000000000000.cfg:4: lang.gui" in result.stdout


def test_check_config_exits_1_with_file_line_key(tmp_path):
    result = run_check(tmp_path, "#!version:1.0.0.1\n\naction_url.dnd_on = ftp://x/y\n"
                                 "features.dnd.enable = yes\n")
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert any(e.startswith("y000000000000.cfg:3: action_url.dnd_on:") for e in errors), errors
    assert any(e.startswith("y000000000000.cfg:4: features.dnd.enable:") for e in errors), errors


def test_check_config_reports_a_bad_board(tmp_path):
    board = tmp_path / "board.toml"
    board.write_text('[board]\nkind = "sim"\n[dispaly]\nwidth = 128\n')
    result = subprocess.run([*DESKPHONE, "check-config", "--board", str(board),
                             "--config-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "board.toml: dispaly: unknown section" in result.stderr


def test_every_board_config_in_the_repository_loads():
    for board in sorted((ROOT / "board-configs").glob("*.toml")):
        result = subprocess.run([*DESKPHONE, "check-config", "--board", str(board),
                                 "--config-dir", str(ROOT / "board-configs" / "sim")],
                                capture_output=True, text=True, timeout=30, env=os.environ)
        assert result.returncode == 0, (board, result.stderr)


def test_sim_with_no_terminal_on_stdin_runs_quietly(tmp_path):
    """`make sim < /dev/null` (or under a service manager): nothing to read, no error."""
    # Its own NOTIFY port: the default 5070 may be another phone's on this machine, and that
    # error line is not what this test is about.
    write_config(tmp_path / "config", "http://127.0.0.1:9",
                 f"deskphone.sip_notify_port = {free_port(socket.SOCK_DGRAM)}")
    with open(os.devnull) as devnull:
        proc = subprocess.Popen(
            [*DESKPHONE, "sim", "--board", str(make_board(tmp_path)), "--config-dir",
             str(tmp_path / "config"), "--state-dir", str(tmp_path / "state"), "--http-port", "0",
             "--receiver-port", str(free_port())],
            stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 5
            seen = ""
            while "Web simulator" not in seen and time.monotonic() < deadline:
                seen += proc.stdout.readline()
            assert "Web simulator" in seen, seen
            time.sleep(0.5)                     # where the stdin reader used to fail
        finally:
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=5)
    log = seen + out
    assert proc.returncode == 0
    assert "Traceback" not in log and "error" not in log.lower(), log
