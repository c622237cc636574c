"""Click-to-dial clients in the wild, each replayed byte for byte against the whole phone.

Every test names the project and the file its request comes from, and checks what
that client relies on: the status it reads (most need exactly 200) and that the
call really goes out (the Outgoing Call event a receiver gets, the number dialled).
"""

from __future__ import annotations

from urllib.parse import quote

from support.phone import settle

from conftest import PASSWORD, REQUIRE_AUTH
from wire import basic, send


AUTH = (basic("admin", PASSWORD),)


async def ask(app, target: str, **kw):
    answer = await send(app.http.port, target, **kw)
    await settle(app)
    return answer


async def placed(app, receiver, target: str, headers=AUTH):
    """``target`` as the client sends it must answer 200 and get the call answered."""
    answer = await ask(app, target, headers=headers)
    assert answer.status == 200, answer.text
    return await receiver.wait("call_established")


async def test_optimise_group_click_for_yealink(yealink, receiver):
    """optimise-group/click-for-yealink, source/background.js: a browser tab on
    ``http://user:pass@phone/servlet?key=number=<encodeURIComponent(number)>``. A browser
    sends the userinfo only after a 401 with a Basic challenge; nothing is checked."""
    app = await yealink(REQUIRE_AUTH)
    target = f"/servlet?key=number={quote('201', safe='')}"
    first = await ask(app, target)
    assert first.status == 401
    assert first.headers["www-authenticate"].lower().startswith("basic")
    again = await ask(app, target, headers=(basic("admin", PASSWORD),))
    assert again.status == 200
    out = await receiver.wait("outgoing_call")
    assert out["calledNumber"] == "201"


async def test_tom_321_click_for_yealink(yealink, receiver):
    """tom-321/click-for-yealink, source/background.js: the same URL plus
    ``&outgoing_uri=${encodeURIComponent(outgoingUri)}``; cleanPhoneNumber keeps ``+``,
    which encodeURIComponent sends as %2B."""
    app = await yealink()
    answer = await ask(app, "/servlet?key=number=%2B49301234&outgoing_uri=100%40pbx.test",
                       headers=(basic("admin", PASSWORD),))
    assert answer.status == 200
    out = await receiver.wait("outgoing_call")
    assert out["calledNumber"] == "+49301234" and out["active_user"] == "100"


async def test_frazei_click2nethesis(yealink, receiver):
    """frazei/click2nethesis, service.ahk, Outgoing(): curl with userinfo (preemptive Basic)
    on ``/servlet?key=number=<n>&outgoing_uri=<ext>@<pbx>``, nothing encoded; the result is
    ignored, the user expects the phone to ring the number."""
    app = await yealink()
    est = await placed(app, receiver, "/servlet?key=number=201&outgoing_uri=100@pbx.test",
                       headers=AUTH + (("User-Agent", "curl/8.5.0"), ("Accept", "*/*")))
    assert est["calledNumber"] == "201"


async def test_andreaskweber_yealink_alfred_workflow(yealink, receiver):
    """andreaskweber/yealink-alfred-workflow, src/Phone/PhoneGateway.php, call() and hangup():
    the legacy path with no key=: ``/cgi-bin/ConfigManApp.com?number=%s&outgoing_uri=%s``,
    then ``?key=X`` to hang up (curl, userinfo)."""
    app = await yealink()
    await placed(app, receiver, "/cgi-bin/ConfigManApp.com?number=201&outgoing_uri=100@pbx.test")
    assert (await ask(app, "/cgi-bin/ConfigManApp.com?key=X", headers=AUTH)).status == 200
    term = await receiver.wait("call_terminated")
    assert term["calledNumber"] == "201"


async def test_adrianrudnik_yealink_click2dial_handler(yealink, receiver):
    """adrianrudnik/yealink-click2dial-handler, service/pkg/yealink/api.go: ReadAccounts()
    sends ``phonecfg=get&accounts=1&dnd=0&fw=0`` (key first, the rest url.Values-sorted),
    keeps lines starting ``Account``, ``strings.SplitN(line, "|", 7)`` and takes [5] as the
    outgoing URI (a shorter line panics); Call sends ``key=number=<QueryEscape>&outgoing_uri=
    <QueryEscape>``; postConfigManApp POSTs ``/cgi-bin/ConfigManApp.com?<query>`` with no
    body. Anything but 200 is an error; 401 is "unauthorized"."""
    app = await yealink()
    auth = (basic("admin", PASSWORD),)
    cfg = await ask(app, "/servlet?phonecfg=get&accounts=1&dnd=0&fw=0", headers=auth)
    assert cfg.status == 200
    accounts = [line.split("|", 6) for line in cfg.text.splitlines()
                if line.startswith("Account")]
    assert accounts and all(len(parts) >= 6 for parts in accounts)
    outgoing = accounts[0][5]
    assert outgoing == "100@pbx.test"
    dial = await ask(app, f"/servlet?key=number=201&outgoing_uri={quote(outgoing, safe='')}",
                     headers=auth)
    assert dial.status == 200
    out = await receiver.wait("outgoing_call")
    assert out["active_user"] == "100" and out["calledNumber"] == "201"
    post = await ask(app, "/cgi-bin/ConfigManApp.com?key=DNDOn", method="POST", headers=auth)
    assert post.status == 200
    await receiver.wait("dnd_on")
    wrong = await ask(app, "/servlet?key=DNDOff", headers=(basic("admin", "wrong"),))
    assert wrong.status == 401                          # ErrCommandFailedUnauthorized


async def test_djfpaul_yealink_dialer(yealink, receiver):
    """DJFPaul/yealink_dialer, yealink_dialer/Form1.vb, SendRequestToPhone(): HttpWebRequest
    GET ``/servlet?key=number=" & DIAL & "&outgoing_uri=" & SIPACCOUNT`` with nothing
    encoded (the soft pad's ``+`` goes raw), UserAgent "YealinkDialer", a JSON Content-Type on
    a GET, and Basic over the ISO-8859-1 bytes of user:pass. A non-2xx shows a MsgBox."""
    app = await yealink("static.security.user_password = admin:Säfe-42\n" + REQUIRE_AUTH)
    answer = await ask(app, "/servlet?key=number=+49301234&outgoing_uri=100@pbx.test",
                       headers=(("User-Agent", "YealinkDialer"),
                                ("Content-Type", "application/json"),
                                basic("admin", "Säfe-42", "iso-8859-1")))
    assert answer.status == 200, answer.text
    out = await receiver.wait("outgoing_call")
    assert out["calledNumber"] == "+49301234"      # a raw + in a query is a plus, not a blank


async def test_urielch_yealink(yealink, receiver):
    """UrielCh/yealink, ts/Yealink.ts: callOld() hands ``qs: {key: 'number=' + n,
    outgoing_uri}`` to request, which encodes the inner ``=`` (``key=number%3D201``) and the
    ``@``; press() sends ``/cgi-bin/ConfigManApp.com?key=<K>`` with names from
    ts/YealinkKey.ts, among them ``f_CONFERENCE`` in lower case."""
    app = await yealink()
    await placed(app, receiver, "/servlet?key=number%3D201&outgoing_uri=100%40pbx.test")
    # F_CONFERENCE in a call: this phone has no local conference; the key is taken (200)
    # and says so on the screen, the call goes on.
    conf = await ask(app, "/cgi-bin/ConfigManApp.com?key=f_CONFERENCE", headers=AUTH)
    assert conf.status == 200
    assert app.phone.calls and app.phone.calls[0].connected
    assert app.phone.message == "No conference"


async def test_bmaest_yealink_t46s_remote_control(yealink, receiver):
    """bmaest/Yealink-T46s-Remote-Control, phoneControls/webServer.py: send_phone_command()
    quotes the value with ``safe=''`` (``;`` -> %3B) and calls it a success iff the status
    is 200. /call sends DIAL, then each digit, then ENTER, one request each."""
    app = await yealink()
    auth = (basic("admin", PASSWORD),)
    statuses = []
    for key in ["DIAL", "2", "0", "1", "ENTER"]:
        statuses.append((await ask(app, f"/servlet?key={quote(key, safe='')}",
                                   headers=auth)).status)
    # DIAL is no Yealink key: refused with a reason (the client logs FAIL and goes on);
    # the digits pre-dial and ENTER sends them, as on the phone's keypad.
    assert statuses == [400, 200, 200, 200, 200]
    out = await receiver.wait("outgoing_call")
    assert out["calledNumber"] == "201"
    await receiver.wait("call_established")
    # /transfer: one request, F_CONFERENCE;<digits>;ENTER, the ; sent as %3B.
    transfer = await ask(app, f"/servlet?key={quote('F_CONFERENCE;2;0;2;ENTER', safe='')}",
                         headers=auth)
    assert transfer.status == 200
    assert app.phone.calls[0].connected          # no conference here: the call goes on


async def test_jonbulica99_yealink_remote_manager(yealink, receiver):
    """jonbulica99/yealink-remote-manager, manager.py: requests.get on
    ``/cgi-bin/ConfigManApp.com`` with ``params={"number": n, "outgoing_uri": 'URI'}``
    (the literal string URI, no key=) and auth=(user, pwd); press_key sends F_HOLD,
    POUND... The response is ignored: the call must go out."""
    app = await yealink()
    auth = (basic("admin", PASSWORD, "latin-1"),)
    dial = await ask(app, "/cgi-bin/ConfigManApp.com?number=201&outgoing_uri=URI",
                     headers=auth + (("User-Agent", "python-requests/2.31.0"),))
    assert dial.status == 200                   # not a 400: the default account dials
    out = await receiver.wait("outgoing_call")
    assert out["active_user"] == "100"
    await receiver.wait("call_established")
    assert (await ask(app, "/cgi-bin/ConfigManApp.com?key=F_HOLD", headers=auth)).status == 200
    await receiver.wait("hold")
    assert (await ask(app, "/cgi-bin/ConfigManApp.com?key=POUND", headers=auth)).status == 200


async def test_detroitwtf_yealink_park_manager(yealink, receiver):
    """detroitwtf/yealink-park-manager, yealink_manager.py, ActionUriClient: requests.get on
    ``https://<ip>/servlet?key=AutoP`` (https by default, verify=False, HTTPBasicAuth),
    success iff status_code == 200."""
    app = await yealink()
    answer = await send(app.http.https_port, "/servlet?key=AutoP", tls=True,
                        headers=(basic("admin", PASSWORD, "latin-1"),))
    assert answer.status == 200


async def test_nethesis_nethcti_server(yealink, receiver):
    """nethesis/nethcti-server, root/etc/e-smith/templates/etc/nethcti/phone_urls.json/10base:
    picked by the phone's User-Agent, three templates, each on its own path:
    ``/cgi-bin/cgiServer.exx`` (T3x, x.70 firmware), ``/cgi-bin/ConfigManApp.com`` (x.70)
    and ``/servlet`` (the rest), each with call ``?number=$NUMBER&outgoing_uri=
    $ACCOUNT@$SERVER`` (no key=), answer ``?key=OK``, hold ``?key=F_HOLD`` and DTMF
    ``?key=$TONE``, nothing encoded, userinfo credentials."""
    app = await yealink()
    for path in ("/cgi-bin/cgiServer.exx", "/cgi-bin/ConfigManApp.com", "/servlet"):
        mark = receiver.hits[-1].at
        answer = await ask(app, f"{path}?number=201&outgoing_uri=100@pbx.test", headers=AUTH)
        assert answer.status == 200, path
        est = await receiver.wait("call_established", after=mark)
        for tone in ("5", "POUND"):
            assert (await ask(app, f"{path}?key={tone}", headers=AUTH)).status == 200
        assert (await ask(app, f"{path}?key=F_HOLD", headers=AUTH)).status == 200
        await receiver.wait("hold", after=est.at)
        assert (await ask(app, f"{path}?key=X", headers=AUTH)).status == 200
        await receiver.wait("call_terminated", after=est.at)
        app.engine.incoming("300", "Caller")
        ring = await receiver.wait("incoming_call", after=est.at)
        assert (await ask(app, f"{path}?key=OK", headers=AUTH)).status == 200
        await receiver.wait("call_established", after=ring.at)
        assert (await ask(app, f"{path}?key=X", headers=AUTH)).status == 200
        await receiver.wait("call_terminated", after=ring.at)
