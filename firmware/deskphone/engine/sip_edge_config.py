"""The SIP edge's kamailio configuration, worked out from the settings (sans-I/O).

The edge is a kamailio standing on the phone's SIP address and port
(``sip.listen_port`` on the ``--bind`` address, or the phone's IP). baresip
listens behind it on loopback (``127.0.0.1:<inner port>``) and uses the
edge's loopback socket as its outbound proxy, so everything the phone's SIP
stack says and hears passes the edge:

- ``NOTIFY`` out of dialog with ``Event: ACTION-URI``, ``check-sync``,
  ``Yealink-xml`` or ``message-summary`` (unsolicited voicemail) from outside
  goes to the phone's own NOTIFY listener, with the transport source the edge
  saw in ``X-Deskphone-Source: <proto> <address>:<port>``; the listener reads
  it only from the edge's loopback socket, and the edge removes any such header
  a request from outside brings;
- every other request from outside whose target is the phone goes to baresip;
  anything else from outside (a request for another host: relaying) gets 403;
- requests from baresip go out to where they are addressed (through the
  account's outbound proxy when it has one), dialog-forming ones record-routed
  so a dialog's later requests pass the edge both ways;
- the Contact baresip writes (its loopback address) is rewritten to the edge's
  public one in what leaves the phone, and back in what reaches baresip, so a
  registrar stores the address a PBX can reach and baresip finds its own
  Contact in the registrar's answers.

Memory is set on the command line (``-m`` shared, ``-M`` private per process,
in MB) and the process count kept at one worker per transport: the edge carries
one phone's traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from ..core.accounts import Account, enabled_accounts

# The Events a PBX sends to the registered contact that the phone (not baresip) takes.
PHONE_EVENTS = ("action-uri", "check-sync", "yealink-xml", "message-summary")
SOURCE_HEADER = "X-Deskphone-Source"
MODULES = ("tm.so", "sl.so", "rr.so", "maxfwd.so", "textops.so", "siputils.so", "pv.so",
           "sanity.so")
# kamcmd's control socket costs a process of its own: only when asked for (debugging).
CTL_MODULES = ("ctl.so", "kex.so")
SHM_MB = 8              # kamailio's shared memory (-m): transactions, TCP connections
PKG_MB = 2              # private memory per process (-M): parsing one message at a time
TCP_MAX_CONNECTIONS = 32
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")


class EdgeConfigError(ValueError):
    pass


@dataclass(frozen=True)
class OutboundRoute:
    """An account with an outbound proxy: requests with this From go there first."""
    user: str
    domain: str
    proxy: str              # sip:host[:port][;transport=tcp]


@dataclass(frozen=True)
class EdgeConfig:
    public_host: str        # where the edge listens for the world (an address)
    public_port: int        # sip.listen_port
    inner_port: int         # the edge's loopback socket, baresip's outbound proxy
    phone_port: int         # baresip's loopback SIP port
    notify_host: str        # the phone's NOTIFY listener
    notify_port: int
    module_dir: str
    ctl_socket: str | None = None   # kamcmd's unix socket, if wanted (a process more)
    tcp: bool = True                # an account uses TCP (two processes more)
    outbound: tuple[OutboundRoute, ...] = field(default_factory=tuple)

    @property
    def inner_socket(self) -> str:
        return f"127.0.0.1:{self.inner_port}"

    def render(self) -> str:
        for host in (self.public_host, self.notify_host):
            if not _HOST.match(host):
                raise EdgeConfigError(f"not an address: {host!r}")
        pub = _hostport(self.public_host, self.public_port)
        phone = f"127.0.0.1:{self.phone_port}"
        events = "|".join(PHONE_EVENTS)
        # baresip's loopback Contact becomes the edge's public one on the way out.
        loop_re = f"@127\\.0\\.0\\.1:{self.phone_port}([;>])"
        out_contact = f'subst_hf("Contact", "/{loop_re}/@{pub}\\1/", "a");'
        protos = ("udp", "tcp") if self.tcp else ("udp",)
        lines = [
            "#!KAMAILIO",
            "# Written by deskphone before every start of the SIP edge: edits here do not last.",
            "debug=1", "log_stderror=yes", "fork=yes", "children=1", "tcp_children=1",
            "auto_aliases=no", "dns=no", "rev_dns=no", "use_dns_cache=off",
            "disable_tcp=" + ("no" if self.tcp else "yes"),
            f"tcp_max_connections={TCP_MAX_CONNECTIONS}",
            "tcp_connection_lifetime=3605", "tls_max_connections=0",
            "server_header=\"Server: deskphone-edge\"", "user_agent_header=\"User-Agent: "
            "deskphone-edge\"",
        ]
        for proto in protos:
            lines.append(f"listen={proto}:{pub}")
            lines.append(f"listen={proto}:{self.inner_socket}")
        lines.append(f'mpath="{self.module_dir.rstrip("/")}/"')
        lines += [f'loadmodule "{m}"' for m in MODULES]
        if self.ctl_socket:
            lines += [f'loadmodule "{m}"' for m in CTL_MODULES]
            lines.append(f'modparam("ctl", "binrpc", "unix:{self.ctl_socket}")')
        lines += [
            'modparam("tm", "fr_timer", 8000)',
            'modparam("tm", "fr_inv_timer", 180000)',
            'modparam("rr", "enable_full_lr", 1)',
            "",
            "request_route {",
            '    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops");'
            " exit; }",
            f"    if ($Rp == {self.inner_port}) {{",
            '        if ($si == "127.0.0.1") { route(FROM_PHONE); }',
            "        exit;                  # the loopback socket is the phone's alone",
            "    }",
            "    route(FROM_OUTSIDE);",
            "}",
            "",
            "route[FROM_OUTSIDE] {",
            f'    remove_hf("{SOURCE_HEADER}");',
            '    if (!sanity_check("17895", "7")) { exit; }',
            "    if (is_method(\"CANCEL\")) { if (t_check_trans()) { route(TO_PHONE); } exit; }",
            f'    if (is_method("NOTIFY") && !has_totag() && $(hdr(Event){{s.tolower}}) =~ '
            f'"^[[:space:]]*({events})[[:space:]]*(;.*)?$") {{',
            f'        append_hf("{SOURCE_HEADER}: $pr $siz:$sp\\r\\n");',
            f'        $du = "sip:{_hostport(self.notify_host, self.notify_port)}";',
            f"        force_send_socket(udp:{self.inner_socket});",
            "        forward();             # stateless: a flood the listener drops holds nothing",
            "        exit;",
            "    }",
            "    if (!is_method(\"ACK\")) { t_check_trans(); }",
            "    if (has_totag()) { loose_route(); }",
            '    if (!(uri == myself)) { sl_send_reply("403", "Not relaying"); exit; }',
            '    if (!has_totag() && is_method("INVITE|SUBSCRIBE|REFER")) { record_route(); }',
            f'    $rd = "127.0.0.1"; $rp = {self.phone_port};',
            '    t_on_reply("FROM_PHONE_REPLY");',
            "    route(TO_PHONE);",
            "}",
            "",
            "route[TO_PHONE] {",
            f'    $du = "sip:{phone}"; force_send_socket(udp:{self.inner_socket});',
            *([f'    if ($pr != "udp") {{ $du = "sip:{phone};transport=tcp";'
               f" force_send_socket(tcp:{self.inner_socket}); }}"] if self.tcp else []),
            "    if (!t_relay()) { sl_reply_error(); }",
            "    exit;",
            "}",
            "",
            "route[FROM_PHONE] {",
            '    if (is_method("OPTIONS") && uri == myself && $rU == $null) {',
            '        sl_send_reply("200", "OK"); exit;          # the phone asks: is the edge up?',
            "    }",
            "    if (is_method(\"CANCEL\")) { if (t_check_trans()) { route(OUT); } exit; }",
            "    if (!is_method(\"ACK\")) { t_check_trans(); }",
            "    loose_route();",
            '    if (!has_totag() && is_method("INVITE|SUBSCRIBE|REFER")) { record_route(); }',
            f"    {out_contact}",
        ]
        for route in self.outbound:
            lines.append(f'    if (!has_totag() && $(hdr(Route)) == $null && $fU == "{route.user}"'
                         f' && $fd == "{route.domain}") {{ $du = "{route.proxy}"; }}')
        lines += [
            '    t_on_reply("TO_PHONE_REPLY");',
            "    route(OUT);",
            "}",
            "",
            "route[OUT] {",
            f"    force_send_socket(udp:{pub});",
            "    if (!t_relay()) { sl_reply_error(); }",
            "    exit;",
            "}",
            "",
            "onreply_route[FROM_PHONE_REPLY] {",
            f"    {out_contact}",
            "}",
            "",
            "onreply_route[TO_PHONE_REPLY] {",
            f'    subst_hf("Contact", "/@{re.escape(pub)}([;>])/@{_escape(phone)}\\1/", "a");',
            "}",
        ]
        return "\n".join(lines) + "\n"


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\")


def outbound_routes(settings: Mapping[str, object]) -> tuple[OutboundRoute, ...]:
    """The enabled accounts' outbound proxies (the edge, not baresip, sends through them)."""
    routes = []
    for acc in enabled_accounts(settings):
        if acc.outbound_proxy_enable and acc.outbound_host and acc.user_name \
                and _HOST.match(acc.outbound_host) and _HOST.match(acc.server) \
                and re.match(r"^[A-Za-z0-9._~+\-!$&'()*=,%]+$", acc.user_name):
            routes.append(OutboundRoute(acc.user_name, acc.server, _proxy_uri(acc)))
    return tuple(routes)


def _proxy_uri(acc: Account) -> str:
    host = acc.outbound_host
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    port = f":{acc.outbound_port}" if acc.outbound_port not in (0, 5060) else ""
    proto = {1: ";transport=tcp"}.get(acc.transport, "")
    return f"sip:{host}{port}{proto}"


def uses_tcp(settings: Mapping[str, object]) -> bool:
    """An enabled account uses TCP: the edge listens on TCP too (else UDP is all a PBX
    reaches the registered contact by, and two kamailio processes are saved)."""
    return any(acc.transport == 1 for acc in enabled_accounts(settings))


def uses_tls(settings: Mapping[str, object]) -> bool:
    """An enabled account uses TLS: the edge (no tls module loaded) cannot carry it."""
    return bool(tls_accounts(settings))


def tls_accounts(settings: Mapping[str, object]) -> tuple[int, ...]:
    """The enabled accounts that use TLS, by number."""
    return tuple(acc.index for acc in enabled_accounts(settings) if acc.transport == 2)


def edge_restart_note(settings: Mapping[str, object], edge_running: bool) -> str | None:
    """What to tell the user when the settings now want the edge off but it runs (it is
    chosen at start, ``PhoneApp._make_sip_edge``): None when nothing is to be said."""
    if not edge_running:
        return None
    accounts = tls_accounts(settings)
    if accounts:
        which = ", ".join(str(n) for n in accounts)
        return (f"account {which} uses TLS, which the SIP edge (on since the phone started) "
                "does not carry: it registers once the phone restarts (Reboot)")
    if not settings.get("deskphone.sip_edge.enable", True):
        return "deskphone.sip_edge.enable = 0 takes effect when the phone restarts (Reboot)"
    return None


def command_line(config_file: str, workdir: str, *, shm_mb: int = SHM_MB,
                 pkg_mb: int = PKG_MB) -> list[str]:
    """kamailio in the foreground (``-DD``), logging to stderr, with its memory capped;
    its runtime files in ``workdir`` too (``-Y``: the default, /var/run/kamailio, is not
    the service user's to create). No PID file (``-P``): kamailio chowns it, and the
    unit's ``SystemCallFilter=~@privileged`` refuses chown; the phone knows the pid."""
    return ["kamailio", "-f", config_file, "-w", workdir, "-Y", workdir,
            "-DD", "-E", "-m", str(shm_mb), "-M", str(pkg_mb)]
