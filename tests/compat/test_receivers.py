"""Action URL receivers in the wild: a real aiohttp receiver on 127.0.0.1 parses what the
phone sends exactly as the named project parses it, with the URL template the project
tells its users to configure.
"""

from __future__ import annotations

import re

from aiohttp import web

from support.phone import settle

from conftest import PASSWORD
from wire import basic, send


def _one(request: web.Request, name: str) -> str:
    values = request.query.getall(name, [])
    assert len(values) == 1, f"{name}: {values!r}"
    return values[0]


async def test_sagostin_yealink_actionurl(yealink, project_receiver):
    """sagostin/yealink_actionurl, main.go, handleActionEvent: ``GET /action/:customerID/
    :eventType`` reads the 14 variables by their exact names as strings, everything else
    into AdditionalInfo; answers 200 "Event recorded successfully"."""
    names = ("mac ip model firmware active_url active_user active_host local remote "
             "display_local display_remote call_id callerID calledNumber").split()

    def parse(request: web.Request) -> dict:
        _, customer, event = request.path.strip("/").split("/")
        event_data = {n: request.query.get(n, "") for n in names}
        return {"customer": customer, "event": event, **event_data}

    rx = await project_receiver(parse, lambda _: web.Response(text="Event recorded successfully"))
    url = rx.base + "/action/acme/incoming_call?" + "&".join(f"{n}=${n}" for n in names)
    app = await yealink(url_for={"incoming_call": url})
    app.engine.incoming("300", "Caller")
    [got] = await rx.next()
    assert got["customer"] == "acme" and got["event"] == "incoming_call"
    assert got["mac"] == "001565abcdef" and got["active_user"] == "100"
    assert got["remote"] == "sip:300@pbx.test" and got["display_remote"] == "Caller"
    assert got["callerID"] == "Caller" and got["calledNumber"] == "300"
    assert got["call_id"].isdigit()
    assert not any(v.startswith("$") for v in got.values())


async def test_commanderredyt_yealink2mqtt(yealink, project_receiver):
    """CommanderRedYT/yealink2mqtt, src/index.ts: ``/api/yealink/:config`` with the query
    src/configure.ts writes (``display_local, display_remote, callerID, calledNumber,
    call_id``); on incoming_call AND outgoing_call it sets ``callPartnerNumber =
    req.query.calledNumber`` and ``callPartnerName = display_remote``."""
    def parse(request: web.Request) -> dict:
        config = request.path.rsplit("/", 1)[1]
        status = {}
        if config in ("incoming_call", "outgoing_call"):
            status = {"callType": config.split("_")[0],
                      "callPartnerNumber": request.query.get("calledNumber"),
                      "callPartnerName": request.query.get("display_remote")}
        return {"config": config, **status}

    rx = await project_receiver(parse)
    query = ("?display_local=$display_local&display_remote=$display_remote&callerID=$callerID"
             "&calledNumber=$calledNumber&call_id=$call_id")
    app = await yealink(url_for={e: f"{rx.base}/api/yealink/{e}{query}"
                                 for e in ("incoming_call", "outgoing_call")})
    app.engine.incoming("300", "")                   # a caller without a display name
    [incoming] = await rx.next()
    assert incoming == {"config": "incoming_call", "callType": "incoming",
                        "callPartnerNumber": "300", "callPartnerName": "300"}


async def test_apfelq_node_tomedo_actionurl(yealink, project_receiver):
    """apfelq/node-tomedo-actionurl, src/index.ts, processYealink(): with the README's
    ``?event=incoming&active_user=$active_user&callerID=$callerID`` it matches
    ``callerID.toLowerCase()`` against ``/(anonymous|[+]?[0-9]{4,})/`` (no match: the call
    is dropped) and needs ``account.sipUsername === query.active_user``."""
    caller_id = re.compile(r"(anonymous|[+]?[0-9]{4,})")

    def parse(request: web.Request) -> str | None:
        match = caller_id.search(request.query["callerID"].lower())
        if not match or match[1] == "anonymous" or request.query["active_user"] != "100":
            return None
        return f"/{request.query['event']}/{match[1]}"    # the Tomedo client's URL

    rx = await project_receiver(parse)
    app = await yealink(url_for={
        "incoming_call": rx.base + "/?event=incoming&active_user=$active_user&callerID=$callerID"})
    app.engine.incoming("030123456", "")               # no display name: the number
    [tomedo] = await rx.next()
    assert tomedo == "/incoming/030123456"


async def test_neocodesoftware_neocode_yealinkconnector(yealink, project_receiver):
    """neocodesoftware/NeoCode-YealinkConnector, yealink_connector/yealink_event.php: GET
    only, and only when ALL of e, mac, ip, cid, dr, lcl, rmt are set (isset); the number is
    ``preg_split('/[:@]/', $rmt)[1]`` (so $remote must be ``sip:user@host``). The template
    (index.php) ends its path in ``yealink_event.php/`` (PATH_INFO)."""
    wanted = ("e", "mac", "ip", "cid", "dr", "lcl", "rmt")

    def parse(request: web.Request) -> dict | None:
        if request.method != "GET" or not all(k in request.query for k in wanted):
            return None
        parts = re.split(r"[:@]", request.query["rmt"])
        return {"event": request.query["e"], "cid": request.query["cid"],
                "calling_num": parts[1] if len(parts) > 1 else "unknown",
                "display": request.query["dr"], "path": request.path}

    rx = await project_receiver(parse, lambda _: web.Response(body=b""))
    template = (rx.base + "/fm/yealink_event.php/?e={e}&mac=$mac&ip=$ip&cid=$call_id"
                "&dr=$display_remote&lcl=$local&rmt=$remote")
    app = await yealink(url_for={"incoming_call": template.format(e="ic"),
                                 "call_terminated": template.format(e="term")})
    app.engine.incoming("300", "Caller")
    [ic] = await rx.next()
    assert ic is not None, "a parameter was missing: the connector would do nothing"
    assert ic["calling_num"] == "300" and ic["display"] == "Caller"
    assert ic["path"] == "/fm/yealink_event.php/"
    await send(app.http.port, "/servlet?key=OK", headers=(basic("admin", PASSWORD),))
    await settle(app)
    await send(app.http.port, "/servlet?key=X", headers=(basic("admin", PASSWORD),))
    _, term = await rx.next(2)
    assert term is not None and term["event"] == "term" and term["cid"] == ic["cid"]


async def test_sbghannibal_yealinkcalllog(yealink, project_receiver):
    """sbghannibal/yealinkcalllog, src/Ingest.php: ``event`` in ringing/answered/ended/missed
    and non-empty ``ext`` and ``call_id`` or 400; rows are upserted per (ext, call_id), so
    one call's events join up only if $call_id is the same in each. The README's template
    names $local_uri / $remote_uri, which are not Yealink variables."""
    calls: dict[tuple[str, str], list[str]] = {}

    def parse(request: web.Request) -> int:
        q = request.query
        event = q.get("event", "").strip().lower()
        if event not in ("ringing", "answered", "ended", "missed"):
            return 400
        ext, call_id = q.get("ext", "").strip(), q.get("call_id", "").strip()
        if not ext or not call_id:
            return 400
        calls.setdefault((ext, call_id), []).append(event)
        return 200

    rx = await project_receiver(parse, lambda status: web.Response(status=status, text="OK\n"))
    template = (rx.base + "/yealink/event?event={e}&ext=$active_user&call_id=$call_id"
                "&local=$local_uri&remote=$remote_uri&dl=$display_local&dr=$display_remote")
    app = await yealink(url_for={"incoming_call": template.format(e="ringing"),
                                 "call_established": template.format(e="answered"),
                                 "call_terminated": template.format(e="ended")})
    app.engine.incoming("300", "Caller")
    await rx.next()
    await send(app.http.port, "/servlet?key=OK", headers=(basic("admin", PASSWORD),))
    await rx.next(2)
    await send(app.http.port, "/servlet?key=X", headers=(basic("admin", PASSWORD),))
    assert await rx.next(3) == [200, 200, 200]
    [(key, events)] = calls.items()
    assert key[0] == "100" and events == ["ringing", "answered", "ended"]


async def test_rodieche_yealinkt46s_app_backend(yealink, project_receiver):
    """Rodieche/YealinkT46S_app-backend (tested on a T46S): README.md sets Incoming Call to
    ``/telephone/incomingCall?IP=$ip&NAME=$callerID&PHONE=$calledNumber`` and
    src/telephone/telephone.controller.ts shows ``query['PHONE']`` as the caller's number:
    $calledNumber on an incoming call is the caller. Its keys (src/plugins/telephoneKeys.ts)
    go out raw as ``/servlet?key=<KEY>`` with Basic (src/plugins/fetchAction.ts)."""
    def parse(request: web.Request) -> tuple[str, str]:
        return request.query["PHONE"], request.query["NAME"]

    rx = await project_receiver(parse)
    app = await yealink(url_for={"incoming_call": rx.base + "/telephone/incomingCall?IP=$ip"
                                 "&NAME=$callerID&PHONE=$calledNumber"})
    app.engine.incoming("300", "Caller")
    assert await rx.next() == [("300", "Caller")]
    auth = (basic("admin", PASSWORD),)
    statuses = {}
    for key in ("ASW", "MUTE", "HOLD", "BACK_IDLE", "CALLEND", "OFFHOOK", "ONHOOK",
                "VOLUMEN_UP"):
        statuses[key] = (await send(app.http.port, f"/servlet?key={key}", headers=auth)).status
        await settle(app)
    # VOLUMEN_UP is the project's typo: no key of the firmware's table, refused with a 400.
    assert statuses == {**{k: 200 for k in statuses}, "VOLUMEN_UP": 400}
