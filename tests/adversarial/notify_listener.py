"""The phone's SIP NOTIFY listener over a FakeHost, on 127.0.0.1 port 0, and senders on 127.x."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "net"))

from deskphone.net.sip_notify import SipNotifyListener  # noqa: E402
from fake_host import FakeHost  # noqa: E402


def known(config: dict) -> dict:
    """``config`` less keys this code does not know: the tests also run against the code
    before issue 15 (to see them fail there), which had no deskphone.sip_notify_auth."""
    from deskphone.config.schema import lookup
    from deskphone.errors import ConfigError
    kept = {}
    for key, value in config.items():
        try:
            lookup(key)
        except ConfigError:
            continue
        kept[key] = value
    return kept


async def listen(tmp: Path, config: dict) -> SipNotifyListener:
    host = FakeHost(tmp / "state", known(config))
    listener = SipNotifyListener(host, "127.0.0.1", 0)
    assert await listener.start()
    return listener
