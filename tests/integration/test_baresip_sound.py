"""Call audio on the board's sound devices with baresip 1.0.0: where it plays, how it moves.

The phone runs its own baresip on the sound lab's devices (support/sound_lab.py);
the far end (Alice, a real baresip) sends baresip's 440 Hz ``ausine`` tone. What
baresip plays is recorded per open of each device; the microphones note who
listens. Measured here with 1.0.0: ``auplay`` / ``ausrc`` move a call that is
up from one ALSA device to another (the old one is closed, the new one opened),
so a handset call goes to the loudspeaker on SPEAKER and back when the handset
is lifted; the phone's own ring and baresip's call audio open the devices
independently of each other.
"""

from __future__ import annotations

import asyncio
import time

from support.sip_calls import T, alice_calls
from support.sip_lab import start_sip_phone
from support.sip_lab_fixtures import alice, bob, lab, stop_and_check  # noqa: F401
from support.sound_lab import amplitude, board_section
from support.sound_lab_fixtures import sound_lab, sound_plugin  # noqa: F401
from support.waiting import until

RATE = 16000
LOUD = "".join(f"deskphone.volume.{c} = 15\n" for c in ("ring", "handset", "speaker"))


def with_440(lab, device: str, after: float):
    """Recordings of ``device`` opened after ``after`` whose last half second is the far end's 440 Hz.

    baresip writes to ALSA without pacing itself, so the first moments of a
    recording are a burst (silence from its empty jitter buffer): only the open
    time and the latest audio tell where the call is now.
    """
    found = []
    for rec in lab.recordings(device):
        x = rec.samples()
        if rec.opened > after and len(x) > rec.rate // 2 and \
                amplitude(x[-rec.rate // 2:], rec.rate, 440) > 0.05:
            found.append(rec)
    return found


async def test_far_end_audio_on_the_handset_moves_to_the_speaker(
        sound_lab, lab, tmp_path, receiver, alice):
    app = await start_sip_phone(tmp_path, receiver.base, lab, lab.next_user(),
                                extra=LOUD, board_extra=board_section())
    app.sip_user = app.settings["account.1.user_name"]
    try:
        await receiver.wait("registered", timeout=15)
        t_ring = time.time()
        call_id, _ = await alice_calls(app, receiver, alice)
        # The phone rings on the loudspeaker itself (baresip's own ring.wav is off).
        await until(lambda: any(r.opened > t_ring for r in sound_lab.recordings("speaker")),
                    what="the ring on the speaker")
        await asyncio.sleep(0.5)
        mark = alice.mark()
        answered = time.time()
        ring = [r for r in sound_lab.recordings("speaker") if r.opened > t_ring]
        assert len(ring) == 1                 # the phone's ring: baresip's ring.wav is off
        assert amplitude(ring[0].samples()[:4000], ring[0].rate, 1000) > 0.05
        app.hook.lift()
        await alice.wait("CALL_ESTABLISHED", after=mark)
        await until(lambda: with_440(sound_lab, "handset", answered), what="440 Hz on the handset")
        await until(lambda: sound_lab.mics["handset"].listening, what="baresip on the handset mic")
        assert not with_440(sound_lab, "speaker", answered)

        moved = time.time()
        app.keypad.press("SPEAKER")
        await until(lambda: with_440(sound_lab, "speaker", moved), what="440 Hz on the speaker")
        [handset] = with_440(sound_lab, "handset", answered)
        await until(lambda: handset.path.with_suffix(".json").read_text().count("end") > 0,
                    what="the handset device closed")
        assert sound_lab.mics["speaker"].listening and not sound_lab.mics["handset"].listening

        app.keypad.press("MUTE")                                  # the speaker's mic switch
        await until(lambda: sound_lab.control("Speaker Mic Capture Switch") == [0],
                    what="the microphone switched off")
        app.keypad.press("MUTE")
        await until(lambda: sound_lab.control("Speaker Mic Capture Switch") == [1],
                    what="the microphone back on")

        app.hook.hang_up()                   # handsfree: hanging up the handset ends nothing
        back = time.time()
        app.hook.lift()                      # and lifting it takes the call back to the handset
        await until(lambda: with_440(sound_lab, "handset", back), what="back on the handset")
        app.hook.hang_up()
        await receiver.wait("call_terminated", timeout=T)
    finally:
        await stop_and_check(app)


async def test_ringback_on_180_but_the_far_ends_early_media_on_183(
        sound_lab, lab, tmp_path, receiver, alice, bob):
    app = await start_sip_phone(tmp_path, receiver.base, lab, lab.next_user(),
                                extra=LOUD + "voice.tone.ring = 2000/300,0/300\n",
                                board_extra=board_section())
    try:
        await receiver.wait("registered", timeout=15)
        # Bob rings (180, no SDP): the phone plays its ringback (here 2000 Hz, 0.3/0.3: well
        # away from the DTMF key tones of the digits dialled, 697..1633 Hz).
        mark = bob.mark()
        app.hook.lift()
        await asyncio.sleep(0.3)
        app.keypad.type("202#")
        await bob.wait("CALL_INCOMING", after=mark)
        t0 = time.time() + 0.3
        await asyncio.sleep(1.5)
        # The phone's own player runs in real time: its recording maps to the clock.
        [x] = [x for r in sound_lab.recordings("handset")
               if len(x := r.window(t0, t0 + 1.0)) > 0.9 * RATE]
        assert amplitude(x, RATE, 2000) > 0.05
        assert amplitude(x, RATE, 440) < 0.01                   # Bob sends nothing yet
        app.hook.hang_up()
        await receiver.wait("cancel_callout", timeout=T)
        await asyncio.sleep(0.3)
        # Alice answers early (183 with SDP): her media instead, no ringback.
        await alice.command("answermode", "early")
        app.hook.lift()
        app.keypad.type("201#")
        # 1.0.0 reports no CALL_INCOMING to an early-answering far end, and its
        # CALL_RTPESTAB is late or missing on a loaded machine: watch the phone instead.
        await until(lambda: any(c.early_media for c in app.phone.calls),
                    what="183 with SDP reported as early media")
        # A 180 may come just before the 183 (a brief ringback then is right): from the
        # early media on, the phone plays no ringback of its own.
        early = time.time()
        assert "ringback" not in app.phone.wanted_tones().values()
        await asyncio.sleep(1.0)
        assert "call_established" not in receiver.events()
        for rec in sound_lab.recordings("handset"):
            assert amplitude(rec.window(early + 0.1, early + 1.0), RATE, 2000) < 0.01
        app.hook.hang_up()
        await receiver.wait("cancel_callout", timeout=T)
    finally:
        await alice.command("answermode", "manual")
        await stop_and_check(app)
