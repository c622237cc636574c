"""Headless Chromium for browser tests: Debian's ``chromium`` driven by Playwright for Python.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (Debian's
package, installed by ``make test``). Flags: ``--no-sandbox`` because tests
run as root; the ``--disable-*`` ones keep a closed network quiet; each launch
gets a fresh profile directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import asynccontextmanager
from typing import AsyncIterator

CHROMIUM = os.environ.get("DESKPHONE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@asynccontextmanager
async def chromium_page() -> AsyncIterator[object]:
    """A fresh page in a fresh headless Chromium profile."""
    from playwright.async_api import async_playwright
    with tempfile.TemporaryDirectory(prefix="deskphone-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                yield page
            finally:
                await context.close()
