"""The JSON API on a whole phone (sim board, simulated PBX) over real HTTP on 127.0.0.1.

Every answer is validated against the schema the phone serves (``jsonschema``,
draft 2020-12), made strict (``support.api_schema.check``): a key the schema
does not name fails, so nothing goes out undocumented.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import aiohttp
import pytest

from deskphone.core import inputs as ins
from deskphone.net.api_schema import SCHEMA
from support.api_schema import check
from support.phone import registered_phone
from support.sip_notifier import Notifier
from support.waiting import until

PASSWORD = "Api-pass-9"
TRUSTING = (f"static.security.user_password = admin:{PASSWORD}\n"
            "features.action_uri_limit_ip = 127.0.0.1\n"
            "features.show_action_uri_option = 0\n"
            "forward.no_answer.enable = 1\nforward.no_answer.target = sip:300:hunter2@pbx.test\n"
            "forward.no_answer.timeout = 10\n")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def get(session: aiohttp.ClientSession, url: str, status: int = 200, **kw) -> dict:
    async with session.get(url, **kw) as resp:
        assert resp.status == status, await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.content_type == "application/json"
        return await resp.json()


@pytest.fixture
async def trusting(tmp_path, receiver):
    async with registered_phone(tmp_path, receiver, extra=TRUSTING) as app:
        yield app


def api(app, name: str = "") -> str:
    return f"http://127.0.0.1:{app.http.port}/api/v1/{name}"


async def test_every_endpoint_answers_to_the_schema_and_a_call_in_progress_shows(
        trusting, receiver):
    app = trusting
    async with aiohttp.ClientSession() as s:
        index = check(await get(s, api(app)), "index")
        assert set(index["endpoints"]) == {"status", "calls", "voicemail", "blf", "schema"}
        assert (await get(s, api(app)[:-1])) ["endpoints"] == index["endpoints"]  # no slash
        assert await get(s, api(app, "schema")) == SCHEMA
        idle = check(await get(s, api(app, "status")), "status")
        assert idle["calls"] == [] and idle["device"]["mac"] == app.device.mac
        assert idle["registrations"] == [{"account": 1, "label": "Desk", "user": "100",
                                          "server": "pbx.test", "state": "registered"}]
        assert idle["features"]["forwards"]["no_answer"] == {
            "enabled": True, "target": "sip:300@pbx.test", "rings": 10}     # no password
        assert idle["features"]["dnd"] is False and idle["features"]["call_waiting"] is True

        app.post(ins.Dial("201"))
        await receiver.wait("call_established")
        app.post(ins.KeyPress("MUTE"))
        ringing = app.engine.incoming("300", "Caller")       # call waiting: a second one
        await until(lambda: len(app.calls) == 2 and app.calls[0].muted,
                    what=lambda: f"calls: {app.calls}")
        busy = check(await get(s, api(app, "status")), "status")
        out, incoming = busy["calls"]
        assert (out["direction"], out["state"], out["number"], out["account"]) \
            == ("out", "connected", "201", 1)
        assert out["muted"] is True and ISO.match(out["since"]) and out["duration"] >= 0
        assert out["id"] == app.calls[0].ref.lstrip("c")          # as $call_id sends it
        assert (incoming["direction"], incoming["state"], incoming["number"],
                incoming["name"], incoming["since"]) == ("in", "ringing", "300", "Caller", None)
        app.engine.remote_hangup(ringing)
        for name in ("calls", "voicemail", "blf"):
            check(await get(s, api(app, name)), name)
    assert "hunter2" not in repr(busy)


async def test_the_call_log_after_a_missed_an_answered_and_a_rejected_call(trusting, receiver):
    app = trusting
    before = datetime.now(timezone.utc).replace(microsecond=0)

    async def logged(count: int) -> None:
        await until(lambda: len(app.call_log) == count and not app.calls,
                    what=lambda: f"log {app.call_log}, calls {app.calls}")

    app.engine.incoming("301", "Missy")
    await until(lambda: app.calls)
    app.engine.remote_hangup()                                   # the caller gives up
    await logged(1)
    app.engine.incoming("302", "Andy")
    await until(lambda: app.calls)
    app.post(ins.KeyPress("OK"))
    await until(lambda: app.calls and app.calls[0].connected)
    app.post(ins.EndCall())
    await logged(2)
    app.engine.incoming("303", "Rita")
    await until(lambda: app.calls)
    app.post(ins.KeyPress("X"))
    await logged(3)
    app.post(ins.Dial("202"))                                    # busy
    await logged(4)
    async with aiohttp.ClientSession() as s:
        doc = check(await get(s, api(app, "calls")), "calls")
    got = [(c["direction"], c["outcome"], c["list"], c["number"], c["name"], c["account"])
           for c in doc["calls"]]
    assert got == [("out", "busy", "placed", "202", "Bob", 1),
                   ("in", "rejected", "received", "303", "Rita", 1),
                   ("in", "answered", "received", "302", "Andy", 1),
                   ("in", "missed", "missed", "301", "Missy", 1)]
    starts = [datetime.strptime(c["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
              for c in doc["calls"]]
    assert starts == sorted(starts, reverse=True) and starts[-1] >= before
    assert [c["new"] for c in doc["calls"]] == [False, False, False, True]


DIALOG_INFO = """<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full"
    entity="sip:205@pbx.test">
  <dialog id="d1" call-id="cid-1" local-tag="lt" remote-tag="rt" direction="recipient">
    <state>early</state>
    <remote><identity>sip:206:pw@pbx.test</identity></remote>
  </dialog>
</dialog-info>
"""


async def test_a_blf_keys_dialogs_show_as_the_notify_gave_them(tmp_path, receiver):
    # The key's SUBSCRIBE goes through the outbound proxy to a notifier on 127.0.0.1
    # (tests/support/sip_notifier.py), and the dialogs come in a real NOTIFY that the
    # phone's own parser reads: nothing races a subscription that cannot resolve.
    notifier = await Notifier.open()
    keys = ("linekey.2.type = 16\nlinekey.2.value = 205\nlinekey.2.label = Eve\n"
            "linekey.2.line = 1\naccount.1.outbound_proxy_enable = 1\n"
            f"account.1.outbound_host = 127.0.0.1\naccount.1.outbound_port = {notifier.port}\n")
    try:
        async with registered_phone(tmp_path, receiver, extra=TRUSTING + keys) as app:
            async with aiohttp.ClientSession() as s:
                doc = check(await get(s, api(app, "blf")), "blf")
                assert doc["blf"] == [{"key": 2, "value": "205", "label": "Eve", "account": 1,
                                       "state": "unknown", "dialogs": []}]
                await until(lambda: notifier.dialogs, what="no SUBSCRIBE reached the notifier")
                notifier.notify(notifier.only_dialog(), DIALOG_INFO, event="dialog",
                                ctype="application/dialog-info+xml")
                await until(lambda: app.blf[2].state == "ringing",
                            what=lambda: f"BLF key 2 is {app.blf[2].state}")
                doc = check(await get(s, api(app, "blf")), "blf")
    finally:
        notifier.close()
    assert notifier.subscribes[0].start == "SUBSCRIBE sip:205@pbx.test SIP/2.0"
    assert doc["blf"][0]["state"] == "ringing"
    assert doc["blf"][0]["dialogs"] == [{
        "id": "d1", "state": "early", "direction": "recipient", "call_id": "cid-1",
        "local_tag": "lt", "remote_tag": "rt", "remote": "sip:206@pbx.test"}]
