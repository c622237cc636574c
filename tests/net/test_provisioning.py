"""Auto provisioning against a real HTTP server on 127.0.0.1: good files, bad files, no server."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket

import pytest
import yarl

from deskphone.net.provisioning import PROVISIONED, check_files, install_set, server_and_auth
from support.phone import start_phone
from support.prov_server import ProvServer, autop, provisioned, server_config
from support.waiting import until

MAC = "001565abcdef"          # the test board's
GOOD_COMMON = "#!version:1.0.0.1\nfeatures.dnd.enable = 1\nforward.always.target = 500\n"
GOOD_MAC = "#!version:1.0.0.1\nforward.always.target = 600\ncall_waiting.enable = 0\n"
USER, PASSWORD = "prov", "Pr0v-Secret!"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]          # closed again when we return: nothing listens


async def test_good_files_with_basic_auth_are_applied_and_fire_autop_finish(tmp_path, receiver):
    files = {"y000000000000.cfg": GOOD_COMMON, f"{MAC}.cfg": GOOD_MAC}
    async with ProvServer(files, auth=(USER, PASSWORD)) as server:
        extra = server_config(server.url, USER, PASSWORD, yealink_names=False)
        phone = await start_phone(tmp_path, receiver.base, extra=extra)
        try:
            await receiver.wait("setup_completed")
            assert phone.settings["features.dnd.enable"] is False
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok, result.reason
            s = phone.settings
            assert s["features.dnd.enable"] is True
            assert s["forward.always.target"] == "600"          # <mac>.cfg wins
            assert s["call_waiting.enable"] is False
            assert phone.phone.settings["features.dnd.enable"] is True   # the core has them
            assert s.origin("forward.always.target") == f"provisioned/{MAC}.cfg:2"
            assert provisioned(phone) == files
            # No boot file: the common file, the T46S's own common file, then <mac>.cfg.
            # Each file is asked for twice: without credentials, then answering the challenge.
            asked = [name for name, auth in server.requests if auth]
            assert asked == [f"{MAC}.boot", "y000000000000.boot", "y000000000000.cfg",
                             "y000000000066.cfg", f"{MAC}.cfg"]
        finally:
            await phone.stop()


async def test_power_on_provisioning(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": GOOD_COMMON}) as server:
        phone = await start_phone(tmp_path, receiver.base, extra=(
            f"static.auto_provision.server.url = {server.url}\n"
            "static.auto_provision.power_on = 1\n"))
        try:
            await receiver.wait("setup_autop_finish")
            assert phone.settings["features.dnd.enable"] is True
        finally:
            await phone.stop()


async def test_credentials_in_the_url_work_and_stay_out_of_the_log(tmp_path, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    async with ProvServer({"y000000000000.cfg": GOOD_COMMON}, auth=(USER, PASSWORD)) as server:
        url = server.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {url}\n")
        try:
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok
        finally:
            await phone.stop()
    assert PASSWORD not in caplog.text
    assert f"auto provisioning from {server.url}" in caplog.text


@pytest.mark.parametrize("bad, why", [
    ("<html><body>Please log in</body></html>\n", "first line must be '#!version:1.0.0.1'"),
    (b"#!version:1.0.0.1\nlabel = caf\xe9\n", "y000000000000.cfg:2: not UTF-8 text"),
])
async def test_a_file_in_another_format_changes_nothing_and_says_why(tmp_path, receiver, caplog,
                                                                     bad, why):
    files = {"y000000000000.cfg": GOOD_COMMON, f"{MAC}.cfg": GOOD_MAC}
    async with ProvServer(files) as server:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            assert (await autop(phone, receiver, expect_finish=True)).ok
            before_settings, before_files = dict(phone.settings), provisioned(phone)
            receiver.hits.clear()
            # The common file goes bad while the MAC file changes: neither is taken.
            server.files = {"y000000000000.cfg": bad,
                            f"{MAC}.cfg": "#!version:1.0.0.1\nforward.always.target = 777\n"}
            result = await autop(phone, receiver, expect_finish=False)
            assert not result.ok
            assert why in result.reason
            assert dict(phone.settings) == before_settings
            assert provisioned(phone) == before_files
            assert "auto provisioning: bad file from the server: " in caplog.text
            assert phone.phone.message == "Provisioning failed"       # on the screen too
        finally:
            await phone.stop()


async def test_bad_values_and_unknown_keys_are_reported_and_the_rest_applied(tmp_path, receiver,
                                                                            caplog):
    # A Yealink phone takes a template full of keys it does not know and ignores a bad
    # value; so does this one, and says which (admin guide: "invalid values are ignored").
    common = ("#!version:1.0.0.1\nfeatures.dnd.enable = yes\naction_url.dnd_on = ftp://x/y\n"
              "action_url.is_ume = \nlang.gui = English\nno equals sign here\n"
              "forward.always.target = 500\ncall_waiting.enable = 0\n")
    async with ProvServer({"y000000000000.cfg": common}) as server:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok and result.reason == "4 value(s) ignored", result.reason
            s = phone.settings
            assert s["forward.always.target"] == "500" and s["call_waiting.enable"] is False
            assert s["features.dnd.enable"] is False          # the bad value left the default
            report = phone.provisioner.last_report
            assert any("features.dnd.enable: expected 0 or 1" in p for p in report.problems)
            assert any("action_url.dnd_on: URL must start" in p for p in report.problems)
            assert any("expected 'key = value'" in p for p in report.problems)
            assert "y000000000000.cfg:5: lang.gui" in report.ignored
            # A key of newer firmware in a family this phone owns: reported, not refused.
            assert any("action_url.is_ume: unknown Action URL event" in p for p in report.problems)
            assert "features.dnd.enable: expected 0 or 1, got 'yes' (ignored)" in caplog.text
        finally:
            await phone.stop()


async def test_an_unreachable_server_changes_nothing(tmp_path, receiver):
    port = closed_port()
    extra = server_config(f"http://127.0.0.1:{port}/prov/", USER, PASSWORD, yealink_names=False)
    phone = await start_phone(tmp_path, receiver.base, extra=extra)
    try:
        before = dict(phone.settings)
        result = await autop(phone, receiver, expect_finish=False)
        assert not result.ok
        assert result.reason.startswith(f"cannot reach 127.0.0.1:{port}: "), result.reason
        assert PASSWORD not in result.reason
        assert dict(phone.settings) == before
        assert provisioned(phone) == {}
    finally:
        await phone.stop()


async def test_wrong_credentials_are_named_not_shown(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": GOOD_COMMON}, auth=(USER, PASSWORD)) as server:
        extra = server_config(server.url, USER, "wrong-password", yealink_names=False)
        phone = await start_phone(tmp_path, receiver.base, extra=extra)
        try:
            result = await autop(phone, receiver, expect_finish=False)
            assert not result.ok
            assert "HTTP 401" in result.reason and "user_name and password" in result.reason
            assert "wrong-password" not in result.reason
        finally:
            await phone.stop()


async def test_a_file_the_server_no_longer_has_goes_away(tmp_path, receiver):
    files = {"y000000000000.cfg": GOOD_COMMON, f"{MAC}.cfg": GOOD_MAC}
    async with ProvServer(files) as server:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            assert (await autop(phone, receiver, expect_finish=True)).ok
            assert phone.settings["forward.always.target"] == "600"
            receiver.hits.clear()
            del server.files[f"{MAC}.cfg"]
            assert (await autop(phone, receiver, expect_finish=True)).ok
            assert provisioned(phone) == {"y000000000000.cfg": GOOD_COMMON}
            assert phone.settings["forward.always.target"] == "500"
            # Only the newest set is kept on disk.
            sets = [p for p in phone.state_dir.iterdir() if p.name.startswith(".provisioned-")]
            assert len(sets) == 1
        finally:
            await phone.stop()


async def test_a_redirect_is_not_followed_with_the_credentials(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": GOOD_COMMON}, auth=(USER, PASSWORD)) as server, \
            ProvServer({"y000000000000.cfg": GOOD_COMMON}) as elsewhere:
        server.redirects["y000000000000.cfg"] = elsewhere.url + "y000000000000.cfg"
        extra = server_config(server.url, USER, PASSWORD, yealink_names=False)
        phone = await start_phone(tmp_path, receiver.base, extra=extra)
        try:
            result = await autop(phone, receiver, expect_finish=False)
            assert "HTTP 302 redirect (not followed" in result.reason
            assert elsewhere.requests == []
        finally:
            await phone.stop()


async def test_neither_file_on_the_server(tmp_path, receiver):
    async with ProvServer({}) as server:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            result = await autop(phone, receiver, expect_finish=False)
            assert "has none of the files this phone asks for" in result.reason
        finally:
            await phone.stop()


# ------------------------------------------------------------- the parts


def test_server_and_auth():
    base, auth = server_and_auth("https://u:p%40ss@prov.example/dir", "", "")
    assert str(base) == "https://prov.example/dir/"
    assert auth == "Basic " + base64.b64encode(b"u:p@ss").decode()
    base, auth = server_and_auth("http://u:p@h/", "settings-user", "settings-pass")
    assert auth == "Basic " + base64.b64encode(b"settings-user:settings-pass").decode()
    base, auth = server_and_auth("http://h", "", "")
    assert str(base.join(yarl.URL("y000000000000.cfg"))) == "http://h/y000000000000.cfg"
    assert auth is None


def test_check_files_reports_every_file_and_refuses_only_the_format():
    texts, report = check_files({"a.cfg": b"#!version:1.0.0.1\nfeatures.dnd.enable = 2\n",
                                 "b.cfg": b"#!version:1.0.0.1\nlang.gui = English\n",
                                 "c.cfg": b"key = value\n"})
    assert report.problems == ["a.cfg:2: features.dnd.enable: expected 0 or 1, got '2'"]
    assert report.ignored == ["b.cfg:2: lang.gui"]
    assert report.refused == ["c.cfg: first line must be '#!version:1.0.0.1': not a Yealink "
                              "config file"]
    assert list(texts) == ["a.cfg", "b.cfg"]


def test_install_set_replaces_a_legacy_directory(tmp_path):
    legacy = tmp_path / PROVISIONED
    legacy.mkdir()
    (legacy / "y000000000000.cfg").write_text("old")
    install_set(tmp_path, {"y000000000000.cfg": "new"})
    assert (tmp_path / PROVISIONED).is_symlink()
    assert (tmp_path / PROVISIONED / "y000000000000.cfg").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir() if "legacy" in p.name] == []


async def test_repeat_provisions_on_its_timer(tmp_path, receiver):
    """static.auto_provision.repeat.enable / .minutes (Yealink's names): the runtime holds a
    timer for minutes x 60 s; its firing (posted here rather than waited for) provisions."""
    from deskphone.core import inputs as ins
    from deskphone.core.autop import REPEAT_TIMER

    async with ProvServer({"y000000000000.cfg": GOOD_COMMON}) as server:
        phone = await start_phone(tmp_path, receiver.base, extra=(
            f"static.auto_provision.server.url = {server.url}\n"
            "static.auto_provision.repeat.enable = 1\n"
            "static.auto_provision.repeat.minutes = 15\n"))
        try:
            await until(lambda: REPEAT_TIMER in phone.runtime._timers, 5, "the repeat timer")
            handle = phone.runtime._timers[REPEAT_TIMER]
            left = handle.when() - asyncio.get_running_loop().time()
            assert 15 * 60 - 5 < left <= 15 * 60
            before = phone.provisioner.last_result
            phone.runtime.post(ins.TimerFired(REPEAT_TIMER))
            assert (await autop(phone, receiver, expect_finish=True, since=before)).ok
            assert phone.settings["features.dnd.enable"] is True
            assert REPEAT_TIMER in phone.runtime._timers             # and the next one is set
        finally:
            await phone.stop()
