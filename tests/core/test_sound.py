"""What the user hears, decided by the pure core: tones, routes, volume, mute, bell (no I/O)."""

from __future__ import annotations

import pytest

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.tones import (PLANS, Element, country_of, key_tone, parse_tone, tone_plan)

from test_phone import Harness  # noqa: E402 (tests/core is on sys.path)


def tones(h: Harness) -> list[tuple[str, str, bool]]:
    """(route, tone, overlay) of every PlayTone in the last step."""
    return [(e.route, e.tone, e.overlay) for e in h.of(fx.PlayTone)]


def press(h: Harness, key: str) -> list[fx.Effect]:
    return h.send(ins.KeyPress(key))


def stops(h: Harness) -> list[str]:
    return [e.route for e in h.of(fx.StopTone)]


# ------------------------------------------------------------- tone strings

@pytest.mark.parametrize("text, cadence", [
    ("350+440", (Element((350, 440), 0),)),
    ("350+440/0", (Element((350, 440), 0),)),
    ("480+620/500,0/500", (Element((480, 620), 500), Element((), 500))),
    ("!950/330, !1400/330,0", (Element((950,), 330, True), Element((1400,), 330, True),
                              Element((), 0))),
    ("600+700+800+1000/2000", (Element((600, 700, 800, 1000), 2000),)),
])
def test_yealink_tone_strings(text, cadence):
    assert parse_tone(text) == cadence


@pytest.mark.parametrize("text", ["", "abc", "440/", "1+2+3+4+5/100", "440/30001",
                                  ",".join(["440/100"] * 9), "9000/100"])
def test_bad_tone_strings(text):
    with pytest.raises(ValueError):
        parse_tone(text)


def test_plans_per_country_and_custom_override():
    assert country_of("United States") == country_of("us") == "United States"
    assert country_of("Custom") == country_of("") == country_of("Japan") == "default"
    assert tone_plan({})["dial"] == (Element((425,), 0),)
    assert tone_plan({"voice.tone.country": "Great Britain"})["busy"] == (
        Element((400,), 375), Element((), 375))
    assert tone_plan({"voice.tone.country": "France"})["dial"] == (Element((440,), 0),)
    de = tone_plan({"voice.tone.country": "Germany", "voice.tone.dial": "350+440/0"})
    assert de["dial"] == (Element((350, 440), 0),)                  # the one override
    assert de["busy"] == (Element((425,), 480), Element((), 480))   # the rest: the plan
    for plan in PLANS:
        assert set(tone_plan({"voice.tone.country": plan if plan != "default" else ""})) == {
            "dial", "ringback", "busy", "congestion", "unavailable", "call_waiting", "confirm",
            "ring"}


def test_key_tones_are_the_dtmf_pairs():
    assert key_tone("1") == (Element((697, 1209), 100, True),)
    assert key_tone("#") == (Element((941, 1477), 100, True),)


# ------------------------------------------------------------- dial and keys

def test_dial_tone_from_off_hook_until_the_first_digit():
    h = Harness(**{"voice.tone.country": "United States"})
    h.send(ins.HookChanged(True))
    [play] = h.of(fx.PlayTone)
    assert (play.route, play.tone, play.overlay) == ("handset", "dial", False)
    assert play.cadence == (Element((350, 440), 0),)
    assert fx.EngineRoute("handset") in h.out
    h.keys("2")
    assert tones(h) == [("handset", "key", True)]
    assert h.of(fx.PlayTone)[0].cadence == key_tone("2")
    assert stops(h) == ["handset"]
    h.keys("01")
    assert tones(h) == [("handset", "key", True), ("handset", "key", True)]
    assert stops(h) == []
    press(h, "LEFT")                         # deleting digits brings no dial tone back
    assert tones(h) == []


def test_no_key_tones_when_switched_off():
    h = Harness(**{"features.key_tone": False})
    h.send(ins.HookChanged(True))
    h.keys("5")
    assert tones(h) == [] and stops(h) == ["handset"]


def test_handsfree_dial_tone_and_idle_predial():
    h = Harness()
    press(h, "SPEAKER")
    assert tones(h) == [("speaker", "dial", False)]
    press(h, "X")
    assert stops(h) == ["speaker"]
    h.keys("7")                             # predialing on an idle phone: key tone only
    assert tones(h) == [("speaker", "key", True)]


def test_hanging_up_stops_the_dial_tone():
    h = Harness()
    h.send(ins.HookChanged(True))
    h.send(ins.HookChanged(False))
    assert stops(h) == ["handset"]


# ------------------------------------------------------------------ progress

def dial_out(h: Harness, number: str = "201") -> str:
    h.send(ins.HookChanged(True))
    h.keys(number + "#")
    [dial] = h.of(fx.EngineDial)
    h.send(ins.CallOutgoing(dial.ref, "out-1", f"sip:{number}@pbx.test"))
    return "out-1"


def test_ringback_only_once_the_far_end_rings():
    h = Harness()
    dial_out(h)
    assert tones(h) == []                                   # 100 Trying: silence
    h.send(ins.CallRinging("out-1"))
    assert tones(h) == [("handset", "ringback", False)]
    assert h.of(fx.PlayTone)[0].cadence == tone_plan({})["ringback"]
    h.send(ins.CallEstablished("out-1"))
    assert stops(h) == ["handset"]


def test_no_ringback_with_early_media():
    h = Harness()
    dial_out(h)
    h.send(ins.CallRinging("out-1"))
    h.send(ins.CallRinging("out-1", early_media=True))      # 180, then 183 with SDP
    assert stops(h) == ["handset"]
    h.send(ins.CallRinging("out-1"))
    assert tones(h) == []


@pytest.mark.parametrize("reason, detail, tone", [
    ("busy", "486 Busy Here", "busy"),
    ("declined", "603 Decline", "busy"),
    ("declined", "404 Not Found", "unavailable"),
    ("declined", "503 Service Unavailable", "congestion"),
    ("error", "", "congestion"),
])
def test_progress_tone_after_a_failed_call(reason, detail, tone):
    h = Harness(**{"features.busy_tone_delay": 3})
    dial_out(h)
    h.send(ins.CallRinging("out-1"))
    h.send(ins.CallClosed("out-1", reason, detail))
    assert tones(h) == [("handset", tone, False)]
    assert fx.StartTimer("progress", 3.0) in h.out
    h.send(ins.TimerFired("progress"))
    assert tones(h) == [("handset", "dial", False)]         # still off hook: dial tone again


def test_busy_tone_on_the_speaker_ends_by_itself_or_with_a_key():
    h = Harness()
    press(h, "SPEAKER")
    h.keys("202#")
    [dial] = h.of(fx.EngineDial)
    h.send(ins.CallOutgoing(dial.ref, "out-1", "sip:202@pbx.test"))
    h.send(ins.CallClosed("out-1", "busy", "486 Busy Here"))
    assert tones(h) == [("speaker", "busy", False)]
    assert h.phone.audio is None                           # the call is gone; the tone plays on
    press(h, "VOLUME_DOWN")                                  # adjusts the busy tone, ends nothing
    assert stops(h) == [] and h.of(fx.Persist) == [fx.Persist("deskphone.volume.speaker", 7)]
    press(h, "X")
    assert stops(h) == ["speaker"]


def test_far_end_hanging_up_plays_busy_tone():
    h = Harness()
    call_id = h.outgoing()
    h.send(ins.CallClosed(call_id, "normal"))
    assert tones(h) == [("handset", "busy", False)]


def test_no_busy_tone_with_delay_zero():
    h = Harness(**{"features.busy_tone_delay": 0})
    call_id = h.outgoing()
    h.send(ins.CallClosed(call_id, "normal"))
    assert tones(h) == [("handset", "dial", False)]


# ------------------------------------------------------------------- ringing

def test_ring_on_the_loudspeaker_with_the_bell_and_stopped_on_answer():
    h = Harness()
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    assert tones(h) == [("speaker", "ring", False)]
    [bell] = h.of(fx.Bell)
    assert bell.cadence == tone_plan({})["ring"] and bell.cadence
    h.send(ins.HookChanged(True))
    assert stops(h) == ["speaker"] and h.of(fx.Bell) == [fx.Bell(())]
    assert h.out.index(fx.EngineRoute("handset")) < h.out.index(fx.EngineAnswer("in-1"))


@pytest.mark.parametrize("end", [
    ins.KeyPress("X"),                                   # reject
    ins.CallClosed("in-1", "canceled"),                  # the caller gives up
    ins.EndCall(),                                       # remote CALLEND
])
def test_ringing_stops_at_once(end):
    h = Harness()
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    h.send(end)
    assert stops(h) == ["speaker"] and fx.Bell(()) in h.out


def test_silent_under_dnd():
    h = Harness(**{"features.dnd.enable": True})
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    assert tones(h) == [] and h.of(fx.Bell) == []
    assert fx.EngineHangup("in-1", 480) in h.out


def test_call_waiting_tone_in_a_call_instead_of_ringing():
    h = Harness()
    h.outgoing()
    h.send(ins.CallIncoming("in-2", 1, "sip:300@pbx.test"))
    assert tones(h) == [("handset", "call_waiting", False)]
    assert h.of(fx.Bell) == []
    assert h.of(fx.PlayTone)[0].cadence == tone_plan({})["call_waiting"]
    h.send(ins.CallClosed("in-2", "canceled"))
    assert stops(h) == ["handset"]


def test_ring_volume_is_its_own():
    h = Harness(**{"deskphone.volume.ring": 3, "deskphone.volume.speaker": 12})
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    assert fx.SetVolume("speaker", 3) in h.out
    press(h, "VOLUME_UP")
    assert fx.Persist("deskphone.volume.ring", 4) in h.out
    assert fx.SetVolume("speaker", 4) in h.out
    assert h.phone.screen.bar == 4
    press(h, "OK")                                         # answered handsfree: call volume
    assert fx.SetVolume("speaker", 12) in h.out
    press(h, "VOLUME_DOWN")
    assert fx.Persist("deskphone.volume.speaker", 11) in h.out
    assert h.phone.volume_level("ring") == 4


def test_volume_targets_what_is_active():
    h = Harness()
    press(h, "VOLUME_UP")                                  # idle: key tones
    assert h.of(fx.Persist) == [fx.Persist("deskphone.volume.tones", 9)]
    assert fx.SetVolume("speaker", 9) in h.out
    h.send(ins.HookChanged(True))
    press(h, "VOLUME_DOWN")                                # handset in use
    assert h.of(fx.Persist) == [fx.Persist("deskphone.volume.handset", 7)]
    assert fx.SetVolume("handset", 7) in h.out
    for _ in range(20):
        press(h, "VOLUME_DOWN")
    assert h.phone.volume_level("handset") == 0 and h.phone.screen.bar == 0
    press(h, "HEADSET")
    press(h, "VOLUME_UP")
    assert h.of(fx.Persist) == [fx.Persist("deskphone.volume.headset", 9)]


def test_levels_sent_at_start_from_the_settings():
    from deskphone.core.phone import DeviceInfo, Phone
    phone = Phone({"deskphone.volume.handset": 2, "deskphone.volume.tones": 5},
                  DeviceInfo("001565000001", "deskphone", "1.0"))
    out = phone.handle(ins.Start(), 0.0)
    assert {e for e in out if isinstance(e, fx.SetVolume)} == {
        fx.SetVolume("handset", 2), fx.SetVolume("speaker", 5), fx.SetVolume("headset", 8)}
    assert {e for e in out if isinstance(e, fx.SetMicMute)} == {
        fx.SetMicMute(r, False) for r in ("handset", "speaker", "headset")}


# ------------------------------------------------------------------- routing

def test_routes_follow_the_hook_and_the_keys():
    h = Harness()
    h.send(ins.CallIncoming("in-1", 1, "sip:300@pbx.test"))
    press(h, "SPEAKER")                                   # answer handsfree: Handfree event
    assert h.out[0] == fx.EngineRoute("speaker") and "handfree" in h.events()
    h.send(ins.HookChanged(True))                       # lifting the handset takes the call
    assert fx.EngineRoute("handset") in h.out and "call_established" not in h.events()
    press(h, "HEADSET")
    assert fx.EngineRoute("headset") in h.out and "headset" in h.events()
    press(h, "SPEAKER")
    assert fx.EngineRoute("speaker") in h.out
    h.send(ins.HookChanged(False))                      # hanging up in handsfree: call goes on
    assert h.phone.calls and "call_terminated" not in h.events()
    assert fx.EngineRoute("speaker") not in h.out       # no change, no command


def test_mute_follows_the_route():
    h = Harness()
    h.outgoing()
    press(h, "MUTE")
    assert h.of(fx.SetMicMute) == [fx.SetMicMute("handset", True)]
    press(h, "SPEAKER")
    assert set(h.of(fx.SetMicMute)) == {fx.SetMicMute("handset", False),
                                         fx.SetMicMute("speaker", True)}
    press(h, "MUTE")
    assert h.of(fx.SetMicMute) == [fx.SetMicMute("speaker", False)]


def test_confirmation_tone_for_feature_changes():
    h = Harness()
    h.send(ins.SetDnd(True))
    assert tones(h) == [("speaker", "confirm", True)]
    h.send(ins.SetDnd(True))                            # no change: no tone
    assert tones(h) == []
    h.send(ins.SetForward("always", True, "300"))
    assert tones(h) == [("speaker", "confirm", True)]
    h.send(ins.SetCallWaiting(False))
    assert tones(h) == [("speaker", "confirm", True)]


def test_engine_restart_sends_the_route_again():
    h = Harness()
    h.send(ins.HookChanged(True))
    h.send(ins.EngineState(False))
    h.send(ins.EngineState(True))
    assert fx.EngineRoute("handset") in h.out
