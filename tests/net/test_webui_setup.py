"""The setup pages over real HTTP (aiohttp client against the whole phone on 127.0.0.1).

Accounts, Features, Provisioning, Directory, Sound, Log: each form checked as
``.cfg`` values are (an error names the key, nothing is saved), refused without
its CSRF token, saved through the one writer and in effect at once; no
password is ever in a page.
"""

from __future__ import annotations

import html as html_text
import logging
import socket


from deskphone.core.accounts import MAX_ACCOUNTS
from deskphone.core.features import FEATURES
from deskphone.core.state import VOLUME_CONTEXTS
from support.phone import settle
from support.waiting import until
from test_webui import base, csrf_of, logged_in, page, phone_web  # noqa: F401

# Every form the setup pages added, with a post that would change something.
FORMS = {
    "accounts&q=write": {"acc": "2", "account.2.enable": "1", "account.2.user_name": "300",
                         "account.2.sip_server.1.address": "pbx.test"},
    "features&q=write": {"features.dnd.enable": "1"},
    "provisioning&q=write": {"static.auto_provision.server.url": "http://prov.test/"},
    "provisioning&q=now": {},
    "directory&q=add": {"name": "Eve", "numbers": "205"},
    "directory&q=edit": {"index": "0", "name": "Eve", "numbers": "205"},
    "directory&q=delete": {"index": "0"},
    "sound&q=write": {"deskphone.volume.ring": "3"},
}


async def post(session, app, query: str, data: dict) -> tuple[int, str]:
    async with session.post(f"{base(app)}/servlet?p={query}", data=data,
                            allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_every_setup_form_without_its_csrf_token_changes_nothing(phone_web):
    posted = []
    post_input = phone_web.runtime.post
    phone_web.runtime.post = lambda inp: (posted.append(inp), post_input(inp))[1]
    session = await logged_in(phone_web)
    async with session:
        before = dict(phone_web.settings)
        for query, data in FORMS.items():
            for token in (None, "forged"):
                form = data if token is None else {**data, "csrf": token}
                status, text = await post(session, phone_web, query, form)
                assert status == 403, query
                assert "nothing was changed" in text
        await settle(phone_web)
        assert dict(phone_web.settings) == before
        assert phone_web.store.snapshot() == {}
        assert [i for i in posted if type(i).__name__ != "TimerFired"] == []
        # With the token the same posts do change things (the test above could fail).
        _, html = await page(session, phone_web, "p=features&q=load")
        status, _ = await post(session, phone_web, "features&q=write",
                               {**FORMS["features&q=write"], "csrf": csrf_of(html)})
        assert status == 303 and phone_web.settings["features.dnd.enable"] is True


async def test_accounts_list_add_and_edit_with_errors_next_to_the_field(phone_web):
    session = await logged_in(phone_web)
    async with session:
        status, html = await page(session, phone_web, "p=accounts&q=load")
        assert status == 200
        assert "<td class=reg>registered</td>" in html          # account 1, the sim PBX
        assert "acc=2&amp;add=1" in html                         # the first free slot
        assert "http-equiv=refresh" in html                      # the status stays live
        status, html = await page(session, phone_web, "p=accounts&q=load&acc=2&add=1")
        assert status == 200
        for suffix in ("enable", "label", "display_name", "user_name", "auth_name", "password",
                       "sip_server.1.address", "sip_server.1.port", "sip_server.1.expires",
                       "sip_server.1.transport_type", "outbound_proxy_enable",
                       "outbound_host", "outbound_port"):
            assert f"name='account.2.{suffix}'" in html, suffix
        assert "<option value=2>tls</option>" in html
        token = csrf_of(html)
        bad = {"csrf": token, "acc": "2", "account.2.enable": "1", "account.2.label": "Two",
               "account.2.user_name": "300", "account.2.password": "pw-two-2",
               "account.2.sip_server.1.address": "pbx.test;auth_pass=x",
               "account.2.sip_server.1.port": "70000"}
        status, html = await post(session, phone_web, "accounts&q=write", bad)
        assert status == 400 and "nothing was changed" in html
        assert ("account.2.sip_server.1.port: 70000 out of range 1..65535" in html)
        assert "account.2.sip_server.1.address: not a host name" in html
        assert "pw-two-2" not in html                            # not even echoed back
        assert "value='Two'" in html                             # what was typed stays
        assert phone_web.store.snapshot() == {}
        status, html = await post(session, phone_web, "accounts&q=write",
                                  {**bad, "account.2.sip_server.1.address": "",
                                   "account.2.sip_server.1.port": "5060"})
        assert status == 400 and "an enabled account needs a SIP server" in html
        status, _ = await post(session, phone_web, "accounts&q=write",
                               {**bad, "account.2.sip_server.1.address": "pbx.test",
                                "account.2.sip_server.1.port": "5060"})
        assert status == 303
        assert phone_web.settings["account.2.password"] == "pw-two-2"
        await until(lambda: phone_web.registrations.get(2) == "registered")
        # Edited with the password left blank: the password stays.
        status, _ = await post(session, phone_web, "accounts&q=write",
                               {"csrf": token, "acc": "2", "account.2.enable": "1",
                                "account.2.label": "Second", "account.2.password": ""})
        assert status == 303
        assert phone_web.settings["account.2.label"] == "Second"
        assert phone_web.settings["account.2.password"] == "pw-two-2"
        for query in ("p=accounts&q=load", "p=accounts&q=load&acc=2", "p=accounts&q=load&acc=1",
                      "p=status&q=load"):
            _, html = await page(session, phone_web, query)
            assert "pw-two-2" not in html and "secret" not in html, query
        status, _ = await page(session, phone_web, f"p=accounts&q=load&acc={MAX_ACCOUNTS + 1}")
        assert status == 404
        # Switched off on the page: unregistered at once.
        status, _ = await post(session, phone_web, "accounts&q=write",
                               {"csrf": token, "acc": "2", "account.2.label": "Second"})
        assert status == 303 and phone_web.settings["account.2.enable"] is False
        await until(lambda: phone_web.registrations.get(2) == "unregistered")
        _, html = await page(session, phone_web, "p=accounts&q=load")
        assert "<tr id=account-2><td>2</td><td>off</td>" in html
        assert "acc=3&amp;add=1" in html                         # 2 is not free: it is set up


async def test_features_page_follows_the_one_table_and_announces_the_switch(phone_web,
                                                                            receiver):
    session = await logged_in(phone_web)
    async with session:
        _, html = await page(session, phone_web, "p=features&q=load")
        for f in FEATURES:
            assert f"name='{f.key}'" in html and f.web_label in html
            if f.target_key:
                assert f"name='{f.target_key}'" in html
        assert "name='forward.no_answer.timeout'" in html
        token = csrf_of(html)
        status, html = await post(session, phone_web, "features&q=write",
                                  {"csrf": token, "forward.always.enable": "1",
                                   "forward.always.target": "201",
                                   "forward.no_answer.timeout": "99"})
        assert status == 400 and "forward.no_answer.timeout: 99 out of range 1..20" in html
        assert phone_web.store.snapshot() == {}
        status, _ = await post(session, phone_web, "features&q=write",
                               {"csrf": token, "forward.always.enable": "1",
                                "forward.always.target": "201", "call_waiting.enable": "1"})
        assert status == 303
        assert phone_web.settings["forward.always.target"] == "201"
        await receiver.wait("always_fwd_on")                     # as from the keypad
        assert phone_web.settings["call_waiting.enable"] is True


async def test_sound_page_sets_each_volume_context(phone_web):
    session = await logged_in(phone_web)
    async with session:
        _, html = await page(session, phone_web, "p=sound&q=load")
        for context in VOLUME_CONTEXTS:
            assert f"name='deskphone.volume.{context}' min=0 max=15" in html
        token = csrf_of(html)
        status, html = await post(session, phone_web, "sound&q=write",
                                  {"csrf": token, "deskphone.volume.ring": "16",
                                   "deskphone.volume.handset": "4"})
        assert status == 400 and "deskphone.volume.ring: 16 out of range 0..15" in html
        assert phone_web.settings["deskphone.volume.handset"] != 4
        status, _ = await post(session, phone_web, "sound&q=write",
                               {"csrf": token, "deskphone.volume.ring": "12"})
        assert status == 303
        assert phone_web.settings["deskphone.volume.ring"] == 12
        assert phone_web.store.snapshot() == {"deskphone.volume.ring": 12}


async def test_provisioning_page_saves_runs_now_and_shows_the_result(phone_web):
    session = await logged_in(phone_web)
    async with session:
        _, html = await page(session, phone_web, "p=provisioning&q=load")
        assert "No run since the phone started." in html
        token = csrf_of(html)
        status, html = await post(session, phone_web, "provisioning&q=write",
                                  {"csrf": token, "static.auto_provision.server.url": "gopher://x/",
                                   "static.auto_provision.weekly.begin_time": "25:00"})
        assert status == 400
        assert "static.auto_provision.server.url: URL must start with http://" in html
        assert "static.auto_provision.weekly.begin_time: expected a time of day" in html
        assert phone_web.store.snapshot() == {}
        # A server on a port nobody listens on: the run fails at once, and says why.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        url = f"http://127.0.0.1:{closed}/prov/"
        status, _ = await post(session, phone_web, "provisioning&q=write",
                               {"csrf": token, "static.auto_provision.server.url": url,
                                "static.auto_provision.server.username": "prov",
                                "static.auto_provision.server.password": "Prov-pass-5"})
        assert status == 303
        assert phone_web.settings["static.auto_provision.server.password"] == "Prov-pass-5"
        async with session.post(f"{base(phone_web)}/servlet?p=provisioning&q=now",
                                data={"csrf": token}) as resp:
            assert resp.status == 200 and "Provisioning started" in await resp.text()
        await until(lambda: phone_web.last_provisioning is not None)
        _, html = await page(session, phone_web, "p=provisioning&q=load")
        assert "<span class=err>failed</span>" in html
        assert html_text.escape(phone_web.last_provisioning.reason) in html
        assert "Prov-pass-5" not in html and f"value='{url}'" in html


async def test_directory_page_adds_edits_and_deletes(phone_web):
    session = await logged_in(phone_web)
    async with session:
        _, html = await page(session, phone_web, "p=directory&q=load")
        token = csrf_of(html)
        status, html = await post(session, phone_web, "directory&q=add",
                                  {"csrf": token, "name": "Eve", "numbers": "205;x"})
        assert status == 400 and "Not added" in html
        for name, numbers in (("Eve", "205"), ("Frank", "206, 0301234567")):
            status, _ = await post(session, phone_web, "directory&q=add",
                                   {"csrf": token, "name": name, "numbers": numbers})
            assert status == 303
        await until(lambda: len(phone_web.directory) == 2)
        status, _ = await post(session, phone_web, "directory&q=edit",
                               {"csrf": token, "index": "0", "name": "Eve Smith",
                                "numbers": "215"})
        assert status == 303
        await until(lambda: [(c.name, c.numbers) for c in phone_web.directory] ==
                    [("Frank", ("206", "0301234567")), ("Eve Smith", ("215",))])
        status, html = await post(session, phone_web, "directory&q=edit",
                                  {"csrf": token, "index": "7", "name": "X", "numbers": "1"})
        assert status == 400 and "no such contact" in html
        status, _ = await post(session, phone_web, "directory&q=delete",
                               {"csrf": token, "index": "0"})
        assert status == 303
        await until(lambda: [c.name for c in phone_web.directory] == ["Eve Smith"])
        _, html = await page(session, phone_web, "p=directory&q=load")
        assert "value='Eve Smith'" in html and "Frank" not in html


async def test_log_download_is_text_bounded_and_masked(phone_web):
    logging.getLogger("deskphone.test").warning("a line with the SIP password secret in it "
                                                "and http://u:Url-pass-1@h/ too")
    session = await logged_in(phone_web)
    async with session:
        _, html = await page(session, phone_web, "p=log&q=load")
        assert "p=log&amp;q=download" in html and "secret" not in html
        async with session.get(f"{base(phone_web)}/servlet?p=log&q=download") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
            text = await resp.text()
        assert "a line with the SIP password *** in it" in text
        assert "Url-pass-1" not in text and "secret" not in text
    from deskphone.net import webui_log
    for n in range(webui_log.KEPT + 10):
        logging.getLogger("deskphone.test").warning("flood %d %s", n, "x" * 5000)
    assert len(webui_log.RECENT.lines) == webui_log.KEPT
    assert max(len(x) for x in webui_log.RECENT.lines) < webui_log.LINE_MAX + 100
