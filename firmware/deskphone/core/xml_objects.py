"""Yealink XML browser objects as the core takes them, and what the phone keeps of them.

Pure data: ``net.xml_push`` parses the pushed XML (hardened, size-capped) into
these; ``core.xml_browser`` shows and runs them. The attributes follow the
Yealink XML browser developer's guide:

- ``Beep`` (default yes): a tone when the object is shown.
- ``Timeout`` (seconds): the object leaves the screen after that long without a
  key (TextScreen and TextMenu: 45 by default; Status: 30; 0: never).
- ``cancelAction``: the URI the phone requests when the user leaves the object
  with Cancel (X), instead of only leaving it.
- ``doneAction``: the URI the phone requests when the user presses OK on a
  TextScreen.
- A TextMenu's ``MenuItem`` has a ``Prompt`` and a ``URI``: OK requests the URI
  of the selected item (``defaultIndex`` is the one selected first, from 1).
- A Status object puts up to 10 ``Message`` lines on the idle screen under its
  ``SessionID``; a later Status of the same session replaces them, and one with
  no message text clears them.
- Execute runs each ``ExecuteItem URI=`` in order: ``Key:<key>``,
  ``Dial:<number>[:<account>]``, ``Led:<led>=<on|off|slow|fast>``,
  ``Wav.Play:<url>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCREEN_TIMEOUT = 45
STATUS_TIMEOUT = 30
MAX_ITEMS = 30               # menu items and execute items kept of one object
MAX_MESSAGES = 10            # status messages (the guide's limit)
MAX_SESSIONS = 8             # status sessions shown at once; the oldest goes first


@dataclass(frozen=True)
class TextScreen:
    title: str
    text: str
    beep: bool = True
    timeout: int = SCREEN_TIMEOUT
    cancel_action: str = ""
    done_action: str = ""


@dataclass(frozen=True)
class MenuItem:
    prompt: str
    uri: str


@dataclass(frozen=True)
class TextMenu:
    title: str
    items: tuple[MenuItem, ...]
    default_index: int = 1
    numbered: bool = True
    beep: bool = True
    timeout: int = SCREEN_TIMEOUT
    cancel_action: str = ""


@dataclass(frozen=True)
class Status:
    session: str
    messages: tuple[str, ...]
    beep: bool = True
    timeout: int = STATUS_TIMEOUT


@dataclass(frozen=True)
class Execute:
    items: tuple[str, ...]
    beep: bool = False


XmlObject = TextScreen | TextMenu | Status | Execute
SHOWN = (TextScreen, TextMenu)


@dataclass(frozen=True)
class PushXml:
    """Input: a trusted source pushed (or a menu's URI fetched) one XML object."""
    obj: XmlObject
    source: str = ""


@dataclass(frozen=True)
class XmlLed:
    """Input: Execute ``Led:<led>=<pattern>`` sets one LED until the phone next changes it."""
    led: str
    pattern: str


@dataclass(frozen=True)
class FetchXml:
    """Effect: request ``uri`` (a menu item's, doneAction, cancelAction) and push what comes."""
    uri: str


@dataclass(frozen=True)
class PlayWav:
    """Effect: play the WAV file at ``url`` (Execute ``Wav.Play:``) if the sound part can."""
    url: str


@dataclass
class XmlState:
    shown: TextScreen | TextMenu | None = None      # on the screen (under a ringing call)
    index: int = 0                                   # the selected menu item / first line
    under_call: bool = False                         # a call came in over it: back after it
    statuses: dict[str, tuple[str, ...]] = field(default_factory=dict)   # session -> lines

    def status_lines(self) -> tuple[str, ...]:
        return tuple(line for lines in self.statuses.values() for line in lines)
