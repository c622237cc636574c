"""The board's ``[sound]`` section, checked here in config/: which ALSA devices are the
handset, loudspeaker, headset (sound/ and the engine read the result).

Standard library only (the installer's board check imports the board code).

    [sound]
    handset = "default:CARD=Handset"   # earpiece + microphone (an ALSA PCM name)
    speaker = "default:CARD=Device"    # loudspeaker: handsfree calls and ringing
    headset = "default:CARD=Headset"   # optional
    speaker_mic = "dsnoop:CARD=Conf"   # <route>_mic: the microphone when not the same name
    srate = 48000                      # what the card needs (default 48000)
    channels = 1                       # (default 1)
    mixer = "hw:CARD=Device"           # the card's control device for the mixer keys below
    handset_volume = "Handset"         # <route>_volume: simple mixer control of its level
    speaker_volume = "Speaker"
    speaker_mic_switch = "Mic"         # <route>_mic_switch: capture switch that MUTE turns off
    bell_pin = 23                      # a bell or buzzer on a GPIO (gpiozero), optional
    bell_active_high = true

Sharing a device between the call audio (baresip) and the phone's own sounds
needs a PCM that more than one program may open at once: on a bare ALSA
system ``default:CARD=X`` is exactly that (plug over dmix for playback and
dsnoop for capture); ``plughw:``/``hw:`` names are exclusive and give "device
busy" to whichever opens second. See the README's Sound section.

The older keys ``player`` / ``source`` / ``alert`` (baresip's ``driver,device``
form) still work: without ``handset`` they are the handset's playback and
capture and the loudspeaker's playback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import ConfigError

ROUTES = ("handset", "speaker", "headset")
ROUTE_KEYS = tuple(f"{r}{suffix}" for r in ROUTES
                   for suffix in ("", "_mic", "_volume", "_mic_switch"))
LEGACY_KEYS = ("player", "source", "alert")
OTHER_KEYS = ("srate", "channels", "mixer", "bell_pin", "bell_active_high")
# How the sound card is attached: read by config/board_needs.py only.
BUS_KEYS = ("driver", "interface", "bus", "i2c_address", "i2c_port", "i2c_bus", "spi_port",
            "spi_device", "spi_bus")
KEYS = (*ROUTE_KEYS, *LEGACY_KEYS, *OTHER_KEYS, *BUS_KEYS)
DEFAULT_SRATE = 48000
DEFAULT_CHANNELS = 1
PI_DEFAULT_DEVICE = "default"


@dataclass(frozen=True)
class RouteDevice:
    route: str
    playback: str                # ALSA PCM name
    capture: str                 # ALSA PCM name of its microphone; "" none
    volume_control: str = ""     # simple mixer control of its level; "": tones scaled in software
    mic_switch: str = ""         # capture switch control; "": the engine's mute only


@dataclass(frozen=True)
class SoundConfig:
    routes: Mapping[str, RouteDevice] = field(default_factory=dict)   # configured routes only
    srate: int = DEFAULT_SRATE
    channels: int = DEFAULT_CHANNELS
    mixer: str = ""              # ALSA control device name for the mixer controls
    bell_pin: int | None = None
    bell_active_high: bool = True

    def device(self, route: str) -> RouteDevice | None:
        """The route's device; a missing headset or handset falls back to what exists."""
        return self.routes.get(route) or self.routes.get("speaker") or self.routes.get("handset")


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(message, key=f"sound.{key}")


def _name(raw: Mapping[str, Any], key: str) -> str | None:
    """An ALSA device name: text without blanks."""
    value = raw.get(key)
    if value is None:
        return None
    text = str(value).strip()
    if not isinstance(value, str) or not text or re.search(r"\s", text):
        raise _fail(key, "must be an ALSA device name (text without blanks)")
    return text


def _control(raw: Mapping[str, Any], key: str) -> str:
    """A mixer control name as amixer shows it ("Speaker", "Mic", "Headphone Mic")."""
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip() or re.search(r"[\x00-\x1f\x7f]", value):
        raise _fail(key, "must be a mixer control name (as 'amixer scontrols' shows it)")
    return value.strip()


def _alsa(spec: str | None) -> str | None:
    """The device of a baresip ``alsa,DEVICE`` spec (or a bare name); None for other drivers."""
    if spec is None:
        return None
    driver, sep, device = spec.partition(",")
    if sep and driver.isidentifier() and ":" not in driver:
        return device if driver == "alsa" else None
    return spec


def parse_sound(raw: Mapping[str, Any], simulated: bool) -> SoundConfig:
    """Check a ``[sound]`` section; ConfigError names the key."""
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) in [sound]: {', '.join(unknown)}", key="sound")
    for key in ("srate", "channels"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value <= 0):
            raise _fail(key, "must be a positive whole number")
    srate = int(raw.get("srate", DEFAULT_SRATE))
    channels = int(raw.get("channels", DEFAULT_CHANNELS))
    if not 8000 <= srate <= 192000:
        raise _fail("srate", "must be a sample rate from 8000 to 192000")
    if not 1 <= channels <= 8:
        raise _fail("channels", "must be 1 to 8")
    pin = raw.get("bell_pin")
    if pin is not None and (not isinstance(pin, int) or isinstance(pin, bool)
                            or not 0 <= pin <= 53):
        raise _fail("bell_pin", "must be a BCM GPIO number (0-53)")
    active_high = raw.get("bell_active_high", True)
    if not isinstance(active_high, bool):
        raise _fail("bell_active_high", "must be true or false")
    mixer = _name(raw, "mixer") or ""

    playback = {r: _name(raw, r) for r in ROUTES}
    for key in LEGACY_KEYS:
        _name_or_spec(raw, key)
    if playback["handset"] is None and not simulated:
        playback["handset"] = _alsa(raw.get("player")) or PI_DEFAULT_DEVICE
    if playback["speaker"] is None and not simulated:
        playback["speaker"] = _alsa(raw.get("alert")) or playback["handset"]
    routes = {}
    for route in ROUTES:
        device = playback[route]
        if device is None:
            for suffix in ("_mic", "_volume", "_mic_switch"):
                if raw.get(route + suffix) is not None:
                    raise _fail(route + suffix, f"given without '{route}' (the device)")
            continue
        capture = _name(raw, route + "_mic")
        if capture is None:
            # The older keys: the handset's microphone was 'source'.
            legacy = (_alsa(raw.get("source"))
                      if route == "handset" and "handset" not in raw else None)
            capture = legacy or device
        volume = _control(raw, route + "_volume")
        switch = _control(raw, route + "_mic_switch")
        if (volume or switch) and not mixer:
            key = route + ("_volume" if volume else "_mic_switch")
            raise _fail(key, "needs 'mixer' (the card's control device, e.g. hw:CARD=Device)")
        routes[route] = RouteDevice(route, device, capture, volume, switch)
    return SoundConfig(routes, srate, channels, mixer, pin, active_high)


def _name_or_spec(raw: Mapping[str, Any], key: str) -> None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()
                              or re.search(r"\s", value.strip())):
        raise _fail(key, "must be 'driver,device' or an ALSA device name")
