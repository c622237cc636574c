"""The baresip adapter's pure parts (versions, close reasons, dial URIs, its command table)
and its start-up failure."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from deskphone.core import inputs as ins
from deskphone.engine.baresip import BaresipEngine, Timing, dial_uri
from deskphone.engine.baresip_events import BaresipCall, close_reason
from deskphone.engine.baresip_version import capabilities, detect_version, parse_version
from support.needs import unavailable


def test_parse_version_from_help_and_about_box():
    banner = "baresip v1.0.0 Copyright (C) 2010 - 2020 Alfred E. Heggestad"
    assert parse_version(banner) == (1, 0, 0)
    about = "|   \x1b[34;1mbare\x1b[31;1msip\x1b[;m 1.1.0   |"
    plain = about.replace("\x1b[34;1mbare\x1b[31;1msip\x1b[;m", "baresip")
    assert parse_version(plain) == (1, 1, 0)
    assert parse_version("no version here") is None


def test_capabilities_by_version():
    one = capabilities((1, 0, 0))
    assert one.tested and not one.call_id_commands and not one.dnd_command
    assert not one.attended_transfer and not one.remote_hold_events and not one.redirect
    assert one.transfer_failure_ends_call
    eleven = capabilities((1, 1, 0))
    assert eleven.call_id_commands and eleven.dnd_command and not eleven.tested
    assert not eleven.reject_with_code and eleven.transfer_failure_ends_call
    newer = capabilities((3, 10, 1))
    assert newer.remote_hold_events and not newer.transfer_failure_ends_call


async def test_detect_version_of_the_installed_baresip():
    if shutil.which("baresip") is None:
        unavailable("baresip-core is not installed here (twin: test_parse_version_from_help...)")
    assert await detect_version() >= (1, 0, 0)


def call(direction="out", established=False) -> BaresipCall:
    return BaresipCall("id", 1, "sip:100@pbx", direction, "sip:201@pbx", established=established)


@pytest.mark.parametrize("direction, established, text, reason", [
    ("out", False, "486 Busy Here", "busy"),
    ("out", False, "486 Rejected", "busy"),                  # a baresip far end's reject
    ("out", False, "600 Busy Everywhere", "busy"),
    ("out", False, "603 Decline", "declined"),
    ("out", False, "404 Not Found", "declined"),
    ("out", False, "480 Temporarily Unavailable", "declined"),
    ("out", False, "Connection reset by user", "normal"),
    ("out", False, "Local timeout", "error"),
    ("out", False, "Connection refused", "error"),
    ("in", False, "Connection reset by peer", "canceled"),   # the caller's CANCEL
    ("in", False, "Local timeout", "normal"),                # rang too long: missed
    ("in", True, "Connection reset by peer", "normal"),      # BYE
    ("out", True, "Connection reset by peer", "normal"),
    ("out", True, "rtp stream error", "error"),
    ("out", True, "Call transfered", "transferred"),
])
def test_close_reasons(direction, established, text, reason):
    assert close_reason(call(direction, established), text) == reason
    assert reason in ins.CLOSE_REASONS


def test_dial_uri():
    assert dial_uri("201", "pbx.example.org") == "sip:201@pbx.example.org"
    assert dial_uri(" 201 ", "pbx:5070", 1) == "sip:201@pbx:5070;transport=tcp"
    assert dial_uri("bob@example.com", "pbx") == "sip:bob@example.com"
    assert dial_uri("sips:bob@example.com", "pbx") == "sips:bob@example.com"


async def test_a_missing_baresip_is_reported_and_retried(tmp_path):
    posted: list = []
    engine = BaresipEngine(lambda: {}, runtime_dir=tmp_path / "baresip", bind="127.0.0.1",
                           simulated=True, binary="baresip-not-installed",
                           timing=Timing(backoff_first=0.01, backoff_max=0.02))
    await engine.start(posted.append)
    try:
        async with asyncio.timeout(5):
            while sum(1 for p in posted if isinstance(p, ins.EngineState)) < 2:
                await asyncio.sleep(0.01)
    finally:
        await engine.stop()
    downs = [p for p in posted if isinstance(p, ins.EngineState)]
    assert all(not d.up for d in downs)
    assert "not installed" in downs[0].detail and "baresip-core" in downs[0].detail
    assert engine.pid is None
    # Commands while it is down are dropped, not queued for a baresip that is not there.
    from deskphone.core import effects as fx
    engine.execute(fx.EngineDial("c1", "201", 1))
    assert engine._jobs.empty()


def test_every_engine_command_has_a_baresip_command():
    # The port's table from effect type to coroutine: a new engine command the core
    # learns must not be dropped silently by baresip.
    from typing import get_args

    from deskphone.engine.baresip import _COMMANDS
    from deskphone.engine.port import EngineCommand
    assert set(_COMMANDS) == set(get_args(EngineCommand))
