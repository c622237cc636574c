"""The installed service under a live systemd: READY, Setup Completed, the watchdog, the
hardening score, the journal, and a second run of the installer."""

from __future__ import annotations

import json
import re
import time
import urllib.request

from conftest import ARCH, SECRET, record
from vm import GUEST_IP


def test_install_sh_installs_and_starts_the_service(installed):
    out = installed.first_output
    assert "created the user deskphone" in out
    assert "installing deskphone into /opt/deskphone/venv" in out
    assert "enabled deskphone.service" in out
    # pip inside had no index: only /opt/wheels (the image's /etc/pip.conf).
    assert installed.vm.out("/opt/deskphone/venv/bin/pip config list").strip() \
        == "global.find-links='/opt/wheels'\nglobal.no-index='true'"


def test_type_notify_ready_and_running(installed):
    state = installed.show("ActiveState", "SubState", "NRestarts", "Type", "WatchdogUSec",
                           "StatusText", "MainPID")
    assert (state["ActiveState"], state["SubState"]) == ("active", "running"), state
    assert state["Type"] == "notify"
    assert state["WatchdogUSec"] == "30s"
    # STATUS= from the daemon reached systemd: the phone's state as text.
    assert state["StatusText"].startswith(("Idle", "Registering", "Register")), state
    user = installed.vm.out(f"ps -o user= -p {state['MainPID']}").strip()
    assert user == "deskphone"


def test_setup_completed_reaches_the_host(installed, receiver):
    start = time.monotonic()
    mark = installed.restart()
    when, query = receiver.wait("setup_completed", since=mark, timeout=240)
    record(f"{ARCH}.restart_to_setup_completed_s", round(when - start, 1))
    assert query["mac"] == installed.mac
    assert query["ip"] == "10.0.2.15"       # the address it reaches its SIP server (10.0.2.2) from


def test_watchdog_restarts_a_stopped_daemon(installed, receiver):
    before = installed.show("MainPID", "NRestarts")
    mark = receiver.mark()
    start = time.monotonic()
    installed.vm.ssh(f"kill -STOP {before['MainPID']}")
    deadline = time.monotonic() + 300
    while True:
        now = installed.show("MainPID", "NRestarts", "ActiveState")
        if now["MainPID"] not in ("0", before["MainPID"]) and now["ActiveState"] == "active":
            break
        assert time.monotonic() < deadline, f"not restarted: {now}"
        time.sleep(2)
    assert int(now["NRestarts"]) == int(before["NRestarts"]) + 1
    receiver.wait("setup_completed", since=mark, timeout=180)
    record("amd64.watchdog_restart_s", round(time.monotonic() - start, 1))
    assert "Watchdog timeout" in installed.vm.out(
        "journalctl -u deskphone --no-pager -o cat | grep -i watchdog")


def test_systemd_analyze_security_of_the_installed_unit(installed):
    out = installed.vm.out("systemd-analyze security deskphone.service --no-pager")
    score = float(re.search(r"Overall exposure level for deskphone\.service: ([0-9.]+)", out)[1])
    record("amd64.security_exposure", score)
    assert score <= 2.5, out[-2000:]


def test_journal_priorities_and_no_secrets(installed):
    entries = [json.loads(line) for line in
               installed.journal(fmt="json").splitlines() if line.startswith("{")]
    daemon = [e for e in entries if e.get("_COMM") == "deskphone" or
              e.get("SYSLOG_IDENTIFIER") == "deskphone"]
    assert daemon, "nothing from the daemon in the journal"
    for e in daemon:
        msg = e.get("MESSAGE", "")
        if isinstance(msg, list):           # journald's binary-safe form
            msg = bytes(msg).decode(errors="replace")
        # <N> prefixes became priorities: none is left in the text.
        assert not re.match(r"<\d>", msg), msg
    prio = {e["MESSAGE"]: e["PRIORITY"] for e in daemon if isinstance(e.get("MESSAGE"), str)}
    up = [m for m in prio if " up on board " in m]
    assert up and prio[up[-1]] == "6"
    warnings = {p for p in prio.values()}
    assert warnings <= {"2", "3", "4", "5", "6", "7"}
    # The SIP password of account 1 is in the config: never in the journal, in any field.
    everything = installed.vm.out("journalctl --no-pager -o verbose -b")
    assert SECRET not in everything


def test_reboot_from_the_action_uri_restarts_the_service(installed, receiver):
    before = installed.show("MainPID", "NRestarts")
    mark = receiver.mark()
    start = time.monotonic()
    # The servlet through QEMU's hostfwd (127.0.0.1 on the host -> the guest's port 80).
    # Host: the phone's own address, as a client on its network sends it (the phone refuses
    # other names: DNS rebinding).
    request = urllib.request.Request(f"http://127.0.0.1:{installed.vm.http_port}/servlet?key=Reboot",
                                     headers={"Host": GUEST_IP})
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert resp.status == 200
    receiver.wait("setup_completed", since=mark, timeout=180)
    record("amd64.action_uri_reboot_to_setup_completed_s", round(time.monotonic() - start, 1))
    after = installed.show("MainPID", "NRestarts", "ActiveState", "ExecMainStatus")
    assert after["MainPID"] != before["MainPID"] and after["ActiveState"] == "active"
    # Exit status 75 (RestartForceExitStatus=75): restarted at once, counted as a restart.
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1
    assert "status=75" in installed.vm.out(
        "journalctl -u deskphone --no-pager -o cat | grep 'Main process exited' | tail -1")


def test_upgrade_keeps_the_config(installed, receiver):
    """A new source tree (as after `git pull`) and the installer again: the program is
    reinstalled and restarted, the configuration and the runtime state are kept."""
    vm = installed.vm
    keep = "for f in /etc/deskphone/*.cfg /etc/deskphone/board.toml /var/lib/deskphone/*.cfg; " \
           "do [ -e $f ] && sha256sum $f; done; true"
    before = vm.out(keep)
    vm.ssh("echo '# upgraded' >> /opt/deskphone/src/firmware/deskphone/__init__.py")
    mark = receiver.mark()
    start = time.monotonic()
    out = vm.out("/opt/deskphone/src/systemd/install.sh 2>&1", timeout=900)
    record("amd64.upgrade_install_s", round(time.monotonic() - start, 1))
    assert "installing deskphone into /opt/deskphone/venv" in out and "restarted deskphone.service" in out, out
    assert "kept /etc/deskphone/y000000000000.cfg as it is" in out
    receiver.wait("setup_completed", since=mark, timeout=180)
    assert vm.out(keep) == before
    assert "# upgraded" in vm.out(
        "tail -1 /opt/deskphone/venv/lib/python3.11/site-packages/deskphone/__init__.py")


def test_second_install_changes_nothing(installed):
    before = installed.show("MainPID", "NRestarts")
    files = "find /etc/deskphone /etc/systemd/system/deskphone.service /etc/sysusers.d " \
            "/opt/deskphone -path /opt/deskphone/src -prune -o -type f -newer /etc/passwd -print " \
            "| sort | xargs sha256sum; stat -c '%n %a %U %G' /etc/deskphone/*"
    digest = installed.vm.out(files)
    start = time.monotonic()
    out = installed.vm.out("/opt/deskphone/src/systemd/install.sh 2>&1", timeout=600)
    record("amd64.second_install_s", round(time.monotonic() - start, 1))
    assert "everything was already in place; nothing changed" in out, out
    assert "installed " not in out and "restarted" not in out, out
    assert installed.show("MainPID", "NRestarts") == before
    assert installed.vm.out(files) == digest
