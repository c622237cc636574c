"""The web page "Directory": the local contacts, added, edited and deleted.

The changes go to the phone as ``SetLocalDirectory`` inputs, so the screen, the
console and the directory file agree. An edit is the old contact removed and
the new one added in one input (it then stands last, as a new contact does).
The field is "numbers", never "number": the servlet takes a request with
number= as the Action URI's dial (number=201), before any page sees it.
"""

from __future__ import annotations

from typing import Mapping

from aiohttp import web

from ..core.directory import LOCAL, Contact, SetLocalDirectory
from .webui_base import Page, PageUI, Session, e, form, url


PAGE = url("directory")
MAX_NAME = 64
MAX_NUMBER = 32
MAX_NUMBERS = 4
BAD_CONTACT = ("a contact needs a name and a number (digits, +, *, #; several separated by "
               "commas, at most 4)")


def _fields(name: str = "", numbers: str = "", n: int | None = None) -> str:
    tag = "" if n is None else f"-{n}"
    return (f"<input id='name{tag}' name=name placeholder=Name maxlength={MAX_NAME} "
            f"value='{e(name)}'> <input id='numbers{tag}' name=numbers "
            f"placeholder='201, 0301234567' maxlength=128 value='{e(numbers)}'> ")


def _row(session: Session, n: int, c: Contact) -> str:
    index = f"<input type=hidden name=index value={n}>"
    edit = _fields(c.name, ", ".join(c.numbers), n)
    save = form(session, "directory", "edit", index + edit, "Save", button_id=f"save-{n}")
    drop = form(session, "directory", "delete", index, "Delete", button_id=f"delete-{n}")
    return f"<tr><td>{save}</td><td>{drop}</td></tr>"


def show(ui: PageUI, session: Session, p: Mapping[str, str], error: str = "") -> web.Response:
    local = [c for c in ui.host.directory if c.book == LOCAL]
    rows = "".join(_row(session, n, c) for n, c in enumerate(local)) \
        or "<tr><td colspan=2 class=muted>No local contacts.</td></tr>"
    remote = len([c for c in ui.host.directory if c.book != LOCAL])
    body = (f"<p class=err id=error>{e(error)}</p>" if error else "") + (
        f"<table id=contacts><tr><th>Name and numbers</th><th></th></tr>{rows}</table>"
        "<h2>Add a contact</h2>"
        f"{form(session, 'directory', 'add', _fields(), 'Add', button_id='add')}"
        f"<p class=muted>{remote} contact(s) from the remote phone books (not editable here).</p>")
    return ui.page("Directory", body, session=session, status=400 if error else 200)


def contact_of(posted: Mapping[str, str]) -> Contact | None:
    """The contact a form describes, or None when it is not one."""
    name = posted.get("name", "").strip()
    numbers = tuple(n.strip() for n in posted.get("numbers", "").split(",") if n.strip())
    bad = [n for n in numbers if len(n) > MAX_NUMBER
           or not all(ch.isalnum() or ch in "+*#-.@ " for ch in n)]
    if not name or len(name) > MAX_NAME or not numbers or len(numbers) > MAX_NUMBERS or bad:
        return None
    return Contact(name, numbers)


def _listed(ui: PageUI, posted: Mapping[str, str]) -> Contact | None:
    local = tuple(c for c in ui.host.directory if c.book == LOCAL)
    raw = posted.get("index", "")
    return local[int(raw)] if raw.isdigit() and int(raw) < len(local) else None


async def add(ui: PageUI, session: Session, posted: Mapping[str, str],
              back: str = PAGE) -> web.StreamResponse:
    contact = contact_of(posted)
    if contact is None:
        return show(ui, session, {}, f"Not added: {BAD_CONTACT}.")
    ui.host.post(SetLocalDirectory(add=(contact,)))
    raise web.HTTPSeeOther(back)


async def edit(ui: PageUI, session: Session, posted: Mapping[str, str]) -> web.StreamResponse:
    old, new = _listed(ui, posted), contact_of(posted)
    if old is None:
        return show(ui, session, {}, "Not changed: no such contact.")
    if new is None:
        return show(ui, session, {}, f"Not changed: {BAD_CONTACT}.")
    ui.host.post(SetLocalDirectory(add=(new,), remove=old))
    raise web.HTTPSeeOther(PAGE)


async def delete(ui: PageUI, session: Session, posted: Mapping[str, str],
                 back: str = PAGE) -> web.StreamResponse:
    old = _listed(ui, posted)            # as the page listed them; the core removes that one
    if old is None:
        return show(ui, session, {}, "Not deleted: no such contact.")
    ui.host.post(SetLocalDirectory(remove=old))
    raise web.HTTPSeeOther(back)


PAGES = (Page("directory", "Directory", show, {"add": add, "edit": edit, "delete": delete}),)
