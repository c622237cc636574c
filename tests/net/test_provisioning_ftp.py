"""Auto provisioning from an FTP server: the real vsftpd (Debian's), unprivileged, on 127.0.0.1.

Yealink phones take ``ftp://`` provisioning URLs; the path is relative to the login
directory (RFC 1738), anonymous unless credentials are set. The client is Python's
ftplib on a thread with a timeout (net/provisioning_fetch.py).
"""

from __future__ import annotations

import yarl

from deskphone.net.provisioning_fetch import ftp_get
from support.ftp_server import FtpServer
from support.phone import start_phone
from support.prov_server import autop, provisioned

MAC = "001565abcdef"


async def test_an_ftp_server_provisions_the_phone(tmp_path, receiver):
    root = tmp_path / "ftproot"
    (root / "phones").mkdir(parents=True)
    common = "#!version:1.0.0.1\r\nforward.busy.target = 2121\r\n"
    (root / "phones" / "y000000000000.cfg").write_text(common)
    (root / "phones" / f"{MAC}.cfg").write_text("#!version:1.0.0.1\ncall_waiting.enable = 0\n")
    with FtpServer(root) as ftp:
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"static.auto_provision.server.url = {ftp.url}phones\n")
        try:
            result = await autop(phone, receiver, expect_finish=True)
            assert result.ok, result.reason
            assert phone.settings["forward.busy.target"] == "2121"
            assert phone.settings["call_waiting.enable"] is False
            # (read back as text: the CRLFs read as LFs)
            assert provisioned(phone)["y000000000000.cfg"] == common.replace("\r\n", "\n")
        finally:
            await phone.stop()


def test_a_missing_file_is_none(tmp_path):
    root = tmp_path / "ftproot"
    root.mkdir()
    with FtpServer(root) as ftp:
        assert ftp_get(yarl.URL(ftp.url + "nothing.cfg"), "", "", 5) is None
