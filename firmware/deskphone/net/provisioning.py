"""Auto provisioning: fetch ``y000000000000.cfg`` and ``<mac>.cfg`` from the provisioning server.

When: at power-on with ``static.auto_provision.power_on = 1``, on the AutoP
key, and on the console's ``autop`` (the core asks with StartAutoProvision;
the answer goes back as AutoProvisionDone, which fires Autop Finish on success).

From ``static.auto_provision.server.url`` (http or https; certificates are
checked unless ``security.trust_certificates = 0``), with basic auth from
``static.auto_provision.user_name`` / ``.password`` or from ``user:pass@`` in
the URL. A file the server does not have (404) is skipped; any other failure
(unreachable server, no answer within ``FETCH_TIMEOUT``, HTTP error, a file
that is not a valid Yealink config) changes nothing and is logged with the
reason. Credentials never appear in a log line or a reason.

All or nothing: every fetched file is validated first (header, syntax, and
every value against the schema, as the config directory is), and the set is
applied only when all are good. The files are kept in the state directory,
not the config directory (/etc may be read-only for the service, and the
files an installer put there stay as they were): ``state_dir/provisioned``
is a symlink to a directory holding the latest set, and a new set is written
into a fresh directory and swapped in with one atomic rename of the link,
so a power cut leaves the old set or the new one. A file the server no longer
has goes away with the old set. Settings read the config directory first, then
the provisioned files, then the runtime state.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import time
from pathlib import Path

import aiohttp
import yarl

from ..config.layers import PROVISIONED
from ..config.yealink_cfg import (LoadedConfig, apply_parsed, atomic_write_text, fsync_directory,
                                  parse_cfg)
from ..core import inputs as ins
from ..errors import DeskphoneError
from ..host import PhoneHost

log = logging.getLogger("deskphone.provisioning")

COMMON = "y000000000000.cfg"
FETCH_TIMEOUT = 20.0
MAX_FILE = 1024 * 1024          # bytes: a Yealink config is a few dozen KiB at most
_SET_PREFIX = ".provisioned-"


class ProvisioningError(DeskphoneError, RuntimeError):
    """Why provisioning changed nothing; the message is one line without credentials."""


def basic_auth(user: str, password: str) -> str:
    """The value of an ``Authorization`` header for HTTP basic auth (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")


def server_and_auth(url: str, user: str, password: str) -> tuple[yarl.URL, str | None]:
    """The base URL without credentials (ending in /) and the Authorization header, if any."""
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError) as exc:
        raise ProvisioningError(f"static.auto_provision.server.url is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ProvisioningError("static.auto_provision.server.url must be http:// or https:// "
                                "with a host")
    auth = None
    if user:
        auth = basic_auth(user, password)
    elif parsed.user:
        auth = basic_auth(parsed.user, parsed.password or "")
    base = parsed.with_user(None).with_query(None).with_fragment(None)
    if not base.path.endswith("/"):
        base = base.with_path(base.path + "/")
    return base, auth


def validate(files: dict[str, str]) -> list[str]:
    """Problems of the fetched files (``file:line: key: message``), empty when all are good."""
    check = LoadedConfig(Path("."))
    for name, text in files.items():
        apply_parsed(check, parse_cfg(text, name))
    return [str(e) for e in check.errors]


def install_set(state_dir: Path, files: dict[str, str]) -> Path:
    """Write ``files`` as the new provisioned set and swap it in atomically; its directory."""
    state_dir.mkdir(parents=True, exist_ok=True)
    target = state_dir / f"{_SET_PREFIX}{time.time_ns()}"
    target.mkdir()
    for name, text in files.items():
        atomic_write_text(target / name, text)
    link = state_dir / PROVISIONED
    if link.is_dir() and not link.is_symlink():
        # The first layout was a plain directory: move it aside once, then use the link.
        os.replace(link, state_dir / f"{_SET_PREFIX}legacy-{time.time_ns()}")
    temp_link = state_dir / f".{PROVISIONED}.{os.getpid()}.tmp"
    if temp_link.is_symlink():
        temp_link.unlink()
    temp_link.symlink_to(target.name)           # relative: the state directory may move
    os.replace(temp_link, link)
    fsync_directory(state_dir)
    for old in state_dir.glob(f"{_SET_PREFIX}*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


class Provisioner:
    def __init__(self, host: PhoneHost) -> None:
        self.host = host
        self._lock = asyncio.Lock()             # one run at a time (AutoP pressed twice)
        self.last_result: ins.AutoProvisionDone | None = None

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

    async def _run(self) -> ins.AutoProvisionDone:
        s = self.host.settings
        url = str(s["static.auto_provision.server.url"])
        if not url:
            raise ProvisioningError("no provisioning server configured "
                                    "(static.auto_provision.server.url)")
        base, auth = server_and_auth(url, str(s["static.auto_provision.user_name"]),
                                     str(s["static.auto_provision.password"]))
        names = (COMMON, f"{self.host.device.mac}.cfg")
        log.info("auto provisioning from %s", base)
        files = await self._fetch(base, auth, names,
                                  verify=bool(s["security.trust_certificates"]))
        if not files:
            raise ProvisioningError(f"{base} has neither {' nor '.join(names)}")
        problems = validate(files)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ProvisioningError("bad file from the server: " + "; ".join(problems[:3]) + more)
        await asyncio.to_thread(install_set, self.host.state_dir, files)
        await self.host.writer.reload()
        log.info("auto provisioning applied %s", ", ".join(files))
        return ins.AutoProvisionDone(True)

    async def _fetch(self, base: yarl.URL, auth: str | None,
                     names: tuple[str, ...], verify: bool) -> dict[str, str]:
        files: dict[str, str] = {}
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        headers = {"Authorization": auth} if auth else {}
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            for name in names:
                url = base.join(yarl.URL(name))
                try:
                    # Redirects are not followed: the credentials must not go to another host.
                    async with session.get(url, ssl=None if verify else False,
                                           allow_redirects=False) as resp:
                        if resp.status == 404:
                            log.info("auto provisioning: %s not on the server", name)
                            continue
                        if resp.status in (401, 403):
                            raise ProvisioningError(
                                f"{url}: HTTP {resp.status} (check static.auto_provision."
                                "user_name and password)")
                        if 300 <= resp.status < 400:
                            raise ProvisioningError(
                                f"{url}: HTTP {resp.status} redirect (not followed: give the "
                                "final URL in static.auto_provision.server.url)")
                        if resp.status != 200:
                            raise ProvisioningError(f"{url}: HTTP {resp.status}")
                        body = await resp.content.read(MAX_FILE + 1)
                except TimeoutError:
                    raise ProvisioningError(f"{url}: no answer within {FETCH_TIMEOUT:.0f} s") \
                        from None
                except aiohttp.ClientConnectorError as exc:
                    raise ProvisioningError(f"cannot reach {base.host}:{base.port}: "
                                            f"{exc.os_error.strerror or exc.os_error}") from None
                except aiohttp.ClientError as exc:
                    raise ProvisioningError(f"{url}: {exc.__class__.__name__}") from None
                if len(body) > MAX_FILE:
                    raise ProvisioningError(f"{name} is larger than {MAX_FILE // 1024} KiB")
                try:
                    files[name] = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProvisioningError(f"{name} is not UTF-8 text") from None
        return files
