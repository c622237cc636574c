"""Auto provisioning from servers shaped as the real ones serve Yealink phones.

Each test names the project and file whose behaviour it replays. The servers are
real HTTP on 127.0.0.1 (tests/support/prov_server.py).
"""

from __future__ import annotations

import logging

from deskphone.net.auth import admin_account
from support.phone import start_phone
from support.prov_server import WAZO_UA, ProvServer, autop, provisioned, server_config

MAC = "001565abcdef"          # the test board's
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:ab:cd:ef"
USER, PASSWORD = "fusion-prov", "Dig3st-Secret!"


def fusionpbx_common(url: str) -> bytes:
    """The shape of FusionPBX's resources/templates/provision/yealink/t46s/y000000000066.cfg
    as its app/provision/index.php renders it: CRLF line ends, a BOM (Windows-edited
    templates), keys of other models and firmware, empty values, %NULL%, and the three
    static.security.user_password lines in FusionPBX's order (var, admin, user)."""
    lines = [
        "#!version:1.0.0.1",
        "",
        '##File header "#!version:1.0.0.1" can not be edited or deleted, and must be placed '
        "in the first line.##",
        "static.network.cdp.enable =",
        "static.wifi.1.ssid =",
        "static.network.vlan.internet_port_enable = 0",
        f"static.auto_provision.server.url = {url}",
        f"static.auto_provision.server.username = {USER}",
        f"static.auto_provision.server.password = {PASSWORD}",
        "static.auto_provision.weekly.enable =",
        "static.auto_provision.weekly.begin_time =",
        "static.auto_provision.repeat.enable =",
        "static.auto_provision.repeat.minutes =",
        "static.auto_provision.dhcp_option.list_user_options =",
        "action_url.is_ume =",
        "action_url.peripheral_information =",
        "action_url.vpn_ip =",
        "static.security.user_password = var:var-pw",
        "static.security.user_password = admin:Adm1n-pw",
        "static.security.user_password = user:user-pw",
        "static.security.user_name.var = var",
        "static.security.user_name.admin = admin",
        "static.security.user_name.user = user",
        "features.dnd.enable = %NULL%",
        "call_waiting.enable = 0",
        "forward.always.target = %NULL%",
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


FUSIONPBX_MAC = ("#!version:1.0.0.1\r\n"
                 "account.1.enable = 1\r\naccount.1.label = 1001\r\n"
                 "account.1.sip_server.1.port = \r\naccount.1.codec.1.enable = 1\r\n"
                 "forward.busy.target = 1099\r\n")


async def test_fusionpbx_boot_with_includes_and_digest(tmp_path, receiver, caplog):
    """FusionPBX: y000000000000.boot (resources/templates/provision/yealink/t46s/
    y000000000000.boot: include:config "y000000000066.cfg", include:config "{$mac}.cfg",
    overwrite_mode) behind HTTP Digest, qop="auth" with opaque, as app/provision/index.php
    challenges; the phone knows only server.username/.password in Yealink's spelling."""
    caplog.set_level(logging.INFO)
    async with ProvServer({}, auth=(USER, PASSWORD), scheme="digest") as server:
        server.files = {
            "y000000000000.boot": ("#!version:1.0.0.1\n## The header above must appear as-is "
                                   'in the first line\n\ninclude:config "y000000000066.cfg"\n'
                                   f'include:config "{MAC}.cfg"\n\noverwrite_mode = 1\n'),
            "y000000000066.cfg": fusionpbx_common(server.url),
            f"{MAC}.cfg": FUSIONPBX_MAC,
        }
        extra = server_config(server.url, USER, PASSWORD)
        phone = await start_phone(tmp_path, receiver.base, extra=extra)
        try:
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok, result.reason
            s = phone.settings
            assert s["call_waiting.enable"] is False
            assert s["forward.busy.target"] == "1099"
            assert s["features.dnd.enable"] is False and s["forward.always.target"] == ""
            assert s["account.1.label"] == "1001" and s["account.1.sip_server.1.port"] == 5060
            # One line per user: the later user: line does not replace the admin password.
            account = admin_account(s)
            assert account is not None and account.password == "Adm1n-pw"
            assert s["deskphone.user_password.user"] == "user-pw"
            assert s["deskphone.user_password.var"] == "var-pw"
            # The boot file first, then what it includes, in its order; nothing else asked.
            asked = [name for name, auth in server.requests if auth]
            assert asked == [f"{MAC}.boot", "y000000000000.boot", "y000000000066.cfg",
                             f"{MAC}.cfg"]
            assert all(a.startswith("Digest ") for _, a in server.requests if a)
            assert (phone.state_dir / "provisioned" / ".order").read_text().split() == [
                "y000000000000.boot", "y000000000066.cfg", f"{MAC}.cfg"]
            assert s.origin("forward.busy.target") == f"provisioned/{MAC}.cfg:6"
            assert PASSWORD not in caplog.text
            assert "key(s) this phone does not use ignored" in caplog.text
        finally:
            await phone.stop()


async def test_digest_with_a_wrong_password_is_refused_by_name(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": "#!version:1.0.0.1\n"}, auth=(USER, PASSWORD),
                          scheme="digest") as server:
        extra = server_config(server.url, USER, "not-it")
        phone = await start_phone(tmp_path, receiver.base, extra=extra)
        try:
            result = await autop(phone, receiver, expect_finish=False)
            assert not result.ok and "HTTP 401" in result.reason
            assert "not-it" not in result.reason
        finally:
            await phone.stop()


async def test_wazo_serves_only_a_user_agent_its_plugin_matches(tmp_path, receiver):
    """wazo-provd-plugins, the Yealink plugins' common.py: BaseYealinkHTTPDeviceInfoExtractor
    reads model, firmware and MAC from the User-Agent with _UA_REGEX_LIST; a device it cannot
    identify gets nothing (404). The plugin serves y000000000000.cfg, the model's common
    file (y000000000066.cfg for a T46S, COMMON_FILES of the v86 plugin) and <mac>.cfg."""
    files = {"y000000000000.cfg": "#!version:1.0.0.1\nforward.busy.target = 400\n",
             "y000000000066.cfg": "#!version:1.0.0.1\nforward.busy.target = 466\n",
             "y000000000096.cfg": "#!version:1.0.0.1\nforward.busy.target = 496\n",
             f"{MAC}.cfg": "#!version:1.0.0.1\ncall_waiting.enable = 0\n"}
    async with ProvServer(files, user_agent=WAZO_UA) as server:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok, result.reason
            assert set(server.agents) == {UA}
            match = WAZO_UA.match(UA)
            assert match is not None and match.groups() == ("T46S", "66.86.0.15",
                                                            "00:15:65:ab:cd:ef")
            assert phone.settings["forward.busy.target"] == "466"
            assert phone.settings["call_waiting.enable"] is False

            # Presented as a T54W, the phone asks for the T54W's common file instead.
            phone.writer.update({"deskphone.provisioning.model": "T54W",
                                      "deskphone.provisioning.firmware": "96.86.0.20"})
            receiver.hits.clear()
            server.requests.clear()
            assert (await autop(phone, receiver, expect_finish=True)).ok
            assert "y000000000096.cfg" in server.names()
            assert "y000000000066.cfg" not in server.names()
            assert phone.settings["forward.busy.target"] == "496"

            # A User-Agent the plugin cannot read: the server has nothing for the phone.
            phone.writer.update({"deskphone.provisioning.firmware": "v1"})
            receiver.hits.clear()
            result = await autop(phone, receiver, expect_finish=False)
            assert not result.ok and "has none of the files" in result.reason
        finally:
            await phone.stop()


GOOD = "#!version:1.0.0.1\n" + "".join(f"# filler line {n} of the template\n" for n in range(8)) \
    + "forward.busy.target = 777\ncall_waiting.enable = 0\n"


async def test_a_body_in_two_writes_300_ms_apart_is_applied_whole(tmp_path, receiver):
    """Issue 15, item 2: the old reader took what had arrived (42 of 181 bytes)."""
    async with ProvServer({"y000000000000.cfg": GOOD}) as server:
        server.split["y000000000000.cfg"] = 0.3
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            assert (await autop(phone, receiver, expect_finish=True)).ok
            assert provisioned(phone) == {"y000000000000.cfg": GOOD}
            assert phone.settings["call_waiting.enable"] is False    # from the second write
        finally:
            await phone.stop()


async def test_a_body_shorter_than_its_content_length_applies_nothing(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": GOOD}) as server:
        server.short.add("y000000000000.cfg")
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            before = dict(phone.settings)
            result = await autop(phone, receiver, expect_finish=False)
            assert not result.ok
            assert "nothing applied" in result.reason, result.reason
            assert provisioned(phone) == {} and dict(phone.settings) == before
        finally:
            await phone.stop()


async def test_an_include_on_another_server_is_not_fetched(tmp_path, receiver):
    async with ProvServer({}, auth=(USER, PASSWORD)) as server, ProvServer({}) as elsewhere:
        server.files = {"y000000000000.boot": "#!version:1.0.0.1\n"
                        f'include:config "{elsewhere.url}x.cfg"\n'}
        extra = server_config(server.url, USER, PASSWORD)
        phone = await start_phone(tmp_path, receiver.base, extra=extra)
        try:
            result = await autop(phone, receiver, expect_finish=False)
            assert "on another server" in result.reason
            assert elsewhere.requests == []
        finally:
            await phone.stop()


async def test_a_boot_file_including_more_than_a_run_may_hold_is_refused(tmp_path, receiver):
    """Each file is capped at 1 MiB, 16 includes at most, and a run's set at 4 MiB in all."""
    big = "#!version:1.0.0.1\n" + "#" * (1024 * 1024 - 40) + "\n"
    files = {f"part{n}.cfg": big for n in range(5)}
    files["y000000000000.boot"] = "#!version:1.0.0.1\n" + "".join(
        f'include:config "part{n}.cfg"\n' for n in range(5))
    async with ProvServer(files) as server:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {server.url}\n")
        try:
            result = await autop(phone, receiver, expect_finish=False)
            assert "more than 4096 KiB" in result.reason, result.reason
            assert provisioned(phone) == {}
            assert "part4.cfg" not in server.names()         # stopped before the fifth
        finally:
            await phone.stop()
