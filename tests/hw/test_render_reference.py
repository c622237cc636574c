"""Every kind of screen, rendered and compared pixel for pixel with the PNGs in reference/.

A renderer change that moves one pixel fails here. When the change is meant,
regenerate the pictures and look at them before committing:

    DESKPHONE_REGENERATE_REFERENCE=1 .venv/bin/pytest tests/hw/test_render_reference.py

(the test then writes reference/*.png and fails, so a regeneration is never a silent pass).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from deskphone.core import inputs as ins
from deskphone.core.phone import DeviceInfo, Phone
from deskphone.core.screens import Screen
from deskphone.hw.render import displayable, render

REFERENCE = Path(__file__).parent / "reference"
REGENERATE = os.environ.get("DESKPHONE_REGENERATE_REFERENCE") == "1"

CALL_KEYS = ("Xfer", "Hold", "Mute", "End")

SCREENS: dict[str, tuple[Screen, int]] = {
    "idle": (Screen("idle", "Desk", "09:41", ("Tue 14 Jan", "", ""),
                    ("DND", "", "Redial", "Menu")), 64),
    "idle_dnd_fwd_missed": (Screen("idle", "Desk", "09:41",
                                   ("Tue 14 Jan", "", "2 missed calls"),
                                   ("DND", "", "Redial", "Menu"), ("dnd", "fwd", "missed")), 64),
    "idle_registering": (Screen("idle", "Desk", "09:41", ("Tue 14 Jan", "Registering...", ""),
                                ("DND", "", "Redial", "Menu")), 64),
    "idle_registration_failed": (Screen("idle", "Desk", "09:41",
                                        ("Tue 14 Jan", "Registration failed", ""),
                                        ("DND", "", "Redial", "Menu")), 64),
    "idle_no_network": (Screen("idle", "Desk", "09:41",
                               ("Tue 14 Jan", "Registration failed", "No network"),
                               ("DND", "", "Redial", "Menu")), 64),
    "idle_keypad_missing": (Screen("idle", "Desk", "09:41", ("Tue 14 Jan", "", "Keypad missing"),
                                   ("DND", "", "Redial", "Menu")), 64),
    "idle_service_down": (Screen("idle", "Desk", "09:41",
                                 ("Tue 14 Jan", "", "Phone service down"),
                                 ("DND", "", "Redial", "Menu")), 64),
    "dialing": (Screen("dialing", "Desk", "09:42", ("0301234567", "", ""),
                       ("Send", "Del", "", "Cancel"), ("speaker",)), 64),
    "transfer_target": (Screen("dialing", "Transfer to", "09:42", ("205", "", ""),
                               ("Send", "Del", "Xfer", "Cancel")), 64),
    "ringing": (Screen("ringing", "Incoming: Desk", "09:43", ("Alice", "201", ""),
                       ("Answer", "", "", "Reject")), 64),
    "ringback": (Screen("ringback", "Calling", "09:43", ("Carol", "203", ""),
                        ("", "", "", "Cancel"), ("speaker",)), 64),
    "connected": (Screen("connected", "Talking", "01:23", ("Alice", "201", ""), CALL_KEYS), 64),
    "connected_muted_held": (Screen("connected", "On hold", "12:05", ("Alice", "201", ""),
                                    ("Xfer", "Resume", "Unmute", "End"),
                                    ("headset", "mute", "hold")), 64),
    "remote_held": (Screen("connected", "Held", "00:07", ("Alice", "201", ""), CALL_KEYS,
                           ("held",)), 64),
    "call_waiting": (Screen("connected", "Talking", "02:10", ("Alice", "201", "Waiting: Bob"),
                            ("Answer", "", "", "Reject")), 64),
    "two_calls": (Screen("connected", "Talking", "00:31", ("Bob", "300", "Call 2 of 2"),
                         CALL_KEYS), 64),
    "menu": (Screen("menu", "Features", "09:44",
                    ("DND           Off", "Always Fwd     On", "Busy Fwd      Off"),
                    ("Ok", "", "", "Back"), ("fwd",), selected=1), 64),
    "menu_forward_target": (Screen("menu", "Forward to", "09:44", ("0301234_",),
                                   ("Ok", "Del", "", "Back")), 64),
    "volume": (Screen("connected", "Talking", "00:12", ("Alice", "201", ""), CALL_KEYS,
                      bar=11), 64),
    "remote_control_prompt": (Screen("prompt", "Remote Control", "09:45",
                                     ("Allow Remote Control?", "from 192.0.2.10", ""),
                                     ("OK", "", "", "Cancel")), 64),
    "message": (Screen("idle", "Desk", "09:46", ("Tue 14 Jan", "", "Transfer failed"),
                       ("DND", "", "Redial", "Menu")), 64),
    "long_name_cut": (Screen("ringing", "Incoming: Sales and Support Line", "09:47",
                             ("Bartholomew Fitzgerald-Montgomery", "+4930123456789012345", ""),
                             ("Answer", "", "", "Reject")), 64),
    "non_latin_name": (Screen("ringing", "Incoming: Desk", "09:48",
                              ("Łukasz Żółć – Zoë", "302", ""), ("Answer", "", "", "Reject")), 64),
    "idle_128x32": (Screen("idle", "Desk", "09:41", ("Tue 14 Jan", "", "2 missed calls"),
                           ("DND", "", "Redial", "Menu"), ("missed",)), 32),
    "connected_128x32": (Screen("connected", "Talking", "01:23", ("Alice", "201", ""),
                                CALL_KEYS, ("mute",)), 32),
}


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_its_reference_png(name):
    screen, height = SCREENS[name]
    image = render(screen, 128, height)
    assert image.mode == "1" and image.size == (128, height)
    path = REFERENCE / f"{name}.png"
    if REGENERATE:
        REFERENCE.mkdir(exist_ok=True)
        image.save(path, optimize=True)
        pytest.fail(f"regenerated {path.name}: look at it, then run again without the variable")
    assert path.exists(), f"no reference picture {path.name}: regenerate (see the module doc)"
    expected = Image.open(path).convert("1")
    diff = ImageChops.difference(image.convert("L"), expected.convert("L")).getbbox()
    assert diff is None, f"{name}: pixels differ inside {diff}"


def test_every_reference_png_belongs_to_a_screen():
    assert {p.stem for p in REFERENCE.glob("*.png")} == set(SCREENS)


def test_rendering_is_pure():
    screen, _ = SCREENS["call_waiting"]
    assert render(screen).tobytes() == render(screen).tobytes()


def test_a_kept_frame_is_handed_out_as_a_copy_and_the_status_line_is_not_drawn():
    from dataclasses import replace
    screen, _ = SCREENS["call_waiting"]
    first = render(screen)
    first.paste(1, (0, 0, 128, 64))                    # a caller scribbles on its frame
    again = render(screen)
    assert again.tobytes() != first.tobytes()          # the kept one is untouched
    assert again.tobytes() == render(replace(screen, status="other text")).tobytes()
    assert again.tobytes() != render(replace(screen, title="Other")).tobytes()


def test_text_outside_latin1_is_reduced_not_fatal():
    assert displayable("Łukasz Żółć") == "Lukasz Zólc"     # ó is Latin-1: kept
    assert displayable("Zoë – 😀") == "Zoë - ?"


def test_every_screen_the_core_builds_renders():
    """Drive the real core through a day's work; each screen it asks for renders at both sizes."""
    settings = {"account.1.enable": True, "account.1.label": "Desk", "account.1.user_name": "100",
                "account.1.sip_server.1.address": "pbx.test", "deskphone.hook.debounce_ms": 0}
    phone = Phone(settings, DeviceInfo("001565000001", "T", "1"))
    screens = []

    def feed(*inputs):
        for inp in inputs:
            for effect in phone.handle(inp, 1_700_000_000.0):
                if hasattr(effect, "screen"):
                    screens.append(effect.screen)

    feed(ins.Start(), ins.RegState(1, "registered"), ins.KeyPress("OK"), ins.KeyPress("DOWN"),
         ins.KeyPress("X"), ins.HookChanged(True), *(ins.KeyPress(d) for d in "201"),
         ins.KeyPress("#"), ins.CallOutgoing("c1", "call-1", "sip:201@pbx.test", "Alice"),
         ins.CallEstablished("call-1"), ins.KeyPress("MUTE"), ins.KeyPress("VOLUME_UP"),
         ins.CallIncoming("call-2", 1, "sip:300@pbx.test", "Bob"),
         ins.CallClosed("call-2", "canceled"), ins.KeyPress("TRANSFER"), ins.KeyPress("2"),
         ins.DeviceState("keypad", False), ins.HookChanged(False), ins.RegState(1, "failed"))
    kinds = {s.kind for s in screens}
    assert {"idle", "menu", "dialing", "ringback", "connected"} <= kinds
    for screen in screens:
        for height in (64, 32):
            render(screen, 128, height)
