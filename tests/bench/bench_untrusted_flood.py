"""Untrusted flood: 20,000 requests from an address not on the list while a trusted client works.

    make bench      (or: .venv/bin/python tests/bench/bench_untrusted_flood.py)

The phone (simulated board, logging at info to a file) runs in this process and
trusts 127.0.0.1 only. From another process (tests/bench/world.py), 16
connections bound to 127.0.0.2 send ``/servlet?key=DNDOn;OFFHOOK`` 20,000
times, while a client on 127.0.0.1 presses ``VOLUME_UP`` every 2 ms and times
each answer. Figures: the trusted client's p99 during the flood against the
same client on a quiet phone; the flood's answers (every one must be 403) and
its side effects, which must be none: no input reached the phone's inbox
beyond the trusted client's, no Action URL (DND and Off Hook have URLs), no
prompt, nothing remembered about the source, DND still off.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from common import QUIET, World, figure, header, percentile, run, write_phone

COUNT = 20_000
CONNS = 16          # the per-source connection limit (net/http_guard.py): more are refused
UNTRUSTED = "127.0.0.2"


async def main() -> None:
    header(f"Untrusted flood: {COUNT} requests from {UNTRUSTED} over {CONNS} connections")
    from deskphone.app import PhoneApp
    from deskphone.config.board import load_board
    from support.phone import record_inputs

    world = await World().start()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        logging.basicConfig(filename=tmp / "phone.log", level=logging.INFO)
        board = write_phone(tmp, {"dnd_on": world.base + "/dnd_on",
                                  "off_hook": world.base + "/off_hook"},
                            QUIET + "features.action_uri_limit_ip = 127.0.0.1\n"
                            "features.show_action_uri_option = 0\n")
        app = PhoneApp(load_board(board), tmp / "config", tmp / "state", bind="127.0.0.1",
                       http_port=0, https_port=0, sip_notify_port=0)
        await app.start()
        posted = record_inputs(app)
        try:
            args = dict(port=app.http.port, untrusted=UNTRUSTED, count=COUNT, conns=CONNS,
                        trusted_path="/servlet?key=VOLUME_UP",
                        flood_path="/servlet?key=DNDOn;OFFHOOK", trusted_max=100_000)
            quiet = await world.ask("flood", **{**args, "trusted_max": 1000}, with_flood=False)
            flood = await world.ask("flood", **args)
            await asyncio.sleep(0.3)
            hits = (await world.ask("hits"))["hits"]
            trusted_requests = sum(quiet["trusted_statuses"].values()) + \
                sum(flood["trusted_statuses"].values())
            side_effects = {
                "inputs beyond the trusted keys": len(posted) - trusted_requests,
                "Action URLs": len(hits),
                "prompts": len(app.phone.prompts),
                "remembered": sum(k.startswith("deskphone.trust.") for k in app.store.snapshot()),
                "DND on": int(bool(app.settings["features.dnd.enable"])),
            }
            log_lines = (tmp / "phone.log").read_text().count("not a trusted source")
        finally:
            await app.stop()
    await world.stop()
    statuses = flood["flood_statuses"]
    figure("trusted key p99 during the untrusted flood", percentile(flood["trusted_latency_ms"],
                                                                    0.99),
           percentile(quiet["trusted_latency_ms"], 0.99), "ms",
           note=f"p50 {percentile(flood['trusted_latency_ms'], 0.5):.2f} ms over "
                f"{len(flood['trusted_latency_ms'])} presses; baseline = no flood")
    figure("untrusted requests answered 403", statuses.get("403", 0), COUNT, "requests",
           note=f"all answers {statuses}; flood took {flood['seconds']:.1f} s "
                f"({COUNT / flood['seconds']:.0f} req/s)")
    figure("untrusted side effects", sum(side_effects.values()), None, "",
           note=", ".join(f"{k}: {v}" for k, v in side_effects.items())
           + f"; log lines about the refusals: {log_lines}")


if __name__ == "__main__":
    run(main)
