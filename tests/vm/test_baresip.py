"""baresip under the installed, hardened unit (SystemCallFilter=~@privileged, NoNewPrivileges).

Caught here first: `setpriv --pdeathsig KILL` always calls capset(2), which the unit's
filter answers with EPERM ("setpriv: activate capabilities: Operation not permitted"),
so the journal said "baresip could not start" and no call could ever work.
"""

from __future__ import annotations

import time


def baresip_pids(installed) -> list[int]:
    return installed.pids("baresip")


def test_baresip_starts_and_stays_up_under_the_unit(installed, receiver):
    mark = installed.restart()
    receiver.wait("setup_completed", since=mark, timeout=240)
    deadline = time.monotonic() + 90
    while not baresip_pids(installed):
        assert time.monotonic() < deadline, "\n".join(
            line for line in installed.run_journal().splitlines() if "baresip" in line.lower())[-3000:]
        time.sleep(2)
    first = baresip_pids(installed)
    time.sleep(15)                          # it stays: no restart loop
    assert baresip_pids(installed) == first
    journal = installed.run_journal()
    assert "baresip could not start" not in journal, journal[-3000:]
    # ... and it runs with the hardening on: the service's user, no new privileges, seccomp.
    status = installed.vm.out(f"cat /proc/{first[0]}/status")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"
    assert fields["CapEff"].strip() == "0000000000000000"
    assert installed.vm.out(f"ps -o user= -p {first[0]}").strip() == "deskphone"
    # A direct child of the daemon (the pid the daemon supervises is baresip's own).
    assert installed.vm.out(f"ps -o ppid= -p {first[0]}").strip() == installed.show("MainPID")["MainPID"]
