"""A PBX's NOTIFYs to the phone's registered contact reach the phone through its SIP edge.

The lab's kamailio registrar plays the PBX: it looks the phone's contact up in
its location table (``kamcmd ul.lookup location <user>``) and sends a NOTIFY
there with ``kamcmd tm.t_uac_wait_block``, as kamailio-based PBXs and Asterisk's
``pjsip send notify <name> endpoint <ext>`` do (yealink-facts.md, "Where PBXs
send SIP NOTIFY"). The phone is the whole phone with a real baresip behind a
real kamailio edge (engine/sip_edge.py); nothing is simulated.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from deskphone.core import inputs as ins
from support.phone import record_inputs, settle
from support.sip_lab import (notify_contact, processes_mentioning, registered_contacts,
                             start_sip_phone)
from support.sip_lab_fixtures import lab, stop_and_check  # noqa: F401
from support.sip_udp import SipPeer, notify
from support.waiting import until

# The registrar (127.0.0.1) may act; other loopback addresses stand for strangers.
TRUSTED = ("features.show_action_uri_option = 0\n"
           "features.action_uri_limit_ip = 127.0.0.1\ndeskphone.sip_notify_auth = 0\n")


@pytest.fixture
async def phone(lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user, extra=TRUSTED)
    app.sip_user = user
    try:
        await receiver.wait("registered", timeout=15)
        yield app
    finally:
        edge_dir = str(app.sip_edge.runtime_dir) if app.sip_edge else None
        await stop_and_check(app)
        if edge_dir:
            assert processes_mentioning(edge_dir) == [], "kamailio outlived the phone"


async def contact_of(lab, app) -> str:
    contacts = await registered_contacts(lab, app.sip_user)
    assert len(contacts) == 1, contacts
    return contacts[0]


async def test_the_registered_contact_is_the_edge_on_the_phones_sip_port(lab, phone):
    edge = phone.sip_edge
    assert edge is not None and edge.pid is not None
    port = phone.settings["sip.listen_port"]
    contact = await contact_of(lab, phone)
    assert f"@127.0.0.1:{port}" in contact
    # baresip itself is on a loopback port of its own, behind the edge.
    assert edge.link.phone_port != port
    config = (phone.engine.runtime_dir / "config").read_text()
    assert f"sip_listen\t\t127.0.0.1:{edge.link.phone_port}" in config
    assert oct((edge.runtime_dir / "kamailio.cfg").stat().st_mode & 0o777) == "0o600"


async def test_action_uri_notify_at_the_contact_makes_the_phone_act(lab, phone, receiver):
    contact = await contact_of(lab, phone)
    status, out = await notify_contact(lab, contact, "ACTION-URI", "key=DNDOn")
    assert status == 200, out
    hit = await receiver.wait("dnd_on")
    assert hit["mac"] == "001565abcdef"
    await settle(phone)
    assert phone.settings["features.dnd.enable"] is True
    assert phone.sip_notify.stats["200"] == 1
    # The listener heard it from the edge, and judged the registrar's own address.
    status, _ = await notify_contact(lab, contact, "ACTION-URI", "key=NOPE")
    assert status == 400


async def test_check_sync_at_the_contact_reaches_the_phone(lab, phone):
    posted = record_inputs(phone)
    status, out = await notify_contact(lab, await contact_of(lab, phone),
                                       "check-sync;reboot=false")
    assert status == 200, out
    assert ins.RequestAutoProvision(reboot=False) in posted


async def test_another_event_goes_to_baresip(lab, phone):
    # baresip (libre) answers a NOTIFY it holds no subscription for itself: not the listener.
    before = sum(phone.sip_notify.stats.values())
    status, out = await notify_contact(lab, await contact_of(lab, phone), "presence",
                                       "x", "application/pidf+xml")
    assert status in (400, 481, 489), out
    assert "deskphone/" not in out         # the listener signs its answers, libre does not
    assert sum(phone.sip_notify.stats.values()) == before


async def test_a_stranger_through_the_edge_is_judged_by_its_own_address(lab, phone, receiver):
    """From 127.0.0.5, with a forged source header: the edge strips it, the listener
    sees 127.0.0.5 (not the edge's 127.0.0.1) and refuses it."""
    port = phone.settings["sip.listen_port"]
    stranger = await SipPeer.open("127.0.0.5")
    try:
        answer = await stranger.ask(notify(
            port, "key=DNDOn", via_host="127.0.0.5", via_port=stranger.port,
            extra="X-Deskphone-Source: udp 127.0.0.1:5060\r\n"), port)
        assert answer.status == 403, answer.raw
        # Not relaying: a request for another host gets 403 from the edge itself.
        relay = notify(port, "x", method="OPTIONS", via_host="127.0.0.5", via_port=stranger.port)
        relay = relay.replace(f"sip:phone@127.0.0.1:{port}".encode(), b"sip:201@192.0.2.1")
        answer = await stranger.ask(relay, port)
        assert answer.status == 403 and "relaying" in answer.reason.lower()
    finally:
        stranger.close()
    await receiver.quiet(0.2)
    assert phone.sip_notify.stats["403"] == 1
    assert phone.settings["features.dnd.enable"] is False
    assert "dnd_on" not in receiver.events()


async def test_a_tls_account_added_under_the_running_edge_is_said_once(lab, phone, caplog):
    # The edge is chosen at start and carries no TLS: a TLS account added later (here as
    # the setup pages add one, through the settings writer) gets one warning saying so.
    caplog.set_level(logging.WARNING, "deskphone")

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if "SIP edge:" in r.getMessage()]
    phone.writer.update({"account.1.label": "Desk"})                 # nothing to say
    assert said() == []
    phone.writer.update({"account.1.sip_server.1.transport_type": 2})
    phone.writer.update({"account.1.label": "Desk 2"})               # still TLS: not again
    assert said() == ["SIP edge: account 1 uses TLS, which the SIP edge (on since the phone "
                      "started) does not carry: it registers once the phone restarts (Reboot)"]
    assert phone.sip_edge is not None and phone.sip_edge.pid is not None   # it stays on


async def test_a_killed_edge_comes_back_and_notifies_still_arrive(lab, phone, receiver):
    edge = phone.sip_edge
    first = edge.pid
    os.killpg(first, signal.SIGKILL)
    await until(lambda: edge.pid not in (None, first) and edge.up.is_set(), timeout=10)
    assert edge.starts == 2
    status, out = await notify_contact(lab, await contact_of(lab, phone), "ACTION-URI",
                                       "key=DNDOn")
    assert status == 200, out
    await receiver.wait("dnd_on")


async def test_a_killed_baresip_comes_back_behind_the_same_edge(lab, phone, receiver):
    first = phone.engine.pid
    registered = await receiver.wait("registered")
    os.kill(first, signal.SIGKILL)
    await receiver.wait("registered", timeout=20, after=registered.at + 1e-6)
    assert phone.engine.pid not in (None, first)
    # The killed baresip could not unregister: its binding may stay until it expires
    # (baresip 1.0.0 names its contact after an address in its memory). Every binding
    # is the edge's address.
    contacts = await registered_contacts(lab, phone.sip_user)
    port = phone.settings["sip.listen_port"]
    assert contacts and all(f"@127.0.0.1:{port}" in c for c in contacts), \
        (contacts, port, phone.sip_edge.link)


async def test_stop_unregisters_through_the_edge_and_leaves_no_kamailio(lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user)
    await receiver.wait("registered", timeout=15)
    assert await registered_contacts(lab, user)
    edge_dir = str(app.sip_edge.runtime_dir)
    await stop_and_check(app)
    assert processes_mentioning(edge_dir) == []
    for _ in range(40):
        if not await registered_contacts(lab, user):
            break
        await asyncio.sleep(0.05)
    assert await registered_contacts(lab, user) == []


async def test_the_edge_off_baresip_holds_the_port_and_answers_notifies_itself(
        lab, tmp_path, receiver):
    user = lab.next_user()
    app = await start_sip_phone(tmp_path, receiver.base, lab, user,
                                extra=TRUSTED + "deskphone.sip_edge.enable = 0\n")
    try:
        await receiver.wait("registered", timeout=15)
        assert app.sip_edge is None
        port = app.settings["sip.listen_port"]
        contacts = await registered_contacts(lab, user)
        assert len(contacts) == 1 and f"@127.0.0.1:{port}" in contacts[0]
        status, _ = await notify_contact(lab, contacts[0], "ACTION-URI", "key=DNDOn")
        assert status != 200        # what issue 14 found: libre answers, the phone hears nothing
        assert app.sip_notify.stats["200"] == 0
    finally:
        await stop_and_check(app)


async def test_a_tcp_account_registers_through_the_edge_and_hears_notifies(lab, tmp_path,
                                                                           receiver):
    """A TCP account: baresip -> edge -> registrar over TCP; the contact says transport=tcp
    and the registrar's NOTIFY comes back over TCP to the edge, then to the listener."""
    from support.sip_lab import SipLab, start_tcp_registrar
    registrar = start_tcp_registrar(tmp_path / "tcp-registrar")
    tcp_lab = SipLab(tmp_path, registrar)
    try:
        user = tcp_lab.next_user()
        app = await start_sip_phone(tmp_path / "phone", receiver.base, tcp_lab, user,
                                    extra=TRUSTED + "account.1.sip_server.1.transport_type = 1\n")
        try:
            await receiver.wait("registered", timeout=15)
            contacts = await registered_contacts(tcp_lab, user)
            port = app.settings["sip.listen_port"]
            assert len(contacts) == 1 and f"@127.0.0.1:{port};transport=tcp" in contacts[0]
            status, out = await notify_contact(tcp_lab, contacts[0], "ACTION-URI", "key=DNDOn")
            assert status == 200, out
            await receiver.wait("dnd_on")
        finally:
            await stop_and_check(app)
    finally:
        registrar.stop()


async def test_a_strangers_flood_through_the_edge_spends_its_own_allowance_only(lab, phone,
                                                                               receiver):
    """The listener limits each real source (20 at once): a stranger's 150 NOTIFYs through
    the edge use up 127.0.0.5's allowance, not the registrar's (both reach the listener
    from the edge's one socket)."""
    port = phone.settings["sip.listen_port"]
    stranger = await SipPeer.open("127.0.0.5")
    try:
        for _ in range(150):
            stranger.send(notify(port, "key=DNDOn", via_host="127.0.0.5",
                                 via_port=stranger.port), port)
            await asyncio.sleep(0)
        await asyncio.sleep(0.3)
    finally:
        stranger.close()
    assert phone.sip_notify.stats["rate limited"] >= 100
    status, out = await notify_contact(lab, await contact_of(lab, phone), "ACTION-URI",
                                       "key=DNDOn")
    assert status == 200, out
    await receiver.wait("dnd_on")
