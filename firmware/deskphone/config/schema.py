"""Every configuration key the phone understands, with its type, default and limits.

The names are Yealink's own ``.cfg`` keys, so a provisioning file written for a
Yealink phone configures this one too; keys of our own carry the ``deskphone.``
prefix. Families are generated, not typed out: the 44 ``action_url.*`` keys come
from the event catalogue (``core/events.py``) and the account keys from one
list of suffixes times ``MAX_ACCOUNTS``.

Which keys are errors and which are merely ignored (see ``lookup``):
  * a key in ``SCHEMA`` is used;
  * a key in a family we own but not valid (``action_url.foo``,
    ``account.99.label``, ``deskphone.engnie``) is an error: it is almost
    certainly a typo that would otherwise silently do nothing;
  * any other key (``lang.gui``, ``account.1.codec.1.enable``, ... real
    provisioning files carry hundreds) is ignored and reported as such.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Callable, Literal

from ..core.events import BY_CFG_KEY, CFG_PREFIX as ACTION_URL_PREFIX
from ..core.accounts import MAX_ACCOUNTS, TRANSPORTS  # noqa: F401 (re-exported)
from ..core.trust import TRUST_PREFIX, trust_key  # noqa: F401 (re-exported; one definition)
from ..core.state import DEFAULT_VOLUME, VOLUME_CONTEXTS, VOLUME_STEPS
from ..core.tones import OVERRIDE_KEYS as TONE_KEYS, check_tone
from ..core.keys import MAX_LINE_KEYS
from ..errors import ConfigError

Kind = Literal["bool", "int", "str", "url", "iplist", "enum", "secret"]

ACTION_URL_MAX_LEN = 511  # Yealink: "URL within 511 characters"
STR_MAX_LEN = 255  # our own sane limit for names, hosts and paths
PROJECT_PREFIX = "deskphone."
TRUST_CHOICES = ("allow", "deny")

# Yealink templates spell an empty value like this.
EMPTY_MARKERS = ("%NULL%", "%EMPTY%")
# The .cfg reader strips exactly these around values, so parse_value does too:
# the same value must come out whether it came from a file, the store or a form.
BLANKS = " \t\r\f\v"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed inside a value
_INT = re.compile(r"-?[0-9]+")  # int() would also take "+5", "5_0" and non-ASCII digits


@dataclass(frozen=True)
class KeySpec:
    """One key: its type and what values it takes. ``secret`` values are never printed."""
    key: str
    kind: Kind
    default: object
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    secret: bool = False
    # Extra format check for one key: returns an error message or None.
    check: Callable[[str], str | None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "secret" and not self.secret:
            object.__setattr__(self, "secret", True)


# --- value checks -------------------------------------------------------------

def _show(spec: KeySpec, raw: str) -> str:
    """The raw value for an error message: never a secret, never a page of text."""
    if spec.secret:
        return "(secret value not shown)"
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


def _check_url(value: str) -> str | None:
    if "://" not in value:
        value = "http://" + value       # the firmware puts http:// before a bare host/path
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        got = scheme if sep else value[:20]
        return f"URL must start with http:// or https:// (got {got!r})"
    if not rest or rest.startswith("/"):
        return "URL has no host"
    return None


_IPV4_WILDCARD = re.compile(r"(\*|[0-9]{1,3})(\.(\*|[0-9]{1,3})){3}")


def _check_ip_item(item: str) -> str | None:
    if _IPV4_WILDCARD.fullmatch(item):  # Yealink's 10.10.*.*
        if all(p == "*" or int(p) <= 255 for p in item.split(".")):
            return None
        return f"bad IPv4 address {item!r}"
    try:
        if "/" in item:
            ipaddress.ip_network(item, strict=False)
        else:
            ipaddress.ip_address(item)
    except ValueError:
        return f"not an IP address, wildcard (10.1.*.*) or CIDR block: {item!r}"
    return None


def _check_iplist(value: str) -> str | None:
    if value == "" or value.lower() == "any":
        return None
    for item in (i.strip(BLANKS) for i in value.split(",")):
        if item == "":
            return "empty entry in the list (two commas in a row or a trailing comma)"
        if item.lower() == "any":
            return "'any' must be the whole list, not one entry of it"
        if (problem := _check_ip_item(item)) is not None:
            return problem
    return None


def _check_prov_url(value: str) -> str | None:
    # Yealink's provisioning server: http, https, tftp or ftp (a bare host means tftp there;
    # here it must say which).
    scheme, sep, rest = value.partition("://")
    if value and (not sep or scheme.lower() not in ("http", "https", "tftp", "ftp")):
        return "URL must start with http://, https://, tftp:// or ftp://"
    if value and (not rest or rest.startswith("/")):
        return "URL has no host"
    return None


def _check_hhmm(value: str) -> str | None:
    if value and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        return "expected a time of day as HH:MM (00:00 to 23:59)"
    return None


def _check_days(value: str) -> str | None:
    # Yealink: the days as digits, 0 = Sunday ... 6 = Saturday ("0123456" = every day).
    if value and not re.fullmatch(r"[0-6]{1,7}", value):
        return "expected days as digits 0 (Sunday) to 6 (Saturday), e.g. 12345"
    return None


def _check_user_password(value: str) -> str | None:
    # Yealink's static.security.user_password is "<user>:<password>".
    if value and (":" not in value or value.startswith(":")):
        return "expected the Yealink form user:password"
    return None


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})"
                       r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?")


_DIAL_CODE = re.compile(r"[0-9*#]*")
_BLF_VALUE = re.compile(r"[^\s<>\"]*")


def _check_dial_code(value: str) -> str | None:
    return None if _DIAL_CODE.fullmatch(value) else "digits, * and # only"


def _check_blf_value(value: str) -> str | None:
    # an extension, user@host or sip:URI: it goes into a SUBSCRIBE's Request-URI
    return None if _BLF_VALUE.fullmatch(value) else "no blanks, <, > or quotes"


def check_host(value: str) -> str | None:
    """A SIP server / outbound proxy: a DNS name, an IPv4 address or an IPv6 one ([...] too).

    Nothing else: the value goes into baresip's account line, where ``;`` ``<``
    ``>`` or a blank would add options of the writer's choosing (``;auth_pass=``,
    ``;mediaenc=``). The port has a key of its own.
    """
    if not value:
        return None
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(bare)
        return None
    except ValueError:
        pass
    if bare is value and _HOSTNAME.fullmatch(value) and not value.replace(".", "").isdigit():
        return None
    return f"not a host name or IP address: {value[:40]!r} (the port has its own key)"


def parse_value(spec: KeySpec, raw: str) -> object:
    """The typed value of ``raw`` (text from a .cfg line, a form or the store).

    Raises ConfigError(message, key=spec.key); the caller adds file and line.
    """
    def fail(message: str) -> ConfigError:
        return ConfigError(message, key=spec.key)

    if not isinstance(raw, str):
        raise fail(f"expected text, got {type(raw).__name__}")
    text = raw.strip(BLANKS)
    if text in EMPTY_MARKERS:
        text = ""
    if _CONTROL.search(text):
        raise fail("value contains a control character (a line break?)")

    if spec.kind == "bool":
        if text not in ("0", "1"):
            raise fail(f"expected 0 or 1, got {_show(spec, text)}")
        return text == "1"
    if spec.kind == "int":
        if not _INT.fullmatch(text):
            raise fail(f"expected a whole number, got {_show(spec, text)}")
        number = int(text)
        if (spec.min is not None and number < spec.min) or \
                (spec.max is not None and number > spec.max):
            raise fail(f"{number} out of range {spec.min}..{spec.max}")
        return number
    if spec.kind == "enum":
        if text not in spec.choices:
            raise fail(f"expected one of {', '.join(spec.choices)}, got {_show(spec, text)}")
        return text

    # str, secret, url, iplist: the text itself, checked.
    if spec.max_len is not None and len(text) > spec.max_len:
        what = "URL" if spec.kind == "url" else "value"
        raise fail(f"{what} longer than {spec.max_len} characters ({len(text)})")
    if text and spec.kind == "url" and (problem := _check_url(text)):
        raise fail(problem)
    if spec.kind == "iplist" and (problem := _check_iplist(text)):
        raise fail(problem)
    if spec.check is not None and (problem := spec.check(text)):
        raise fail(problem)
    return text


def _as_text(spec: KeySpec, value: object) -> str:
    """A typed value (or raw text) as .cfg text, without validating it."""
    if isinstance(value, str):
        return value
    if spec.kind == "bool" and isinstance(value, bool):
        return "1" if value else "0"
    if spec.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"expected a {spec.kind} value, got {type(value).__name__}", key=spec.key)


def normalize(spec: KeySpec, value: object) -> object:
    """The canonical typed value of ``value``, given typed (True, 5060) or as text ("1")."""
    return parse_value(spec, _as_text(spec, value))


def format_value(spec: KeySpec, value: object) -> str:
    """The .cfg text of ``value``; the inverse of parse_value. Raises ConfigError if invalid."""
    return _as_text(spec, normalize(spec, value))


# --- the schema -------------------------------------------------------------

def _bool(key: str, default: bool) -> KeySpec:
    return KeySpec(key, "bool", default)


def _int(key: str, default: int, lo: int, hi: int) -> KeySpec:
    return KeySpec(key, "int", default, min=lo, max=hi)


def _port(key: str, default: int) -> KeySpec:
    return _int(key, default, 1, 65535)


def _str(key: str, default: str = "", max_len: int = STR_MAX_LEN) -> KeySpec:
    return KeySpec(key, "str", default, max_len=max_len)


def _secret(key: str, **kw) -> KeySpec:
    return KeySpec(key, "secret", "", max_len=STR_MAX_LEN, **kw)


def _url(key: str, max_len: int) -> KeySpec:
    return KeySpec(key, "url", "", max_len=max_len)


def _enum(key: str, default: str, choices: tuple[str, ...]) -> KeySpec:
    return KeySpec(key, "enum", default, choices=choices)


def _account_specs(n: int) -> list[KeySpec]:
    p = f"account.{n}."
    return [
        _bool(p + "enable", False),
        _str(p + "label"),
        _str(p + "display_name"),
        _str(p + "auth_name"),
        _str(p + "user_name"),
        _secret(p + "password"),
        KeySpec(p + "sip_server.1.address", "str", "", max_len=STR_MAX_LEN, check=check_host),
        _port(p + "sip_server.1.port", 5060),
        _int(p + "sip_server.1.expires", 3600, 30, 2**31 - 1),  # Yealink's range
        _int(p + "sip_server.1.transport_type", 0, 0, len(TRANSPORTS) - 1),
        _bool(p + "outbound_proxy_enable", False),
        KeySpec(p + "outbound_host", "str", "", max_len=STR_MAX_LEN, check=check_host),
        _port(p + "outbound_port", 5060),
        # voicemail (net/mwi.py, core/voicemail.py): Yealink's MWI subscription keys
        _bool(p + "subscribe_mwi", False),
        _int(p + "subscribe_mwi_expires", 3600, 0, 84600),     # Yealink's range, seconds
        _bool(p + "subscribe_mwi_to_vm", False),    # subscribe to voice_mail.number.N instead
        _bool(p + "display_mwi.enable", True),      # the count on the idle screen
    ]


ACCOUNT_SUFFIXES: tuple[str, ...] = tuple(s.key.removeprefix("account.1.")
                                          for s in _account_specs(1))

_SPECS: list[KeySpec] = [
    *(_url(key, ACTION_URL_MAX_LEN) for key in BY_CFG_KEY),
    *(spec for n in range(1, MAX_ACCOUNTS + 1) for spec in _account_specs(n)),
    *(_str(f"voice_mail.number.{n}", max_len=32) for n in range(1, MAX_ACCOUNTS + 1)),
    _bool("phone_setting.mail_power_led_flash_enable", True),   # power LED flashes for voicemail
    # call features
    _bool("features.dnd.enable", False),
    _bool("forward.always.enable", False),
    _str("forward.always.target"),
    _bool("forward.busy.enable", False),
    _str("forward.busy.target"),
    _bool("forward.no_answer.enable", False),
    _str("forward.no_answer.target"),
    _int("forward.no_answer.timeout", 2, 1, 20),  # rings; Yealink counts 6 s a ring
    _bool("call_waiting.enable", True),
    _int("phone_setting.inter_digit_time", 4, 1, 14),  # seconds
    # line keys (BLF: core/blf.py, net/blf.py); another type acts as a plain line key
    *(spec for n in range(1, MAX_LINE_KEYS + 1) for spec in (
        _int(f"linekey.{n}.type", 15, 0, 255),           # 15 Line, 16 BLF (Yealink's types)
        _int(f"linekey.{n}.line", 1, 0, MAX_ACCOUNTS),   # the account (0: the default one)
        KeySpec(f"linekey.{n}.value", "str", "", max_len=STR_MAX_LEN, check=_check_blf_value),
        _str(f"linekey.{n}.label", max_len=64),
        KeySpec(f"linekey.{n}.extension", "str", "", max_len=32, check=_check_dial_code))),
    KeySpec("features.pickup.direct_pickup_code", "str", "", max_len=32, check=_check_dial_code),
    _int("transfer.dsskey_deal_type", 2, 0, 2),          # 0 new call, 1 attended, 2 blind
    # what the user hears (core/tones.py, sound/)
    _str("voice.tone.country"),
    *(KeySpec(key, "str", "", max_len=STR_MAX_LEN, check=check_tone) for key in TONE_KEYS.values()),
    _bool("features.key_tone", True),
    _int("features.busy_tone_delay", 3, 0, 10),  # seconds of busy tone after a call ends
    *(_int(f"deskphone.volume.{c}", DEFAULT_VOLUME, 0, VOLUME_STEPS) for c in VOLUME_CONTEXTS),
    # remote control (Action URI) and who may use it
    _bool("features.action_uri.enable", True),
    _bool("features.show_action_uri_option", True),
    KeySpec("features.action_uri_limit_ip", "iplist", "", max_len=ACTION_URL_MAX_LEN),
    _bool("sip.trust_ctrl", False),
    _port("sip.listen_port", 5060),
    _port("network.port.min_rtpport", 11780),  # RTP range (Yealink's defaults), for baresip
    _port("network.port.max_rtpport", 12780),
    _bool("security.trust_certificates", True),  # verify HTTPS certificates of Action URL receivers
    # XML push (net/xml_push.py) and remote phone books (net/phonebook.py)
    KeySpec("push_xml.server", "iplist", "", max_len=ACTION_URL_MAX_LEN),
    _bool("push_xml.sip_notify", False),
    _str("push_xml.username"),
    _secret("push_xml.password"),
    *(spec for n in range(1, 6) for spec in (
        _url(f"remote_phonebook.data.{n}.url", 1024),
        _str(f"remote_phonebook.data.{n}.name"))),
    _int("features.remote_phonebook.flash_time", 21600, 0, 1296000),  # seconds; 0: at start only
    # web server
    _port("static.network.port.http", 80),
    _port("static.network.port.https", 443),
    _bool("static.wui.http_enable", True),
    _bool("static.wui.https_enable", True),
    _str("static.security.user_name.admin", "admin"),
    _secret("static.security.user_password", check=_check_user_password),
    # auto provisioning (net/provisioning.py; when: core/lifecycle.py)
    KeySpec("static.auto_provision.server.url", "str", "", max_len=1024, check=_check_prov_url),
    _bool("static.auto_provision.power_on", False),
    _str("static.auto_provision.server.username"),          # Yealink's names
    _secret("static.auto_provision.server.password"),
    _str("static.auto_provision.user_name"),                # this phone's first spelling
    _secret("static.auto_provision.password"),
    _bool("static.auto_provision.repeat.enable", False),
    _int("static.auto_provision.repeat.minutes", 1440, 1, 43200),
    _bool("static.auto_provision.weekly.enable", False),
    KeySpec("static.auto_provision.weekly.begin_time", "str", "00:00", check=_check_hhmm),
    KeySpec("static.auto_provision.weekly.end_time", "str", "00:00", check=_check_hhmm),
    KeySpec("static.auto_provision.weekly.dayofweek", "str", "0123456",
            check=_check_days),
    _bool("static.auto_provision.dhcp_option.enable", True),
    _bool("static.auto_provision.pnp_enable", True),
    _str("deskphone.provisioning.model", "T46S", max_len=32),
    _str("deskphone.provisioning.firmware", "66.86.0.15", max_len=32),
    _str("deskphone.provisioning.lease_files", max_len=4096),  # extra DHCP lease files to read
    _secret("deskphone.user_password.user"),   # static.security.user_password = user:PW
    _secret("deskphone.user_password.var"),    # ... = var:PW (Yealink's var user)
    # our own
    _enum("deskphone.engine", "sim", ("sim", "baresip")),
    _str("deskphone.action_url.ca_file", max_len=4096),
    _int("deskphone.action_url.timeout", 5, 1, 60),  # seconds
    _int("deskphone.action_url.max_in_flight", 8, 1, 64),  # requests per host at once
    _bool("deskphone.action_uri_require_auth", False),
    _port("deskphone.sip_notify_port", 5070),
    # the SIP edge (engine/sip_edge.py): kamailio on the SIP port, NOTIFYs to the phone
    _bool("deskphone.sip_edge.enable", True),
    _int("deskphone.sip_edge.shm_mb", 8, 4, 64),     # kamailio -m (shared memory, MB)
    _int("deskphone.sip_edge.pkg_mb", 2, 1, 16),     # kamailio -M (per process, MB)
    # NOTIFYs must carry a digest of an enabled account's auth_name/password (401 first)
    _bool("deskphone.sip_notify_auth", True),
    # names the phone answers to as HTTP Host besides its addresses (DNS names, comma list)
    _str("deskphone.http_host_names"),
    # take requests that a browser marks as sent from another site's page (CSRF)
    _bool("deskphone.http_allow_cross_site", False),
    _int("deskphone.hook.debounce_ms", 30, 0, 1000),
    _enum("deskphone.log_level", "info", ("debug", "info", "warning", "error")),
]

SCHEMA: dict[str, KeySpec] = {spec.key: spec for spec in _SPECS}
assert len(SCHEMA) == len(_SPECS), "a key is listed twice"

_ACCOUNT_KEY = re.compile(r"account\.([0-9]+)\.(.+)")
_BAD_SOURCE = re.compile(r"[\s=\x00-\x1f\x7f]")


def _trust_spec(key: str) -> KeySpec:
    source = key.removeprefix(TRUST_PREFIX)
    # The key must survive a .cfg line: no "=", no blanks, no line breaks.
    if not source or _BAD_SOURCE.search(source):
        raise ConfigError("a trusted source must be non-empty, without blanks or '='", key=key)
    return KeySpec(key, "enum", "deny", choices=TRUST_CHOICES)


def _did_you_mean(key: str, prefix: str, candidates) -> str:
    # Compare what follows the shared prefix, or every candidate looks close.
    tails = {k.removeprefix(prefix): k for k in candidates}
    close = difflib.get_close_matches(key.removeprefix(prefix), list(tails), n=1)
    return f"; did you mean {tails[close[0]]}?" if close else ""


def lookup(key: str) -> KeySpec | None:
    """The spec of ``key``, or None for a key we do not use (ignored, not an error).

    Raises ConfigError(key=key) for a key in a family we own that is not valid.
    """
    spec = SCHEMA.get(key)
    if spec is not None:
        return spec
    if key.startswith(ACTION_URL_PREFIX):
        event = key.removeprefix(ACTION_URL_PREFIX)
        hint = _did_you_mean(key, ACTION_URL_PREFIX, BY_CFG_KEY)
        raise ConfigError(f"unknown Action URL event {event!r}{hint}",
                          key=key)
    if key.startswith(TRUST_PREFIX):
        return _trust_spec(key)
    if key.startswith(PROJECT_PREFIX):
        project_keys = (k for k in SCHEMA if k.startswith(PROJECT_PREFIX))
        hint = _did_you_mean(key, PROJECT_PREFIX, project_keys)
        raise ConfigError(f"unknown deskphone setting{hint}", key=key)
    match = _ACCOUNT_KEY.fullmatch(key)
    if match and match.group(2) in ACCOUNT_SUFFIXES:
        number = match.group(1)
        if str(int(number)) != number:
            raise ConfigError(f"account number {number!r} has a leading zero", key=key)
        raise ConfigError(f"account {int(number)} out of range 1..{MAX_ACCOUNTS}", key=key)
    # Some other Yealink key (account.1.codec..., lang.gui, ...): not ours to judge.
    return None
