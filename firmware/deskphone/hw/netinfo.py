"""This machine's MAC and the IP address its SIP traffic leaves from."""

from __future__ import annotations

import socket
from pathlib import Path

SYS_NET = Path("/sys/class/net")


def read_mac(sys_net: Path = SYS_NET) -> str | None:
    """The MAC of the first wired, then wireless, interface: 12 lower-case hex digits."""
    try:
        names = sorted(p.name for p in sys_net.iterdir() if p.name != "lo")
    except OSError:
        return None
    names.sort(key=lambda n: (not n.startswith(("eth", "en")), not n.startswith("wl"), n))
    for name in names:
        try:
            mac = (sys_net / name / "address").read_text().strip().replace(":", "").lower()
        except OSError:
            continue
        if len(mac) == 12 and mac != "0" * 12:
            return mac
    return None


def outbound_ip(towards: str = "", fallback: str = "127.0.0.1") -> str:
    """The local address the kernel picks to reach ``towards`` (connecting a UDP socket sends nothing)."""
    if not towards:
        return fallback
    try:
        infos = socket.getaddrinfo(towards, 5060, type=socket.SOCK_DGRAM)
    except OSError:
        return fallback
    for family, _, _, _, addr in infos:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect(addr)
                return s.getsockname()[0]
        except OSError:
            continue
    return fallback
