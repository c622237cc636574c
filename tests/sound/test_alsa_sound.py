"""The sound adapter on real ALSA: devices of a temporary asoundrc (support/sound_lab.py).

What is played is recorded by alsa-lib's file plugin; the assertions are on the
recordings (spectrum, timing) and on the mixer as another program (amixer) sees it.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from deskphone.core import effects as fx
from deskphone.core.tones import key_tone, tone_plan
from deskphone.config.board_sound import parse_sound
from deskphone.sound.mixer import AlsaMixer
from deskphone.sound.output import AlsaSound
from deskphone.sound.player import RoutePlayer
from support.sound_lab import amplitude, on_intervals, peaks
from support.sound_lab_fixtures import sound_lab, sound_plugin  # noqa: F401

RATE = 16000
US = tone_plan({"voice.tone.country": "United States"})


def board(**extra):
    raw = {"handset": "handset", "speaker": "speaker", "headset": "headset", "srate": RATE,
           "channels": 1, "mixer": "hw:0", "handset_volume": "Handset",
           "speaker_volume": "Speaker", "speaker_mic_switch": "Speaker Mic", **extra}
    return parse_sound(raw, simulated=False)


async def test_player_plays_in_real_time_and_stops_at_once(sound_lab):
    player = RoutePlayer("handset", "handset", RATE, 1)
    try:
        t0 = time.time()
        player.play(US["dial"])
        time.sleep(0.8)
        t_stop = time.time()
        player.stop()
        [rec] = sound_lab.wait_closed("handset")
    finally:
        player.close()
    x = rec.window(t0 + 0.2, t0 + 0.6)
    assert np.allclose(peaks(x, RATE), [350, 440], atol=10)
    # Paced like a card: as long as it played for, not more; closed when stopped.
    assert 0.6 < rec.duration < 1.2
    assert rec.end - t_stop < 0.3
    [(on, off)] = on_intervals(rec, 440, 0.05)
    assert abs(on - t0) < 0.15 and abs(off - t_stop) < 0.15


async def test_one_shots_over_the_route_tone(sound_lab):
    player = RoutePlayer("speaker", "speaker", RATE, 1)
    try:
        player.play(US["ringback"])
        time.sleep(0.3)
        t_key = time.time()
        player.play(key_tone("9"), overlay=True)
        time.sleep(0.4)
        player.stop()
        [rec] = sound_lab.wait_closed("speaker")
    finally:
        player.close()
    both = rec.window(t_key + 0.02, t_key + 0.09)
    assert amplitude(both, RATE, 440) > 0.05 and amplitude(both, RATE, 852) > 0.05
    after = rec.window(t_key + 0.2, t_key + 0.35)
    assert amplitude(after, RATE, 852) < 0.01 and amplitude(after, RATE, 440) > 0.05


async def test_mixer_levels_and_softvol(sound_lab):
    mixer = AlsaMixer("hw:0")
    assert mixer.set_level("Speaker", 15) == 255
    assert sound_lab.control("Speaker Playback Volume") == [255]
    loud = _tone_amplitude(sound_lab)
    assert mixer.set_level("Speaker", 5) == 85
    assert "Playback 85 [33%]" in sound_lab.amixer("sget", "Speaker")      # another program sees it
    quiet = _tone_amplitude(sound_lab)
    # softvol's scale: 85 of 255 is -34 dB.
    assert 20 * np.log10(quiet / loud) == pytest.approx(-34, abs=1.5)
    mixer.set_capture("Speaker Mic", False)
    assert sound_lab.control("Speaker Mic Capture Switch") == [0]
    assert "Capture [off]" in sound_lab.amixer("sget", "Speaker Mic")


def _tone_amplitude(lab) -> float:
    before = len(lab.recordings("speaker"))
    player = RoutePlayer("speaker", "speaker", RATE, 1)
    try:
        player.play(tone_plan({})["dial"])                    # 425 Hz, continuous
        time.sleep(0.4)
        player.stop()
        rec = lab.wait_closed("speaker")[before]
    finally:
        player.close()
    return amplitude(rec.samples()[1600:4800], RATE, 425)


async def test_adapter_volume_by_mixer_or_in_software(sound_lab):
    sound = AlsaSound(board())
    try:
        sound.execute(fx.SetVolume("handset", 3))
        sound.execute(fx.SetVolume("headset", 15))          # no control: software gain
        sound.execute(fx.SetMicMute("speaker", True))
        deadline = time.monotonic() + 5
        while sound_lab.control("Handset Playback Volume") != [51] \
                or sound_lab.control("Speaker Mic Capture Switch") != [0]:
            assert time.monotonic() < deadline, sound_lab.state.read_text()
            time.sleep(0.02)
        assert sound.players["headset"]._gain == 1.0
        sound.execute(fx.SetVolume("headset", 0))
        sound.execute(fx.PlayTone("headset", "dial", US["dial"]))
        time.sleep(0.3)
        sound.execute(fx.StopTone("headset"))
        [rec] = sound_lab.wait_closed("headset")
        assert np.max(np.abs(rec.samples())) == 0           # level 0: silence
        sound.execute(fx.SetMicMute("speaker", False))
    finally:
        await sound.close()
    assert sound_lab.control("Speaker Mic Capture Switch") == [1]


async def test_a_device_that_cannot_be_opened_is_reported_not_fatal(sound_lab, caplog):
    player = RoutePlayer("handset", "no_such_device", RATE, 1)
    try:
        player.play(US["dial"])
        deadline = time.monotonic() + 3
        while player.playing:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert "cannot be opened" in caplog.text
        player.play(key_tone("1"), overlay=True)            # still alive, still trying
    finally:
        player.close()
