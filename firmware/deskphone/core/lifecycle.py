"""The phone's own life: starting, the IP address, provisioning, restarts, the board's
parts, and the "Allow Remote Control?" prompt.
"""

from __future__ import annotations

from . import autop, calls
from . import effects as fx
from . import inputs as ins
from .accounts import enabled_accounts
from .step import Step
from .trust import trust_key


def on_start(step: Step, inp: ins.Start) -> None:
    state = step.state
    state.started = True
    step.emit("setup_completed")
    for acc in enabled_accounts(state.settings):
        step.send(fx.EngineRegister(acc.index, True))
    if state.setting("static.auto_provision.power_on", False):
        step.send(fx.StartAutoProvision())
    autop.schedule(step)
    calls.schedule_ticks(step)


def on_ip_changed(step: Step, inp: ins.IpChanged) -> None:
    state = step.state
    if inp.ip != state.ip:
        state.ip = inp.ip
        if state.started:
            step.emit("ip_change")


def on_request_auto_provision(step: Step, inp: ins.RequestAutoProvision) -> None:
    step.state.autop_reboot = step.state.autop_reboot or inp.reboot
    step.flash("Provisioning...")
    step.send(fx.StartAutoProvision())


def on_auto_provision_done(step: Step, inp: ins.AutoProvisionDone) -> None:
    if inp.ok:
        step.emit("setup_autop_finish")
        step.flash("Provisioned")
    else:
        step.flash("Provisioning failed")
    autop.after_run(step, inp.ok)


def on_request_restart(step: Step, inp: ins.RequestRestart) -> None:
    step.flash("Resetting..." if inp.reset else "Rebooting...")
    step.send(fx.Restart(inp.reset))


def on_device_state(step: Step, inp: ins.DeviceState) -> None:
    missing = step.state.missing
    if inp.present:
        missing.pop(inp.device, None)
    else:
        missing[inp.device] = inp.detail


def on_remote_control_ask(step: Step, inp: ins.RemoteControlAsk) -> None:
    state = step.state
    # Asked once per source: repeated requests while it is on screen add nothing.
    if inp.source not in state.prompts and trust_key(inp.source) not in state.settings:
        state.prompts.append(inp.source)


def answer_prompt(step: Step, allow: bool) -> None:
    """OK / X on the "Allow Remote Control?" screen: the first source waiting is decided."""
    source = step.state.prompts.pop(0)
    step.persist(trust_key(source), "allow" if allow else "deny")
    step.flash("Remote control allowed" if allow else "Remote control denied")


# --- timers that only end something shown or heard ---------------------------

def message_over(step: Step) -> None:
    step.state.message = ""


def volume_bar_over(step: Step) -> None:
    step.state.show_volume = False


def progress_tone_over(step: Step) -> None:
    step.state.progress = None
