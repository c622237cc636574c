"""The real source of a NOTIFY the SIP edge passes on (engine/sip_edge.py).

The edge (kamailio on the phone's SIP port) hands the NOTIFYs a PBX sends to
the registered contact to the NOTIFY listener from its own loopback socket,
naming the transport source it saw: ``X-Deskphone-Source: udp 192.0.2.7:5060``
(``tcp``, ``[2001:db8::7]:5060`` alike). It removes that header from whatever
comes from outside, so the header is believed only in a datagram from exactly
the edge's socket; anywhere else it means nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Any

HEADER = "X-Deskphone-Source"


def real_source(edge: tuple[str, int] | None, header: str | None,
                addr: tuple[Any, ...]) -> str | None:
    """The address that sent the request: the socket's, or for the edge's datagram the one
    its header names (None when it names none a listener could trust)."""
    if edge is None or (str(addr[0]), int(addr[1])) != edge:
        return str(addr[0])
    proto, _, hostport = (header or "").strip().partition(" ")
    host = hostport.rpartition(":")[0]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return None             # IPv6 is written in brackets: without them it is ambiguous
    if proto.lower() not in ("udp", "tcp"):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host
