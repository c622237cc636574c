"""When the phone provisions (core/autop.py): power-on, repeat, weekly, check-sync's reboot.

Pure: the clock is a number, timers are effects, the time zone is fixed (UTC) for
the weekly window's local times.
"""

from __future__ import annotations

import calendar
import os
import time

import pytest

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.autop import REPEAT_TIMER, WEEKLY_TIMER, next_weekly
from deskphone.core.phone import DeviceInfo, Phone

MAC = "001565000001"
# Wednesday 2026-12-02 01:00:00 UTC
WEDNESDAY_1AM = calendar.timegm((2026, 12, 2, 1, 0, 0, 0, 0, 0))


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def start(now: float = WEDNESDAY_1AM, **settings: object) -> tuple[Phone, list[fx.Effect]]:
    phone = Phone(settings, DeviceInfo(MAC, "deskphone", "1.0", "10.0.0.2"))
    return phone, phone.handle(ins.Start(), now)


def timers(effects: list[fx.Effect]) -> dict[str, float]:
    return {e.name: e.delay for e in effects if isinstance(e, fx.StartTimer)
            and e.name in (REPEAT_TIMER, WEEKLY_TIMER)}


def test_power_on_provisions_only_when_asked():
    assert fx.StartAutoProvision() not in start()[1]
    assert fx.StartAutoProvision() in start(**{"static.auto_provision.power_on": True})[1]


def test_repeat_every_n_minutes_counted_from_the_last_run():
    phone, out = start(**{"static.auto_provision.repeat.enable": True,
                          "static.auto_provision.repeat.minutes": 30})
    assert timers(out) == {REPEAT_TIMER: 1800.0}
    fired = phone.handle(ins.TimerFired(REPEAT_TIMER), WEDNESDAY_1AM + 1800)
    assert fx.StartAutoProvision() in fired
    assert timers(fired)[REPEAT_TIMER] == 1800.0
    # The run's end restarts the count (an AutoP press in between moves the next run too).
    done = phone.handle(ins.AutoProvisionDone(True), WEDNESDAY_1AM + 1810)
    assert timers(done)[REPEAT_TIMER] == 1800.0


def test_repeat_off_sets_no_timer_and_cancels_one():
    phone, out = start()
    assert timers(out) == {}
    assert fx.CancelTimer(REPEAT_TIMER) in out and fx.CancelTimer(WEEKLY_TIMER) in out


WEEKLY = {"static.auto_provision.weekly.enable": True,
          "static.auto_provision.weekly.begin_time": "02:00",
          "static.auto_provision.weekly.end_time": "04:00"}


def test_weekly_runs_once_in_the_window_at_a_moment_taken_from_the_mac():
    spread = int(MAC, 16) % (2 * 3600)
    delay = next_weekly(WEDNESDAY_1AM, {**WEEKLY, "static.auto_provision.weekly.dayofweek": "3"},
                        MAC)
    assert delay == 3600 + spread                     # today (Wednesday = 3), 02:00 + spread
    assert 3600 <= delay < 3 * 3600
    other = next_weekly(WEDNESDAY_1AM, WEEKLY | {"static.auto_provision.weekly.dayofweek": "3"},
                        "001565000002")
    assert other == delay + 1                          # the next phone of the fleet: a second on


def test_weekly_picks_the_next_listed_day():
    # Sunday (0) and Monday (1) only: from a Wednesday the next is Sunday, 4 days on.
    settings = {**WEEKLY, "static.auto_provision.weekly.dayofweek": "01"}
    delay = next_weekly(WEDNESDAY_1AM, settings, MAC)
    assert delay is not None
    when = time.gmtime(WEDNESDAY_1AM + delay)
    assert (when.tm_wday, when.tm_hour) in ((6, 2), (6, 3))      # Python: Sunday = 6


def test_weekly_after_todays_window_waits_for_the_next_day():
    late = WEDNESDAY_1AM + 5 * 3600                   # 06:00, after the 02:00-04:00 window
    delay = next_weekly(late, WEEKLY, MAC)              # every day (the default)
    assert delay is not None and time.gmtime(late + delay).tm_mday == 3


def test_weekly_window_across_midnight():
    settings = {**WEEKLY, "static.auto_provision.weekly.begin_time": "23:00",
                "static.auto_provision.weekly.end_time": "01:00"}
    delay = next_weekly(WEDNESDAY_1AM, settings, "000000000000")   # spread 0: at 23:00
    assert delay == 22 * 3600


def test_weekly_timer_fires_a_run_and_sets_the_next():
    phone, out = start(**WEEKLY)
    delay = timers(out)[WEEKLY_TIMER]
    fired = phone.handle(ins.TimerFired(WEEKLY_TIMER), WEDNESDAY_1AM + delay)
    assert fx.StartAutoProvision() in fired
    assert timers(fired)[WEEKLY_TIMER] == pytest.approx(86400, abs=1)   # tomorrow, same time


def test_check_sync_reboot_restarts_after_a_good_set_only():
    phone, _ = start()
    phone.handle(ins.RequestAutoProvision(reboot=True), WEDNESDAY_1AM)
    assert fx.Restart(False) not in phone.handle(ins.AutoProvisionDone(False, "x"),
                                                 WEDNESDAY_1AM + 1)
    phone.handle(ins.RequestAutoProvision(reboot=True), WEDNESDAY_1AM + 2)
    assert fx.Restart(False) in phone.handle(ins.AutoProvisionDone(True), WEDNESDAY_1AM + 3)
    # Without reboot=true (or the AutoP key) a good set restarts nothing.
    phone.handle(ins.RequestAutoProvision(), WEDNESDAY_1AM + 4)
    assert fx.Restart(False) not in phone.handle(ins.AutoProvisionDone(True), WEDNESDAY_1AM + 5)


def test_check_sync_reboot_never_drops_a_call():
    phone, _ = start(**{"account.1.enable": True, "account.1.user_name": "100",
                        "account.1.sip_server.1.address": "pbx.test",
                        "deskphone.hook.debounce_ms": 0})
    phone.handle(ins.CallIncoming("in-1", 1, "sip:201@pbx.test", "Alice"), WEDNESDAY_1AM)
    assert phone.state.calls
    phone.handle(ins.RequestAutoProvision(reboot=True), WEDNESDAY_1AM + 1)
    assert fx.Restart(False) not in phone.handle(ins.AutoProvisionDone(True), WEDNESDAY_1AM + 2)


def test_the_schedule_reads_the_settings_a_run_brought():
    phone, out = start()
    assert timers(out) == {}
    phone.state.settings = {"static.auto_provision.repeat.enable": True,
                            "static.auto_provision.repeat.minutes": 5}
    assert timers(phone.handle(ins.AutoProvisionDone(True), WEDNESDAY_1AM))[REPEAT_TIMER] == 300


def test_time_zone_is_the_phones():
    os.environ["TZ"] = "Europe/Berlin"        # UTC+1 in December: 02:00 local is 01:00 UTC
    time.tzset()
    delay = next_weekly(WEDNESDAY_1AM - 3600, {**WEEKLY, "static.auto_provision.weekly.begin_time":
                                               "02:00"}, "000000000000")
    assert delay == 3600


def test_a_changed_schedule_is_set_again_and_other_changes_leave_it():
    phone, _ = start(**{"static.auto_provision.repeat.enable": True,
                        "static.auto_provision.repeat.minutes": 60})
    later = WEDNESDAY_1AM + 600
    out = phone.handle(ins.SettingsChanged({**phone.settings, "features.dnd.enable": True}), later)
    assert timers(out) == {}                                 # the count runs on
    out = phone.handle(ins.SettingsChanged({**phone.settings,
                                            "static.auto_provision.repeat.minutes": 5}), later)
    assert timers(out) == {REPEAT_TIMER: 300.0}
    out = phone.handle(ins.SettingsChanged({**phone.settings,
                                            "static.auto_provision.repeat.enable": False}), later)
    assert fx.CancelTimer(REPEAT_TIMER) in out
