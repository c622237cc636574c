"""The serial debug console over a pty pair, with real pyserial on the phone's side."""

from __future__ import annotations

import asyncio
import logging

import pytest

from deskphone import logs
from deskphone.config.store import STATE_FILE
from deskphone.console import serial_console
from deskphone.core.trust import trust_key
from deskphone.errors import ConfigError
from support.phone import settle, start_phone
from support.pty_terminal import PtyTerminal
from support.waiting import until

PROMPT = "deskphone> "


def console_board(path: str, baudrate: int = 115200) -> str:
    return f'\n[console]\nport = "{path}"\nbaudrate = {baudrate}\n'


@pytest.fixture
async def line():
    pty = PtyTerminal()
    yield pty
    pty.close()


@pytest.fixture
async def console(tmp_path, receiver, line):
    """A phone whose serial console is on the pty; yields (phone, terminal end)."""
    level = logging.getLogger().level
    phone = await start_phone(tmp_path, receiver.base, board_extra=console_board(line.path))
    try:
        await line.expect("console: type 'help'")
        await line.expect(PROMPT)
        await receiver.wait("setup_completed")
        yield phone, line
    finally:
        await phone.stop()
        logging.getLogger().setLevel(level)


async def run(line: PtyTerminal, command: str, ending: str = "\r") -> str:
    """Type a command; the answer (without the echo and the next prompt)."""
    line.send(command + ending)
    text = await line.expect(PROMPT)
    echoed = command + "\r\n"
    assert text.startswith(echoed), text
    return text[len(echoed):-len(PROMPT)].replace("\r\n", "\n").strip("\n")


async def test_help_and_status(console):
    phone, line = console
    answer = await run(line, "help")
    for usage in ("status", "events [N]", "log [on|off|debug|info|warning|error]", "key NAME",
                  "hook on|off", "dial NUMBER", "uri KEY=VALUE", "config get KEY",
                  "trust list", "restart"):
        assert usage in answer, usage
    answer = await run(line, "status")
    assert "state:    Idle" in answer
    assert "accounts: 1 Desk (100@pbx.test): registered" in answer
    assert "DND:      off" in answer
    assert "IP:       127.0.0.1 (MAC 001565abcdef)" in answer
    assert "uptime:   0:00:0" in answer
    assert "engine:   sim (SimEngine): up" in answer


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"])
async def test_cr_lf_or_crlf_run_one_command_each(console, ending):
    _, line = console
    line.send("status" + ending + "events 1" + ending)
    text = await line.rest()
    # Two commands, two answers, two prompts: a CRLF is not an extra empty command.
    assert text.count(PROMPT) == 2, text
    assert text.startswith("status\r\n")
    assert "\r\nevents 1\r\n" in text


async def test_typing_is_echoed_once_and_backspace_works(console):
    phone, line = console
    line.send("dnx\x7fd on\r")
    text = await line.expect(PROMPT)
    assert text == "dnx\b \bd on\r\n" + PROMPT
    await settle(phone)
    assert phone.settings["features.dnd.enable"] is True
    line.send("\x1b[A\x1b[Bdnd off\r")          # arrow keys from a terminal: ignored
    assert await line.expect(PROMPT) == "dnd off\r\n" + PROMPT


async def test_keys_hook_and_dial(console, receiver):
    phone, line = console
    assert await run(line, "hook off") == ""
    await receiver.wait("off_hook")
    assert await run(line, "dial 201") == ""
    await receiver.wait("call_established")
    assert await run(line, "key MUTE") == ""
    await receiver.wait("mute")
    assert await run(line, "hook on") == ""
    await receiver.wait("call_terminated")
    assert await run(line, "key DNDOn") == ""            # any value of the Action URI table
    await receiver.wait("dnd_on")
    assert await run(line, "uri key=DNDOff") == ""
    await receiver.wait("dnd_off")
    assert (await run(line, "key NOSUCH")).startswith("error: unknown key value")
    assert (await run(line, "uri nonsense")).startswith("error: expected KEY=VALUE")
    assert (await run(line, "frobnicate")) == "error: unknown command 'frobnicate' (type 'help')"


async def test_config_set_is_checked_kept_and_applied(console, tmp_path):
    phone, line = console
    state = tmp_path / "state" / STATE_FILE
    assert (await run(line, "config set call_waiting.enable yes")).startswith(
        "error: call_waiting.enable: expected 0 or 1")
    assert (await run(line, "config set lang.gui English")).startswith("error: ")
    assert (await run(line, "config get no.such.key")).startswith("error: unknown setting")
    assert phone.settings["call_waiting.enable"] is True
    answer = await run(line, "config set call_waiting.enable 0")
    assert answer == "call_waiting.enable = 0    # kept in the runtime state"
    await settle(phone)
    assert phone.settings["call_waiting.enable"] is False
    assert phone.phone.settings["call_waiting.enable"] is False        # applied live
    assert await phone.store.flush()
    assert "call_waiting.enable = 0" in state.read_text()              # kept
    assert await run(line, "config get call_waiting.enable") == \
        "call_waiting.enable = 0    # runtime state"
    # A secret is taken but never shown: not even as it is typed.
    line.send("config set account.1.password N3w-Pass!\r")
    assert await line.expect(PROMPT) == (
        "config set account.1.password *********\r\n"
        "account.1.password = ********    # kept in the runtime state\r\n" + PROMPT)
    assert await run(line, "config get account.1.password") == \
        "account.1.password = ********    # runtime state"
    assert phone.settings["account.1.password"] == "N3w-Pass!"


async def test_events_shows_the_last_deliveries(console, receiver):
    _, line = console
    await receiver.wait("registered")
    await asyncio.sleep(0.1)
    answer = await run(line, "events 2")
    rows = answer.splitlines()
    assert len(rows) == 2
    assert any("Registered" in r and "HTTP 200" in r and "/registered?" in r for r in rows), rows
    assert (await run(line, "events x")).startswith("error: N must be a positive number")


async def test_log_streams_live_lines_and_sets_the_level(console, receiver):
    phone, line = console
    assert (await run(line, "log")).startswith("log level")
    answer = await run(line, "log debug")
    assert answer.startswith("log level debug")
    assert logs.current_level() == "debug"
    line.send("dnd on\r")
    await line.expect("deskphone.runtime: event Open DND")
    await receiver.wait("dnd_on")
    await line.rest()
    line.send("log off\r")         # (its own log line still shows: it is logged before it runs)
    await line.expect("live log lines off\r\n" + PROMPT)
    line.send("dnd off\r")
    await receiver.wait("dnd_off")
    text = await line.rest()
    assert "event Close DND" not in text
    assert (await run(line, "log loud")).startswith("error: log level must be one of")


async def test_trust_list_and_forget(console):
    phone, line = console
    phone.writer.set(trust_key("10.1.2.3"), "allow")
    answer = await run(line, "trust list")
    assert "10.1.2.3: allow" in answer
    assert await run(line, "trust forget 10.1.2.3") == "forgot 10.1.2.3: it will be asked again"
    assert trust_key("10.1.2.3") not in phone.settings
    assert "no remembered decisions" in await run(line, "trust list")
    assert (await run(line, "trust forget 10.9.9.9")).startswith("error: no decision remembered")


async def test_autop_and_restart(console):
    phone, line = console
    assert await run(line, "autop") == "auto provisioning started"
    assert await run(line, "restart") == "restarting"
    await asyncio.wait_for(phone.wait(), 2)
    assert phone.restart_requested is False


async def test_a_port_that_is_a_login_console_is_left_alone(tmp_path, receiver, line,
                                                            monkeypatch, caplog):
    cmdline = tmp_path / "cmdline"
    name = line.path.removeprefix("/dev/")
    cmdline.write_text(f"coherent_pool=1M console={name},115200 console=tty1 rootwait\n")
    monkeypatch.setattr(serial_console, "PROC_CMDLINE", cmdline)
    phone = await start_phone(tmp_path, receiver.base, board_extra=console_board(line.path))
    try:
        await receiver.wait("setup_completed")
        assert not phone.console.active
        assert await line.rest(0.3) == ""                  # nothing was sent on the port
        warning = next(r.getMessage() for r in caplog.records
                       if r.name == "deskphone.console" and r.levelno == logging.WARNING)
        assert f"{line.path} is the kernel's login console (console={name}" in warning
        assert "raspi-config nonint do_serial_cons 1" in warning
    finally:
        await phone.stop()


def test_a_login_console_through_a_symlink_is_found(tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "ttyS0").touch()
    (dev / "serial0").symlink_to("ttyS0")
    find = serial_console.login_console_conflict
    assert find(str(dev / "serial0"), "console=ttyS0,115200 console=tty1", dev) == "ttyS0"
    assert find(str(dev / "ttyS0"), "console=serial0,115200", dev) == "serial0"
    assert find(str(dev / "ttyS0"), "console=tty1 quiet", dev) is None


async def test_the_port_going_away_does_not_stop_the_phone(console, receiver, caplog):
    phone, line = console
    line.close_master()                                    # the cable is pulled
    await until(lambda: any("went away" in r.getMessage() for r in caplog.records), 3,
                "'went away' in the log")
    phone.keypad.press("F1")                               # the phone goes on
    await receiver.wait("dnd_on")


async def test_a_bad_baudrate_is_a_board_error(tmp_path, receiver, line):
    with pytest.raises(ConfigError, match="console.baudrate: not a standard baud rate"):
        await start_phone(tmp_path, receiver.base, board_extra=console_board(line.path, 12345))


async def test_a_port_that_appears_later_is_opened(tmp_path, receiver, line, monkeypatch,
                                                   caplog):
    # A USB gadget port exists only while a host is plugged in.
    monkeypatch.setattr(serial_console, "REOPEN_DELAY", 0.1)
    port = tmp_path / "ttyGS0"
    phone = await start_phone(tmp_path, receiver.base, board_extra=console_board(str(port)))
    try:
        await asyncio.sleep(0.45)
        warned = [r for r in caplog.records
                  if "cannot open" in r.getMessage() and r.levelno == logging.WARNING]
        assert len(warned) == 1                            # said once, not every retry
        port.symlink_to(line.path)
        await line.expect("console: type 'help'")
        await line.expect(PROMPT)
        assert phone.console.active
        assert "status" in await run(line, "help")
    finally:
        await phone.stop()
