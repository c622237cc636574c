"""A read-only view of the SIP accounts in the settings (Yealink ``account.N.*`` keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

MAX_ACCOUNTS = 6


@dataclass(frozen=True)
class Account:
    index: int
    enabled: bool
    label: str
    display_name: str
    user_name: str
    auth_name: str
    password: str
    server: str
    port: int

    @property
    def host(self) -> str:
        return self.server if self.port in (0, 5060) else f"{self.server}:{self.port}"

    @property
    def uri(self) -> str:
        """``sip:user@host`` as Yealink reports it in ``$active_url``."""
        return f"sip:{self.user_name}@{self.host}" if self.user_name else ""

    @property
    def title(self) -> str:
        return self.label or self.display_name or self.user_name or f"Account {self.index}"


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
    )


def enabled_accounts(settings: Mapping[str, object]) -> list[Account]:
    return [a for n in range(1, MAX_ACCOUNTS + 1) if (a := account(settings, n)).enabled]
