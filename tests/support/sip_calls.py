"""Call set-ups the SIP lab tests share."""

from __future__ import annotations

from .waiting import TIMEOUT as T     # generous: a loaded 2-core machine, real processes
from .waiting import until     # the SIP lab tests wait with it too


def is_from(user: str):
    return lambda e: f"sip:{user}@" in str(e.get("peeruri", ""))


async def call_alice(phone, receiver, alice):
    """The phone calls Alice, she answers: returns the Established request."""
    mark = alice.mark()
    phone.hook.lift()
    phone.keypad.type("201#")
    out = await receiver.wait("outgoing_call", timeout=T)
    ring = await alice.wait("CALL_INCOMING", after=mark)
    assert ring["id"] == out["sip_call_id"]
    await alice.on_call(ring["id"], "accept")
    est = await receiver.wait("call_established", timeout=T)
    assert est["sip_call_id"] == out["sip_call_id"]
    return est


async def alice_calls(phone, receiver, alice):
    """Alice calls the phone: returns (her Call-ID, the Incoming Call request)."""
    mark = alice.mark()
    await alice.dial(f"sip:{phone.sip_user}@127.0.0.1:{alice.far.registrar_port}")
    hit = await receiver.wait("incoming_call", timeout=T)
    ringing = await alice.wait("CALL_RINGING", after=mark)
    assert hit["sip_call_id"] == ringing["id"]
    return ringing["id"], hit


async def audio_direction(far, call_id: str, want: str, timeout: float = T) -> None:
    """Until the far end's negotiated audio direction for ``call_id`` is ``want``.

    A hold or resume is a re-INVITE round trip (and may meet another one head on,
    491, and be retried): the direction converges; poll it instead of guessing when.
    """
    seen = ""

    async def converged() -> bool:
        nonlocal seen
        data = (await far.on_call(call_id, "audio_debug")).data
        seen = next((w for w in data.split() if w.startswith("dir=")), "")
        return seen == f"dir={want}"

    await until(converged, timeout, lambda: f"audio stayed {seen!r}, never dir={want}",
                interval=0.05)
