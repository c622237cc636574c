"""The local directory: ``directory.cfg`` in the config directory, a Yealink-style file.

::

    #!version:1.0.0.1
    directory.1.name = Alice
    directory.1.number = 201
    directory.2.name = Front desk
    directory.2.number = 200, 0301234567

Entries are numbered from 1; a number list is comma-separated. The web page
and the console add and remove entries; the file is rewritten atomically.
Lines that are not entries are reported and skipped, never fatal.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.directory import LOCAL, MAX_CONTACTS, Contact
from .yealink_cfg import HEADER, atomic_write_text, parse_cfg

FILENAME = "directory.cfg"
_KEY = re.compile(r"directory\.([0-9]{1,4})\.(name|number)")
MAX_FILE = 512 * 1024


def parse_directory(text: str) -> tuple[tuple[Contact, ...], list[str]]:
    """The contacts of a directory file and the problems found (one line each)."""
    parsed = parse_cfg(text, FILENAME)
    problems = [str(e) for e in parsed.errors]
    found: dict[int, dict[str, str]] = {}
    for entry in parsed.entries:
        match = _KEY.fullmatch(entry.key)
        if match is None:
            problems.append(f"{FILENAME} line {entry.line}: {entry.key} is not "
                            "directory.N.name or directory.N.number")
            continue
        found.setdefault(int(match.group(1)), {})[match.group(2)] = entry.value
    contacts = []
    for n in sorted(found)[:MAX_CONTACTS]:
        numbers = tuple(x.strip() for x in found[n].get("number", "").split(",") if x.strip())
        name = found[n].get("name", "").strip()
        if name or numbers:
            contacts.append(Contact(name[:64], numbers[:4], LOCAL))
    return tuple(contacts), problems


def render_directory(contacts: tuple[Contact, ...]) -> str:
    lines = [HEADER, "# The phone's local directory (web page, console, or edit by hand)."]
    for n, contact in enumerate(contacts, 1):
        lines.append(f"directory.{n}.name = {contact.name}")
        lines.append(f"directory.{n}.number = {', '.join(contact.numbers)}")
    return "\n".join(lines) + "\n"


def read_directory(config_dir: Path | str) -> tuple[tuple[Contact, ...], list[str]]:
    """Blocking: run it on a thread."""
    path = Path(config_dir) / FILENAME
    try:
        if path.stat().st_size > MAX_FILE:
            return (), [f"{path}: larger than {MAX_FILE} bytes, not read"]
        return parse_directory(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return (), []
    except (OSError, UnicodeDecodeError) as exc:
        return (), [f"{path} cannot be read: {exc}"]


def write_directory(config_dir: Path | str, contacts: tuple[Contact, ...]) -> None:
    """Blocking: run it on a thread."""
    atomic_write_text(Path(config_dir) / FILENAME, render_directory(contacts))
