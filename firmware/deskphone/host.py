"""PhoneHost: what an adapter may see of the running phone, and what it may do to it.

The servlet, the web pages, the SIP NOTIFY listener, the serial console,
provisioning and the web simulator are given a ``PhoneHost`` and nothing else
of the phone. They type against this port and never import the composition
root (``app.py``), which implements it. Everything here is read-only but the
two ways in: ``post`` an input to the core, or change settings through the one
``SettingsWriter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Protocol, Sequence

from .config.settings import Settings
from .config.writer import SettingsWriter
from .core import effects as fx
from .core import inputs as ins
from .core.screens import Screen
from .core.call_log import Entry
from .core.directory import Contact
from .core.blf import BlfLine
from .core.state import Call, DeviceInfo
from .core.voicemail import Mailbox

if TYPE_CHECKING:       # Pillow is imported where a frame is drawn, not at import time
    from PIL.Image import Image


class Delivery(Protocol):
    """One Action URL request's outcome (``net.action_url.Delivery`` is one)."""
    at: float
    event: str
    url: str
    status: int | None
    latency: float
    error: str

    @property
    def event_name(self) -> str: ...


@dataclass(frozen=True)
class ProvisioningRun:
    """How the last auto-provisioning run ended: when (``time.time()``), ok, and why not."""
    at: float
    ok: bool
    reason: str = ""


class PhoneHost(Protocol):
    # --- what an adapter may see ------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The live effective settings (immutable: a change makes new ones)."""

    @property
    def device(self) -> DeviceInfo:
        """MAC, model, firmware, the address at start and the number of line keys."""

    @property
    def board_name(self) -> str: ...

    @property
    def state_dir(self) -> Path:
        """Where the phone keeps what it writes (the web pages' certificate lives there)."""

    @property
    def status(self) -> str:
        """The one-line status (Idle, Talking: 201...), as systemd shows it."""

    @property
    def ip(self) -> str:
        """The address the phone's SIP traffic leaves from now ($ip)."""

    @property
    def registrations(self) -> Mapping[int, str]:
        """Account number -> registered | failed | unregistered (read-only)."""

    @property
    def screen(self) -> Screen:
        """What the screen shows now."""

    def frame(self) -> "Image":
        """The screen's pixels now (the display's last frame, or the screen drawn afresh)."""

    @property
    def deliveries(self) -> Sequence[Delivery]:
        """The recent Action URL deliveries, oldest first."""

    @property
    def engine_name(self) -> str: ...

    @property
    def engine_up(self) -> bool:
        """False while the call engine is down (crashed, being restarted)."""

    @property
    def uptime(self) -> float | None:
        """Seconds since the phone started, None before."""

    @property
    def call_log(self) -> Sequence[Entry]:
        """The call log: missed, received, placed, each newest first (read-only)."""

    @property
    def directory(self) -> Sequence[Contact]:
        """Every contact: the local directory's first, then each remote book's."""

    @property
    def calls(self) -> Sequence[Call]:
        """The calls in progress now, in the phone's order (read-only: do not change them)."""

    @property
    def voicemail(self) -> Mapping[int, Mailbox]:
        """Account number -> its mailbox, for the accounts a message-summary was heard for."""

    @property
    def blf(self) -> Mapping[int, BlfLine]:
        """Line key number -> the BLF line it watches (``linekey.N.type = 16`` keys only)."""

    @property
    def last_provisioning(self) -> ProvisioningRun | None:
        """The last auto-provisioning run's end (the AutoP key, check-sync, the timers, the web
        page's Provision now), None before the first."""

    # --- what an adapter may do -------------------------------------------------
    def post(self, inp: ins.Input) -> None:
        """Hand an input to the core (from the event loop's thread)."""

    @property
    def writer(self) -> SettingsWriter:
        """The one writer of settings."""

    def on_status(self, listener: Callable[[str], None]) -> None:
        """Be told of every new status line."""

    def on_effect(self, listener: Callable[[fx.Effect], None]) -> None:
        """Be told of every effect the core returns (the web simulator's live view)."""
