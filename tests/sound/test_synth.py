"""Tone synthesis: exact cadences in samples, the right frequencies, no clicks (pure, no ALSA)."""

from __future__ import annotations

import numpy as np

from deskphone.core.tones import key_tone, parse_tone, tone_plan
from deskphone.sound.synth import ToneSynth, gain_for, interleave, mix
from support.sound_lab import amplitude, peaks

RATE = 16000


def render(synth: ToneSynth, seconds: float, block: int = 160) -> np.ndarray:
    n = int(seconds * RATE) // block
    return np.concatenate([np.frombuffer(synth.read(block), dtype=np.int16)
                           for _ in range(n)]).astype(float) / 32768


def test_busy_cadence_sample_exact_and_repeating():
    x = render(ToneSynth(tone_plan({"voice.tone.country": "us"})["busy"], RATE, repeat=True), 2.0)
    on = np.abs(x).reshape(-1, 80).max(axis=1) > 0.05           # 5 ms frames
    assert on[:100].all() and not on[100:200].any() and on[200:300].all() and not on[300:].any()
    assert peaks(x[:8000], RATE) == [480.0, 620.0]


def test_one_shot_ends_and_once_elements_play_first_time_only():
    synth = ToneSynth(key_tone("5"), RATE, repeat=False)
    x = render(synth, 0.2)
    assert synth.done
    assert np.count_nonzero(x) <= 0.1 * RATE and np.count_nonzero(x[1600:]) == 0
    assert np.allclose(peaks(x[:1600], RATE), [770, 1336], atol=10)
    cadence = parse_tone("!1000/100,!0/100,400/100,0/100")
    y = render(ToneSynth(cadence, RATE, repeat=True), 0.8)
    assert amplitude(y[:1600], RATE, 1000) > 0.1                  # first pass: the ! part
    assert amplitude(y[3200:], RATE, 1000) < 0.01                 # then only the rest
    assert amplitude(y[3200:4800], RATE, 400) > 0.1


def test_fades_at_the_edges_no_clicks():
    x = render(ToneSynth(parse_tone("1000/100,0/100"), RATE, repeat=True), 0.2)
    assert abs(x[0]) < 0.01 and abs(x[1599]) < 0.02                # starts and ends near zero
    assert np.max(np.abs(np.diff(x[:1600]))) < 0.25


def test_mix_gain_and_channels():
    a = ToneSynth(parse_tone("1000"), RATE, repeat=True).read(160)
    b = ToneSynth(parse_tone("500"), RATE, repeat=True).read(160)
    m = np.frombuffer(mix([a, b], 0.5), dtype=np.int16)
    assert np.allclose(m, (np.frombuffer(a, np.int16) + np.frombuffer(b, np.int16)) * 0.5, atol=1)
    stereo = np.frombuffer(interleave(a, 2), dtype="<i2")
    assert (stereo[0::2] == stereo[1::2]).all() and len(stereo) == 320
    assert gain_for(0) == 0 and gain_for(15) == 1 and 0 < gain_for(7) < gain_for(8) < 1


def test_ring_is_the_warble_in_the_ring_cadence():
    x = render(ToneSynth(tone_plan({"voice.tone.country": "Germany"})["ring"], RATE,
                         repeat=True), 5.0)
    assert amplitude(x[:RATE], RATE, 1000) > 0.05 and amplitude(x[:RATE], RATE, 1250) > 0.05
    assert np.max(np.abs(x[RATE + 160:5 * RATE])) == 0              # 1 s on, 4 s off
