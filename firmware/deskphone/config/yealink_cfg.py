"""Read, merge and write Yealink ``.cfg`` files.

A Yealink configuration file is UTF-8 text whose first line is
``#!version:1.0.0.1``, followed by ``key = value`` lines. A phone reads the
common file ``y0000000000xx.cfg`` (xx = model code) and then its own
``<mac>.cfg``; later files win. ``load_config_dir`` does the same with a local
directory (auto provisioning over the network lives in ``net/provisioning.py``).

``overwrite_mode`` is read like any other key we do not use (ignored): every
load starts from the factory defaults anyway, which is what
``overwrite_mode = 1`` asks a Yealink phone for.

Reading never raises for bad content: every problem becomes a ConfigError (with
file, line and key) in a list, so ``check-config`` can show all of them at once
and the phone can still start with whatever is valid.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from .schema import BLANKS, EMPTY_MARKERS, format_value, lookup, parse_value

HEADER = "#!version:1.0.0.1"
COMMON_FILE = re.compile(r"y0000000000[0-9a-f]{2}\.cfg", re.IGNORECASE)
# "include:config <url>" pulls further files in on a real phone. We keep such a
# line as an ignored entry: this reader never goes to the network.
INCLUDE_DIRECTIVE = "include:config"
_MAC = re.compile(r"[0-9a-f]{12}")
USER_PASSWORD = "static.security.user_password"
OTHER_USERS = ("user", "var")                   # Yealink's users besides the admin
OTHER_USERS_PREFIX = "deskphone.user_password."
# Kinds for which "" cannot be a value, so a blank line value means "factory default".
_BLANK_MEANS_DEFAULT = ("bool", "int", "enum")


@dataclass(frozen=True)
class CfgEntry:
    key: str
    value: str  # raw text; %NULL% / %EMPTY% already turned into ""
    line: int


@dataclass
class ParsedCfg:
    filename: str
    entries: list[CfgEntry] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


def _split_lines(text: str) -> list[str]:
    # Only "\n" ends a line (CR is stripped below): str.splitlines would also
    # break on form feeds and Unicode separators that may sit inside a value.
    return text.split("\n")


def parse_cfg(text: str, filename: str) -> ParsedCfg:
    """Split ``text`` into entries; syntax problems become errors, never exceptions."""
    parsed = ParsedCfg(filename)
    lines = _split_lines(text.removeprefix("\ufeff"))
    if lines[0].rstrip(BLANKS) != HEADER:
        # Without the header a Yealink phone ignores the whole file; so do we.
        parsed.errors.append(ConfigError(
            f"first line must be {HEADER!r}: not a Yealink config file, ignored",
            file=filename, line=1))
        return parsed
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip(BLANKS)
        # Only a line that *starts* with "#" is a comment: values may hold "#"
        # (URL fragments) and "=" (query strings).
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(INCLUDE_DIRECTIVE):
            # include:config "http://server/dir/file.cfg" (the quotes are Yealink's, optional)
            rest = stripped.removeprefix(INCLUDE_DIRECTIVE).strip(BLANKS + "=").strip('"')
            parsed.entries.append(CfgEntry(INCLUDE_DIRECTIVE, rest, number))
            continue
        key, sep, value = stripped.partition("=")
        key = key.strip(BLANKS)
        if not sep:
            parsed.errors.append(ConfigError("expected 'key = value'", file=filename, line=number))
            continue
        if not key or any(c.isspace() for c in key):
            parsed.errors.append(ConfigError(f"bad key {key!r}", file=filename, line=number))
            continue
        value = value.strip(BLANKS)
        parsed.entries.append(CfgEntry(key, "" if value in EMPTY_MARKERS else value, number))
    return parsed


def _decode(data: bytes, filename: str) -> str | ConfigError:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ConfigError("not valid UTF-8 text", file=filename, line=line)


@dataclass
class LoadedConfig:
    """What a config directory says: valid typed values, and everything else it held."""
    directory: Path
    files: list[str] = field(default_factory=list)  # names of the files read, in order
    values: dict[str, object] = field(default_factory=dict)
    origins: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (file, line)
    ignored: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, key)
    errors: list[ConfigError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def normalize_mac(mac: str) -> str | None:
    """``00:15:65:AA:BB:CC`` (or with dashes, or bare) as ``001565aabbcc``; None if not a MAC."""
    bare = re.sub(r"[:.\-]", "", mac.strip()).lower()
    return bare if _MAC.fullmatch(bare) else None


def config_files(directory: Path, mac: str | None) -> list[Path]:
    """The files a phone with ``mac`` reads from ``directory``, in the order it reads them."""
    names = sorted(p.name for p in directory.iterdir() if p.is_file())
    common = sorted((n for n in names if COMMON_FILE.fullmatch(n)), key=lambda n: (n.lower(), n))
    own = [n for n in names if mac is not None and n.lower() == mac + ".cfg"]
    return [directory / n for n in common + own]


def apply_parsed(loaded: LoadedConfig, parsed: ParsedCfg) -> None:
    """Merge one parsed file into ``loaded``: its valid values win over earlier ones."""
    loaded.errors.extend(parsed.errors)
    for entry in map(_per_user, parsed.entries):
        try:
            spec = lookup(entry.key)
            if spec is None:
                pass
            elif entry.value == "" and spec.kind in _BLANK_MEANS_DEFAULT:
                # Yealink templates leave many keys blank ("account.1.sip_server.1.port =");
                # a phone then keeps its factory value, and so do we.
                value = spec.default
            else:
                value = parse_value(spec, entry.value)
        except ConfigError as exc:
            # A bad value leaves the earlier (or default) value in force.
            loaded.errors.append(ConfigError(exc.message, file=parsed.filename,
                                             line=entry.line, key=entry.key))
            continue
        if spec is None:
            loaded.ignored.append((parsed.filename, entry.line, entry.key))
        else:
            loaded.values[entry.key] = value
            loaded.origins[entry.key] = (parsed.filename, entry.line)


def _per_user(entry: CfgEntry) -> CfgEntry:
    """``static.security.user_password = user:PW`` sets the user's password, not the admin's.

    Yealink templates carry one line per user (FusionPBX: var, admin, user; Wazo: user,
    admin): a later ``user:`` or ``var:`` line must not replace the admin password.
    """
    if entry.key == USER_PASSWORD:
        owner, sep, password = entry.value.partition(":")
        if sep and owner in OTHER_USERS:
            return CfgEntry(f"{OTHER_USERS_PREFIX}{owner}", password, entry.line)
    return entry


def load_config_dir(path: Path | str, mac: str) -> LoadedConfig:
    """Read the common files, then ``<mac>.cfg``, from ``path``. Never raises for bad content."""
    directory = Path(path)
    loaded = LoadedConfig(directory)
    if not directory.is_dir():
        loaded.errors.append(ConfigError("config directory not found", file=str(directory)))
        return loaded
    own_mac = normalize_mac(mac)
    if own_mac is None:
        loaded.errors.append(ConfigError(f"not a MAC address: {mac!r}; <mac>.cfg not read",
                                         file=str(directory)))
    try:
        files = config_files(directory, own_mac)
    except OSError as exc:
        loaded.errors.append(ConfigError(f"cannot list: {exc.strerror}", file=str(directory)))
        return loaded
    for file in files:
        try:
            text = _decode(file.read_bytes(), file.name)
        except OSError as exc:
            text = ConfigError(f"cannot read: {exc.strerror}", file=file.name)
        if isinstance(text, ConfigError):
            loaded.errors.append(text)
            continue
        loaded.files.append(file.name)
        apply_parsed(loaded, parse_cfg(text, file.name))
    return loaded


def render_cfg(values: Mapping[str, object], comment: str = "") -> str:
    """``values`` as the text of a .cfg file, keys sorted. Raises ConfigError for a bad pair."""
    lines = [HEADER]
    if comment:
        lines += [f"# {line}" for line in comment.splitlines()]
    for key in sorted(values):
        spec = lookup(key)
        if spec is None:
            raise ConfigError("not a setting this phone knows", key=key)
        lines.append(f"{key} = {format_value(spec, values[key])}".rstrip(BLANKS))
    return "\n".join(lines) + "\n"


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (the directory entry is data too)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves either the old or the new file.

    Temp file in the same directory (so os.replace is a rename on one file
    system), data fsynced before the rename, directory fsynced after it.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_directory(path.parent)


def write_cfg(path: Path | str, values: Mapping[str, object], comment: str = "") -> None:
    """Write ``values`` (typed, or as text) to ``path`` as a Yealink .cfg file, atomically."""
    atomic_write_text(path, render_cfg(values, comment))
