"""A SIP lab on 127.0.0.1 for integration tests: kamailio, baresip far ends, a baresip phone.

Real processes only. kamailio (registrar + proxy, every password ``secret``)
and the far-end baresips are started once per test module, each in a session
of its own so teardown kills the whole group; every test gets a fresh control
connection to each far end and leaves them with no call. Ports are picked
free at start; config directories are temporary. Nothing depends on a process
left from an earlier run.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from deskphone.app import PhoneApp
from deskphone.config.board import load_board
from deskphone.engine.baresip_config import find_module_dir
from deskphone.engine.ctrl_tcp import CtrlTcpClient

from .phone import write_config

HERE = Path(__file__).resolve()
KAMAILIO_CFG = HERE.parent / "kamailio-loopback.cfg"     # registrar + proxy; passwords "secret"
MAC_FILE = "001565abcdef.cfg"           # the test board's MAC: this file overrides the common one


def lab_missing() -> str | None:
    """Why this machine cannot run the SIP lab, or None."""
    for tool in ("kamailio", "baresip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make test installs baresip-core, kamailio)"
    if kamailio_module_dir() is None:
        return "kamailio's module directory was not found"
    if find_module_dir() is None:
        return "baresip's module directory (with ctrl_tcp.so) was not found"
    return None


def kamailio_module_dir() -> str | None:
    """Found at run time: the path differs by architecture (x86_64-linux-gnu, aarch64-...)."""
    try:
        out = subprocess.run(["dpkg", "-L", "kamailio"], capture_output=True, text=True,
                             timeout=10).stdout
        for line in out.splitlines():
            if line.endswith("/modules/tm.so"):
                return line.rsplit("/", 1)[0]
    except (OSError, subprocess.SubprocessError):
        pass
    hits = sorted(glob.glob("/usr/lib/*/kamailio/modules/tm.so") + glob.glob(
        "/usr/lib/kamailio/modules/tm.so") + glob.glob("/usr/local/lib*/kamailio/modules/tm.so"))
    return hits[0].rsplit("/", 1)[0] if hits else None


# ------------------------------------------------------------------ ports

def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port p with UDP and TCP p and p+1 free (baresip 1.0.0 also listens on TCP/TLS p, p+1)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p < 65000 and all(_free(q, k) for q in (p, p + 1)
                             for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            return p
    raise RuntimeError("no free port pair")


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_rtp_next = [20000 + (os.getpid() % 200) * 100]


def rtp_range(size: int = 40) -> tuple[int, int]:
    start = _rtp_next[0]
    _rtp_next[0] = start + size if start + 2 * size < 60000 else 20000
    return start, start + size - 1


# -------------------------------------------------------------- processes

def start_group(argv: list[str], log_file: Path, cwd: Path) -> subprocess.Popen:
    """A child in a session (process group) of its own, output to ``log_file``."""
    log = open(log_file, "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    finally:
        log.close()


def stop_group(proc: subprocess.Popen, timeout: float = 3.0) -> None:
    """SIGTERM the group, SIGKILL it after ``timeout``, reap the leader."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        break
    try:
        os.killpg(proc.pid, signal.SIGKILL)      # whatever of the group is left
    except ProcessLookupError:
        pass


def processes_mentioning(text: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line contains ``text`` (a /proc scan)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            pids.append(int(entry))
    return pids


class Kamailio:
    def __init__(self, workdir: Path, cfg: Path = KAMAILIO_CFG) -> None:
        self.workdir = workdir
        self.cfg = cfg                  # the template (kamailio-presence.cfg: with BLF)
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Kamailio":
        self.workdir.mkdir(parents=True, exist_ok=True)
        modules = kamailio_module_dir()
        assert modules is not None
        # The udp socket must be free for both: kamailio only binds UDP here.
        self.port = free_port_pair()
        text = self.cfg.read_text()
        text = text.replace("@KAMAILIO_MODULES@", modules + "/")
        text = text.replace("@CTL_SOCKET@", str(self.workdir / "kamailio.ctl"))
        text = text.replace("@WORKDIR@", str(self.workdir))
        text = text.replace("127.0.0.1:5060", f"127.0.0.1:{self.port}")   # listen, own URIs
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(text)
        self.proc = start_group(["kamailio", "-f", str(cfg),
                                 "-P", str(self.workdir / "kamailio.pid"),
                                 "-w", str(self.workdir), "-E", "-DD"],
                                self.workdir / "kamailio.log", self.workdir)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 15.0) -> None:
        """Ready when it answers a SIP OPTIONS (any final response)."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.2)
            lport = s.getsockname()[1]
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError("kamailio exited: " + self.log_tail())
                msg = (f"OPTIONS sip:ping@127.0.0.1:{self.port} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{time.monotonic_ns()}\r\n"
                       f"From: <sip:lab@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"
                       f"Call-ID: ready-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\n"
                       f"Max-Forwards: 5\r\nContent-Length: 0\r\n\r\n")
                s.sendto(msg.encode(), ("127.0.0.1", self.port))
                try:
                    data = s.recv(4096)
                    if data.startswith(b"SIP/2.0"):
                        return
                except (TimeoutError, ConnectionRefusedError):
                    continue
        raise RuntimeError("kamailio did not answer OPTIONS: " + self.log_tail())

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.workdir / "kamailio.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)


FAR_END_CONFIG = """\
sip_listen      127.0.0.1:{sip_port}
net_interface   127.0.0.1
audio_player    alsa,null
audio_alert     alsa,null
audio_source    ausine,440
ausrc_srate     48000
ausrc_channels  2
rtp_ports       {rtp_lo}-{rtp_hi}
module_path     {modules}
module          g711.so
module          alsa.so
module          ausine.so
module_app      account.so
module_app      menu.so
module_app      ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
"""


@dataclass
class FarEnd:
    """A baresip user agent playing the other party. ``ctl`` is set per test."""
    name: str
    user: str
    workdir: Path
    registrar_port: int
    answermode: str = "manual"
    sip_port: int = 0
    ctrl_port: int = 0
    proc: subprocess.Popen | None = None
    ctl: "FarEndControl | None" = None

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.registrar_port}"

    def start(self) -> "FarEnd":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sip_port, self.ctrl_port = free_port_pair(), free_tcp_port()
        lo, hi = rtp_range()
        (self.workdir / "config").write_text(FAR_END_CONFIG.format(
            sip_port=self.sip_port, rtp_lo=lo, rtp_hi=hi, modules=find_module_dir(),
            ctrl_port=self.ctrl_port))
        (self.workdir / "accounts").write_text(
            f'"{self.name}" <sip:{self.user}@127.0.0.1:{self.registrar_port}>;auth_pass=secret;'
            f"regint=600;answermode={self.answermode}\n")
        self.proc = start_group(["baresip", "-f", str(self.workdir)],
                                self.workdir / "baresip.log", self.workdir)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)


class FarEndControl:
    """A test's connection to one far end: commands, and every event it reports."""

    def __init__(self, far: FarEnd) -> None:
        self.far = far
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()          # replaced after each event: waiters re-check
        self.client = CtrlTcpClient(self._on_event)

    def _on_event(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def connect(self, timeout: float = 10.0) -> "FarEndControl":
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.client.connect("127.0.0.1", self.far.ctrl_port, timeout=1.0)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        # Registered before the test uses it (kamailio routes calls to it by its AOR).
        while "OK" not in (await self.command("reginfo")).data:
            if time.monotonic() > deadline:
                raise TimeoutError(f"far end {self.far.name} did not register")
            await asyncio.sleep(0.05)
        return self

    async def command(self, name: str, params: str | None = None) -> Any:
        return await self.client.command(name, params, timeout=5.0)

    async def wait(self, kind: str, pred: Callable[[dict[str, Any]], bool] = lambda e: True,
                   timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        """The first event of type ``kind`` (at index >= ``after``) that ``pred`` accepts."""
        def find() -> dict[str, Any] | None:
            return next((e for e in self.events[after:] if e.get("type") == kind and pred(e)), None)
        try:
            async with asyncio.timeout(timeout):
                while (found := find()) is None:
                    await self._changed.wait()
        except TimeoutError:
            seen = [e.get("type") for e in self.events[after:]]
            raise AssertionError(f"{self.far.name} saw no {kind} within {timeout} s "
                                 f"(saw {seen})") from None
        return found

    def mark(self) -> int:
        return len(self.events)

    async def dial(self, uri: str) -> None:
        response = await self.command("dial", uri)
        assert response.ok, response.data

    async def on_call(self, call_id: str, command: str, params: str | None = None) -> Any:
        """Select the call (baresip 1.x acts on the current call), then run ``command``."""
        found, result = await self.client.batch([("callfind", call_id), (command, params)],
                                                timeout=5.0)
        assert "setting current call" in found.data, found.data
        return result

    async def calls(self) -> int:
        data = (await self.command("listcalls")).data
        for line in data.splitlines():
            if "Active calls (" in line:
                return int(line.split("(")[1].split(")")[0])
        return 0

    async def hang_up_all(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while await self.calls() and time.monotonic() < deadline:
            await self.command("hangup")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.client.close()


_USERS = itertools.count(1001)


@dataclass
class SipLab:
    root: Path
    kamailio: Kamailio
    far_ends: dict[str, FarEnd] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.kamailio.port

    def next_user(self) -> str:
        """A phone user name not used before in this session: no stale binding takes its calls."""
        return str(next(_USERS))

    def add(self, name: str, user: str, answermode: str = "manual") -> FarEnd:
        far = FarEnd(name, user, self.root / name, self.port, answermode).start()
        self.far_ends[name] = far
        return far

    def stop(self) -> None:
        for far in self.far_ends.values():
            far.stop()
        self.kamailio.stop()


def start_lab(root: Path, far_ends: tuple[tuple[str, str, str], ...],
              cfg: Path = KAMAILIO_CFG) -> SipLab:
    lab = SipLab(root, Kamailio(root / "kamailio", cfg).start())
    try:
        for name, user, mode in far_ends:
            lab.add(name, user, mode)
    except BaseException:
        lab.stop()
        raise
    return lab


# ------------------------------------------------------------------ the phone

BOARD = """\
[board]
name = "test board (baresip)"
kind = "sim"
mac = "00:15:65:AB:CD:EF"
line_keys = 2

[display]
driver = "sim"
"""


def phone_overrides(lab: SipLab, user: str, *, password: str = "secret", extra: str = "") -> str:
    lo, hi = rtp_range()
    return "\n".join([
        "#!version:1.0.0.1",
        "deskphone.engine = baresip",
        f"account.1.user_name = {user}",
        f"account.1.auth_name = {user}",
        f"account.1.password = {password}",
        "account.1.sip_server.1.address = 127.0.0.1",
        f"account.1.sip_server.1.port = {lab.port}",
        "account.1.sip_server.1.expires = 600",
        f"sip.listen_port = {free_port_pair()}",
        f"network.port.min_rtpport = {lo}",
        f"network.port.max_rtpport = {hi}",
        extra,
    ]) + "\n"


async def start_sip_phone(tmp: Path, receiver_base: str, lab: SipLab, user: str, *,
                          password: str = "secret", extra: str = "",
                          board_extra: str = "") -> PhoneApp:
    tmp.mkdir(parents=True, exist_ok=True)
    board_file = tmp / "board.toml"
    board_file.write_text(BOARD + board_extra)
    write_config(tmp / "config", receiver_base)
    (tmp / "config" / MAC_FILE).write_text(phone_overrides(lab, user, password=password,
                                                           extra=extra))
    app = PhoneApp(load_board(board_file), tmp / "config", tmp / "state",
                   bind="127.0.0.1", http_port=0, https_port=0, sip_notify_port=0)
    await app.start()
    return app


# ------------------------------------------------- the phone behind its SIP edge
# With deskphone.sip_edge.enable (the default) start_sip_phone's phone runs behind its
# edge: kamailio on sip.listen_port, baresip on a loopback port of its own behind it.
# These ask the lab's registrar what a PBX would: the contact the phone registered,
# and send NOTIFYs there as kamailio does (`kamcmd tm.t_uac_wait_block`).

async def kamcmd(lab: SipLab, *args: str, timeout: float = 10.0) -> str:
    proc = await asyncio.create_subprocess_exec(
        "kamcmd", "-s", f"unix:{lab.kamailio.workdir / 'kamailio.ctl'}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return out.decode()


async def registered_contacts(lab: SipLab, user: str) -> list[str]:
    """The Contact URIs the registrar holds for ``user`` (``kamcmd ul.lookup location``)."""
    import re
    out = await kamcmd(lab, "ul.lookup", "location", f"s:{user}")   # s: a string, not a number
    return re.findall(r"Address:\s*(\S+)", out)


async def notify_contact(lab: SipLab, contact: str, event: str, body: str = "",
                         ctype: str = "message/sipfrag") -> tuple[int, str]:
    """A NOTIFY from the registrar to ``contact``, as a PBX sends it; (status, kamcmd's text)."""
    import re
    headers = (f"From: <sip:pbx@127.0.0.1>;tag=pbx{time.monotonic_ns()}\r\n"
               f"To: <{contact}>\r\nEvent: {event}\r\n"
               + (f"Content-Type: {ctype}\r\n" if body else ""))
    # kamcmd passes an empty body as no body ("Content-Type missing" otherwise).
    out = await kamcmd(lab, "tm.t_uac_wait_block", "NOTIFY", contact, ".", ".", headers,
                       *((body,) if body else ("s:",)))
    m = re.search(r"code:\s*(\d{3})", out)
    assert m, out
    return int(m.group(1)), out


def start_tcp_registrar(workdir: Path) -> Kamailio:
    """The lab's registrar listening on TCP as well as UDP (same port), for TCP accounts."""
    k = Kamailio(workdir)
    k.start()
    # Started once on UDP to take a free port; written again with TCP on it and restarted.
    k.stop()
    text = (k.workdir / "kamailio.cfg").read_text().replace("disable_tcp=yes", "disable_tcp=no")
    text = text.replace(f"listen=udp:127.0.0.1:{k.port}",
                        f"listen=udp:127.0.0.1:{k.port}\nlisten=tcp:127.0.0.1:{k.port}")
    assert "disable_tcp=no" in text and f"listen=tcp:127.0.0.1:{k.port}" in text
    (k.workdir / "kamailio.cfg").write_text(text)
    k.proc = start_group(["kamailio", "-f", str(k.workdir / "kamailio.cfg"),
                          "-P", str(k.workdir / "kamailio.pid"), "-w", str(k.workdir), "-E",
                          "-DD"], k.workdir / "kamailio.log", k.workdir)
    k._wait_ready()
    return k
