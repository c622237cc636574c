"""What the user hears, through the whole phone: sim board keys, the simulated PBX, real ALSA.

The board's [sound] section names the sound lab's devices (support/sound_lab.py):
every sound the phone plays is recorded in real time by alsa-lib's file plugin
and checked by spectrum and timing; volumes are read back from the mixer.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from deskphone.app import PhoneApp
from deskphone.config.board import load_board
from deskphone.core.tones import dtmf_pair
from support.phone import settle, start_phone
from support.sound_lab import amplitude, board_section, on_intervals
from support.sound_lab_fixtures import sound_lab, sound_plugin  # noqa: F401
from support.waiting import until

RATE = 16000


LOUD = "".join(f"deskphone.volume.{c} = 15\n" for c in ("ring", "handset", "speaker", "tones"))


async def sound_phone(tmp_path, receiver, country: str, extra: str = LOUD) -> PhoneApp:
    app = await start_phone(tmp_path, receiver.base, board_extra=board_section(),
                            extra=f"voice.tone.country = {country}\n" + extra)
    await receiver.wait("setup_completed")
    return app


def intervals(lab, device: str, freq: float, threshold: float = 0.03, win: float = 0.02):
    return [iv for rec in lab.recordings(device)
            for iv in on_intervals(rec, freq, threshold, win)]


def at(lab, device: str, t0: float, t1: float) -> np.ndarray:
    """The samples of ``device`` between two wall-clock times, whichever recording holds them."""
    for rec in lab.recordings(device):
        x = rec.window(t0, t1)
        if len(x) >= 0.8 * (t1 - t0) * RATE:
            return x
    return np.zeros(0)


async def test_dial_tone_until_the_first_digit_then_a_key_tone_per_digit(
        sound_lab, tmp_path, receiver):
    app = await sound_phone(tmp_path, receiver, "United States")
    try:
        lifted = time.time()
        app.hook.lift()
        await asyncio.sleep(0.7)
        presses = []
        for digit in "159":                                         # one of each row, column
            presses.append((digit, time.time()))
            app.keypad.press(digit)
            await asyncio.sleep(0.3)
        app.hook.hang_up()
        await settle(app)
        sound_lab.wait_closed("handset")
    finally:
        await app.stop()
    first = presses[0][1]
    [(on, off)] = intervals(sound_lab, "handset", 350)
    assert abs(on - lifted) < 0.2 and abs(off - first) < 0.15
    dial = at(sound_lab, "handset", lifted + 0.2, first - 0.1)
    assert amplitude(dial, RATE, 350) > 0.05 and amplitude(dial, RATE, 440) > 0.05
    assert intervals(sound_lab, "handset", 440) == [(on, pytest.approx(off, abs=0.05))]
    for digit, t in presses:
        row, col = dtmf_pair(digit)
        tone = at(sound_lab, "handset", t + 0.01, t + 0.09)
        assert amplitude(tone, RATE, row) > 0.05 and amplitude(tone, RATE, col) > 0.05, digit
        gap = at(sound_lab, "handset", t + 0.17, t + 0.27)          # 100 ms, then quiet
        assert len(gap) == 0 or np.max(np.abs(gap)) < 0.01, digit
    # One key tone per digit: each row and column frequency sounded exactly once.
    for freq in (697, 770, 852, 1209, 1336, 1477):
        assert len(intervals(sound_lab, "handset", freq, 0.05, win=0.06)) == 1, freq
    assert sound_lab.recordings("speaker") == []                     # all on the handset


async def test_busy_cadence_after_a_busy_number(sound_lab, tmp_path, receiver):
    app = await sound_phone(tmp_path, receiver, "United States",
                            LOUD + "features.busy_tone_delay = 3\n")
    try:
        app.keypad.type("202#")                 # Bob: busy (dialled handsfree: no dial tone)
        await receiver.wait("remote_busy")
        t0 = time.time()
        await asyncio.sleep(2.4)
    finally:
        await app.stop()
    bursts = [(a, b) for a, b in intervals(sound_lab, "speaker", 480) if a > t0 - 0.2]
    assert len(bursts) >= 2, bursts
    for a, b in bursts[:-1]:
        assert b - a == pytest.approx(0.5, abs=0.06)                # 480+620 Hz, 0.5 s on
    for (_, b), (a, _) in zip(bursts, bursts[1:]):
        assert a - b == pytest.approx(0.5, abs=0.06)                # 0.5 s off
    burst = at(sound_lab, "speaker", bursts[0][0] + 0.1, bursts[0][0] + 0.4)
    assert amplitude(burst, RATE, 620) > 0.05 and amplitude(burst, RATE, 425) < 0.01


async def test_ringback_cadence_while_the_far_end_rings(sound_lab, tmp_path, receiver):
    app = await sound_phone(tmp_path, receiver, "Great Britain")
    try:
        app.keypad.type("203#")                 # Carol: rings for ever (handsfree)
        await receiver.wait("outgoing_call")
        t0 = time.time()
        await asyncio.sleep(3.3)
        app.keypad.press("X")
        await settle(app)
    finally:
        await app.stop()
    bursts = [(a, b) for a, b in intervals(sound_lab, "speaker", 400) if a > t0 - 0.2]
    # UK ringback: 400+450 Hz, 0.4 s on, 0.2 off, 0.4 on, 2.0 off.
    assert [round(b - a, 1) for a, b in bursts[:2]] == [0.4, 0.4], bursts
    assert bursts[1][0] - bursts[0][1] == pytest.approx(0.2, abs=0.06)
    assert bursts[2][0] - bursts[1][1] == pytest.approx(2.0, abs=0.08)
    assert amplitude(at(sound_lab, "speaker", bursts[0][0] + 0.1, bursts[0][0] + 0.3),
                     RATE, 450) > 0.05


async def test_ring_cadence_on_the_loudspeaker_stops_on_answer_and_silent_under_dnd(
        sound_lab, tmp_path, receiver):
    app = await sound_phone(tmp_path, receiver, "Great Britain")
    try:
        t0 = time.time()
        app.engine.incoming("300", "Bob")
        await receiver.wait("incoming_call")
        await asyncio.sleep(3.2)
        answered = time.time()
        app.hook.lift()
        await receiver.wait("call_established")
        sound_lab.wait_closed("speaker")
        app.hook.hang_up()
        await receiver.wait("call_terminated")
        app.keypad.press("F1")                                      # DND on (idle soft key)
        await receiver.wait("dnd_on")
        await asyncio.sleep(0.3)                                    # the confirmation beep
        rings_before = len(intervals(sound_lab, "speaker", 1000))
        recordings_before = len(sound_lab.recordings("speaker"))
        app.engine.incoming("301", "Ann")
        await receiver.wait("reject_incoming_call")
        await asyncio.sleep(1.0)
    finally:
        await app.stop()
    rings = [(a, b) for f in (1000, 1250) for a, b in intervals(sound_lab, "speaker", f)
             if a < answered]
    # UK ring: 0.4 on, 0.2 off, 0.4 on, 2.0 off, again; the ringer warbles 1000/1250 Hz.
    bursts = _merge(rings, 0.08)
    assert len(bursts) >= 3, bursts
    assert abs(bursts[0][0] - t0) < 0.3
    assert [round(b - a, 1) for a, b in bursts[:2]] == [0.4, 0.4]
    assert bursts[2][0] - bursts[1][1] == pytest.approx(2.0, abs=0.1)
    ring = at(sound_lab, "speaker", bursts[0][0], bursts[0][1])
    assert amplitude(ring, RATE, 1250) > 0.03
    assert sound_lab.recordings("speaker")[0].end - answered < 0.3   # stopped at once
    assert all(a < answered for a, _ in rings)
    # Under DND: no ring, no new recording beyond the confirmation beep before it.
    assert len(intervals(sound_lab, "speaker", 1000)) == rings_before
    assert len(sound_lab.recordings("speaker")) == recordings_before


def _merge(ivs, gap):
    out: list[list[float]] = []
    for a, b in sorted(ivs):
        if out and a - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(x) for x in out]


async def test_volume_keys_set_the_mixer_and_survive_a_restart(sound_lab, tmp_path, receiver):
    app = await sound_phone(tmp_path, receiver, "Germany", extra="")
    try:
        for _ in range(3):
            app.keypad.press("VOLUME_DOWN")                          # idle: key tones, 8 -> 5
        await until(lambda: sound_lab.control("Speaker Playback Volume") == [85],
                         what="speaker at level 5")
        assert app.display.screen.bar == 5
        app.hook.lift()
        app.keypad.press("VOLUME_UP")
        app.keypad.press("VOLUME_UP")                                # handset 8 -> 10
        await until(lambda: sound_lab.control("Handset Playback Volume") == [170],
                         what="handset at level 10")
        app.hook.hang_up()
        app.engine.incoming("300", "Bob")
        await receiver.wait("incoming_call")
        await until(lambda: sound_lab.control("Speaker Playback Volume") == [136],
                         what="the ringer's own level (8)")
        app.keypad.press("VOLUME_UP")                                # ringing: ring 8 -> 9
        await until(lambda: sound_lab.control("Speaker Playback Volume") == [153],
                         what="ring at level 9")
        app.keypad.press("X")
        await until(lambda: sound_lab.control("Speaker Playback Volume") == [85],
                         what="back to the key tone level")
    finally:
        await app.stop()
    state = (tmp_path / "state" / "state.cfg").read_text()
    assert "deskphone.volume.handset = 10" in state and "deskphone.volume.ring = 9" in state
    # Another program turns everything up; a restart puts the phone's levels back.
    sound_lab.amixer("sset", "Speaker", "100%")
    sound_lab.amixer("sset", "Handset", "100%")
    again = PhoneApp(load_board(tmp_path / "board.toml"), tmp_path / "config",
                     tmp_path / "state", bind="127.0.0.1", http_port=0, https_port=0)
    await again.start()
    try:
        await until(lambda: sound_lab.control("Handset Playback Volume") == [170]
                         and sound_lab.control("Speaker Playback Volume") == [85],
                         what="levels restored at start")
        again.keypad.press("VOLUME_UP")
        await settle(again)
        assert again.display.screen.bar == 6                          # 5 + 1: it remembered
    finally:
        await again.stop()
