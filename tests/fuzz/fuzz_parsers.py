"""Long, coverage-guided fuzzing of what the network feeds the phone: ``make fuzz``.

    .venv/bin/python tests/fuzz/fuzz_parsers.py [--seconds 120] [TARGET ...]

Targets (each in a process of its own, for ``--seconds`` each):

- ``servlet``: a raw query string or form body as the Action URI servlet gets
  it -> ``parse_query`` (both spellings of ``+``) -> ``net.remote.request_inputs``
  -> core inputs, or an ``ActionUriError`` (a 400). Anything else is a bug.
- ``notify``: a UDP datagram as the SIP NOTIFY listener gets it ->
  ``net.sip_message.parse_request`` -> None (noise), a request, or a
  ``SipSyntaxError``; every request gets a response built and re-parsed as SIP,
  and its body goes through the same ``key=VALUE`` path as the listener's.
- ``netstring``: bytes from baresip's ctrl_tcp in random pieces -> the decoder
  (never raises, never keeps more than a frame).
- ``cfg``: any text as a Yealink ``.cfg`` file -> parse and apply: values or
  ``ConfigError``s with file and line, never an exception.

With atheris (``pip install atheris``; wheels exist for x86_64 Linux, Python
3.8-3.12), the deskphone modules are instrumented and libFuzzer steers by
coverage. Without it, Hypothesis runs the same checks on random input for the
same time. A crash prints the input and the traceback, and the run exits 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
TARGETS = ("servlet", "notify", "netstring", "cfg")


def load(instrument: bool):
    """The modules under test (instrumented for coverage when atheris runs)."""
    if instrument:
        import atheris
        with atheris.instrument_imports(include=["deskphone"]):
            return _import()
    return _import()


def _import():
    from deskphone.config import yealink_cfg
    from deskphone.config.settings import Settings
    from deskphone.core.uri import ActionUriError
    from deskphone.engine import ctrl_tcp
    from deskphone.errors import ConfigError
    from deskphone.net import remote, servlet, sip_message
    return SimpleNamespace(yealink_cfg=yealink_cfg, Settings=Settings, ActionUriError=ActionUriError,
                           ctrl_tcp=ctrl_tcp, ConfigError=ConfigError, remote=remote,
                           servlet=servlet, sip_message=sip_message)


def make_checks(m):
    settings = m.Settings.defaults().with_overrides({
        "account.1.enable": True, "account.1.user_name": "100",
        "account.1.sip_server.1.address": "pbx.test",
        "account.2.enable": True, "account.2.user_name": "1006",
        "account.2.sip_server.1.address": "10.3.5.199"})
    host = SimpleNamespace(device=SimpleNamespace(line_keys=2), settings=settings)

    def keys(params) -> None:
        try:
            inputs = m.remote.request_inputs(host, params)
        except m.ActionUriError as exc:
            assert str(exc) and "\n" not in str(exc), repr(str(exc))
            return
        assert inputs and len(inputs) <= 64

    def servlet(data: bytes) -> None:
        raw = data.decode("utf-8", "surrogateescape")
        for plus in (False, True):
            params = m.servlet.parse_query(raw, plus_is_space=plus)
            assert all(name == name.lower() for name, _ in params)
            keys(params)

    def notify(data: bytes) -> None:
        try:
            request = m.sip_message.parse_request(data)
        except m.sip_message.SipSyntaxError as exc:
            request, status = exc.partial, 400
        else:
            status = 200
        if request is None:
            return
        answer = m.sip_message.response(request, status, ("127.0.0.1", 5060),
                                        tag=m.sip_message.new_tag())
        head = answer.split(b"\r\n\r\n", 1)[0].decode("utf-8", "surrogateescape")
        assert head.startswith(f"SIP/2.0 {status} "), head[:80]
        assert "\r\n\r\n" not in head and b"\r\n\r\n" in answer
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        keys(m.servlet.parse_query("&".join(lines)))

    def netstring(data: bytes) -> None:
        decoder = m.ctrl_tcp.NetstringDecoder()
        step = (data[0] % 17 + 1) if data else 1
        for i in range(0, len(data), step):
            for frame in decoder.feed(data[i:i + step]):
                assert len(frame) <= m.ctrl_tcp.MAX_FRAME
        assert len(decoder._buf) <= m.ctrl_tcp.MAX_LENGTH_DIGITS + m.ctrl_tcp.MAX_FRAME + 2

    def cfg(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        parsed = m.yealink_cfg.parse_cfg(text, "f.cfg")
        loaded = m.yealink_cfg.LoadedConfig(Path("."))
        m.yealink_cfg.apply_parsed(loaded, parsed)
        for err in list(parsed.errors) + list(loaded.errors):
            assert isinstance(err, m.ConfigError) and err.line >= 1

    return {"servlet": servlet, "notify": notify, "netstring": netstring, "cfg": cfg}


SEEDS = {
    "servlet": [b"key=OK", b"key=F1;F3;DOWN;OK", b"Key=number=1234&outgoing_uri=100@pbx.test",
                b"number=+4930123", b"key=NoAnswFwdOn=5=3", b"key=ASW:abc@pbx", b"key=%3B%23"],
    "notify": [],
    "netstring": [b'27:{"event":true,"type":"x"},', b"3:abc,0:,", b"99999999:"],
    "cfg": [b"#!version:1.0.0.1\nfeatures.dnd.enable = 1\naccount.1.label = Desk\n"],
}


def notify_seed() -> bytes:
    from support.sip_udp import notify
    return notify(5070, "key=DNDOn", call_id="seed", branch="z9hG4bKseed", from_tag="t")


def run_atheris(target: str, seconds: int, corpus: Path) -> int:
    import atheris
    m = load(instrument=True)
    check = make_checks(m)[target]
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = SEEDS[target] or [notify_seed()]
    for n, seed in enumerate(seeds):
        (corpus / f"seed-{n}").write_bytes(seed)
    crashes = corpus.parent.parent / "fuzz-crashes"         # run/fuzz-crashes/<target>-...
    crashes.mkdir(parents=True, exist_ok=True)
    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", "-print_final_stats=1",
                   "-rss_limit_mb=1024", "-max_len=4096",
                   f"-artifact_prefix={crashes}/{target}-", str(corpus)], check)
    atheris.Fuzz()
    return 0


def run_hypothesis(target: str, seconds: int) -> int:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    m = load(instrument=False)
    check = make_checks(m)[target]
    seeds = SEEDS[target] or [notify_seed()]

    def mutate(data: bytes, draw_ops) -> bytes:
        b = bytearray(data)
        for pos, byte, op in draw_ops:
            i = pos % (len(b) + 1)
            if op == 0 and b:
                b[min(i, len(b) - 1)] = byte
            elif op == 1:
                b[i:i] = bytes([byte])
            else:
                del b[i:i + byte % 16]
        return bytes(b)

    data = st.one_of(st.binary(max_size=2048), st.builds(
        mutate, st.sampled_from(seeds),
        st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255), st.integers(0, 2)),
                 max_size=12)))
    examples = [0]
    deadline = time.monotonic() + seconds

    @settings(max_examples=2000, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data)
    def fuzz(sample: bytes) -> None:           # run in rounds of 2000 until the time is up
        examples[0] += 1
        check(sample)

    started = time.monotonic()
    try:
        while time.monotonic() < deadline:
            fuzz()
    finally:
        print(f"{target}: hypothesis, {examples[0]} inputs in {time.monotonic() - started:.0f} s")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", 120)))
    p.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    p.add_argument("--one", help=argparse.SUPPRESS)     # a child: run this target here
    p.add_argument("targets", nargs="*", default=list(TARGETS))
    args = p.parse_args()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    if args.one:
        if engine == "atheris":
            return run_atheris(args.one, args.seconds, Path(os.environ.get(
                "FUZZ_CORPUS", HERE.parent.parent / "run" / "fuzz-corpus")) / args.one)
        return run_hypothesis(args.one, args.seconds)
    failed = []
    for target in args.targets:
        print(f"== {target}: {engine}, {args.seconds} s", flush=True)
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, __file__, "--one", target, "--engine", engine,
                             "--seconds", str(args.seconds)]).returncode
        print(f"== {target}: exit {rc} after {time.monotonic() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(target)
    print("fuzz: " + (f"FAILED {', '.join(failed)}" if failed else "no crash in any target"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
