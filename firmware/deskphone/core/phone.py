"""The phone: a sans-I/O state machine from inputs to effects.

``Phone.handle(input, now)`` applies one input and returns the effects it
causes. It never sleeps, reads a clock or touches a device: time comes in as
``now`` (wall-clock seconds) and timers go out as ``StartTimer`` effects.

This is only the facade. The phone's state is ``state.PhoneState``; the models
that change it are ``calls`` (the call model and the engine's events),
``controls`` (keys, menu, hook, dialing), ``feature_control`` (DND, forwards,
call waiting), ``sound_model`` and ``lifecycle``; ``outputs`` derives the
busy events, screen, LEDs, status and sounds after each input. Which handler
takes an input is decided by the input's type, from ``HANDLERS``; an input of
any other type is refused with ``UnknownInput``.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Mapping, TypeVar, overload

from ..errors import UnknownInput
from . import autop, calls, controls, feature_control, lifecycle, outputs, sound_model
from . import effects as fx
from . import inputs as ins
from . import records, xml_browser
from . import blf_control
from .blf import DialogChanged
from .call_log import CallLogLoaded, ClearCallLog
from .directory import DirectoryLoaded, SetLocalDirectory
from .xml_objects import PushXml, XmlLed
from . import voicemail_control as voicemail
from .voicemail import VoicemailChanged
from .screens import Screen, build_screen
from .state import (DEFAULT_VOLUME, ROUTES, VOLUME_CONTEXTS, VOLUME_STEPS, Call, CallState,
                    DeviceInfo, DialBuffer, Menu, PhoneState)
from .step import Step, variables

__all__ = ["Phone", "HANDLERS", "TIMERS", "DeviceInfo", "Call", "CallState", "DialBuffer",
           "Menu", "PhoneState", "DEFAULT_VOLUME", "ROUTES", "VOLUME_CONTEXTS", "VOLUME_STEPS"]

Handler = Callable[[Step, Any], None]

# Named timers and what their firing means; "noanswer:<ref>" carries the call's ref.
TIMERS: dict[str, Callable[[Step], None]] = {
    "tick": calls.schedule_ticks,
    "message": lifecycle.message_over,
    "volume": lifecycle.volume_bar_over,
    "progress": lifecycle.progress_tone_over,
    "dial": controls.dial_timeout,
    "hook": controls.hook_settled,
    autop.REPEAT_TIMER: autop.repeat_due,
    autop.WEEKLY_TIMER: autop.weekly_due,
    "prompt": lifecycle.prompt_over,
}
NO_ANSWER_TIMER = "noanswer:"


def on_timer_fired(step: Step, inp: ins.TimerFired) -> None:
    run = TIMERS.get(inp.name)
    if run is not None:
        run(step)
    elif inp.name.startswith(NO_ANSWER_TIMER):
        calls.no_answer_timeout(step, inp.name[len(NO_ANSWER_TIMER):])
    else:
        xml_browser.on_timer(step, inp.name)


HANDLERS: dict[type, Handler] = {
    # the phone's own life
    ins.Start: lifecycle.on_start,
    ins.TimerFired: on_timer_fired,
    ins.SettingsChanged: feature_control.on_settings_changed,
    ins.IpChanged: lifecycle.on_ip_changed,
    ins.AutoProvisionDone: lifecycle.on_auto_provision_done,
    ins.RequestAutoProvision: lifecycle.on_request_auto_provision,
    ins.RequestRestart: lifecycle.on_request_restart,
    ins.RemoteControlAsk: lifecycle.on_remote_control_ask,
    ins.DeviceState: lifecycle.on_device_state,
    # what the phone shows and remembers (core.records, core.xml_browser)
    CallLogLoaded: records.on_call_log_loaded,
    ClearCallLog: records.on_clear_call_log,
    DirectoryLoaded: records.on_directory_loaded,
    SetLocalDirectory: records.on_set_local_directory,
    PushXml: xml_browser.on_push,
    XmlLed: xml_browser.on_xml_led,
    VoicemailChanged: voicemail.on_voicemail_changed,   # message-summary (core.voicemail_control)
    DialogChanged: blf_control.on_dialog_changed,     # BLF line keys (core.blf_control)
    # the person at the phone
    ins.KeyPress: controls.on_key_press,
    ins.HookChanged: controls.on_hook_changed,
    # remote control with no single key
    ins.Dial: calls.on_dial,
    ins.Answer: calls.on_answer,
    ins.EndCall: calls.on_end_call,
    ins.SetHold: calls.on_set_hold,
    ins.Transfer: calls.on_transfer,
    ins.SetDnd: feature_control.on_set_dnd,
    ins.SetForward: feature_control.on_set_forward,
    ins.SetCallWaiting: feature_control.on_set_call_waiting,
    ins.SetAccountEnabled: feature_control.on_set_account_enabled,
    # the telephony engine
    ins.EngineState: calls.on_engine_state,
    ins.RegState: calls.on_reg_state,
    ins.CallOutgoing: calls.on_call_outgoing,
    ins.CallIncoming: calls.on_call_incoming,
    ins.CallRinging: calls.on_call_ringing,
    ins.CallEstablished: calls.on_call_established,
    ins.CallClosed: calls.on_call_closed,
    ins.CallRemoteHold: calls.on_call_remote_hold,
    ins.TransferResult: calls.on_transfer_result,
}


T = TypeVar("T")


class _FromState(Generic[T]):
    """A Phone attribute that is the state's attribute of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, phone: None, owner: type) -> "_FromState[T]": ...
    @overload
    def __get__(self, phone: "Phone", owner: type) -> T: ...

    def __get__(self, phone: "Phone | None", owner: type) -> "T | _FromState[T]":
        if phone is None:
            return self
        return getattr(phone.state, self.name)  # type: ignore[no-any-return]

    def __set__(self, phone: "Phone", value: T) -> None:
        setattr(phone.state, self.name, value)


class Phone:
    # What other modules and tests read of the phone, kept in ``self.state``.
    settings = _FromState[Mapping[str, object]]()
    device = _FromState[DeviceInfo]()
    ip = _FromState[str]()
    started = _FromState[bool]()
    hook_off = _FromState[bool]()
    audio = _FromState[str | None]()
    dial = _FromState[DialBuffer | None]()
    calls = _FromState[list[Call]]()
    focus = _FromState[str | None]()
    menu = _FromState[Menu | None]()
    prompts = _FromState[list[str]]()
    regs = _FromState[dict[int, str]]()
    engine_up = _FromState[bool]()
    missing = _FromState[dict[str, str]]()
    missed = _FromState[int]()
    last_number = _FromState[str]()
    volume = _FromState[int]()
    show_volume = _FromState[bool]()
    message = _FromState[str]()
    now = _FromState[float]()
    progress = _FromState[tuple[str, str] | None]()

    def __init__(self, settings: Mapping[str, object], device: DeviceInfo) -> None:
        self.state = PhoneState(settings=settings, device=device, ip=device.ip)
        self._pending: Step | None = None    # the last react's step, until settle

    def handle(self, inp: ins.Input, now: float) -> list[fx.Effect]:
        """All the effects of ``inp``: those of ``react`` and then those of ``settle``."""
        return self.react(inp, now) + self.settle()

    def react(self, inp: ins.Input, now: float) -> list[fx.Effect]:
        """What ``inp`` itself causes: commands, timers, its events (the busy ones too).

        The devices (screen, LEDs, status, sounds) are left for ``settle``, so that the
        runtime can write an event's Action URL before it works them out: they are most
        of an input's time. ``settle`` must follow before the next ``react``.
        """
        handler = HANDLERS.get(type(inp))
        if handler is None:
            raise UnknownInput(f"not a phone input: {type(inp).__qualname__} ({inp!r})")
        state = self.state
        state.now = now
        step = Step(state)
        if state.progress is not None and sound_model.ends_progress_tone(inp):
            sound_model.end_progress(step)
        inp, calls_before = records.before(state, inp)
        handler(step, inp)
        blf_control.sync(state)          # the BLF keys as the settings have them now
        records.after(step, inp, calls_before)
        xml_browser.after(step, inp)
        lifecycle.no_prompt_over_calls(step)
        if state.started:
            outputs.events_and_route(step)
        out, step.out = step.out, []
        self._pending = step
        return out

    def settle(self) -> list[fx.Effect]:
        """The devices' effects after the last ``react`` (nothing the second time)."""
        step, self._pending = self._pending, None
        if step is None or not self.state.started:
            return []
        outputs.devices(step)
        return step.out

    @property
    def screen(self) -> Screen:
        return build_screen(self.state, self.state.now)

    @property
    def busy(self) -> bool:
        return self.state.busy

    @property
    def focused(self) -> Call | None:
        return self.state.focused

    def variables(self, call: Call | None = None,
                  account_index: int | None = None) -> dict[str, str]:
        """The 14 Yealink variables for an event about ``call`` (or about an account)."""
        return variables(self.state, call, account_index)

    def volume_level(self, context: str) -> int:
        return self.state.volume_level(context)

    def wanted_tones(self) -> dict[str, str]:
        return sound_model.wanted_tones(self.state)

    def volume_context(self) -> str:
        return sound_model.volume_context(self.state)
