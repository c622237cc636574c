"""Auto provisioning: fetch the files a Yealink phone asks for and install them as one set.

When is the core's (``core/lifecycle.py``: power-on, AutoP, repeat, weekly,
check-sync); it sends StartAutoProvision and gets AutoProvisionDone back.

Where from: ``static.auto_provision.server.url`` (http, https, tftp, ftp);
without one, the DHCP lease's options 66 / 43 / 160 and then SIP PnP
(``net/discovery.py``). Credentials: ``static.auto_provision.server.username``
/ ``.password`` (Yealink's names), else ``.user_name`` / ``.password`` (this
phone's first spelling), else ``user:pass@`` in the URL. The phone presents
itself as ``Yealink SIP-<model> <firmware> <mac with colons>``
(``deskphone.provisioning.model`` / ``.firmware``), which is how FusionPBX and
Wazo provd tell model and MAC apart.

Which files, in order: ``<mac>.boot`` or else ``y000000000000.boot``, and when
one is there, the files it names with ``include:config "..."`` in its order;
without a boot file ``y000000000000.cfg``, the model's common file
(``y000000000066.cfg`` for a T46S) and ``<mac>.cfg``. A file the server does
not have is skipped; later files win.

What is refused (nothing changes, the reason is logged): transport errors
(unreachable, timeout, HTTP errors, a body shorter than its Content-Length or
above ``MAX_FILE``) and format errors (not UTF-8, no ``#!version:1.0.0.1``
header). Keys the phone does not know, lines that are no ``key = value`` and
invalid values of keys it uses are reported and ignored, as a Yealink phone
does with a template full of other models' keys; the rest of the file is
applied. The check runs on a thread: a big file of mistyped keys does not
stall the event loop.

All or nothing on disk: the set is written into a fresh directory of the state
directory and swapped in with one atomic rename of the ``provisioned`` link,
so a power cut or a full disk leaves the old set or the new one, never half of
one; a failed write removes what it wrote and says which error it was.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import yarl

from ..config.layers import ORDER_FILE, PROVISIONED
from ..config.schema import BLANKS
from ..config.yealink_cfg import (HEADER, INCLUDE_DIRECTIVE, LoadedConfig, apply_parsed,
                                  atomic_write_text, fsync_directory, parse_cfg)
from ..core import inputs as ins
from ..host import PhoneHost
from . import discovery
from .provisioning_fetch import (FETCH_TIMEOUT, MAX_FILE, Fetcher, ProvisioningError, Target,
                                 basic_auth, resolve, target_for)

__all__ = ["Provisioner", "ProvisioningError", "install_set", "check_files", "user_agent",
           "common_file", "server_and_auth", "PROVISIONED", "FETCH_TIMEOUT", "MAX_FILE"]

log = logging.getLogger("deskphone.provisioning")

COMMON = "y000000000000.cfg"
BOOT = "y000000000000.boot"
MAX_INCLUDES = 16
MAX_SET = 4 * 1024 * 1024       # bytes of one run's files together (each is at most MAX_FILE)
MAX_LOGGED = 20                 # problems logged one by one; the rest as a count
_SET_PREFIX = ".provisioned-"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

# The model's common file, as Yealink firmware names it and the provisioning servers
# serve it (wazo-provd-plugins yealink v86 common.py/entry.py COMMON_FILES; FusionPBX's
# resources/templates/provision/yealink/<model>/y0000000000XX.cfg).
COMMON_FILE_NUMBERS = {
    "T19P_E2": 53, "T21P_E2": 52, "T27G": 69, "T29G": 46, "T40P": 54, "T40G": 76,
    "T41P": 36, "T42G": 29, "T46G": 28, "T48G": 35,
    "T41S": 68, "T42S": 67, "T46S": 66, "T48S": 65, "T52S": 74, "T54S": 70,
    "T41U": 108, "T42U": 108, "T43U": 108, "T46U": 108, "T48U": 108,
    "T53": 96, "T53W": 96, "T54W": 96, "T57W": 96, "T58": 58, "CP920": 78, "CP960": 73,
}


def common_file(model: str) -> str | None:
    """``y0000000000XX.cfg`` of ``model`` (T46S -> y000000000066.cfg), None if unknown."""
    number = COMMON_FILE_NUMBERS.get(model.upper())
    return None if number is None else f"y{number:012d}.cfg"


def user_agent(model: str, firmware: str, mac: str) -> str:
    """``Yealink SIP-T46S 66.86.0.15 00:15:65:12:34:56``: how a Yealink phone names itself."""
    colons = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
    return f"Yealink SIP-{model} {firmware} {colons}"


def server_and_auth(url: str, user: str, password: str) -> tuple[yarl.URL, str | None]:
    """The base URL without credentials and a Basic header for them (kept for callers)."""
    t = target_for(url, user, password)
    return t.base, basic_auth(t.user, t.password) if t.user else None


# ---------------------------------------------------------------- checking


@dataclass
class Report:
    """What the check of a fetched set found."""
    refused: list[str] = field(default_factory=list)     # format errors: nothing is applied
    problems: list[str] = field(default_factory=list)    # reported, that line ignored
    ignored: list[str] = field(default_factory=list)     # keys of other models / features


def check_files(files: dict[str, bytes]) -> tuple[dict[str, str], Report]:
    """Decode and check ``files`` (blocking: run it on a thread). Texts and the report."""
    report = Report()
    texts: dict[str, str] = {}
    check = LoadedConfig(Path("."))
    for name, data in files.items():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            report.refused.append(f"{name}:{line}: not UTF-8 text")
            continue
        first = text.removeprefix("\ufeff").split("\n", 1)[0].rstrip(BLANKS)
        if first != HEADER:
            report.refused.append(f"{name}: first line must be {HEADER!r}: not a Yealink "
                                  "config file")
            continue
        texts[name] = text
        before = len(check.ignored)
        apply_parsed(check, parse_cfg(text, name))
        report.ignored += [f"{f}:{n}: {k}" for f, n, k in check.ignored[before:]
                           if k != INCLUDE_DIRECTIVE]
    report.problems = [str(e) for e in check.errors]
    return texts, report


def includes(text: str, name: str) -> list[str]:
    """The ``include:config`` targets of a boot file, in order."""
    return [e.value for e in parse_cfg(text, name).entries
            if e.key == INCLUDE_DIRECTIVE and e.value]


def local_name(target: str, taken: set[str]) -> str:
    """The file name a fetched file is kept under in the set (unique, no path)."""
    name = yarl.URL(target).name or "file.cfg"
    if not _SAFE_NAME.fullmatch(name):
        name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:90] or "file.cfg"
        name = "f" + name if not name[0].isalnum() else name
    base, n = name, 2
    while name in taken:
        name, n = f"{n}-{base}", n + 1
    return name


# ---------------------------------------------------------------- installing


def install_set(state_dir: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (in order) as the new set and swap it in atomically; its directory.

    On an error (a full disk) what was written is removed, the old set stays in force,
    and ProvisioningError says which error it was.
    """
    target = state_dir / f"{_SET_PREFIX}{time.time_ns()}"
    temp_link = state_dir / f".{PROVISIONED}.{os.getpid()}.tmp"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        target.mkdir()
        for name, text in files.items():
            atomic_write_text(target / name, text)
        atomic_write_text(target / ORDER_FILE, "".join(f"{n}\n" for n in files))
        link = state_dir / PROVISIONED
        if link.is_dir() and not link.is_symlink():
            # The first layout was a plain directory: move it aside once, then use the link.
            os.replace(link, state_dir / f"{_SET_PREFIX}legacy-{time.time_ns()}")
        if temp_link.is_symlink():
            temp_link.unlink()
        temp_link.symlink_to(target.name)           # relative: the state directory may move
        os.replace(temp_link, link)
        fsync_directory(state_dir)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        if temp_link.is_symlink():
            temp_link.unlink()
        code = errno.errorcode.get(exc.errno or 0, "OSError")
        raise ProvisioningError(f"cannot store the files in {state_dir}: {exc.strerror or exc} "
                                f"({code}); the previous set stays in force") from None
    for old in state_dir.glob(f"{_SET_PREFIX}*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


# ---------------------------------------------------------------- the run

Discover = Callable[[], Awaitable[str | None]]


def _first(s, *keys: str) -> str:
    for key in keys:
        if value := str(s.get(key, "") or ""):
            return value
    return ""


class Provisioner:
    """One provisioning run at a time, from the configured or a discovered server."""

    def __init__(self, host: PhoneHost, discover: Discover | None = None) -> None:
        self.host = host
        # Where no server is configured: net/discovery.py's DHCP lease and PnP look-up.
        self.discover: Discover = discover or (
            lambda: discovery.discover(host.settings, host.device.mac, local_ip=host.ip))
        self._lock = asyncio.Lock()         # one run at a time (AutoP pressed twice)
        self.last_result: ins.AutoProvisionDone | None = None
        self.last_report = Report()

    async def run(self) -> ins.AutoProvisionDone:
        async with self._lock:
            try:
                result = await self._run()
            except asyncio.CancelledError:
                raise
            except ProvisioningError as exc:
                result = ins.AutoProvisionDone(False, str(exc))
            except Exception as exc:        # a bug here must not take the phone down
                log.exception("auto provisioning failed")
                result = ins.AutoProvisionDone(False, exc.__class__.__name__)
            if not result.ok:
                log.warning("auto provisioning: %s; nothing changed", result.reason)
            self.last_result = result
            return result

    def target(self, url: str) -> Target:
        s = self.host.settings
        user = _first(s, "static.auto_provision.server.username",
                      "static.auto_provision.user_name")
        password = (_first(s, "static.auto_provision.server.password") if
                    s.get("static.auto_provision.server.username") else
                    _first(s, "static.auto_provision.password"))
        agent = user_agent(str(s["deskphone.provisioning.model"]),
                           str(s["deskphone.provisioning.firmware"]), self.host.device.mac)
        target = target_for(url, user, password, agent, bool(s["security.trust_certificates"]))
        if not s.get("static.auto_provision.server.username"):
            target = dataclasses.replace(target, keys="static.auto_provision.user_name and "
                                                      "password")
        return target

    async def _server_url(self) -> str:
        url = str(self.host.settings["static.auto_provision.server.url"])
        if url:
            return url
        found = await self.discover()
        if not found:
            raise ProvisioningError("no provisioning server configured "
                                    "(static.auto_provision.server.url) and none discovered "
                                    "(DHCP options 66/43/160, SIP PnP)")
        log.info("auto provisioning: server %s discovered", yarl.URL(found).with_user(None))
        return found

    async def _run(self) -> ins.AutoProvisionDone:
        target = self.target(await self._server_url())
        log.info("auto provisioning from %s", target.base)
        async with Fetcher(target) as fetcher:
            fetched = await self._fetch_all(fetcher)
        if not fetched:
            raise ProvisioningError(f"{target.base} has none of the files this phone asks for "
                                    f"({BOOT}, {COMMON}, {self.host.device.mac}.cfg)")
        texts, report = await asyncio.to_thread(check_files, fetched)
        self.last_report = report
        if report.refused:
            raise ProvisioningError("bad file from the server: " + _some(report.refused))
        for problem in report.problems[:MAX_LOGGED]:
            log.warning("auto provisioning: %s (ignored)", problem)
        if len(report.problems) > MAX_LOGGED:
            log.warning("auto provisioning: %d more value(s) ignored (check-config lists them)",
                        len(report.problems) - MAX_LOGGED)
        if report.ignored:
            log.info("auto provisioning: %d key(s) this phone does not use ignored (first: %s)",
                     len(report.ignored), report.ignored[0])
        await asyncio.to_thread(install_set, self.host.state_dir, texts)
        await self.host.writer.reload()
        log.info("auto provisioning applied %s", ", ".join(texts))
        note = f"{len(report.problems)} value(s) ignored" if report.problems else ""
        return ins.AutoProvisionDone(True, note)

    async def _fetch_all(self, fetcher: Fetcher) -> dict[str, bytes]:
        mac = self.host.device.mac
        for boot in (f"{mac}.boot", BOOT):
            data = await fetcher.get(boot)
            if data is not None:
                return await self._fetch_boot(fetcher, boot, data)
        names = [COMMON]
        model_file = common_file(str(self.host.settings["deskphone.provisioning.model"]))
        if model_file is not None:
            names.append(model_file)
        names.append(f"{mac}.cfg")
        files: dict[str, bytes] = {}
        for name in names:
            data = await fetcher.get(name)
            if data is None:
                log.info("auto provisioning: %s not on the server", name)
            else:
                files[name] = data
        return files

    async def _fetch_boot(self, fetcher: Fetcher, boot: str, data: bytes) -> dict[str, bytes]:
        files = {boot: data}
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return files                    # refused by the check, with the reason
        wanted = includes(text, boot)
        if len(wanted) > MAX_INCLUDES:
            raise ProvisioningError(f"{boot} includes {len(wanted)} files (at most "
                                    f"{MAX_INCLUDES})")
        base = fetcher.target.base
        for item in wanted:
            url = resolve(base, item)
            if url.origin() != base.origin():
                # The credentials are for this server; another one is not asked.
                raise ProvisioningError(f"{boot} includes {url.with_user(None)}, on another "
                                        "server than the provisioning server")
            got = await fetcher.get(item)
            if got is None:
                log.warning("auto provisioning: %s (included by %s) not on the server",
                            item, boot)
                continue
            files[local_name(item, set(files))] = got
            _bounded(files)
        return files


def _bounded(files: dict[str, bytes]) -> None:
    total = sum(map(len, files.values()))
    if total > MAX_SET:
        raise ProvisioningError(f"the files of one run come to {total // 1024} KiB, more than "
                                f"{MAX_SET // 1024} KiB")


def _some(items: list[str]) -> str:
    more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
    return "; ".join(items[:3]) + more
