"""No password ever reaches a log line: a whole run at debug level, grepped.

The run registers with a password the simulated PBX checks, sends Action URLs
to receivers named with user:password@ (one of them unreachable, so its
failure is logged), provisions at power-on from a server that wants basic auth
and serves a file with another password in it, and changes a password and the
log level on the serial console while live log lines stream to it.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from support.phone import BOARD, write_config
from support.pty_terminal import PtyTerminal
from support.prov_server import ProvServer

SIP_PASSWORD = "SipPass-4471"
HOOK_PASSWORD = "HookPass-8812"
PROV_PASSWORD = "ProvPass-2093"
FILE_PASSWORD = "FilePass-5530"
CONSOLE_PASSWORD = "ConsolePass-7714"
SECRETS = (SIP_PASSWORD, HOOK_PASSWORD, PROV_PASSWORD, FILE_PASSWORD, CONSOLE_PASSWORD)


async def test_a_full_run_logs_no_secret(tmp_path, receiver):
    line = PtyTerminal()
    hook_base = receiver.base.replace("http://", f"http://hook:{HOOK_PASSWORD}@")
    dead = f"http://hook:{HOOK_PASSWORD}@127.0.0.1:9/dead"      # discard port: refused
    provisioned = ("#!version:1.0.0.1\naccount.2.enable = 1\naccount.2.user_name = 200\n"
                   f"account.2.password = {FILE_PASSWORD}\n"
                   "account.2.sip_server.1.address = pbx.test\n")
    async with ProvServer({"y000000000000.cfg": provisioned},
                          auth=("prov", PROV_PASSWORD)) as prov:
        board = tmp_path / "board.toml"
        board.write_text(BOARD.format(password=f'password = "{SIP_PASSWORD}"')
                         + f'\n[console]\nport = "{line.path}"\n')
        write_config(tmp_path / "config", hook_base, url_for={"dnd_off": dead}, extra=(
            f"account.1.password = {SIP_PASSWORD}\n"
            f"static.auto_provision.server.url = {prov.url}\n"
            "static.auto_provision.user_name = prov\n"
            f"static.auto_provision.password = {PROV_PASSWORD}\n"
            "static.auto_provision.power_on = 1\n"
            "static.wui.https_enable = 0\n"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deskphone", "run", "--board", str(board),
            "--config-dir", str(tmp_path / "config"), "--state-dir", str(tmp_path / "state"),
            "--bind", "127.0.0.1", "--http-port", "0", "--log-level", "debug",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            await receiver.wait("registered", timeout=5)
            await receiver.wait("setup_autop_finish", timeout=5)   # provisioned with basic auth
            await line.expect("deskphone> ")
            line.send("log debug\r")
            line.send(f"config set account.1.password {CONSOLE_PASSWORD}\r")
            line.send("config get account.1.password\r")
            line.send(f"config set static.auto_provision.password {PROV_PASSWORD}x\r")
            line.send("dnd on\r")
            await receiver.wait("dnd_on")
            line.send("dnd off\r")                         # its receiver is down: logged
            line.send("autop\r")                             # now with a wrong password: 401
            await line.expect("auto provisioning started")
            line.send("events\r")
            line.send("status\r")
            await line.expect("engine:")
            await line.rest(0.5)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 5)
            line.close()
    log = out.decode()
    console_text = line.received.decode(errors="replace")
    assert proc.returncode == 0, log
    # The run did what it is meant to show.
    assert "Action URL Close DND failed" in log                     # the unreachable receiver
    assert "auto provisioning applied y000000000000.cfg" in log
    assert "HTTP 401 (check static.auto_provision.user_name and password)" in log
    assert "console: config set account.1.password ********" in log
    assert "event Registered" in log
    assert "<7>" in log                                             # debug lines were on
    assert "deskphone.runtime: event Open DND" in console_text      # live lines on the console
    assert "hook:***@127.0.0.1" in log
    for secret in SECRETS:
        assert secret not in log, f"{secret} in the log"
        assert secret not in console_text, f"{secret} on the console"
