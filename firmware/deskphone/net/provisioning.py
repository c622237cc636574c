"""Auto provisioning: fetch ``y000000000000.cfg`` and ``<mac>.cfg`` from the provisioning server.

Fetched files are validated first and applied only when every one is good (a
bad file changes nothing and says why). They are kept in the state directory
(``provisioned/``), not in the config directory: /etc may be read-only for the
service, and the files an installer put there stay as they were. Settings
read the config directory first, then the provisioned files, then the
runtime state.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from ..config.settings import Settings
from ..config.yealink_cfg import (LoadedConfig, apply_parsed, atomic_write_text, config_files,
                                  load_config_dir, parse_cfg)
from ..core import inputs as ins

if TYPE_CHECKING:
    from ..app import PhoneApp

log = logging.getLogger("deskphone.provisioning")

COMMON = "y000000000000.cfg"
FETCH_TIMEOUT = 20.0
PROVISIONED = "provisioned"


def load_layers(config_dir: Path, state_dir: Path, mac: str) -> LoadedConfig:
    """The config directory, then what provisioning fetched into the state directory."""
    loaded = load_config_dir(config_dir, mac)
    extra = state_dir / PROVISIONED
    if extra.is_dir():
        for file in config_files(extra, mac):
            parsed = parse_cfg(file.read_text(encoding="utf-8", errors="replace"), file.name)
            apply_parsed(loaded, parsed)
            loaded.files.append(f"{PROVISIONED}/{file.name}")
    return loaded


class Provisioner:
    def __init__(self, app: "PhoneApp") -> None:
        self.app = app

    async def run(self) -> ins.AutoProvisionDone:
        try:
            return await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:       # network trouble of any kind: report, change nothing
            log.warning("auto provisioning failed: %s", exc.__class__.__name__)
            return ins.AutoProvisionDone(False, exc.__class__.__name__)

    async def _run(self) -> ins.AutoProvisionDone:
        s = self.app.settings
        base = str(s["static.auto_provision.server.url"])
        if not base:
            return ins.AutoProvisionDone(False, "no provisioning server configured")
        if not base.endswith("/"):
            base += "/"
        user = str(s["static.auto_provision.user_name"])
        auth = aiohttp.BasicAuth(user, str(s["static.auto_provision.password"])) if user else None
        files: dict[str, str] = {}
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout, auth=auth) as session:
            for name in (COMMON, f"{self.app.mac}.cfg"):
                async with session.get(base + name) as resp:
                    if resp.status == 404:
                        continue
                    if resp.status != 200:
                        return self._fail(f"{name}: HTTP {resp.status}")
                    files[name] = await resp.text(encoding="utf-8", errors="replace")
        if not files:
            return self._fail("the server has neither file")
        for name, text in files.items():
            parsed = parse_cfg(text, name)
            if parsed.errors:
                return self._fail("; ".join(str(e) for e in parsed.errors[:3]))
        target = self.app.state_dir / PROVISIONED
        target.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._write, target, files)
        loaded = load_layers(self.app.config_dir, self.app.state_dir, self.app.mac)
        self.app.apply_settings(Settings.build(loaded, self.app.store.snapshot()))
        log.info("auto provisioning applied %s", ", ".join(files))
        return ins.AutoProvisionDone(True)

    @staticmethod
    def _write(target: Path, files: dict[str, str]) -> None:
        for name, text in files.items():
            atomic_write_text(target / name, text)

    @staticmethod
    def _fail(reason: str) -> ins.AutoProvisionDone:
        log.warning("auto provisioning: %s; nothing changed", reason)
        return ins.AutoProvisionDone(False, reason)
