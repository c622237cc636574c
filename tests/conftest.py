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
