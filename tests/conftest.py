import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.phone import start_phone  # noqa: E402
from support.receiver import Receiver  # noqa: E402


@pytest.fixture
async def receiver():
    rx = await Receiver().start()
    yield rx
    await rx.stop()


@pytest.fixture
async def phone(tmp_path, receiver):
    app = await start_phone(tmp_path, receiver.base)
    await receiver.wait("setup_completed")
    yield app
    await app.stop()


def pytest_runtest_setup(item):
    missing = item.get_closest_marker("setup_missing")
    if missing is not None:
        pytest.fail(f"{missing.args[0]}: `make test` should have installed it", pytrace=False)
