"""The ``deskphone`` command: run, check-config, sim."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from . import __version__, logs
from .config.board import load_board
from .config.settings import describe
from .errors import ConfigError

log = logging.getLogger("deskphone")

ROOT = Path(__file__).resolve().parents[2]          # the source tree, for `deskphone sim`
SIM_BOARD = ROOT / "board-configs" / "sim.toml"
SIM_CONFIG = ROOT / "board-configs" / "sim"
SIM_RECEIVER_PORT = 8765                            # the port the example config's URLs name


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deskphone", description=__doc__)
    p.add_argument("--version", action="version", version=f"deskphone {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the phone")
    run.add_argument("--board", required=True, help="board TOML (board-configs/*.toml)")
    run.add_argument("--config-dir", required=True, help="directory of Yealink .cfg files")
    run.add_argument("--state-dir", required=True, help="where runtime changes are kept")
    run.add_argument("--bind", default=None,
                     help="address every listener uses (default: all interfaces; "
                          "the simulated board's default: 127.0.0.1)")
    run.add_argument("--https-port", type=int, default=None,
                     help="HTTPS port (overrides static.network.port.https)")
    run.add_argument("--http-port", type=int, default=None,
                     help="HTTP port (overrides static.network.port.http)")
    run.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error"])

    check = sub.add_parser("check-config", help="validate and print the effective settings")
    check.add_argument("--board", required=True)
    check.add_argument("--config-dir", required=True)
    check.add_argument("--state-dir", default=None, help="include the runtime state kept here")
    check.add_argument("--all", action="store_true",
                       help="also print settings left at their defaults")

    events = sub.add_parser("events", help="list the Action URL events")
    events.add_argument("--markdown", action="store_true", help="as the README's table")

    sim = sub.add_parser("sim",
                         help="run the phone on the simulated board, driven from this terminal")
    sim.add_argument("--state-dir", default="run/sim-state")
    sim.add_argument("--config-dir", default=str(SIM_CONFIG))
    sim.add_argument("--board", default=str(SIM_BOARD))
    sim.add_argument("--http-port", type=int, default=None)
    sim.add_argument("--https-port", type=int, default=None)
    sim.add_argument("--receiver-port", type=int, default=SIM_RECEIVER_PORT)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        return check_config(args)
    if args.command == "events":
        return list_events(args)
    try:
        return asyncio.run(_serve(args))
    except ConfigError as exc:
        print(f"deskphone: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def list_events(args: argparse.Namespace) -> int:
    from .core.events import EVENTS
    from .docs import events_markdown
    if args.markdown:
        print(events_markdown())
    else:
        for e in EVENTS:
            print(f"{e.cfg_key:34} {e.name}")
    return 0


def check_config(args: argparse.Namespace) -> int:
    from .config.layers import load_settings
    from .config.store import StateStore
    from .hw.netinfo import read_mac
    try:
        board = load_board(args.board)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    mac = board.mac or read_mac() or "000000000000"
    state_dir = Path(args.state_dir) if args.state_dir else Path("/nonexistent-deskphone-state")
    store = StateStore(state_dir) if args.state_dir else None
    loaded, settings = load_settings(Path(args.config_dir), state_dir, mac, store)
    print(f"# board {board.name} ({board.path}), MAC {mac}")
    print(f"# files read: {', '.join(loaded.files) or 'none'}")
    for line in describe(settings):
        if args.all or not line.endswith("# default"):
            print(line)
    for file, line_no, key in loaded.ignored:
        print(f"# ignored (not used by deskphone): {file}:{line_no}: {key}")
    for err in loaded.errors:
        print(err, file=sys.stderr)
    return 1 if loaded.errors else 0


async def _serve(args: argparse.Namespace) -> int:
    from .app import PhoneApp
    from .sd_notify import Notifier, WatchdogPinger
    simulated = args.command == "sim"
    board = load_board(args.board)
    level = args.log_level if not simulated and args.log_level else "info"
    logs.setup(level, journald=not simulated,
               pinned=not simulated and bool(getattr(args, "log_level", None)))
    app = PhoneApp(board, args.config_dir, args.state_dir,
                   bind=getattr(args, "bind", None), http_port=args.http_port,
                   https_port=args.https_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    receiver = terminal = None
    extra: list[asyncio.Task[object]] = []
    if simulated:
        from .sim.receiver import PrintingReceiver
        from .sim.terminal import Terminal, format_screen
        receiver = PrintingReceiver(args.receiver_port)
        await receiver.start()
        print(f"Action URL receiver on http://127.0.0.1:{args.receiver_port}/ "
              "(the example config sends every event there)")
    try:
        await app.start()
    except BaseException:
        if receiver:
            await receiver.stop()
        raise
    notifier = Notifier()
    pinger = WatchdogPinger(notifier)
    notifier.ready(app.status)           # systemd (Type=notify): the phone is up
    app.on_status(notifier.status)
    pinger.start()
    if simulated:
        controls = app.sim_controls
        assert controls is not None             # a simulated board has them
        terminal = Terminal(app, controls)
        display = controls.display
        display.listeners.append(lambda _frame: print(format_screen(display.screen)))
        print(f"Phone web server on http://{app.bind}:{app.http.port}/ ; type 'help' for commands")
        print(f"Web simulator (screen, keypad, hook, LEDs, calls in) on "
              f"http://{app.bind}:{app.http.port}/sim")
        extra.append(asyncio.create_task(terminal.run()))
        extra.append(asyncio.create_task(terminal.quit.wait()))
    extra.append(asyncio.create_task(app.wait()))
    extra.append(asyncio.create_task(stop.wait()))
    await asyncio.wait(extra, return_when=asyncio.FIRST_COMPLETED)
    for task in extra:
        task.cancel()
    await asyncio.gather(*extra, return_exceptions=True)
    notifier.stopping()
    await pinger.stop()
    await app.stop()
    notifier.close()
    if receiver:
        await receiver.stop()
    if app.restart_requested is not None:
        log.info("restarting on request (%s)", "reset" if app.restart_requested else "reboot")
        # Exit non-zero so Restart=on-failure brings the service back.
        return 75
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
