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


# "Allow Remote Control?" is one question at a time, asked by anyone who may ask: so it
# is held to what a person can answer, not to what a sender can send.
PROMPT_SECONDS = 30.0       # unanswered this long: gone (nothing decided)
PROMPT_GAP = 2.0            # after a prompt ends, no new one for this long (a double tap
#                             of OK lands on the idle screen, never on a next prompt)


def on_remote_control_ask(step: Step, inp: ins.RemoteControlAsk) -> None:
    """Ask the user about ``inp.source``, or drop the request: nothing queues.

    Dropped: while another prompt is up, while any call exists (the prompt never
    covers a call and never takes its OK and X), within ``PROMPT_GAP`` of the
    last prompt, and for a source already decided. The sender asks again later.
    """
    state = step.state
    if state.prompts or state.calls or step.now < state.prompt_quiet_until \
            or trust_key(inp.source) in state.settings:
        return
    state.prompts.append(inp.source)
    step.timer("prompt", PROMPT_SECONDS)


def answer_prompt(step: Step, allow: bool) -> None:
    """OK / X on the "Allow Remote Control?" screen: the source shown is decided."""
    source = step.state.prompts.pop(0)
    end_prompt(step)
    step.persist(trust_key(source), "allow" if allow else "deny")
    step.flash("Remote control allowed" if allow else "Remote control denied")


def end_prompt(step: Step) -> None:
    """The prompt goes (answered, expired, or a call came): nothing more is asked for a while."""
    state = step.state
    state.prompts.clear()
    state.prompt_quiet_until = step.now + PROMPT_GAP
    step.cancel_timer("prompt")


def prompt_over(step: Step) -> None:
    """Timer: the prompt went unanswered; nothing is decided."""
    if step.state.prompts:
        end_prompt(step)


def no_prompt_over_calls(step: Step) -> None:
    """After every input: a call (placed, ringing, any) ends a prompt that is up."""
    if step.state.prompts and step.state.calls:
        end_prompt(step)


# --- timers that only end something shown or heard ---------------------------

def message_over(step: Step) -> None:
    step.state.message = ""


def volume_bar_over(step: Step) -> None:
    step.state.show_volume = False


def progress_tone_over(step: Step) -> None:
    step.state.progress = None
