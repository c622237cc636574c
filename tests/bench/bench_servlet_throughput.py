"""Servlet throughput: key requests a second from a trusted source, 50 clients, 10 s.

    make bench      (or: .venv/bin/python tests/bench/bench_servlet_throughput.py)

The phone is ``deskphone run`` on the simulated board, one process, as systemd
runs it (logging at info, to a file). The key is ``VOLUME_UP`` on an idle
phone: after the first presses the volume is at its top and the key changes
nothing, but every request still goes through the whole servlet (peer check,
credentials, parsing) and the core. The load comes from another process
(tests/bench/world.py): 50 keep-alive connections in a closed loop for 10 s.
Baseline: the same load against a bare aiohttp handler answering 200, in a
process of its own, in the same run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import BareServer, PhoneProcess, World, figure, header, run, write_phone

CONNS = 50
SECONDS = 10.0
ROUNDS = 2
PATH = "/servlet?key=VOLUME_UP"


async def rate(world: World, port: int, seconds: float) -> dict:
    return await world.ask("load", port=port, path=PATH, conns=CONNS, seconds=seconds,
                           source=None)


async def main() -> None:
    header(f"Servlet throughput: {CONNS} clients, {SECONDS:g} s, {PATH} "
           f"(phone and baseline measured in turn, {ROUNDS} rounds each)")
    world = await World().start()
    bare = BareServer().start()
    phones, bases = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        board = write_phone(tmp, {}, "features.action_uri_limit_ip = 127.0.0.1\n"
                            "features.show_action_uri_option = 0\n")
        phone = PhoneProcess(tmp, board).start()
        try:
            await rate(world, bare.port, 2)                 # warm-up both
            await rate(world, phone.http_port, 2)
            for _ in range(ROUNDS):                         # in turn: the machine's noise hits both
                bases.append(await rate(world, bare.port, SECONDS))
                phones.append(await rate(world, phone.http_port, SECONDS))
        finally:
            phone.stop()
            bare.stop()
    await world.stop()
    for got in phones:
        assert set(got["statuses"]) == {"200"}, got["statuses"]
    got = sum(p["per_second"] for p in phones) / ROUNDS
    base = sum(b["per_second"] for b in bases) / ROUNDS
    figure("servlet key requests per second (trusted, VOLUME_UP while idle)", got, base,
           "req/s", target=">= 0.6 x baseline",
           note="rounds: " + ", ".join(f"{p['per_second']:.0f}/{b['per_second']:.0f}"
                                      for p, b in zip(phones, bases)))


if __name__ == "__main__":
    run(main)
