"""The core is pure: importing all of it loads nothing of the project outside core/
(the exceptions module aside), no asyncio, no network or hardware library."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import deskphone.core

FORBIDDEN = ("asyncio", "aiohttp", "serial", "evdev", "gpiozero", "luma", "socket", "threading")
ALLOWED_OUTSIDE_CORE = {"deskphone", "deskphone.errors"}


def loaded_after_importing_the_core() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(deskphone.core.__path__)]
    code = ("import importlib, json, sys\n"
            f"for n in {names!r}: importlib.import_module('deskphone.core.' + n)\n"
            "print(json.dumps(sorted(sys.modules)))")
    src = str(Path(deskphone.core.__file__).parents[2])
    # -I: no PYTHONPATH, no user site, no current directory: only what the core pulls in.
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {src!r})\n"
                           + code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_core_imports_nothing_of_the_project_outside_core():
    loaded = loaded_after_importing_the_core()
    project = {m for m in loaded if m == "deskphone" or m.startswith("deskphone.")}
    assert "deskphone.core.phone" in project            # the probe did import the core
    outside = {m for m in project if not m.startswith("deskphone.core")}
    assert outside <= ALLOWED_OUTSIDE_CORE, sorted(outside - ALLOWED_OUTSIDE_CORE)


def test_the_core_loads_no_io_library():
    loaded = set(loaded_after_importing_the_core())
    assert not {m for m in loaded if m.split(".")[0] in FORBIDDEN}
