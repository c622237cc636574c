"""The one way tests wait for something: poll a condition on the loop until it holds."""

from __future__ import annotations

import asyncio
from typing import Callable

# Generous: real processes (baresip, kamailio) on a loaded 2-core machine.
TIMEOUT = 10.0


async def until(condition: Callable[[], object], timeout: float = TIMEOUT,
                what: str = "condition", interval: float = 0.01) -> None:
    """Return as soon as ``condition()`` is true; AssertionError naming ``what`` after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"{what} did not happen within {timeout} s") from None
