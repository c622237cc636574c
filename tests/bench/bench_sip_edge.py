"""The SIP edge's cost: kamailio's memory (RSS and PSS of its whole process group) and
its start-up (spawn -> an answered OPTIONS on its loopback socket).

    .venv/bin/python tests/bench/bench_sip_edge.py

The edge as the phone runs it (``-m 8 -M 2``, one worker per transport) against
the same configuration with Debian's default memory (``-m 64 -M 8``): the
baseline, measured in the same run. Five starts each, medians. RSS counts the
shared memory every kamailio process maps once per process; PSS divides it
between them, so PSS is what the edge costs the machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import figure, header
from support.sip_lab import free_port_pair
from deskphone.engine.sip_edge import EdgeTiming, SipEdge, find_module_dir

RUNS = 5


def group_memory(pgid: int) -> tuple[int, float, float]:
    """(processes, RSS MiB, PSS MiB) of every process in the group ``pgid``."""
    count, rss, pss = 0, 0, 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pgid:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
            rollup = Path(f"/proc/{entry}/smaps_rollup").read_text()
        except (OSError, ProcessLookupError):
            continue
        count += 1
        rss += next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmRSS:"))
        pss += next(int(line.split()[1]) for line in rollup.splitlines()
                    if line.startswith("Pss:"))
    return count, rss / 1024, pss / 1024


TCP_ACCOUNT = {"account.1.enable": True, "account.1.user_name": "1001",
               "account.1.sip_server.1.address": "127.0.0.1",
               "account.1.sip_server.1.transport_type": 1}


async def one(shm: int, pkg: int, tcp: bool = False) -> tuple[float, int, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port_pair()         # UDP and TCP free
        settings = {"sip.listen_port": port, "deskphone.sip_edge.shm_mb": shm,
                    "deskphone.sip_edge.pkg_mb": pkg, **(TCP_ACCOUNT if tcp else {})}
        edge = SipEdge(lambda: settings, Path(tmp) / "edge", public_host="127.0.0.1",
                       notify=lambda: ("127.0.0.1", 9), timing=EdgeTiming(ready_timeout=20))
        try:
            if not await edge.start():
                sys.exit("the edge did not start")
            await asyncio.sleep(0.5)            # the workers have forked and settled
            assert edge.pid is not None and edge.started_in is not None
            return (edge.started_in * 1000, *group_memory(edge.pid))
        finally:
            await edge.stop()


async def main() -> None:
    header("SIP edge (kamailio): memory and start-up")
    if find_module_dir() is None:
        sys.exit("kamailio is not installed (apt-get install kamailio)")
    tuned = [await one(8, 2) for _ in range(RUNS)]
    default = [await one(64, 8) for _ in range(RUNS)]
    tcp = [await one(8, 2, tcp=True) for _ in range(RUNS)]

    def med(rows: list, i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"# processes in the group: {tuned[0][1]} (tuned), {default[0][1]} (default), "
          f"{tcp[0][1]} (tuned, with TCP)")
    figure("edge start-up, spawn to answered OPTIONS (-m 8 -M 2)", med(tuned, 0),
           med(default, 0), "ms", note="baseline: -m 64 -M 8 (Debian's defaults)")
    figure("edge RSS, all processes (-m 8 -M 2)", med(tuned, 2), med(default, 2), "MiB")
    figure("edge PSS, all processes (-m 8 -M 2)", med(tuned, 3), med(default, 3), "MiB")
    figure("edge PSS with TCP too (a TCP account)", med(tcp, 3), med(tuned, 3), "MiB",
           note="baseline: UDP only")


if __name__ == "__main__":
    asyncio.run(main())
