"""The one way tests wait for something: poll a condition on the loop until it holds."""

from __future__ import annotations

import asyncio
import inspect
from typing import Awaitable, Callable

# Generous: real processes (baresip, kamailio) on a loaded 2-core machine.
TIMEOUT = 10.0


async def until(condition: Callable[[], object | Awaitable[object]], timeout: float = TIMEOUT,
                what: str | Callable[[], str] = "condition", interval: float = 0.01) -> None:
    """Return as soon as ``condition()`` is true; AssertionError after ``timeout``.

    ``condition`` may be a coroutine function (asking a far end over its control
    socket). ``what`` names what did not happen; a function of no arguments to
    say what was seen instead, read when the time is up.
    """
    async def holds() -> bool:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    try:
        async with asyncio.timeout(timeout):
            while not await holds():
                await asyncio.sleep(interval)
    except TimeoutError:
        message = what() if callable(what) else f"{what} did not happen within {timeout} s"
        raise AssertionError(message) from None
