"""Build a whole phone (sim board + sim engine) around a temporary config for tests."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator

from deskphone.app import PhoneApp
from deskphone.config.board import load_board
from deskphone.core import inputs as ins
from deskphone.core.events import EVENTS
from deskphone.core.variables import NAMES as VARIABLES

ALL_VARIABLES = "&".join(f"{v}=${v}" for v in VARIABLES)

BOARD = """\
[board]
name = "test board"
kind = "sim"
mac = "00:15:65:AB:CD:EF"
line_keys = 2

[display]
driver = "sim"

[sim_pbx]
answer_delay_ms = 50
{password}

[sim_pbx.extensions]
"201" = {{ name = "Alice", behaviour = "answer" }}
"202" = {{ name = "Bob", behaviour = "busy" }}
"203" = {{ name = "Carol", behaviour = "no-answer" }}
"204" = {{ name = "Dave", behaviour = "reject" }}
"""

ACCOUNT = """\
account.1.enable = 1
account.1.label = Desk
account.1.display_name = Desk Phone
account.1.user_name = 100
account.1.auth_name = 100
account.1.password = secret
account.1.sip_server.1.address = pbx.test
deskphone.hook.debounce_ms = 0
"""


def write_config(config_dir: Path, receiver_base: str, extra: str = "",
                 url_for: dict[str, str] | None = None) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    lines = ["#!version:1.0.0.1", ACCOUNT]
    for e in EVENTS:
        url = (url_for or {}).get(e.id, f"{receiver_base}/{e.id}?{ALL_VARIABLES}")
        lines.append(f"action_url.{e.id} = {url}")
    lines.append(extra)
    (config_dir / "y000000000000.cfg").write_text("\n".join(lines) + "\n")


async def start_phone(tmp: Path, receiver_base: str, *, extra: str = "",
                      pbx_password: str | None = None,
                      url_for: dict[str, str] | None = None,
                      bind: str = "127.0.0.1", board_extra: str = "") -> PhoneApp:
    board_file = tmp / "board.toml"
    board_file.write_text(BOARD.format(
        password=f'password = "{pbx_password}"' if pbx_password is not None else "")
        + board_extra)
    write_config(tmp / "config", receiver_base, extra, url_for)
    app = PhoneApp(load_board(board_file), tmp / "config", tmp / "state",
                   bind=bind, http_port=0, https_port=0, sip_notify_port=0)
    await app.start()
    return app


@contextlib.asynccontextmanager
async def registered_phone(tmp: Path, receiver, **options) -> AsyncIterator[PhoneApp]:
    """``start_phone`` (same options), yielded once account 1 registered; stopped after."""
    app = await start_phone(tmp, receiver.base, **options)
    try:
        await receiver.wait("registered")
        yield app
    finally:
        await app.stop()


async def settle(app: PhoneApp) -> None:
    """Wait until the runtime has handled every input queued so far."""
    for _ in range(50):
        await asyncio.sleep(0)
        if app.runtime.inbox.empty():
            await asyncio.sleep(0.01)
            if app.runtime.inbox.empty():
                return


def record_inputs(app: PhoneApp) -> list:
    """From now on, every input something gives the phone through ``runtime.post``.

    The phone's own timers (the clock tick, a message going away) come through
    ``post`` too; they are not something a request did, so they are left out.
    """
    posted: list = []
    post = app.runtime.post

    def record(inp: ins.Input) -> None:
        if not isinstance(inp, ins.TimerFired):
            posted.append(inp)
        post(inp)

    app.runtime.post = record  # type: ignore[method-assign]
    return posted
