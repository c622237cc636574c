"""The ready-made key maps, kept here for the evdev keypad's callers; config/ owns them."""

from ..config.board_input import KEYMAPS, build_keymap

__all__ = ["KEYMAPS", "build_keymap"]
