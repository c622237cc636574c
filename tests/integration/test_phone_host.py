"""PhoneApp is the PhoneHost the adapters are given: every member of the port, with its meaning."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from deskphone.config.writer import SettingsWriter
from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.host import PhoneHost
from support.phone import settle
from support.waiting import until

MEMBERS = sorted(name for name in dir(PhoneHost) if not name.startswith("_"))
METHODS = {"frame", "post", "on_status", "on_effect"}


def test_the_port_is_what_the_brief_names():
    # A member dropped from the port (or added without being built) shows here first.
    assert MEMBERS == sorted({"settings", "device", "board_name", "state_dir", "status", "ip",
                              "registrations", "screen", "frame", "deliveries", "engine_name",
                              "engine_up", "uptime", "post", "writer", "on_status", "on_effect",
                              "call_log", "directory", "calls", "voicemail", "blf",
                              "last_provisioning"})


@pytest.mark.parametrize("name", MEMBERS)
async def test_a_started_phone_has_every_member_of_the_port(phone, name):
    assert hasattr(phone, name), f"PhoneApp has no {name}"
    value = getattr(phone, name)
    assert callable(value) == (name in METHODS), name
    if name in METHODS:
        ours = inspect.signature(getattr(PhoneHost, name)).parameters
        theirs = inspect.signature(value).parameters
        assert list(theirs) == [p for p in ours if p != "self"], name


async def test_what_the_host_shows_is_the_phone(phone, receiver):
    assert isinstance(phone.writer, SettingsWriter)
    assert phone.settings is phone.writer.settings
    assert phone.device.mac == "001565abcdef" and phone.device.line_keys == 2
    assert phone.board_name == "test board"
    assert phone.engine_name == "SimEngine" and phone.engine_up is True
    assert phone.uptime is not None and phone.uptime >= 0
    assert phone.ip == "127.0.0.1"
    assert phone.screen.kind == "idle"
    assert phone.frame().size == (128, 64)
    await until(lambda: phone.registrations.get(1) == "registered", 3, "account 1 registered")
    with pytest.raises(TypeError):
        phone.registrations[1] = "failed"       # type: ignore[index]   a read-only view
    assert [d.event for d in phone.deliveries][:1] == ["setup_completed"]
    assert phone.calls == () and dict(phone.voicemail) == {} and dict(phone.blf) == {}
    with pytest.raises(TypeError):
        phone.voicemail[1] = None               # type: ignore[index]   a read-only view


async def test_post_reaches_the_core_and_listeners_hear_effects_and_status(phone, receiver):
    effects: list[fx.Effect] = []
    statuses: list[str] = []
    phone.on_effect(effects.append)
    phone.on_status(statuses.append)
    phone.post(ins.KeyPress("SPEAKER"))
    await receiver.wait("handfree")
    await settle(phone)
    assert any(isinstance(e, fx.Emit) for e in effects)
    assert statuses and statuses[-1] == phone.status != "Idle"


async def test_a_setting_written_through_the_host_is_kept_applied_and_told(phone, receiver):
    phone.writer.set("features.dnd.enable", "1")
    await receiver.wait("dnd_on")
    assert phone.settings["features.dnd.enable"] is True
    assert phone.store.snapshot()["features.dnd.enable"] is True
    assert await phone.writer.forget(["features.dnd.enable"]) is True
    await receiver.wait("dnd_off")
    await asyncio.sleep(0)
    assert phone.settings["features.dnd.enable"] is False
