"""Yealink XML push: the object parsed (hardened), checked and handed to the core.

Doors: ``POST /servlet?push=xml`` (``net.servlet`` routes it here), with the
object as the raw body or as the form field ``xml=``, and SIP ``NOTIFY`` with
``Event: Yealink-xml`` (``net.sip_notify`` routes it here once its ladder
allowed the sender). Both go through ``core.remote_control.decide``, the
Action URI's ladder, with two differences an XML push server needs:

- who may: ``push_xml.server`` when it is set (the same list syntax as
  ``features.action_uri_limit_ip``); when it is blank the Action URI list applies;
- HTTP credentials: ``push_xml.username`` / ``push_xml.password`` when set
  (then required), Basic or Digest (``net.http_digest``); otherwise the admin
  account, as for the Action URI.

Parsing: at most ``MAX_XML`` bytes (the guide's 10000), expat with every DTD
refused (no DOCTYPE, so no entity can be declared, let alone expanded), at most
``MAX_ELEMENTS`` elements. A bad object answers 400 and nothing shows.

Menu items' URIs, ``doneAction`` and ``cancelAction`` are fetched by
``XmlFetcher`` (one fetch at a time, the newest wins, a timeout and the same
size cap); what comes back is pushed like any object.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from typing import Any, Mapping

from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from pyexpat import ExpatError, ParserCreate

from ..core.remote_control import (Action, Decision, Login, RemoteRequest, Source, Transport,
                                   Why, decide)
from ..core.trust import TrustListError, trusted_sources
from ..core.xml_browser import XmlError, execute_inputs
from ..core.xml_objects import (MAX_ITEMS, MAX_MESSAGES, SCREEN_TIMEOUT, STATUS_TIMEOUT, Execute,
                                FetchXml, MenuItem, PlayWav, PushXml, Status, TextMenu, TextScreen,
                                XmlObject)
from ..errors import DeskphoneError
from ..host import PhoneHost
from . import auth, http_digest
from .remote import ask_user

log = logging.getLogger("deskphone.xml_push")

MAX_XML = 10_000             # bytes: "The size of an XML object cannot exceed 10000 bytes"
MAX_BODY = 4 * MAX_XML       # a form-encoded xml= field is larger than the object it carries
MAX_ELEMENTS = 200
MAX_TEXT = 2000              # characters of one text
FETCH_TIMEOUT = 5.0
REALM = "deskphone XML push"
SIP_EVENT = "yealink-xml"     # Event: Yealink-xml (compared in lower case)


class XmlPushError(DeskphoneError, ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ parsing

def parse_object(data: bytes) -> XmlObject:
    """The object in ``data``; XmlPushError (400/413) for anything else."""
    if len(data) > MAX_XML:
        raise XmlPushError(413, f"XML object larger than {MAX_XML} bytes")
    root = tree(data)
    name = local_name(root.tag)
    build = _OBJECTS.get(name.lower())
    if build is None:
        raise XmlPushError(400, f"<{name}> is not a Yealink XML object this phone takes "
                           f"(expected one of {', '.join(sorted(_NAMES))})")
    return build(root)


def tree(data: bytes, max_elements: int = MAX_ELEMENTS) -> ET.Element:
    """The element tree of ``data``, parsed with every DTD refused; XmlPushError (400)."""
    builder = ET.TreeBuilder()
    expat = ParserCreate()
    count = 0

    def refuse(*_: Any) -> None:
        raise XmlPushError(400, "DTDs and entity declarations are not accepted")

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > max_elements:
            raise XmlPushError(400, f"more than {max_elements} elements")
        builder.start(tag, attrs)

    expat.StartDoctypeDeclHandler = refuse
    expat.EntityDeclHandler = refuse
    expat.UnparsedEntityDeclHandler = refuse
    expat.ExternalEntityRefHandler = refuse
    expat.StartElementHandler = start
    expat.EndElementHandler = builder.end
    expat.CharacterDataHandler = builder.data
    try:
        expat.Parse(data, True)
        root = builder.close()
    except ExpatError as exc:
        raise XmlPushError(400, f"not well-formed XML: {exc}") from None
    except AssertionError:
        raise XmlPushError(400, "no XML element") from None
    return root


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def attr(el: ET.Element, name: str, default: str = "") -> str:
    wanted = name.lower()
    return next((v for k, v in el.attrib.items() if k.lower() == wanted), default).strip()


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local_name(c.tag).lower() == name.lower()]


def text_of(el: ET.Element | None) -> str:
    return "" if el is None else "".join(el.itertext()).strip()[:MAX_TEXT]


def child_text(el: ET.Element, name: str) -> str:
    found = children(el, name)
    return text_of(found[0]) if found else ""


def _yes(el: ET.Element, name: str, default: bool) -> bool:
    value = attr(el, name).lower()
    if not value:
        return default
    if value not in ("yes", "no", "true", "false", "1", "0"):
        raise XmlPushError(400, f"{name} must be yes or no, got {value[:20]!r}")
    return value in ("yes", "true", "1")


def _seconds(el: ET.Element, default: int) -> int:
    value = attr(el, "Timeout")
    if not value:
        return default
    if not value.isdigit() or int(value) > 86400:
        raise XmlPushError(400, f"Timeout must be 0..86400 seconds, got {value[:20]!r}")
    return int(value)


def _text_screen(root: ET.Element) -> TextScreen:
    return TextScreen(child_text(root, "Title"), child_text(root, "Text"),
                      _yes(root, "Beep", True), _seconds(root, SCREEN_TIMEOUT),
                      attr(root, "cancelAction"), attr(root, "doneAction"))


def _text_menu(root: ET.Element) -> TextMenu:
    items = tuple(MenuItem(child_text(i, "Prompt"), child_text(i, "URI"))
                  for i in children(root, "MenuItem")[:MAX_ITEMS])
    if not items:
        raise XmlPushError(400, "YealinkIPPhoneTextMenu without a MenuItem")
    index = attr(root, "defaultIndex", "1")
    if not index.isdigit() or not 1 <= int(index) <= len(items):
        raise XmlPushError(400, f"defaultIndex must be 1..{len(items)}, got {index[:20]!r}")
    return TextMenu(child_text(root, "Title"), items, int(index),
                    attr(root, "style", "numbered").lower() != "none",
                    _yes(root, "Beep", True), _seconds(root, SCREEN_TIMEOUT),
                    attr(root, "cancelAction"))


def _status(root: ET.Element) -> Status:
    messages = tuple(text_of(m) for m in children(root, "Message")[:MAX_MESSAGES])
    return Status(attr(root, "SessionID")[:64], messages, _yes(root, "Beep", True),
                  _seconds(root, STATUS_TIMEOUT))


def _execute(root: ET.Element) -> Execute:
    items = tuple(attr(i, "URI") for i in children(root, "ExecuteItem")[:MAX_ITEMS])
    if not items or not all(items):
        raise XmlPushError(400, "YealinkIPPhoneExecute needs ExecuteItem elements with a URI")
    return Execute(items, _yes(root, "Beep", False))


_OBJECTS = {"yealinkipphonetextscreen": _text_screen, "yealinkipphonetextmenu": _text_menu,
            "yealinkipphonestatus": _status, "yealinkipphoneexecute": _execute}
_NAMES = ("YealinkIPPhoneTextScreen", "YealinkIPPhoneTextMenu", "YealinkIPPhoneStatus",
          "YealinkIPPhoneExecute")


# ------------------------------------------------------------------ delivery

def deliver(host: PhoneHost, obj: XmlObject, via: str) -> None:
    """Hand a parsed object to the phone; XmlPushError (400) when an Execute item is bad."""
    if isinstance(obj, Execute):
        try:
            steps = execute_inputs(obj, line_keys=host.device.line_keys, settings=host.settings)
        except XmlError as exc:
            raise XmlPushError(400, str(exc)) from None
        log.info("XML push (%s): Execute %s", via, ", ".join(obj.items))
        for item in steps:
            if isinstance(item, PlayWav):
                log.info("XML push: Wav.Play:%s not played (the sound part plays tones only)",
                         item.url)
            else:
                host.post(item)  # type: ignore[arg-type]
        return
    log.info("XML push (%s): %s", via, type(obj).__name__)
    host.post(PushXml(obj, via))


def push_settings(settings: Mapping[str, object]) -> Mapping[str, object]:
    """The settings as the remote-control ladder reads them for a push (see the module doc)."""
    view = dict(settings)
    servers = str(settings.get("push_xml.server", "") or "")
    if servers.strip():
        view["features.action_uri_limit_ip"] = servers
    user = str(settings.get("push_xml.username", "") or "")
    if user:
        view["static.security.user_name.admin"] = user
        view["static.security.user_password"] = f"{user}:{settings.get('push_xml.password', '')}"
        view["deskphone.action_uri_require_auth"] = True
    return view


def sip_push_allowed(settings: Mapping[str, object], peer: str) -> str | None:
    """Why a NOTIFY push from ``peer`` (already past the ladder) is refused, or None."""
    if not settings.get("push_xml.sip_notify", False):
        return "XML push over SIP NOTIFY is off (push_xml.sip_notify = 0)"
    servers = str(settings.get("push_xml.server", "") or "")
    try:
        if servers.strip() and not trusted_sources(servers).allows(peer):
            return "not a push XML server of this phone (push_xml.server)"
    except TrustListError:
        return "push_xml.server is not a valid list"
    return None


def from_notify(host: PhoneHost, body: bytes, peer: str) -> tuple[int, str | None]:
    """A trusted NOTIFY's object: (SIP status, the reason of a refusal)."""
    refused = sip_push_allowed(host.settings, peer)
    if refused is not None:
        return 403, refused
    try:
        deliver(host, parse_object(body), f"SIP NOTIFY from {peer}")
    except XmlPushError as exc:
        return exc.status, str(exc)
    return 200, None


# ------------------------------------------------------------------ HTTP

async def read_body(request: Any) -> bytes | None:
    """The POST body, None when larger than MAX_BODY."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    data = await request.content.read(MAX_BODY + 1)
    return None if len(data) > MAX_BODY else data


def object_bytes(body: bytes, content_type: str, form: list[tuple[str, str]]) -> bytes:
    """The XML of a push request: the form field ``xml=``, or the raw body.

    Yealink's own push samples (and pushers copied from them) send ``xml=<object>``
    unencoded under ``Content-Type: text/xml``: the prefix is dropped there too."""
    field = next((v for k, v in form if k == "xml"), None)
    if field is not None:
        return field.encode("utf-8")
    stripped = body.lstrip()
    if stripped[:4].lower() == b"xml=":
        return stripped[4:]
    if content_type == "application/x-www-form-urlencoded" and not stripped.startswith(b"<"):
        raise XmlPushError(400, "a form push needs the field xml=<object>")
    return body


def gate(settings: Mapping[str, object], peer: str | None, header: str | None, method: str,
         path: str, locked_out: bool) -> tuple[Action, Why | None, str | None, bool]:
    """The ladder for an HTTP push: (action, why, source id, credentials accepted)."""
    view = push_settings(settings)
    facts = RemoteRequest(login=auth.header_login(view, header, method, REALM),
                          locked_out=locked_out,
                          admin_password_set=auth.admin_account(view) is not None)
    decision = decide(Source(Transport.HTTP, peer), facts, view)
    return decision.action, decision.why, decision.source, decision.credentials_accepted


# ------------------------------------------------------------------ fetches

class XmlFetcher:
    """Runs ``FetchXml``: GET the URI, parse what comes, push it. One at a time; newest wins."""

    def __init__(self, host: PhoneHost, timeout: float = FETCH_TIMEOUT) -> None:
        self.host = host
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None

    def execute(self, effect: FetchXml) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self._fetch(effect.uri))

    async def _fetch(self, uri: str) -> None:
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(uri, headers={"Accept": "text/xml"}) as resp:
                    if resp.status != 200:
                        log.warning("XML fetch %s: HTTP %d", uri, resp.status)
                        return
                    data = await resp.content.read(MAX_XML + 1)
            deliver(self.host, parse_object(data), f"fetched {uri}")
        except XmlPushError as exc:
            log.warning("XML fetch %s: %s", uri, exc)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("XML fetch %s failed: %s", uri, exc or type(exc).__name__)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)



async def handle_http(servlet: Any, request: web.Request, query: list[tuple[str, str]],
                      peer: str | None) -> web.Response:
    """``/servlet?push=xml``: the ladder, then the object.

    ``servlet`` is the ``net.servlet.Servlet`` that routed the request here: its host, login
    throttle, clock and refusal answers are the Action URI's."""
    def text(status: int, message: str) -> web.Response:
        return web.Response(status=status, text=message + "\n", content_type="text/plain")

    if next((v for k, v in query if k == "push"), "").lower() != "xml":
        return text(400, "Bad request: push takes only 'xml' (/servlet?push=xml)")
    if request.method != "POST":
        return text(405, "XML push needs a POST with the object as its body")
    body = await read_body(request)
    if body is None:
        return text(413, f"request body larger than {MAX_BODY} bytes")
    settings = servlet.host.settings
    now = servlet.clock()
    sid = Source(Transport.HTTP, peer).id
    action, why, source, accepted = gate(
        settings, peer, request.headers.get("Authorization"), request.method,
        request.path_qs, sid is not None and servlet.throttle.locked(sid, now))
    if accepted and sid is not None:
        servlet.throttle.succeeded(sid)
    if action is not Action.ACT:
        if action is Action.ASK and source is not None:
            ask_user(servlet.host, source, via="XML push")
        refusal = servlet._refusal(Decision(action, why, source), peer, now)
        if refusal.status == 401:
            # Digest first: clients that take only the first challenge (aiohttp's) pick it.
            basic = refusal.headers.popall("WWW-Authenticate", [])
            refusal.headers.add("WWW-Authenticate", http_digest.challenge(REALM))
            for challenge in basic:
                refusal.headers.add("WWW-Authenticate", challenge)
        return refusal
    ctype = request.content_type
    form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) \
        if ctype == "application/x-www-form-urlencoded" else []
    try:
        obj = parse_object(object_bytes(body, ctype, form))
        deliver(servlet.host, obj, f"HTTP from {source}")
    except XmlPushError as exc:
        return text(exc.status, f"Bad request: {exc}" if exc.status == 400 else str(exc))
    return text(200, "OK")
