"""The persisted runtime state: survives restarts, kill -9 and a full disk."""

import asyncio
import errno
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from deskphone.config import store as store_module, yealink_cfg
from deskphone.config.schema import trust_key
from deskphone.config.store import STATE_FILE, StateStore
from deskphone.config.yealink_cfg import HEADER
from deskphone.core.events import BY_CFG_KEY
from deskphone.errors import ConfigError


@pytest.fixture
def count_writes(monkeypatch):
    writes = []
    real = yealink_cfg.atomic_write_text

    def counting(path, text):
        writes.append(text)
        real(path, text)
    monkeypatch.setattr(yealink_cfg, "atomic_write_text", counting)
    return writes


async def test_state_survives_a_new_store(tmp_path):
    store = StateStore(tmp_path)
    assert store.load() == {}
    store.set("features.dnd.enable", True)
    store.update({"forward.always.enable": "1", "forward.always.target": "2001",
                  trust_key("10.0.0.9"): "allow"})
    assert store.get("forward.always.enable") is True  # in memory at once
    assert await store.close()
    text = (tmp_path / STATE_FILE).read_text()
    assert text.startswith(HEADER + "\n") and "features.dnd.enable = 1\n" in text

    assert StateStore(tmp_path).load() == {
        "features.dnd.enable": True, "forward.always.enable": True,
        "forward.always.target": "2001", trust_key("10.0.0.9"): "allow"}


async def test_bad_keys_and_values_are_refused_at_set(tmp_path):
    store = StateStore(tmp_path)
    with pytest.raises(ConfigError):
        store.set("features.dnd.enable", "yes")
    with pytest.raises(ConfigError):
        store.set("lang.gui", "English")
    with pytest.raises(ConfigError):
        store.update({"call_waiting.enable": False, "action_url.foo": ""})
    assert store.snapshot() == {}  # all or nothing


async def test_many_quick_changes_become_few_writes(tmp_path, count_writes):
    store = StateStore(tmp_path)
    for n in range(1, 101):
        store.set("deskphone.hook.debounce_ms", n)
    for n in range(1, 21):  # with the event loop turning between changes
        store.set("forward.no_answer.timeout", n)
        await asyncio.sleep(0)
    await store.flush()
    assert len(count_writes) <= 2
    assert StateStore(tmp_path).load() == {"deskphone.hook.debounce_ms": 100,
                                           "forward.no_answer.timeout": 20}


async def test_changes_made_during_a_write_are_written_next(tmp_path, count_writes):
    store = StateStore(tmp_path, coalesce_delay=0)
    store.set("forward.busy.target", "1")
    await asyncio.sleep(0.001)  # the writer has started
    store.set("forward.busy.target", "2")
    await store.close()
    assert not store.dirty
    assert StateStore(tmp_path).load() == {"forward.busy.target": "2"}


async def test_set_before_the_loop_runs_is_written_by_flush(tmp_path):
    store = StateStore(tmp_path)
    await asyncio.to_thread(store.set, "features.dnd.enable", True)  # no running loop there
    assert store.dirty
    await store.flush()
    assert StateStore(tmp_path).load() == {"features.dnd.enable": True}


async def test_clear_removes_runtime_state_only(tmp_path):
    (tmp_path / "conf").mkdir()
    yealink_cfg.write_cfg(tmp_path / "conf" / "y000000000000.cfg", {"features.dnd.enable": True})
    store = StateStore(tmp_path / "state")
    store.set("call_waiting.enable", False)
    await store.flush()
    store.clear()
    await store.close()
    assert StateStore(tmp_path / "state").load() == {}
    assert (tmp_path / "conf" / "y000000000000.cfg").exists()


# --- when the disk says no ----------------------------------------------------------------
# Tests run as root, and chmod does not stop root from writing. So the failure is
# made in ways that stop root too: the state directory's path is a regular file
# (ENOTDIR from the kernel), and os.replace raising ENOSPC (a full disk cannot be
# made cheaply, and the rename is the step that publishes the file).

async def test_write_failure_is_logged_and_retried_on_the_next_change(tmp_path, caplog):
    state_dir = tmp_path / "state"
    state_dir.write_text("I am a file, not a directory")
    store = StateStore(state_dir)
    with caplog.at_level(logging.ERROR, logger=store_module.__name__):
        store.set("features.dnd.enable", True)  # does not raise
        assert await store.flush() is False
    assert "cannot save runtime state" in caplog.text
    assert store.get("features.dnd.enable") is True and store.dirty  # memory is still right

    state_dir.unlink()  # the disk recovers
    store.set("call_waiting.enable", False)
    assert await store.close()
    assert StateStore(state_dir).load() == {"features.dnd.enable": True,
                                            "call_waiting.enable": False}


async def test_disk_full_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, caplog):
    store = StateStore(tmp_path)
    store.set("features.dnd.enable", True)
    await store.flush()
    before = (tmp_path / STATE_FILE).read_bytes()

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "replace", disk_full)
    with caplog.at_level(logging.ERROR, logger=store_module.__name__):
        store.set("features.dnd.enable", False)
        assert await store.flush() is False
    assert "No space left on device" in caplog.text
    assert (tmp_path / STATE_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE]

    monkeypatch.undo()
    store.set("sip.listen_port", 5062)
    assert await store.close()
    assert StateStore(tmp_path).load() == {"features.dnd.enable": False, "sip.listen_port": 5062}


# --- what a damaged file does at start-up ---------------------------------------------------

def test_corrupt_file_is_moved_aside_not_deleted(tmp_path, caplog):
    garbage = b"\x00\x17features.dnd.enable = 1\nrandom bytes"
    (tmp_path / STATE_FILE).write_bytes(garbage)
    with caplog.at_level(logging.ERROR, logger=store_module.__name__):
        assert StateStore(tmp_path).load() == {}
    aside = list(tmp_path.glob(f"{STATE_FILE}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    assert not (tmp_path / STATE_FILE).exists()
    assert aside[0].name in caplog.text
    # A second corrupt file on the same second gets its own name.
    (tmp_path / STATE_FILE).write_bytes(b"\xff\xfe")
    StateStore(tmp_path).load()
    assert len(list(tmp_path.glob(f"{STATE_FILE}.corrupt-*"))) == 2


def test_bad_or_unknown_keys_are_dropped_with_a_warning(tmp_path, caplog):
    (tmp_path / STATE_FILE).write_text("\n".join([
        HEADER, "features.dnd.enable = 1", "features.dnd.enable_typo = 1", "sip.listen_port = 0",
        "action_url.foo = http://x/", trust_key("10.0.0.1") + " = maybe",
    ]) + "\n")
    with caplog.at_level(logging.WARNING, logger=store_module.__name__):
        assert StateStore(tmp_path).load() == {"features.dnd.enable": True}
    assert caplog.text.count("dropped") == 4
    assert not list(tmp_path.glob("*.corrupt-*"))


# --- kill -9 ---------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import asyncio, sys
    from deskphone.config.store import StateStore
    from deskphone.core.events import BY_CFG_KEY

    async def main():
        store = StateStore(sys.argv[1], coalesce_delay=0)
        store.load()
        n = 0
        while True:
            n += 1
            # Every state is n spelled into every key, so a torn file cannot pass for a state.
            state = {key: f"http://10.0.0.1/{n}/{key}?pad=" + "x" * (n * 37 % 300)
                     for key in BY_CFG_KEY}
            state["deskphone.action_url.timeout"] = n % 60 + 1
            store.update(state)
            await store.flush()
            if n == 1:
                print("ready", flush=True)

    asyncio.run(main())
""")


def check_complete_state(state: dict) -> int:
    """The n of the state written, or AssertionError if ``state`` is not one of them."""
    n = int(state["action_url.dnd_on"].split("/")[3])
    assert n >= 1
    expected = {key: f"http://10.0.0.1/{n}/{key}?pad=" + "x" * (n * 37 % 300) for key in BY_CFG_KEY}
    expected["deskphone.action_url.timeout"] = n % 60 + 1
    assert state == expected
    return n


def test_kill_9_at_random_moments_leaves_a_complete_state(tmp_path, caplog):
    rounds = 30
    rng = random.Random()
    dirs = [tmp_path / f"round{i}" for i in range(rounds)]
    writers = []
    try:
        for d in dirs:  # all at once: the whole test takes about as long as one round
            d.mkdir()
            writers.append(subprocess.Popen([sys.executable, "-c", WRITER, str(d)],
                                            stdout=subprocess.PIPE, text=True))
        for w in writers:
            assert w.stdout.readline() == "ready\n"
        for w in writers:
            time.sleep(rng.uniform(0, 0.03))
            w.send_signal(signal.SIGKILL)
    finally:
        for w in writers:
            w.kill()
            w.wait()
            w.stdout.close()
    assert all(w.returncode == -signal.SIGKILL for w in writers)

    states_written = []
    with caplog.at_level(logging.WARNING, logger=store_module.__name__):
        for d in dirs:
            states_written.append(check_complete_state(StateStore(d).load()))
            assert not list(d.glob("*.corrupt-*"))
            assert not list(d.glob(".*.tmp"))  # load() swept any half-written temp file
    assert caplog.text == ""
    assert max(states_written) > 1  # the writers really were busy
