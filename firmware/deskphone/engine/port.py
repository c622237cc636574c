"""The telephony engine port: what the runtime needs from a SIP engine."""

from __future__ import annotations

from typing import Callable, Protocol

from ..core import effects as fx
from ..core import inputs as ins

EngineCommand = (
    fx.EngineDial | fx.EngineAnswer | fx.EngineHangup | fx.EngineHold | fx.EngineMute
    | fx.EngineDtmf | fx.EngineTransfer | fx.EngineAttendedTransfer | fx.EngineForward
    | fx.EngineRegister | fx.EngineRoute
)
Post = Callable[[ins.Input], None]


class Engine(Protocol):
    async def start(self, post: Post) -> None:
        """Start the engine; from now on it reports what happens through ``post``."""

    def execute(self, command: EngineCommand) -> None:
        """Queue a command. Returns at once; outcomes come back as inputs."""

    async def stop(self) -> None:
        """Stop, leaving no process or task behind."""
