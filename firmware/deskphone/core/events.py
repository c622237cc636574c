"""The catalogue of Yealink Action URL events: one table, everything else derives from it.

Each row is (id, display name, description). The id is the suffix of the
Yealink configuration key, so ``action_url.<id>`` is the key that holds the URL
for that event. Names and descriptions are Yealink's own wording; the order is
the order of the Yealink web page (Features > Action URL), with Held and UnHeld
(which the web page does not list) after UnHold as in the configuration
reference.
"""

from __future__ import annotations

from dataclasses import dataclass

CFG_PREFIX = "action_url."


@dataclass(frozen=True)
class EventSpec:
    id: str
    name: str
    description: str

    @property
    def cfg_key(self) -> str:
        return CFG_PREFIX + self.id


_TABLE: tuple[tuple[str, str, str], ...] = (
    ("setup_completed", "Setup Completed", "When the IP phone completes startup."),
    ("registered", "Registered", "When the IP phone successfully registers an account."),
    ("unregistered", "Unregistered", "When the IP phone logs off the registered account."),
    ("register_failed", "Register Failed", "When the IP phone fails to register an account."),
    ("off_hook", "Off Hook", "When the IP phone is off hook."),
    ("on_hook", "On Hook", "When the IP phone is on hook."),
    ("incoming_call", "Incoming Call", "When the IP phone receives an incoming call."),
    ("outgoing_call", "Outgoing Call", "When the IP phone places a call."),
    ("call_established", "Established", "When the IP phone establishes a call."),
    ("call_terminated", "Terminated", "When the IP phone terminates a call."),
    ("dnd_on", "Open DND", "When the IP phone enables the DND mode."),
    ("dnd_off", "Close DND", "When the IP phone disables the DND mode."),
    ("always_fwd_on", "Open Always Forward", "When the IP phone enables the always forward."),
    ("always_fwd_off", "Close Always Forward", "When the IP phone disables the always forward."),
    ("busy_fwd_on", "Open Busy Forward", "When the IP phone enables the busy forward."),
    ("busy_fwd_off", "Close Busy Forward", "When the IP phone disables the busy forward."),
    ("no_answer_fwd_on", "Open NoAnswer Forward",
     "When the IP phone enables the no answer forward."),
    ("no_answer_fwd_off", "Close NoAnswer Forward",
     "When the IP phone disables the no answer forward."),
    ("transfer_call", "Transfer Call", "When the IP phone transfers a call."),
    ("blind_transfer_call", "Blind Transfer", "When the IP phone blind transfers a call."),
    ("attended_transfer_call", "Attended Transfer",
     "When the IP phone performs the semi-attended/attended transfer."),
    ("hold", "Hold", "When the IP phone places a call on hold."),
    ("unhold", "UnHold", "When the IP phone resumes a hold call."),
    ("held", "Held", "When a call of the IP phone is held."),
    ("unheld", "UnHeld", "When a held call is resumed."),
    ("mute", "Mute", "When the IP phone mutes a call."),
    ("unmute", "UnMute", "When the IP phone un-mutes a call."),
    ("missed_call", "Missed Call", "When the IP phone misses a call."),
    ("ip_change", "IP Changed", "When the IP address of the IP phone changes."),
    ("idle_to_busy", "Idle To Busy", "When the state of the IP phone changes from idle to busy."),
    ("busy_to_idle", "Busy To Idle", "When the state of phone changes from busy to idle."),
    ("reject_incoming_call", "Reject Incoming Call", "When the IP phone rejects an incoming call."),
    ("answer_new_incoming_call", "Answer New-In Call", "When the IP phone answers a new call."),
    ("transfer_failed", "Transfer Failed", "When the IP phone fails to transfer a call."),
    ("transfer_finished", "Transfer Finished", "When the IP phone completes to transfer a call."),
    ("forward_incoming_call", "Forward Incoming Call",
     "When the IP phone forwards an incoming call."),
    ("setup_autop_finish", "Autop Finish",
     "When the IP phone completes auto provisioning via power on."),
    ("call_waiting_on", "Open Call Waiting", "When the IP phone enables the call waiting."),
    ("call_waiting_off", "Close Call Waiting", "When the IP phone disables the call waiting."),
    ("headset", "Headset", "When the IP phone presses the HEADSET key."),
    ("handfree", "Handfree", "When the IP phone presses the Speakerphone key."),
    ("cancel_callout", "Cancel Call Out",
     "When the IP phone cancels an outgoing call in the ring-back state."),
    ("remote_busy", "Remote Busy", "When an outgoing call is rejected."),
    ("call_remote_canceled", "Call Remote Canceled",
     "When the remote party cancels the outgoing call in the ringing state."),
)

EVENTS: tuple[EventSpec, ...] = tuple(EventSpec(*row) for row in _TABLE)
BY_ID: dict[str, EventSpec] = {e.id: e for e in EVENTS}
BY_CFG_KEY: dict[str, EventSpec] = {e.cfg_key: e for e in EVENTS}

# The variables of an Action URL, in the order of the Yealink table.
VARIABLES: tuple[str, ...] = (
    "mac", "ip", "model", "firmware", "active_url", "active_user", "active_host",
    "local", "remote", "display_local", "display_remote", "call_id", "callerID",
    "calledNumber",
)


def spec(event_id: str) -> EventSpec:
    """The catalogue row of ``event_id``; KeyError names the id when it is not an event."""
    try:
        return BY_ID[event_id]
    except KeyError:
        raise KeyError(f"not an Action URL event: {event_id!r}") from None
