"""Where the effective settings come from, in order: the config directory, then the files
auto provisioning installed in the state directory, then the runtime state.

Kept in config/ so that ``check-config``, the settings writer and provisioning
read the layers one way, and config/ needs nothing of net/.
"""

from __future__ import annotations

from pathlib import Path

from .settings import Settings
from .store import StateStore
from .yealink_cfg import LoadedConfig, apply_parsed, config_files, load_config_dir, parse_cfg

PROVISIONED = "provisioned"     # the state directory's link to the installed provisioned set
ORDER_FILE = ".order"           # in a set: its files' names, one a line, in the order read


def provisioned_files(directory: Path, mac: str) -> list[Path]:
    """The files of an installed set in the order they were fetched (later ones win).

    A set from before the order file existed is read as a config directory is.
    """
    order = directory / ORDER_FILE
    if not order.is_file():
        return config_files(directory, mac)
    names = [n for n in order.read_text(encoding="utf-8").split("\n") if n and "/" not in n]
    return [directory / n for n in names if (directory / n).is_file()]


def load_layers(config_dir: Path, state_dir: Path, mac: str) -> LoadedConfig:
    """The config directory, then what provisioning fetched into the state directory."""
    loaded = load_config_dir(config_dir, mac)
    extra = state_dir / PROVISIONED
    if extra.is_dir():
        for file in provisioned_files(extra, mac):
            name = f"{PROVISIONED}/{file.name}"     # so check-config says where a value came from
            text = file.read_text(encoding="utf-8", errors="replace")
            apply_parsed(loaded, parse_cfg(text, name))
            loaded.files.append(name)
    return loaded


def load_settings(config_dir: Path, state_dir: Path, mac: str,
                  store: StateStore | None = None) -> tuple[LoadedConfig, Settings]:
    """The files' layers and the settings they make, with ``store``'s runtime state on top."""
    loaded = load_layers(config_dir, state_dir, mac)
    overrides = store.load() if store is not None else {}
    return loaded, Settings.build(loaded, overrides)
