"""A read-only view of the SIP accounts in the settings (Yealink ``account.N.*`` keys)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

MAX_ACCOUNTS = 6
TRANSPORTS = ("udp", "tcp", "tls", "dns-naptr")     # Yealink's transport_type 0..3


@dataclass(frozen=True)
class Account:
    index: int
    enabled: bool
    label: str
    display_name: str
    user_name: str
    auth_name: str
    password: str = field(repr=False)
    server: str = ""
    port: int = 5060
    expires: int = 3600
    transport: int = 0
    outbound_proxy_enable: bool = False
    outbound_host: str = ""
    outbound_port: int = 5060

    @property
    def host(self) -> str:
        """The server as it appears in a SIP URI: IPv6 in brackets, ``:port`` unless 5060."""
        server = f"[{self.server}]" if ":" in self.server and not self.server.startswith("[") \
            else self.server
        return server if self.port in (0, 5060) else f"{server}:{self.port}"

    @property
    def uri(self) -> str:
        """``sip:user@host`` as Yealink reports it in ``$active_url``."""
        if not self.server:
            return ""
        return f"sip:{self.user_name}@{self.host}" if self.user_name else f"sip:{self.host}"

    @property
    def title(self) -> str:
        """What the screen calls this account."""
        return self.label or self.display_name or self.user_name or f"Account {self.index}"

    @property
    def transport_name(self) -> str:
        return TRANSPORTS[self.transport] if 0 <= self.transport < len(TRANSPORTS) else "udp"


def account(settings: Mapping[str, object], n: int) -> Account:
    def get(key: str, default: object = "") -> object:
        return settings.get(f"account.{n}.{key}", default)

    return Account(
        index=n,
        enabled=bool(get("enable", False)),
        label=str(get("label")),
        display_name=str(get("display_name")),
        user_name=str(get("user_name")),
        auth_name=str(get("auth_name")),
        password=str(get("password")),
        server=str(get("sip_server.1.address")),
        port=int(get("sip_server.1.port", 5060) or 5060),  # type: ignore[arg-type]
        expires=int(get("sip_server.1.expires", 3600) or 3600),  # type: ignore[arg-type]
        transport=int(get("sip_server.1.transport_type", 0) or 0),  # type: ignore[arg-type]
        outbound_proxy_enable=bool(get("outbound_proxy_enable", False)),
        outbound_host=str(get("outbound_host")),
        outbound_port=int(get("outbound_port", 5060) or 5060),  # type: ignore[arg-type]
    )


def enabled_accounts(settings: Mapping[str, object]) -> list[Account]:
    """Every account with ``account.N.enable = 1``, in number order."""
    # An immutable config.Settings keeps what was derived from it (``derived``): the
    # screen asks for the accounts on every input, a servlet flood included.
    memo = getattr(settings, "derived", None)
    if isinstance(memo, dict):
        found = memo.get("enabled_accounts")
        if found is None:
            found = memo["enabled_accounts"] = tuple(_enabled_accounts(settings))
        return list(found)  # type: ignore[arg-type]
    return _enabled_accounts(settings)


def _enabled_accounts(settings: Mapping[str, object]) -> list[Account]:
    return [a for n in range(1, MAX_ACCOUNTS + 1) if (a := account(settings, n)).enabled]
