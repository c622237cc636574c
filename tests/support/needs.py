"""What to do when a tool the tests need is not on this machine.

`make test` installs every Debian package the suite uses, so under CI (the
`CI` environment variable set, as `.ci/run` runs) a missing tool is a broken
set-up and fails the test. On a developer's machine without it, the test is
skipped with the reason; its twin on the simulated parts still runs.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: `make test` should have installed it", pytrace=False)
    pytest.skip(reason)


def requires(reason: str | None) -> pytest.MarkDecorator:
    """A mark for tests that need something absent when ``reason`` is not None.

    Off CI it skips them with the reason; under CI it makes them fail at set-up
    (see ``pytest_runtest_setup`` in tests/conftest.py).
    """
    if reason is None:
        return pytest.mark.skipif(False, reason="")
    if os.environ.get("CI"):
        return pytest.mark.setup_missing(reason)
    return pytest.mark.skipif(True, reason=reason)
