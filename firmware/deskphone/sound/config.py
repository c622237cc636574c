"""The board's ``[sound]`` section as the sound adapters and the engine read it; config/ owns
its check (config/board_sound.py), so a board is checked without importing sound/."""

from ..config.board_sound import (DEFAULT_CHANNELS, DEFAULT_SRATE, KEYS, ROUTES, RouteDevice,
                                  SoundConfig, parse_sound)

__all__ = ["DEFAULT_CHANNELS", "DEFAULT_SRATE", "KEYS", "ROUTES", "RouteDevice", "SoundConfig",
           "parse_sound"]
