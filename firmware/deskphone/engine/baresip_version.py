"""Which baresip this is, and what the phone can ask of it.

The answers come from running each version against kamailio on loopback
(1.0.0, Debian 12 / Raspberry Pi OS bookworm) and from reading the source of
the versions we cannot run here (1.1.0, Debian 13). The README's table
"What works with which baresip" is the human-readable form of ``capabilities``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

Version = tuple[int, int, int]

_VERSION = re.compile(r"baresip\s+v?(\d+)\.(\d+)\.(\d+)")
TESTED: tuple[Version, ...] = ((1, 0, 0),)
KNOWN: tuple[Version, ...] = ((1, 0, 0), (1, 1, 0))


@dataclass(frozen=True)
class Capabilities:
    version: Version
    # ``accept`` / ``hangup`` take a Call-ID (1.1.0). We still select the call
    # first everywhere, so one code path serves both versions.
    call_id_commands: bool
    # ``dnd true|false`` rejects with 480 (1.1.0), but silently: no event, so the
    # phone could not fire Reject Incoming Call. The phone rejects itself instead.
    dnd_command: bool
    # ``hangup`` with a SIP status code: no 1.x version (always 486 "Rejected").
    reject_with_code: bool
    # REFER with Replaces (atransferstart/atransferexec): no 1.x version.
    attended_transfer: bool
    # CALL_HOLD / CALL_RESUME events when the far end holds us: no 1.x version;
    # there the phone reads the negotiated audio direction after each remote SDP.
    remote_hold_events: bool
    # A failed REFER (TRANSFER_FAILED) makes baresip 1.x end the call itself.
    transfer_failure_ends_call: bool
    # A 302 answer to an INVITE: no version.
    redirect: bool = False

    @property
    def name(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def tested(self) -> bool:
        return self.version[:2] in {v[:2] for v in TESTED}


def parse_version(text: str) -> Version | None:
    """The version in ``baresip -h`` output (``baresip v1.0.0 Copyright ...``) or the about box."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    m = _VERSION.search(text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def capabilities(version: Version) -> Capabilities:
    newer = version[:2] > (1, 1)
    return Capabilities(
        version=version,
        call_id_commands=version[:2] >= (1, 1),
        dnd_command=version[:2] >= (1, 1),
        reject_with_code=False,
        attended_transfer=False,
        # Versions after 1.1 send CALL_HOLD/CALL_RESUME; we take them when they come
        # and keep reading the SDP direction either way.
        remote_hold_events=newer,
        transfer_failure_ends_call=not newer,
    )


async def detect_version(binary: str = "baresip", timeout: float = 5.0) -> Version | None:
    """Run ``baresip -h`` (it prints its banner and exits) and read the version."""
    proc = await asyncio.create_subprocess_exec(
        binary, "-h", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return parse_version(out.decode("utf-8", "replace"))
