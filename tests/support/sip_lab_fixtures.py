"""pytest fixtures of the SIP lab; a test module imports the ones it uses.

``lab`` (per module): kamailio + three baresip far ends, Alice (201) and Bob
(202) answering only when told, Carol (203) answering by herself (a transfer
and forward target). ``alice``/``bob``/``carol`` (per test): a control
connection; at the end of the test every call they still have is hung up.
``sip_phone`` (per test): the whole phone with the baresip engine, registered
under a user name no earlier test used; stopping it must leave no baresip.
"""

from __future__ import annotations

import pytest

from .sip_lab import (FarEndControl, SipLab, lab_missing, processes_mentioning, start_lab,
                      start_sip_phone)
from .needs import unavailable

FAR_ENDS = (("Alice", "201", "manual"), ("Bob", "202", "manual"), ("Carol", "203", "auto"))


def running_lab(tmp_path_factory, far_ends=FAR_ENDS, missing=lab_missing, start=start_lab,
                name: str = "siplab"):
    """A module's lab from ``start(root, far_ends)``, unless ``missing()`` says why not."""
    why = missing()
    if why:
        # The twin that runs everywhere: tests/integration/test_every_event.py (simulated PBX).
        unavailable(f"SIP lab unavailable: {why}")
    lab = start(tmp_path_factory.mktemp(name), far_ends)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> SipLab:
    yield from running_lab(tmp_path_factory)


async def _control(lab: SipLab, name: str):
    ctl = await FarEndControl(lab.far_ends[name]).connect()
    lab.far_ends[name].ctl = ctl
    yield ctl
    try:
        await ctl.hang_up_all()
    finally:
        await ctl.close()


@pytest.fixture
async def alice(lab):
    async for ctl in _control(lab, "Alice"):
        yield ctl


@pytest.fixture
async def bob(lab):
    async for ctl in _control(lab, "Bob"):
        yield ctl


@pytest.fixture
async def carol(lab):
    async for ctl in _control(lab, "Carol"):
        yield ctl


async def stop_and_check(app) -> None:
    """Stop the phone; nothing started for it may still run."""
    runtime_dir = str(app.engine.runtime_dir)
    await app.stop()
    assert processes_mentioning(runtime_dir) == [], "baresip outlived the phone"


async def registered_phone(lab: SipLab, tmp_path, receiver, extra: str = ""):
    """The whole phone (``extra`` config lines), registered; stopped and checked after."""
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, extra=extra)
    app.sip_user = user
    try:
        await receiver.wait("registered", timeout=15)
        yield app
    finally:
        await stop_and_check(app)


@pytest.fixture
async def sip_phone(lab, tmp_path, receiver):
    async for app in registered_phone(lab, tmp_path, receiver):
        yield app
