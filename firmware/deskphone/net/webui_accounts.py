"""The web page "Accounts": the SIP accounts 1..N, their registration, add and edit.

The list shows every account the schema has (``account.1`` .. ``account.N``) with
its registration as the engine reports it now (``PhoneHost.registrations``); the
page reloads itself every few seconds while it is open. "Add" opens the first
free account (not enabled, no user name, no server), "Edit" any of them. A form
is checked field by field as ``.cfg`` values are (``parse_value`` with the
account's keys), and nothing is saved while any field is wrong. The password is
write-only: never in a page, and left blank it keeps the one there is.

Saved through the writer, the core hears of the new settings at once and has the
engine (un)register what changed (``feature_control``): no restart.
"""

from __future__ import annotations

from typing import Mapping

from aiohttp import web

from ..config.schema import ACCOUNT_SUFFIXES, MAX_ACCOUNTS, TRANSPORTS
from ..core.accounts import Account, account
from .webui_base import Page, PageUI, Session, e, form, note, read_fields, row, save, url


REFRESH = 3             # seconds between the list's reloads
LABELS = {
    "enable": "Enabled",
    "label": "Label",
    "display_name": "Display name",
    "auth_name": "Register (auth) name",
    "user_name": "User name",
    "password": "Password",
    "sip_server.1.address": "SIP server",
    "sip_server.1.port": "SIP server port",
    "sip_server.1.expires": "Registration expiry (s)",
    "sip_server.1.transport_type": "Transport",
    "outbound_proxy_enable": "Outbound proxy",
    "outbound_host": "Outbound proxy host",
    "outbound_port": "Outbound proxy port",
    "subscribe_mwi": "Subscribe for voicemail (MWI)",
    "subscribe_mwi_expires": "MWI subscription expiry (s)",
    "subscribe_mwi_to_vm": "MWI: subscribe to the voicemail number",
    "display_mwi.enable": "Show the voicemail count",
}
HINTS = {"auth_name": "blank: the user name", "sip_server.1.address": "a host name or address"}


def keys(n: int) -> list[str]:
    return [f"account.{n}.{suffix}" for suffix in ACCOUNT_SUFFIXES]


def free(a: Account) -> bool:
    return not a.enabled and not a.user_name and not a.server


def registration(ui: PageUI, a: Account) -> str:
    if not a.enabled:
        return "disabled"
    return ui.host.registrations.get(a.index, "registering")


def show(ui: PageUI, session: Session, p: Mapping[str, str]) -> web.Response:
    raw = p.get("acc", "")
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ACCOUNTS:
            return ui.page("Accounts", f"<p class=err>No account {e(raw)} (1..{MAX_ACCOUNTS}).</p>",
                           session=session, status=404)
        return edit_page(ui, session, int(raw), adding=p.get("add") == "1")
    s = ui.host.settings
    accounts = [account(s, n) for n in range(1, MAX_ACCOUNTS + 1)]
    rows = "".join(
        f"<tr id=account-{a.index}><td>{a.index}</td><td>{'on' if a.enabled else 'off'}</td>"
        f"<td>{e(a.label)}</td><td>{e(a.user_name)}</td><td>{e(a.host)}</td>"
        f"<td>{e(a.transport_name)}</td><td class=reg>{e(registration(ui, a))}</td>"
        f"<td><a id=edit-{a.index} href='{e(url('accounts', acc=a.index))}'>Edit</a></td></tr>"
        for a in accounts if not free(a))
    spare = next((a.index for a in accounts if free(a)), None)
    add = (f"<p><a id=add href='{e(url('accounts', acc=spare, add=1))}'>Add an account</a> "
           f"(account {spare})</p>" if spare is not None
           else f"<p class=muted>All {MAX_ACCOUNTS} accounts are in use: edit one.</p>")
    saved = p.get("saved", "")
    body = (note(saved.isdigit(), what=f"Account {saved} saved.") + add
            + "<table id=accounts><tr><th>#</th><th>Enabled</th><th>Label</th><th>User</th>"
            "<th>Server</th><th>Transport</th><th>Registration</th><th></th></tr>"
            + (rows or "<tr><td colspan=8 class=muted>No account yet.</td></tr>") + "</table>")
    return ui.page("Accounts", body, session=session, refresh=REFRESH)


def edit_page(ui: PageUI, session: Session, n: int, *, adding: bool = False,
              values: Mapping[str, str] | None = None,
              errors: Mapping[str, str] | None = None) -> web.Response:
    s = ui.host.settings
    if adding and values is None:
        values = {f"account.{n}.enable": "1"}          # a new account is meant to register
    rows = "".join(
        row(key, LABELS.get(suffix, suffix), s, values=values, errors=errors,
            hint=HINTS.get(suffix, ""),
            labels=TRANSPORTS if suffix == "sip_server.1.transport_type" else ())
        for suffix, key in zip(ACCOUNT_SUFFIXES, keys(n)))
    state = registration(ui, account(s, n))
    body = (note(False, errors) + f"<p>Registration now: <strong id=registration>{e(state)}"
            "</strong></p>"
            + form(session, "accounts", "write",
                   f"<input type=hidden name=acc value={n}><table id=settings>{rows}</table>",
                   "Confirm", button_id="save")
            + f"<p><a href='{e(url('accounts'))}'>Back to the accounts</a></p>")
    return ui.page(f"Account {n}", body, session=session, status=400 if errors else 200)


def check(n: int, settings: Mapping[str, object], changes: Mapping[str, object]
          ) -> dict[str, str]:
    """What the schema cannot say about one key: an enabled account needs a user and a server."""
    after = account({**settings, **changes}, n)
    errors = {}
    if after.enabled and not after.user_name:
        errors[f"account.{n}.user_name"] = "an enabled account needs a user name"
    if after.enabled and not after.server:
        errors[f"account.{n}.sip_server.1.address"] = "an enabled account needs a SIP server"
    return errors


async def write(ui: PageUI, session: Session, posted: Mapping[str, str]) -> web.StreamResponse:
    raw = posted.get("acc", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ACCOUNTS:
        return ui.page("Accounts", f"<p class=err>No account {e(raw)}; nothing was changed.</p>",
                       session=session, status=400)
    n, s = int(raw), ui.host.settings
    got = read_fields(posted, keys(n), s)
    if not got.errors:
        got.errors.update(check(n, s, got.changes))
    if not got.errors and (problem := save(ui, got.changes)):
        got.errors[f"account.{n}.enable"] = problem
    if got.errors:
        return edit_page(ui, session, n, values=got.values, errors=got.errors)
    raise web.HTTPSeeOther(url("accounts", saved=n))


PAGES = (Page("accounts", "Accounts", show, {"write": write}),)
