"""One input's work: the state the models change and the effects they collect.

Every model function takes a ``Step`` first, the way h11's state machine is
handed its events: the models never return effects themselves, so one handler
may call several of them and the order of the effects is the order things
happened.
"""

from __future__ import annotations

from . import effects as fx
from .state import Call, PhoneState, MESSAGE_SECONDS
from .variables import variables


class Step:
    def __init__(self, state: PhoneState) -> None:
        self.state = state
        self.out: list[fx.Effect] = []

    @property
    def now(self) -> float:
        return self.state.now

    def send(self, effect: fx.Effect) -> None:
        self.out.append(effect)

    def emit(self, event: str, call: Call | None = None, account_index: int | None = None) -> None:
        self.out.append(fx.Emit(event, variables(self.state, call, account_index)))

    def timer(self, name: str, delay: float) -> None:
        self.out.append(fx.StartTimer(name, delay))

    def cancel_timer(self, name: str) -> None:
        self.out.append(fx.CancelTimer(name))

    def flash(self, text: str) -> None:
        """A short message on the screen's last line."""
        self.state.message = text
        self.timer("message", MESSAGE_SECONDS)

    def persist(self, key: str, value: object) -> None:
        """Change a setting now and have the runtime store it."""
        s = self.state
        # A config.Settings stays one (it keeps what is derived from it, such as the
        # enabled accounts every screen needs); a plain mapping (tests) is copied.
        try:
            s.settings = s.settings.with_overrides({key: value})  # type: ignore[attr-defined]
        except Exception:
            s.settings = {**s.settings, key: value}
        self.out.append(fx.Persist(key, value))
