"""Every feature switch of ``core.features.FEATURES`` behaves as its row says.

For each row: switching it (its remote-control input, the Action URI value and
the feature menu) fires its event pair and persists its key; a change made
elsewhere (SettingsChanged) announces it; its icon and its menu label on the
screen come from the table.
"""

from __future__ import annotations

import pytest

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.features import FEATURES, MENU, Feature
from deskphone.core.phone import DeviceInfo, Phone
from deskphone.core.uri import parse_key

TARGET = "555"
SETTINGS = {
    "account.1.enable": True, "account.1.user_name": "100",
    "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0,
    **{f.target_key: TARGET for f in FEATURES if f.target_key},
}
IDS = [f.name for f in FEATURES]
# The switches the Action URI has a value for (<uri>On / <uri>Off); call waiting has none.
BY_URI = [f for f in FEATURES if f.forward_kind or f.name == "dnd"]


def started(**settings: object) -> Phone:
    phone = Phone({**SETTINGS, **settings}, DeviceInfo("001565000001", "deskphone", "1.0"))
    phone.handle(ins.Start(), 1000.0)
    return phone


def events(out: list[fx.Effect]) -> list[str]:
    return [e.event for e in out if isinstance(e, fx.Emit)]


def persisted(out: list[fx.Effect]) -> list[tuple[str, object]]:
    return [(e.key, e.value) for e in out if isinstance(e, fx.Persist)]


def switch_input(f: Feature, on: bool) -> ins.Input:
    """The remote-control input that switches ``f``."""
    if f.forward_kind:
        return ins.SetForward(f.forward_kind, on)
    return ins.SetDnd(on) if f.name == "dnd" else ins.SetCallWaiting(on)


@pytest.mark.parametrize("f", FEATURES, ids=IDS)
def test_switching_fires_the_event_pair_and_persists_the_key(f: Feature):
    phone = started()
    away = not f.default
    out = phone.handle(switch_input(f, away), 1001.0)
    assert events(out) == [f.event_for(away)]
    assert persisted(out) == [(f.key, away)]
    assert f.on(phone.settings) is away
    assert events(phone.handle(switch_input(f, away), 1002.0)) == []     # no change, no event
    out = phone.handle(switch_input(f, f.default), 1003.0)
    assert events(out) == [f.event_for(f.default)]
    assert persisted(out) == [(f.key, f.default)]


@pytest.mark.parametrize("f", BY_URI, ids=[f.name for f in BY_URI])
def test_the_action_uri_value_switches_it(f: Feature):
    phone = started()
    arg = f"={TARGET}" if f.forward_kind else ""
    out = [e for i in parse_key(f"{f.uri}On{arg}", line_keys=2) for e in phone.handle(i, 1001.0)]
    assert events(out) == [f.event_for(True)]
    assert (f.key, True) in persisted(out)
    out = [e for i in parse_key(f"{f.uri}Off", line_keys=2) for e in phone.handle(i, 1002.0)]
    assert events(out) == [f.event_for(False)] and persisted(out) == [(f.key, False)]


def open_menu_at(phone: Phone, f: Feature) -> None:
    phone.handle(ins.KeyPress("OK"), 1001.0)          # idle: OK opens the feature menu
    for _ in range(MENU.index(f.menu_label)):
        phone.handle(ins.KeyPress("DOWN"), 1001.0)


def menu_line(f: Feature, on: bool) -> str:
    return f"{f.menu_label:<13}{'On' if on else 'Off':>3}"


@pytest.mark.parametrize("f", FEATURES, ids=IDS)
def test_the_menu_shows_its_label_and_switches_it(f: Feature):
    phone = started()
    open_menu_at(phone, f)
    screen = phone.screen
    assert screen.kind == "menu" and screen.selected is not None
    assert screen.lines[screen.selected] == menu_line(f, f.default)
    out = phone.handle(ins.KeyPress("OK"), 1002.0)
    if f.forward_kind:
        # A forward asks for its target first, offering the one it has.
        assert events(out) == [] and phone.screen.lines[0] == TARGET
        out = phone.handle(ins.KeyPress("OK"), 1003.0)
    assert events(out) == [f.event_for(not f.default)]
    assert (f.key, not f.default) in persisted(out)
    assert phone.screen.lines[phone.screen.selected] == menu_line(f, not f.default)


@pytest.mark.parametrize("f", FEATURES, ids=IDS)
def test_a_change_made_elsewhere_is_announced(f: Feature):
    phone = started()
    changed = {**phone.settings, f.key: not f.default}
    out = phone.handle(ins.SettingsChanged(changed), 1001.0)
    assert events(out) == [f.event_for(not f.default)]
    assert persisted(out) == []                       # stored already by whoever changed it
    assert events(phone.handle(ins.SettingsChanged(changed), 1002.0)) == []


@pytest.mark.parametrize("f", FEATURES, ids=IDS)
def test_the_idle_screen_icon_comes_from_the_table(f: Feature):
    feature_icons = {g.icon for g in FEATURES if g.icon}
    off = started(**{g.key: False for g in FEATURES if g.icon})
    assert feature_icons.isdisjoint(off.screen.icons)
    on = started(**{f.key: True})
    shown = feature_icons.intersection(on.screen.icons)
    assert shown == ({f.icon} if f.icon else set())


def test_the_dnd_led_follows_the_switch():
    phone = started()
    assert fx.SetLed("dnd", "on") in phone.handle(ins.SetDnd(True), 1001.0)
    assert fx.SetLed("dnd", "off") in phone.handle(ins.SetDnd(False), 1002.0)


def test_the_idle_dnd_soft_key_switches_the_dnd_row():
    dnd = next(f for f in FEATURES if f.name == "dnd")
    phone = started()
    assert phone.screen.softkeys[0] == "DND"
    out = phone.handle(ins.KeyPress("F1"), 1001.0)
    assert events(out) == [dnd.event_for(True)] and persisted(out) == [(dnd.key, True)]
    assert dnd.icon in phone.screen.icons
    out = phone.handle(ins.KeyPress("F1", remote=True), 1002.0)
    assert events(out) == [dnd.event_for(False)] and persisted(out) == [(dnd.key, False)]
