"""What every web page module shares: the page table's row, escaping, forms and settings fields.

A page module (``webui_accounts.py``, ``webui_features.py``...) exports ``PAGES``, a
tuple of ``Page``: its ``p=`` name, its title (the navigation label), the function
that shows it and the forms it takes by ``q=``. ``webui.py`` builds its table from
them, checks the login and the CSRF token before any of them runs, and draws the
layout (``WebUI.page``).

The settings forms are built from the schema: a field's input follows the key's
kind (checkbox, number, select, text, write-only password), and ``read_fields``
checks every posted value with ``config.schema.parse_value``, as a ``.cfg`` line
is checked. A secret is never put in a page: its field is blank, and blank keeps
the value there is.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable, Mapping, Protocol

from aiohttp import web

from ..config.schema import SCHEMA, parse_value
from ..errors import ConfigError
from ..host import PhoneHost


log = logging.getLogger("deskphone.webui")

BASE = "/servlet"


@dataclass
class Session:
    csrf: str
    last_used: float


class PageUI(Protocol):
    """What a page module sees of the web pages (``webui.WebUI`` is one): the phone and the layout."""
    host: PhoneHost

    def page(self, title: str, body: str, *, status: int = 200, nav: bool = True,
             session: Session | None = None, refresh: int | None = None) -> web.Response: ...


Show = Callable[[PageUI, Session, Mapping[str, str]], web.StreamResponse]
Form = Callable[[PageUI, Session, Mapping[str, str]], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Page:
    name: str                           # the p= of its URL
    title: str                          # its heading and navigation label
    show: Show                          # GET: the query's parameters
    forms: Mapping[str, Form] = field(default_factory=dict)   # POST by q=: the form's fields
    nav: bool = True                    # listed in the header


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def url(page: str, q: str = "load", **extra: object) -> str:
    tail = "".join(f"&{k}={v}" for k, v in extra.items())
    return f"{BASE}?p={page}&q={q}{tail}"


def form(session: Session, page: str, q: str, inner: str, button: str, *,
         button_id: str = "", extra: str = "") -> str:
    """A POST form to ``page``/``q`` carrying the session's CSRF token."""
    bid = f" id={e(button_id)}" if button_id else ""
    return (f"<form method=post action='{e(url(page, q))}'{extra}>"
            f"<input type=hidden name=csrf value='{e(session.csrf)}'>{inner}"
            f"<button type=submit{bid}>{e(button)}</button></form>")


def note(saved: bool, errors: Mapping[str, str] | None = None, what: str = "Saved.") -> str:
    if errors:
        return (f"<p class=err id=not-saved>Not saved: {len(errors)} field(s) need fixing "
                "(nothing was changed).</p>")
    return f"<p class=ok id=saved>{e(what)}</p>" if saved else ""


# ------------------------------------------------------------ settings fields

def shown(key: str, settings: Mapping[str, object], values: Mapping[str, str] | None) -> str:
    """The text a field shows: what was posted (after an error), else the setting's value."""
    spec = SCHEMA[key]
    if spec.secret:
        return ""                                    # write-only: never echoed
    if values is not None and key in values:
        return values[key]
    value = settings.get(key, spec.default)
    if spec.kind == "bool":
        return "1" if value else "0"
    return str(value)


def control(key: str, text: str, *, labels: Iterable[str] = (), secret_set: bool = False) -> str:
    """The input for ``key``: its kind decides which, its limits go on it."""
    spec = SCHEMA[key]
    k = e(key)
    if spec.kind == "bool":
        return (f"<input type=checkbox id='{k}' name='{k}' value=1"
                f"{' checked' if text == '1' else ''}>")
    if spec.kind == "int" and labels:
        opts = "".join(f"<option value={n}{' selected' if str(n) == text else ''}>"
                       f"{e(label)}</option>" for n, label in enumerate(labels))
        return f"<select id='{k}' name='{k}'>{opts}</select>"
    if spec.kind == "enum":
        opts = "".join(f"<option{' selected' if c == text else ''}>{e(c)}</option>"
                       for c in spec.choices)
        return f"<select id='{k}' name='{k}'>{opts}</select>"
    if spec.kind == "int":
        return (f"<input type=number id='{k}' name='{k}' min={spec.min} max={spec.max} "
                f"value='{e(text)}'>")
    limit = f" maxlength={spec.max_len}" if spec.max_len else ""
    if spec.secret:
        hint = "set: blank keeps it" if secret_set else "not set"
        return (f"<input type=password id='{k}' name='{k}'{limit} value='' "
                f"autocomplete=new-password placeholder='{e(hint)}'>")
    return f"<input type=text id='{k}' name='{k}'{limit} value='{e(text)}'>"


def row(key: str, label: str, settings: Mapping[str, object], *,
        values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
        labels: Iterable[str] = (), hint: str = "") -> str:
    """One table row: the label, the input, the key's name, and the error next to it."""
    text = shown(key, settings, values)
    secret_set = SCHEMA[key].secret and bool(settings.get(key))
    err = (f"<div class=err data-key='{e(key)}'>{e(key)}: {e(errors[key])}</div>"
           if errors and key in errors else "")
    more = f"<div class=muted>{e(hint)}</div>" if hint else ""
    return (f"<tr><th><label for='{e(key)}'>{e(label)}</label></th><td>"
            f"{control(key, text, labels=labels, secret_set=secret_set)}{more}{err}</td>"
            f"<td class=muted><code>{e(key)}</code></td></tr>")


@dataclass
class Posted:
    values: dict[str, str] = field(default_factory=dict)     # as typed, to show again
    changes: dict[str, object] = field(default_factory=dict)  # typed, only what differs
    errors: dict[str, str] = field(default_factory=dict)      # key -> message


def read_fields(posted: Mapping[str, str], keys: Iterable[str],
                settings: Mapping[str, object]) -> Posted:
    """Every field of a form checked as a ``.cfg`` value is; nothing is saved here.

    A checkbox not sent is off. Any other field not sent stays as it is; a blank
    secret keeps the secret there is.
    """
    out = Posted()
    for key in keys:
        spec = SCHEMA[key]
        raw = posted.get(key)
        if spec.kind == "bool":
            raw = "0" if raw is None else raw
        elif raw is None or (spec.secret and raw == ""):
            continue
        out.values[key] = raw
        try:
            value = parse_value(spec, raw)
        except ConfigError as exc:
            out.errors[key] = exc.message
            continue
        if value != settings.get(key, spec.default):
            out.changes[key] = value
    return out


def save(ui: PageUI, changes: Mapping[str, object]) -> str | None:
    """Through the one settings writer (all or nothing); an error message, or None."""
    if not changes:
        return None
    try:
        ui.host.writer.update(changes)
    except ConfigError as exc:
        return str(exc)
    log.info("web page: saved %s", ", ".join(sorted(changes)))
    return None


# ------------------------------------------------------------ a page of settings

@dataclass(frozen=True)
class Field:
    key: str
    label: str
    hint: str = ""
    labels: tuple[str, ...] = ()        # an int key shown as a choice of these names


Extra = Callable[[PageUI, Session, Mapping[str, str]], str]


def settings_page(name: str, title: str, fields: Callable[[], Iterable[Field]], *,
                  intro: str = "", extra: Extra | None = None,
                  forms: Mapping[str, Form] | None = None) -> Page:
    """A page of settings fields saved with one Confirm (``q=write``), checked all or nothing.

    ``extra`` adds HTML below the form (the provisioning page's result), ``forms``
    more forms of the page's own.
    """
    def show(ui: PageUI, session: Session, p: Mapping[str, str], *,
             values: Mapping[str, str] | None = None,
             errors: Mapping[str, str] | None = None, problem: str = "") -> web.Response:
        s = ui.host.settings
        rows = "".join(row(f.key, f.label, s, values=values, errors=errors, hint=f.hint,
                           labels=f.labels) for f in fields())
        said = f"<p class=err id=not-saved>Not saved: {e(problem)}</p>" if problem else \
            note(p.get("saved") == "1", errors)
        body = said + intro + form(session, name, "write", f"<table id=settings>{rows}</table>",
                                   "Confirm", button_id="save")
        if extra is not None:
            body += extra(ui, session, p)
        bad = bool(errors or problem)
        return ui.page(title, body, session=session, status=400 if bad else 200)

    async def write(ui: PageUI, session: Session, posted: Mapping[str, str]
                    ) -> web.StreamResponse:
        got = read_fields(posted, [f.key for f in fields()], ui.host.settings)
        if got.errors:
            return show(ui, session, {}, values=got.values, errors=got.errors)
        if problem := save(ui, got.changes):
            return show(ui, session, {}, values=got.values, problem=problem)
        raise web.HTTPSeeOther(url(name, saved=1))

    return Page(name, title, show, {"write": write, **(forms or {})})
