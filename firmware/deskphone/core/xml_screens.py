"""The screens of the lists (History, call log, directory) and of pushed XML objects.

``core.screens`` asks here first; the answer is the fields of its ``Screen``
(this module cannot import ``core.screens``, which imports it). Lines are cut
to the 21 characters a 128-pixel line holds; a TextScreen's text is wrapped at
words and scrolls with UP/DOWN.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

from . import records, xml_browser
from .call_log import TITLES, Entry
from .directory import Contact
from .state import PhoneState
from .views import HISTORY, HISTORY_KINDS, View
from .xml_objects import TextMenu, TextScreen

COLUMNS = 21                 # characters across the 128-pixel panel
ROWS = 3
LIST_KEYS = ("Send", "", "Clear", "Back")
DIRECTORY_KEYS = ("Send", "Del", "", "Back")
MENU_KEYS = ("Ok", "", "", "Back")


def screen_fields(phone: PhoneState, now: float) -> dict[str, Any] | None:
    """The screen of a pushed object or an open list, or None when neither owns the screen."""
    if xml_browser.showing(phone):
        shown = phone.xml.shown
        if isinstance(shown, TextScreen):
            return _text_screen(shown, phone.xml.index, now)
        if isinstance(shown, TextMenu):
            return _text_menu(shown, phone.xml.index, now)
    if records.showing(phone):
        assert phone.view is not None
        return _view(phone, phone.view, now)
    return None


def idle_lines(phone: PhoneState, lines: tuple[str, str, str]) -> tuple[str, str, str]:
    """The idle screen's body with the pushed Status lines under the date.

    A registration problem and the missed-call count keep their lines."""
    status = phone.xml.status_lines()
    if not status:
        return lines
    date, reg, missed = lines
    free = [line for line in status if line][:2]
    second = reg or (free.pop(0) if free else "")
    third = missed or (free.pop(0) if free else "")
    return date, second, third


def _clock(now: float) -> str:
    return time.strftime("%H:%M", time.localtime(now))


def _window(count: int, index: int) -> int:
    return max(0, min(index - 1, count - ROWS))


def _text_screen(obj: TextScreen, first: int, now: float) -> dict[str, Any]:
    wrapped = [line for para in obj.text.splitlines()
               for line in (textwrap.wrap(para, COLUMNS) or [""])] or [""]
    first = min(first, max(0, len(wrapped) - ROWS))
    lines = tuple(wrapped[first:first + ROWS])
    return dict(kind="xml_text", title=obj.title or "Message", corner=_clock(now), lines=lines,
                softkeys=MENU_KEYS, status=f"XML: {obj.title or lines[0]}")


def _text_menu(obj: TextMenu, index: int, now: float) -> dict[str, Any]:
    prompts = [f"{n}. {item.prompt}" if obj.numbered else item.prompt
               for n, item in enumerate(obj.items, 1)] or ["(empty menu)"]
    start = _window(len(prompts), index)
    return dict(kind="xml_menu", title=obj.title or "Menu", corner=_clock(now),
                lines=tuple(prompts[start:start + ROWS]), softkeys=MENU_KEYS,
                selected=index - start if obj.items else None,
                status=f"XML menu: {obj.title}")


def _view(phone: PhoneState, view: View, now: float) -> dict[str, Any]:
    log = phone.call_log
    if view.kind == "history":
        labels = [f"{label} ({log.new_missed})" if HISTORY_KINDS.get(label) == "missed"
                  and log.new_missed else label for label in HISTORY]
        start = _window(len(labels), view.index)
        return dict(kind="history", title="History", corner=_clock(now),
                    lines=tuple(labels[start:start + ROWS]), softkeys=MENU_KEYS,
                    selected=view.index - start, status="History")
    if view.kind == "log":
        entries = log.lists[view.log_kind]
        rows = [_entry_line(e, now) for e in entries]
        title = f"{TITLES[view.log_kind]} {min(view.index + 1, len(entries))}/{len(entries)}" \
            if entries else TITLES[view.log_kind]
        return _list(view, "calllog", title, rows, "No calls", LIST_KEYS, now)
    found = phone.directory.search(view.typed)
    title = f"Search: {view.typed}" if view.typed else "Directory"
    return _list(view, "directory", title, [_contact_line(c) for c in found],
                 "No match" if view.typed else "No contacts", DIRECTORY_KEYS, now)


def _list(view: View, kind: str, title: str, rows: list[str], empty: str,
          keys: tuple[str, str, str, str], now: float) -> dict[str, Any]:
    if not rows:
        return dict(kind=kind, title=title, corner=_clock(now), lines=(empty,),
                    softkeys=("", "", "", "Back"), status=title)
    index = min(view.index, len(rows) - 1)
    start = _window(len(rows), index)
    return dict(kind=kind, title=title, corner=_clock(now), lines=tuple(rows[start:start + ROWS]),
                softkeys=keys, selected=index - start, status=title)


def _entry_line(entry: Entry, now: float) -> str:
    same_day = time.localtime(entry.time)[:3] == time.localtime(now)[:3]
    when = time.strftime("%H:%M" if same_day else "%d.%m", time.localtime(entry.time))
    return f"{entry.who[:COLUMNS - 6]:<{COLUMNS - 6}} {when}"


def _contact_line(contact: Contact) -> str:
    return contact.name or contact.number
