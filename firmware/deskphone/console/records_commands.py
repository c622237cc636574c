"""The console's call log and directory commands (``calllog``, ``dir``).

``calllog [missed|received|placed]`` lists a kind (all three without one),
``calllog clear [KIND]`` clears it; ``dir`` lists every contact, ``dir find
DIGITS`` searches as the keypad does, ``dir add NAME NUMBER[,NUMBER]`` and
``dir del N`` change the local directory (written to ``directory.cfg``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..core.call_log import KINDS, TITLES, ClearCallLog
from ..core.directory import LOCAL, Contact, Directory, SetLocalDirectory
from ..host import PhoneHost


class RecordsCommandError(ValueError):
    pass


def records_commands(host: PhoneHost, command: Callable[..., Any]) -> list[Any]:
    """The commands, made with the console's own ``Command`` class (no import back)."""
    return [
        command("calllog", "calllog [missed|received|placed] | calllog clear [KIND]",
                "the call log, or clear it", lambda args: _calllog(host, args)),
        command("dir", "dir | dir find DIGITS | dir add NAME NUMBER | dir del N",
                "the directory; change the local one", lambda args: _dir(host, args)),
    ]


def _calllog(host: PhoneHost, args: list[str]) -> str:
    if args and args[0] == "clear":
        kind = args[1] if len(args) > 1 else None
        if kind is not None and kind not in KINDS:
            raise RecordsCommandError(f"no list {kind!r} (missed, received, placed)")
        host.post(ClearCallLog(kind))  # type: ignore[arg-type]
        return f"{TITLES[kind] if kind else 'Call log'} cleared"
    kinds = args[:1] or list(KINDS)
    if any(k not in KINDS for k in kinds):
        raise RecordsCommandError(f"no list {kinds[0]!r} (missed, received, placed)")
    out = []
    for kind in kinds:
        entries = [e for e in host.call_log if e.kind == kind]
        out.append(f"{TITLES[kind]} ({len(entries)}):")
        for e in entries:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.time))
            talk = f" {e.duration // 60}:{e.duration % 60:02d}" if e.duration else ""
            out.append(f"  {when}  {e.number:<16} {e.name}{talk}  (line {e.account})")
    return "\n".join(out)


def _dir(host: PhoneHost, args: list[str]) -> str:
    contacts = tuple(host.directory)
    local = tuple(c for c in contacts if c.book == LOCAL)
    if args and args[0] == "add":
        if len(args) < 3:
            raise RecordsCommandError("usage: dir add NAME NUMBER[,NUMBER]")
        numbers = tuple(n.strip() for n in args[-1].split(",") if n.strip())
        added = Contact(" ".join(args[1:-1])[:64], numbers[:4])
        host.post(SetLocalDirectory(add=(added,)))  # type: ignore[arg-type]
        return f"added {added.name} ({', '.join(numbers)})"
    if args and args[0] == "del":
        if len(args) != 2 or not args[1].isdigit() or not 1 <= int(args[1]) <= len(local):
            raise RecordsCommandError(f"usage: dir del N (1..{len(local)}, as `dir` numbers "
                                      "the local entries)")
        gone = local[int(args[1]) - 1]
        host.post(SetLocalDirectory(remove=gone))  # type: ignore[arg-type]
        return f"deleted {gone.name}"
    if args and args[0] == "find":
        book = Directory({"all": contacts})
        contacts = book.search(args[1] if len(args) > 1 else "")
    lines = [f"{n:>3}. {c.name:<24} {', '.join(c.numbers)}  [{c.book}]"
             for n, c in enumerate(contacts, 1)]
    return "\n".join(lines) or "no contacts"
