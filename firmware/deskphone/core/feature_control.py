"""Switching the features of ``core.features`` (DND, the forwards, call waiting).

Every way in (a key, the menu, an Action URI, a settings change made on the
web page, the console or by provisioning) ends here, and every switch is
announced the same way: its setting persisted, its event pair fired, the
confirmation tone played. Nothing here names a feature: the table does.
"""

from __future__ import annotations

from typing import Mapping

from . import autop, sound_model
from . import effects as fx
from . import inputs as ins
from .accounts import enabled_accounts
from .features import BY_NAME, CALL_WAITING, DND, FORWARDS, NO_ANSWER_TIMEOUT_KEY, Feature
from .features import switched
from .step import Step
from .trust import trust_key


def switch(step: Step, feature: Feature, on: bool) -> None:
    """Turn ``feature`` on or off; no change is no event."""
    if feature.on(step.state.settings) == on:
        return
    step.persist(feature.key, on)
    step.emit(feature.event_for(on))
    sound_model.confirm(step)


def toggle(step: Step, feature: Feature) -> None:
    """The DND soft key and the menu: the other way round from now (a forward needs a target)."""
    on = not feature.on(step.state.settings)
    if feature.forward_kind is not None:
        on_set_forward(step, ins.SetForward(feature.forward_kind, on))
    else:
        switch(step, feature, on)


def on_set_dnd(step: Step, inp: ins.SetDnd) -> None:
    switch(step, DND, inp.on)


def on_set_call_waiting(step: Step, inp: ins.SetCallWaiting) -> None:
    switch(step, CALL_WAITING, inp.on)


def on_set_forward(step: Step, inp: ins.SetForward) -> None:
    feature = FORWARDS[inp.kind]
    settings = step.state.settings
    known = feature.target(settings)
    target = inp.target if inp.target is not None else known
    if inp.on and not target:
        return step.flash("No forward target")
    if inp.target is not None and inp.target != known and feature.target_key:
        step.persist(feature.target_key, inp.target)
    if feature is BY_NAME["no_answer"] and inp.timeout is not None:
        step.persist(NO_ANSWER_TIMEOUT_KEY, inp.timeout)
    switch(step, feature, inp.on)


def on_settings_changed(step: Step, inp: ins.SettingsChanged) -> None:
    """New settings from elsewhere: announce what they switched, (re-)register accounts."""
    state = step.state
    old, state.settings = state.settings, inp.settings
    # A decision made elsewhere (the web page) answers a prompt still on screen.
    state.prompts = [s for s in state.prompts if trust_key(s) not in state.settings]
    if not state.started:
        return
    # A feature switched from the web page, the console or provisioning is announced
    # like the same switch made on the keypad.
    for event in switched(old, state.settings):
        step.emit(event)
    _register_changed_accounts(step, old, state.settings)
    autop.settings_changed(step, old)


def _register_changed_accounts(step: Step, old: Mapping[str, object],
                               new: Mapping[str, object]) -> None:
    was = {a.index: a for a in enabled_accounts(old)}
    now = {a.index: a for a in enabled_accounts(new)}
    for n in sorted(was.keys() - now.keys()):
        step.send(fx.EngineRegister(n, False))
    for n, acc in sorted(now.items()):
        if was.get(n) != acc:
            step.send(fx.EngineRegister(n, True))


def on_set_account_enabled(step: Step, inp: ins.SetAccountEnabled) -> None:
    step.persist(f"account.{inp.account}.enable", inp.enabled)
    step.send(fx.EngineRegister(inp.account, inp.enabled))
