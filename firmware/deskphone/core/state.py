"""The phone's state: what it knows about itself, its calls and its screen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceInfo:
    mac: str                 # 12 lower-case hex digits, as Yealink's $mac
    model: str
    firmware: str
    ip: str = ""
    line_keys: int = 2
