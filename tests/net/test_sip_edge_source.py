"""Whose NOTIFY it is: the socket's address, or the one the SIP edge names, from the edge only."""

from __future__ import annotations

import pytest

from deskphone.net.sip_edge_source import real_source

EDGE = ("127.0.0.1", 40001)


@pytest.mark.parametrize("header, expected", [
    ("udp 192.0.2.7:5060", "192.0.2.7"),
    ("tcp 192.0.2.7:41234", "192.0.2.7"),
    ("UDP [2001:db8::7]:5060", "2001:db8::7"),
    (None, None),                       # the edge always names one: without it, nobody
    ("", None),
    ("udp pbx.example.org:5060", None),     # a name is no transport source
    ("sctp 192.0.2.7:5060", None),
    ("udp 192.0.2.7", None),
    ("udp 2001:db8::7:5060", None),     # IPv6 without brackets is ambiguous
])
def test_the_edges_datagram_names_its_source(header, expected):
    assert real_source(EDGE, header, EDGE) == expected


@pytest.mark.parametrize("addr", [("127.0.0.1", 40002), ("127.0.0.2", 40001),
                                  ("192.0.2.9", 5060)])
def test_from_anywhere_else_the_header_means_nothing(addr):
    assert real_source(EDGE, "udp 192.0.2.7:5060", addr) == addr[0]


def test_without_an_edge_the_socket_decides():
    assert real_source(None, "udp 192.0.2.7:5060", EDGE) == "127.0.0.1"
