"""The effective settings: factory default <- config directory <- runtime state.

``Settings`` is an immutable mapping over every schema key (plus any
``deskphone.trust.<source>`` decisions the runtime state holds). It remembers
where each value came from, so ``check-config`` can say why a value is what it
is. A change makes a new ``Settings``; the old one stays valid for whoever
still holds it (the core compares old and new to decide which events fire).
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Iterator, Mapping

from .schema import SCHEMA, format_value, lookup, normalize
from .yealink_cfg import LoadedConfig

DEFAULT = "default"
RUNTIME = "runtime state"
HIDDEN = "********"


class Settings(Mapping[str, object]):
    """Read-only view of every setting; an unknown key raises KeyError (catches typos)."""

    __slots__ = ("_values", "_origins", "derived")

    def __init__(self, values: Mapping[str, object], origins: Mapping[str, str]) -> None:
        self._values = MappingProxyType(dict(values))
        self._origins = MappingProxyType(dict(origins))
        # What pure code derives from these values (core.accounts' enabled accounts, read
        # on every input), kept with them: a Settings never changes, so neither does that.
        self.derived: dict[str, object] = {}

    @classmethod
    def defaults(cls) -> Settings:
        return cls({k: s.default for k, s in SCHEMA.items()}, dict.fromkeys(SCHEMA, DEFAULT))

    @classmethod
    def build(cls, loaded: LoadedConfig, overrides: Mapping[str, object] = {}) -> Settings:
        """Defaults, then the valid values of ``loaded``, then ``overrides`` (the runtime state)."""
        values = {k: s.default for k, s in SCHEMA.items()}
        origins = dict.fromkeys(SCHEMA, DEFAULT)
        for key, value in loaded.values.items():
            values[key] = value
            file, line = loaded.origins.get(key, ("?", 0))
            origins[key] = f"{file}:{line}"
        return cls(values, origins).with_overrides(overrides)

    def with_overrides(self, overrides: Mapping[str, object]) -> Settings:
        """A new Settings with ``overrides`` applied; raises ConfigError for a bad one."""
        values, origins = dict(self._values), dict(self._origins)
        for key, value in overrides.items():
            spec = lookup(key)
            if spec is None:
                raise KeyError(f"unknown setting {key!r}")
            values[key] = normalize(spec, value)
            origins[key] = RUNTIME
        return Settings(values, origins)

    def origin(self, key: str) -> str:
        """Where the value of ``key`` came from: "default", "file:line" or "runtime state"."""
        self[key]  # KeyError for an unknown key
        return self._origins[key]

    def __getitem__(self, key: str) -> object:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(f"unknown setting {key!r}") from None

    def get(self, key: str, default: object = None) -> object:
        # Mapping's own get goes through __getitem__ and a caught KeyError: this is the
        # one the core calls dozens of times an input.
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = sum(1 for o in self._origins.values() if o != DEFAULT)
        return f"<Settings: {len(self)} keys, {changed} not default>"


def shown_value(key: str, value: object) -> str:
    """The value as printed for people: secrets hidden (an empty one shows as empty), and
    so is the password of a URL that carries one (``http://user:pass@host/``)."""
    spec = lookup(key)
    text = format_value(spec, value) if spec is not None else str(value)
    if spec is not None and spec.secret and text:
        return HIDDEN
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)


# scheme://user:password@ -> the password; '@' cannot occur in userinfo unencoded.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s]*:)[^/?#@\s]*@")


def describe(settings: Settings) -> list[str]:
    """``key = value    # origin`` lines, sorted, secrets hidden: for ``check-config``."""
    return [f"{key} = {shown_value(key, settings[key])}    # {settings.origin(key)}"
            for key in sorted(settings)]
