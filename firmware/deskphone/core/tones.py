"""What the phone's own sounds are: tone plans per country and Yealink tone strings.

A tone is a cadence: a tuple of ``Element`` s, each a set of frequencies
(none: silence) held for some milliseconds. The plans follow ITU-T E.180
(the national tones of its supplement) for the countries below; any other
``voice.tone.country`` value, ``Custom`` included, gets the CEPT plan built on
425 Hz. A single tone is replaced by a Yealink tone string in its key
(``voice.tone.dial = 350+440/0`` ...), parsed by ``parse_tone`` with Yealink's
syntax::

    tonelist = element[,element]...      at most 8 elements
    element  = [!]freq[+freq...]/duration  at most 4 frequencies, 0 Hz = silence,
                                           duration 0..30000 ms, 0 or none = for ever

Elements marked ``!`` play the first time through only; the others repeat.

Pure: no I/O. ``sound/synth.py`` turns cadences into samples.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Mapping

MAX_ELEMENTS = 8
MAX_FREQS = 4
MAX_MS = 30000
FOREVER = 0                  # an element's ms: holds until the tone is stopped


@dataclass(frozen=True)
class Element:
    freqs: tuple[int, ...]   # Hz; () is silence
    ms: int                  # FOREVER (0): until stopped
    once: bool = False       # "!": only the first time through


Cadence = tuple[Element, ...]

_ELEMENT = re.compile(r"(!?)\s*([0-9]+(?:\s*\+\s*[0-9]+)*)\s*(?:/\s*([0-9]+))?")


def parse_tone(text: str) -> Cadence:
    """A Yealink tone string as a cadence; ValueError says what is wrong with it."""
    text = text.strip()
    if not text:
        raise ValueError("empty tone")
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > MAX_ELEMENTS:
        raise ValueError(f"at most {MAX_ELEMENTS} elements, not {len(parts)}")
    out = []
    for part in parts:
        m = _ELEMENT.fullmatch(part)
        if m is None:
            raise ValueError(f"not [!]freq[+freq]/duration: {part!r}")
        freqs = tuple(int(f) for f in m.group(2).split("+"))
        if len(freqs) > MAX_FREQS:
            raise ValueError(f"at most {MAX_FREQS} frequencies in {part!r}")
        if any(f < 0 or f > 8000 for f in freqs):
            raise ValueError(f"frequency out of 0..8000 Hz in {part!r}")
        ms = int(m.group(3)) if m.group(3) is not None else FOREVER
        if ms > MAX_MS:
            raise ValueError(f"duration over {MAX_MS} ms in {part!r}")
        out.append(Element(tuple(f for f in freqs if f > 0), ms, once=bool(m.group(1))))
    return tuple(out)


def check_tone(text: str) -> str | None:
    """For the config schema: an error message, or None (an empty value means 'the plan's')."""
    if not text.strip():
        return None
    try:
        parse_tone(text)
    except ValueError as exc:
        return f"not a Yealink tone string: {exc}"
    return None


def cadence_ms(cadence: Cadence, first: bool = True) -> int | None:
    """One pass through the cadence in ms (the first with the ``!`` elements); None if endless."""
    total = 0
    for el in cadence:
        if el.once and not first:
            continue
        if el.ms == FOREVER:
            return None
        total += el.ms
    return total


# --- the plans (ITU-T E.180 national tones) ----------------------------------
#
# Tone names: dial, ringback, busy, congestion, unavailable (special information
# tone: number unobtainable), call_waiting, confirm (a feature was switched),
# ring (the ring cadence of the ringer on the loudspeaker: on = ring).

_CEPT = {
    "dial": "425",
    "ringback": "425/1000,0/4000",
    "busy": "425/500,0/500",
    "congestion": "425/250,0/250",
    "unavailable": "!950/330,!1400/330,!1800/330,!0/1000",
    "call_waiting": "425/200,0/200,425/200,0/4400",
    "confirm": "!425/100,!0/100,!425/100,!0/100,!425/100",
    "ring": "1/1000,0/4000",
}

PLANS: dict[str, dict[str, str]] = {
    "default": _CEPT,
    "United States": {
        "dial": "350+440",
        "ringback": "440+480/2000,0/4000",
        "busy": "480+620/500,0/500",
        "congestion": "480+620/250,0/250",
        "unavailable": "!950/330,!1400/330,!1800/330,!0/1000",
        "call_waiting": "440/300,0/9700",
        "confirm": "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100",
        "ring": "1/2000,0/4000",
    },
    "Great Britain": {
        "dial": "350+440",
        "ringback": "400+450/400,0/200,400+450/400,0/2000",
        "busy": "400/375,0/375",
        "congestion": "400/400,0/350,400/225,0/525",
        "unavailable": "!950/330,!1400/330,!1800/330,!0/1000",
        "call_waiting": "400/100,0/3000",
        "confirm": "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100",
        "ring": "1/400,0/200,1/400,0/2000",
    },
    "Germany": {
        "dial": "425",
        "ringback": "425/1000,0/4000",
        "busy": "425/480,0/480",
        "congestion": "425/240,0/240",
        "unavailable": "!950/330,!1400/330,!1800/330,!0/1000",
        "call_waiting": "425/200,0/200,425/200,0/5000",
        "confirm": "!425/100,!0/100,!425/100,!0/100,!425/100",
        "ring": "1/1000,0/4000",
    },
    "France": {
        "dial": "440",
        "ringback": "440/1500,0/3500",
        "busy": "440/500,0/500",
        "congestion": "440/250,0/250",
        "unavailable": "!950/330,!1400/330,!1800/330,!0/1000",
        "call_waiting": "440/300,0/10000",
        "confirm": "!440/100,!0/100,!440/100,!0/100,!440/100",
        "ring": "1/1500,0/3500",
    },
    "Netherlands": {
        "dial": "425",
        "ringback": "425/1000,0/4000",
        "busy": "425/500,0/500",
        "congestion": "425/250,0/250",
        "unavailable": "!950/330,!1400/330,!1800/330,!0/1000",
        "call_waiting": "425/500,0/9500",
        "confirm": "!425/100,!0/100,!425/100,!0/100,!425/100",
        "ring": "1/1000,0/4000",
    },
}

# voice.tone.country values (Yealink's names first) and the short forms people write.
COUNTRIES = {
    "united states": "United States", "us": "United States", "usa": "United States",
    "great britain": "Great Britain", "united kingdom": "Great Britain", "uk": "Great Britain",
    "gb": "Great Britain",
    "germany": "Germany", "de": "Germany",
    "france": "France", "fr": "France",
    "netherlands": "Netherlands", "nl": "Netherlands",
}

# The Yealink keys that replace one tone of the plan.
OVERRIDE_KEYS = {
    "dial": "voice.tone.dial",
    "ringback": "voice.tone.ring",
    "busy": "voice.tone.busy",
    "congestion": "voice.tone.congestion",
    "call_waiting": "voice.tone.callwaiting",
    "unavailable": "voice.tone.info",
}

# The ringer: two tones alternating every 50 ms (a warble), during the "on" parts of "ring".
RINGER_FREQS = (1000, 1250)
RINGER_STEP_MS = 50

# Key tones: the key's DTMF pair (ITU-T Q.23), 100 ms.
_DTMF_ROWS = {"1": 697, "2": 697, "3": 697, "4": 770, "5": 770, "6": 770,
              "7": 852, "8": 852, "9": 852, "*": 941, "0": 941, "#": 941}
_DTMF_COLS = {"1": 1209, "4": 1209, "7": 1209, "*": 1209, "2": 1336, "5": 1336, "8": 1336,
              "0": 1336, "3": 1477, "6": 1477, "9": 1477, "#": 1477}
KEY_TONE_MS = 100


def dtmf_pair(key: str) -> tuple[int, int]:
    return _DTMF_ROWS[key], _DTMF_COLS[key]


def key_tone(key: str) -> Cadence:
    return (Element(dtmf_pair(key), KEY_TONE_MS, once=True),)


def country_of(value: object) -> str:
    """The plan name for a ``voice.tone.country`` value ("default" for Custom, blank, unknown)."""
    return COUNTRIES.get(str(value or "").strip().lower(), "default")


def _ringer(ring: Cadence) -> Cadence:
    """The ring cadence (any frequency marks "on") played as the ringer's warble."""
    out: list[Element] = []
    for el in ring:
        if not el.freqs:
            out.append(el)
        elif el.ms == FOREVER:
            out.append(Element(RINGER_FREQS, FOREVER, el.once))
        else:
            steps, rest = divmod(el.ms, RINGER_STEP_MS)
            out += [Element((RINGER_FREQS[i % 2],), RINGER_STEP_MS, el.once) for i in range(steps)]
            if rest:
                out.append(Element((RINGER_FREQS[steps % 2],), rest, el.once))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _plan(country: str, overrides: tuple[tuple[str, str], ...]) -> dict[str, Cadence]:
    plan = {name: parse_tone(text) for name, text in PLANS[country].items()}
    for name, text in overrides:
        try:
            plan[name] = parse_tone(text)
        except ValueError:
            pass            # reported when the config was read; the plan's tone stays
    plan["ring"] = _ringer(plan["ring"])
    return plan


def tone_plan(settings: Mapping[str, object]) -> dict[str, Cadence]:
    """Every tone by name for these settings (country plan, then the Yealink overrides)."""
    overrides = tuple((name, str(settings.get(key) or "")) for name, key in OVERRIDE_KEYS.items()
                      if str(settings.get(key) or "").strip())
    return _plan(country_of(settings.get("voice.tone.country")), overrides)
