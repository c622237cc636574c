"""Auto provisioning from a TFTP server: the real tftpd-hpa (Debian's, started by the test).

A tftp:// server URL (Yealink: static.auto_provision.server.url = tftp://host/dir/) and
the URL that DHCP option 66 often gives (a TFTP server's name) both end here.
"""

from __future__ import annotations

import asyncio

import yarl

from deskphone.net.provisioning_fetch import MAX_FILE, ProvisioningError, tftp_get
from support.phone import start_phone
from support.prov_server import autop, provisioned
from support.tftp_server import TftpServer

MAC = "001565abcdef"


def template(blocks: int) -> str:
    """A .cfg file across several 512-byte TFTP blocks, ending on a block boundary."""
    text = "#!version:1.0.0.1\nforward.busy.target = 512\n"
    line = "# a line of a long template, as FusionPBX's are\n"
    text += line * ((blocks * 512 - len(text)) // len(line) - 1)
    return text + "#" * (blocks * 512 - len(text) - 1) + "\n"


async def test_a_tftp_server_provisions_the_phone(tmp_path, receiver):
    root = tmp_path / "tftproot"
    root.mkdir()
    common = template(3)
    assert len(common) == 3 * 512          # the transfer ends with an empty block
    (root / "y000000000000.cfg").write_text(common)
    (root / f"{MAC}.cfg").write_text("#!version:1.0.0.1\r\ncall_waiting.enable = 0\r\n")
    with TftpServer(root) as tftp:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {tftp.url}\n")
        try:
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok, result.reason
            assert phone.settings["forward.busy.target"] == "512"
            assert phone.settings["call_waiting.enable"] is False
            assert provisioned(phone)["y000000000000.cfg"] == common
        finally:
            await phone.stop()


async def test_tftp_file_missing_is_none_and_a_directory_is_an_error(tmp_path):
    root = tmp_path / "tftproot"
    (root / "sub").mkdir(parents=True)
    with TftpServer(root) as tftp:
        assert await tftp_get(yarl.URL(tftp.url + "nothing.cfg")) is None
        try:
            await tftp_get(yarl.URL(tftp.url + "sub"))
        except ProvisioningError as exc:
            assert "TFTP error" in str(exc)
        else:
            raise AssertionError("a directory was served")


async def test_tftp_larger_than_the_cap_is_refused_from_tsize(tmp_path):
    root = tmp_path / "tftproot"
    root.mkdir()
    (root / "big.cfg").write_bytes(b"#" * (MAX_FILE + 1))
    with TftpServer(root) as tftp:
        try:
            await asyncio.wait_for(tftp_get(yarl.URL(tftp.url + "big.cfg")), 5)
        except ProvisioningError as exc:
            assert "larger than 1024 KiB" in str(exc)
        else:
            raise AssertionError("a file above the cap was taken")
