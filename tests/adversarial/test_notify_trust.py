"""Issue 15, item 1: a SIP NOTIFY is a UDP datagram whose source anyone can write.

- ``features.action_uri_limit_ip`` applies to NOTIFY as to HTTP (a Yealink
  applies it to HTTP only): another host's NOTIFY does nothing, even with the
  prompt off;
- an "allow" the user gave an HTTP peer (TCP proved the address) does not
  authorize datagrams claiming that address: UDP decisions are kept apart;
- by default a NOTIFY must carry a digest of an account's credentials
  (``deskphone.sip_notify_auth``), as Polycom's
  ``voIpProt.SIP.requestValidation`` challenges: 401 with a challenge first.

The client side of the digest is computed as RFC 2617 3.2.2 says and pjsip's
``pjsip_auth_create_digest`` (pjsip/src/pjsip/sip_auth_client.c) and
Asterisk's outbound auth compute it, with qop=auth.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import socket
from pathlib import Path

from notify_listener import listen
from support.needs import unavailable
from support.sip_udp import SipPeer, notify

SCENARIO = Path(__file__).with_name("sipp_notify_auth.xml")

ACCOUNT = {"account.1.enable": True, "account.1.user_name": "100",
           "account.1.auth_name": "100", "account.1.password": "pbx-secret",
           "account.1.sip_server.1.address": "127.0.0.1"}
NO_DIGEST = {"deskphone.sip_notify_auth": False}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def authorization(challenge: str, user: str, password: str, uri: str, cnonce: str = "0a4f113b",
                  nc: str = "00000001") -> str:
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    ha1 = md5(f"{user}:{params['realm']}:{password}")
    ha2 = md5(f"NOTIFY:{uri}")
    response = md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (f'Authorization: Digest username="{user}", realm="{params["realm"]}", '
            f'nonce="{params["nonce"]}", uri="{uri}", response="{response}", algorithm=MD5, '
            f'cnonce="{cnonce}", qop=auth, nc={nc}')


async def test_a_notify_from_a_host_off_the_trusted_list_does_nothing(tmp_path):
    listener = await listen(tmp_path, {**NO_DIGEST, "features.show_action_uri_option": False,
                                       "features.action_uri_limit_ip": "10.9.9.9"})
    stranger = await SipPeer.open("127.0.0.2")
    try:
        answer = await stranger.ask(notify(listener.port, "key=DNDOn"), listener.port)
        assert answer.status == 403
        assert listener.host.posted == []
        assert listener.host.settings["features.dnd.enable"] is False
    finally:
        stranger.close()
        await listener.stop()


async def test_an_http_allow_does_not_open_the_udp_door(tmp_path):
    # 127.0.0.1 was allowed on the prompt for an HTTP request (the key as stored ever since).
    listener = await listen(tmp_path, {**NO_DIGEST, "features.action_uri_limit_ip": "127.0.0.1",
                                       "deskphone.trust.127.0.0.1": "allow"})
    spoofer = await SipPeer.open("127.0.0.1")
    try:
        answer = await spoofer.ask(notify(listener.port, "key=DNDOn"), listener.port)
        assert answer.status == 403
        assert listener.host.settings["features.dnd.enable"] is False
        assert listener.host.screen.kind == "prompt"          # UDP asks on its own account
    finally:
        spoofer.close()
        await listener.stop()


async def test_by_default_a_notify_is_challenged_and_only_the_accounts_digest_acts(tmp_path):
    listener = await listen(tmp_path, {**ACCOUNT, "features.show_action_uri_option": False,
                                       "features.action_uri_limit_ip": "127.0.0.1"})
    pbx = await SipPeer.open("127.0.0.1")
    port = listener.port
    uri = f"sip:phone@127.0.0.1:{port}"
    try:
        first = await pbx.ask(notify(port, "key=DNDOn", call_id="auth-1", cseq=1), port)
        assert first.status == 401
        challenge = first["www-authenticate"]
        assert challenge.startswith("Digest ") and 'qop="auth"' in challenge
        assert listener.host.settings["features.dnd.enable"] is False
        wrong = await pbx.ask(notify(port, "key=DNDOn", call_id="auth-1", cseq=2,
                                     extra=authorization(challenge, "100", "guess", uri)), port)
        assert wrong.status == 401 and listener.host.settings["features.dnd.enable"] is False
        right = await pbx.ask(notify(port, "key=DNDOn", call_id="auth-1", cseq=3,
                                     extra=authorization(challenge, "100", "pbx-secret", uri)),
                              port)
        assert right.status == 200
        assert listener.host.settings["features.dnd.enable"] is True
    finally:
        pbx.close()
        await listener.stop()


async def test_sipp_answers_the_challenge_as_a_pbx_does(tmp_path):
    """A real client's digest: SIPp (Debian's sip-tester) with ``[authentication]`` after
    ``<recv response="401" auth="true"/>``, scenario in sipp_notify_auth.xml."""
    if shutil.which("sipp") is None:
        unavailable("sipp is not installed (make test installs sip-tester)")
    listener = await listen(tmp_path, {**ACCOUNT, "features.show_action_uri_option": False,
                                       "features.action_uri_limit_ip": "127.0.0.1"})
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            local_port = probe.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            "sipp", f"127.0.0.1:{listener.port}", "-sf", str(SCENARIO), "-m", "1",
            "-i", "127.0.0.1", "-p", str(local_port), "-t", "u1", "-nostdin",
            "-timeout", "10", "-timeout_error", cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
        assert listener.host.settings["features.dnd.enable"] is True
        assert listener.stats["401"] == 1 and listener.stats["200"] == 1
    finally:
        await listener.stop()
