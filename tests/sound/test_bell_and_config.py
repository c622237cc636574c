"""The GPIO bell follows the ring cadence (gpiozero's MockFactory pins); the [sound] section."""

from __future__ import annotations

import time

import pytest

gpiozero = pytest.importorskip("gpiozero")  # the test extra installs it

from gpiozero.pins.mock import MockFactory  # noqa: E402

from deskphone.config.board import load_board  # noqa: E402
from deskphone.core.tones import parse_tone, tone_plan  # noqa: E402
from deskphone.errors import BoardError  # noqa: E402
from deskphone.sound.bell import GpioBell, on_off  # noqa: E402
from deskphone.config.board_sound import parse_sound  # noqa: E402


def test_ring_cadence_as_bell_stretches():
    ring = tone_plan({"voice.tone.country": "Great Britain"})["ring"]    # warble, 0.4/0.2/0.4/2
    assert on_off(ring) == [(True, pytest.approx(0.4)), (False, 0.2), (True, pytest.approx(0.4)),
                            (False, 2.0)]


def test_bell_rings_in_cadence_and_stops_at_once():
    factory = MockFactory()
    bell = GpioBell(21, pin_factory=factory)
    pin = factory.pin(21)
    try:
        pin.clear_states()
        t0 = time.monotonic()
        bell.ring(parse_tone("1/150,0/100"))
        time.sleep(0.62)
        bell.ring(())
        stopped = time.monotonic()
        time.sleep(0.05)
        assert pin.state == 0
        # MockPin timestamps are the time since the change before: add them up.
        clock, states = 0.0, []
        for s in pin.states:
            clock += s.timestamp
            states.append((round(clock, 3), s.state))
        ons = [t for t, s in states if s]
        offs = [t for t, s in states[1:] if not s]
        # On at 0, 0.25, 0.5 s (each 150 ms), off in between and when told.
        assert len(ons) == 3, states
        for got, want in zip(ons, (0.0, 0.25, 0.5)):
            assert abs(got - ons[0] - want) < 0.06
        assert abs(offs[0] - ons[0] - 0.15) < 0.06
        assert offs[-1] - ons[0] < stopped - t0 + 0.05
    finally:
        bell.close()


def test_active_low_bell():
    factory = MockFactory()
    bell = GpioBell(22, active_high=False, pin_factory=factory)
    try:
        assert factory.pin(22).state == 1                 # idle: high, the bell is off
        bell.ring(parse_tone("1/0"))                      # on until stopped
        time.sleep(0.05)
        assert factory.pin(22).state == 0
    finally:
        bell.close()


@pytest.mark.parametrize("raw, key", [
    ({"handset": "a b"}, "sound.handset"),
    ({"handset": "hw:0", "handset_volume": "PCM"}, "sound.handset_volume"),   # no mixer
    ({"headset_mic": "x"}, "sound.headset_mic"),                              # no headset
    ({"bell_pin": 99}, "sound.bell_pin"),
    ({"srate": 4000}, "sound.srate"),
    ({"ringer": "x"}, "sound"),
])
def test_sound_section_errors_name_the_key(raw, key, tmp_path):
    board = tmp_path / "b.toml"
    lines = [f"{k} = {v!r}".replace("'", '"') for k, v in raw.items()]
    board.write_text('[board]\nkind = "pi"\n[sound]\n' + "\n".join(lines) + "\n")
    with pytest.raises(BoardError) as err:
        load_board(board)
    assert err.value.key == key


def test_sound_section_defaults_and_fallbacks():
    pi = parse_sound({}, simulated=False)
    assert pi.routes["handset"].playback == pi.routes["speaker"].playback == "default"
    assert pi.device("headset").route == "speaker"          # no headset: the loudspeaker
    assert parse_sound({}, simulated=True).routes == {}
    legacy = parse_sound({"player": "alsa,plughw:1,0", "source": "alsa,dsnoop:1"},
                         simulated=False)
    assert legacy.routes["handset"].playback == "plughw:1,0"
    assert legacy.routes["handset"].capture == "dsnoop:1"
    full = parse_sound({"handset": "h", "speaker": "s", "speaker_mic": "m", "mixer": "hw:1",
                        "speaker_volume": "Speaker", "speaker_mic_switch": "Mic",
                        "srate": 16000, "channels": 2}, simulated=True)
    assert full.routes["speaker"].capture == "m" and full.routes["handset"].capture == "h"
    assert (full.srate, full.channels, full.mixer) == (16000, 2, "hw:1")
