"""When the phone provisions itself, as Yealink's ``static.auto_provision.*`` keys say.

  * at power-on with ``power_on = 1`` (core/lifecycle.py's Start);
  * on the AutoP key, the console's ``autop`` and a ``check-sync`` NOTIFY
    (``RequestAutoProvision``; ``reboot=true`` restarts after a good set, never
    in the middle of a call);
  * every ``repeat.minutes`` with ``repeat.enable = 1``, counted from the last run;
  * weekly with ``weekly.enable = 1``: on the days of ``weekly.dayofweek`` (digits,
    0 = Sunday ... 6 = Saturday), once between ``weekly.begin_time`` and
    ``weekly.end_time`` (local time, HH:MM; an end at or before the beginning runs
    past midnight). Yealink picks a random moment of that window so that a fleet does
    not ask all at once; this phone picks a moment from its MAC address, so it is
    spread the same way and the same each week.

Timers are effects: the core decides when, the runtime's timer fires, the adapter
(net/provisioning.py) fetches. The schedule is set at start, after every run and
when its keys change.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

from . import effects as fx
from .step import Step

REPEAT_TIMER = "autop_repeat"
WEEKLY_TIMER = "autop_weekly"
_DAY = 86400


def _minutes(text: object, default: int) -> int:
    try:
        hours, minutes = str(text).split(":")
        return int(hours) * 60 + int(minutes)
    except ValueError:
        return default


def next_weekly(now: float, settings: Mapping[str, object], mac: str,
                localtime: Callable[[float], time.struct_time] = time.localtime) -> float | None:
    """Seconds from ``now`` to the next weekly run, or None when weekly runs are off."""
    if not settings.get("static.auto_provision.weekly.enable", False):
        return None
    days = {int(c) for c in str(settings.get("static.auto_provision.weekly.dayofweek", ""))
            if c in "0123456"} or set(range(7))
    begin = _minutes(settings.get("static.auto_provision.weekly.begin_time"), 0)
    end = _minutes(settings.get("static.auto_provision.weekly.end_time"), 0)
    window = ((end - begin) % 1440 or 1440) * 60          # seconds; 0 means the whole day
    try:
        spread = int(mac, 16) % window
    except ValueError:
        spread = 0
    today = localtime(now)
    midnight = now - (today.tm_hour * 3600 + today.tm_min * 60 + today.tm_sec)
    for ahead in range(8):
        day = localtime(midnight + ahead * _DAY + 43200)      # noon: clear of DST shifts
        if (day.tm_wday + 1) % 7 not in days:                  # Python: Monday = 0
            continue
        start = _midnight(day) + begin * 60 + spread
        if start > now + 1:
            return start - now
    return None


def _midnight(day: time.struct_time) -> float:
    return time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))


def schedule(step: Step) -> None:
    """Set (or cancel) the repeat and weekly timers from the settings now."""
    state = step.state
    if state.setting("static.auto_provision.repeat.enable", False):
        minutes = max(1, state.number("static.auto_provision.repeat.minutes", 1440))
        step.timer(REPEAT_TIMER, minutes * 60.0)
    else:
        step.cancel_timer(REPEAT_TIMER)
    delay = next_weekly(step.now, state.settings, state.device.mac)
    if delay is None:
        step.cancel_timer(WEEKLY_TIMER)
    else:
        step.timer(WEEKLY_TIMER, delay)


SCHEDULE_KEYS = tuple(f"static.auto_provision.{k}" for k in (
    "repeat.enable", "repeat.minutes", "weekly.enable", "weekly.begin_time", "weekly.end_time",
    "weekly.dayofweek"))


def settings_changed(step: Step, old: Mapping[str, object]) -> None:
    """New settings (web page, console, provisioning): a changed schedule is set again.

    Only then: a repeat count is not restarted by every unrelated change.
    """
    new = step.state.settings
    if any(old.get(k) != new.get(k) for k in SCHEDULE_KEYS):
        schedule(step)


def repeat_due(step: Step) -> None:
    step.send(fx.StartAutoProvision())
    schedule(step)


def weekly_due(step: Step) -> None:
    step.send(fx.StartAutoProvision())
    schedule(step)


def after_run(step: Step, ok: bool) -> None:
    """A run ended: restart if a check-sync asked for it and the set was good; schedule."""
    state = step.state
    reboot, state.autop_reboot = state.autop_reboot, False
    if ok and reboot and not state.calls:
        step.flash("Rebooting...")
        step.send(fx.Restart(False))
    schedule(step)
