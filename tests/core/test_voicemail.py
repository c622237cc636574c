"""The core's voicemail: VoicemailChanged -> the mailboxes, the lamp, the idle count, MSG."""

from __future__ import annotations

from deskphone.core import effects as fx
from deskphone.core import inputs as ins
from deskphone.core.voicemail import Mailbox, VoicemailChanged
from test_phone import Harness

VM = {"voice_mail.number.1": "*97"}


def leds(h: Harness) -> dict[str, str]:
    return {e.led: e.pattern for e in h.of(fx.SetLed)}


def idle_lines(h: Harness) -> tuple[str, ...]:
    return h.phone.screen.lines


def test_a_notify_lights_the_lamp_and_shows_the_count_and_no_clears_it():
    h = Harness(**VM)
    h.send(VoicemailChanged(1, True, new=2, old=8, urgent_new=1, at=5.0))
    assert h.phone.state.voicemail[1] == Mailbox(1, True, 2, 8, 1, 0, 5.0)
    assert leds(h) == {"mwi": "slow", "power": "slow"}
    assert idle_lines(h)[2] == "2 new voicemails"
    h.send(VoicemailChanged(1, True, new=1, old=9))
    assert idle_lines(h)[2] == "1 new voicemail" and leds(h) == {}    # the lamp stays lit
    h.send(VoicemailChanged(1, False, new=0, old=10))
    assert leds(h) == {"mwi": "off", "power": "on"}
    assert idle_lines(h)[2] == ""


def test_the_power_led_flashes_only_when_the_yealink_key_says_so():
    h = Harness(**VM, **{"phone_setting.mail_power_led_flash_enable": False})
    h.send(VoicemailChanged(1, True, new=1))
    assert leds(h) == {"mwi": "slow"}


def test_waiting_without_counts_and_missed_calls_share_the_line():
    h = Harness()
    h.send(VoicemailChanged(1, True))
    assert idle_lines(h)[2] == "New voicemail"
    for n in (1, 2):                                  # two calls nobody answered
        h.send(ins.CallIncoming(f"in-{n}", 1, "sip:300@pbx.test"), ins.CallClosed(f"in-{n}"))
    assert h.phone.state.missed == 2
    assert idle_lines(h)[2] == "New voicemail, 2 missed"


def test_display_mwi_off_hides_the_count_not_the_lamp():
    h = Harness(**{"account.1.display_mwi.enable": False})
    h.send(VoicemailChanged(1, True, new=3))
    assert idle_lines(h)[2] == "" and leds(h)["mwi"] == "slow"


def test_an_account_the_phone_cannot_have_or_a_disabled_one_changes_nothing():
    h = Harness()
    assert h.send(VoicemailChanged(0, True, new=1)) == []
    assert h.send(VoicemailChanged(7, True, new=1)) == []
    assert h.phone.state.voicemail == {}
    h.send(VoicemailChanged(2, True, new=4))        # account 2 is not enabled
    assert 2 in h.phone.state.voicemail and leds(h) == {} and idle_lines(h)[2] == ""


def test_negative_counts_are_taken_as_none():
    h = Harness()
    h.send(VoicemailChanged(1, True, new=-5, old=-1))
    assert h.phone.state.voicemail[1].new == 0 and h.phone.state.voicemail[1].old == 0


def test_msg_dials_the_voicemail_number_of_the_account():
    h = Harness(**VM)
    h.send(ins.KeyPress("MSG"))
    [dial] = h.of(fx.EngineDial)
    assert (dial.number, dial.account) == ("*97", 1)


def test_msg_picks_the_account_with_messages():
    two = {"account.2.enable": True, "account.2.user_name": "200",
           "account.2.sip_server.1.address": "pbx2.test", "voice_mail.number.2": "8000"}
    h = Harness(**VM, **two)
    h.send(VoicemailChanged(2, True, new=1))
    h.send(ins.KeyPress("MSG"))
    [dial] = h.of(fx.EngineDial)
    assert (dial.number, dial.account) == ("8000", 2)


def test_msg_without_a_number_says_so_and_dials_nothing():
    h = Harness()
    h.send(ins.KeyPress("MSG"))
    assert h.of(fx.EngineDial) == []
    assert idle_lines(h)[2] == "No voicemail number set"


def test_msg_in_a_call_dials_nothing():
    h = Harness(**VM)
    h.outgoing()
    h.send(ins.KeyPress("MSG"))
    assert h.of(fx.EngineDial) == []
