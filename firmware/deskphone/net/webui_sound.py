"""The web page "Sound": the volume of each context (ring, handset, speaker, headset, tones).

``deskphone.volume.<context>``, 0..15, as the volume key sets them; saved through
the writer, so the next ring or call plays at the new level.
"""

from __future__ import annotations

from ..config.schema import VOLUME_CONTEXTS, VOLUME_STEPS
from .webui_base import Field, settings_page

LABELS = {"ring": "Ringer", "handset": "Handset", "speaker": "Hands-free speaker",
          "headset": "Headset", "tones": "Key and call-progress tones"}


def fields() -> list[Field]:
    return [Field(f"deskphone.volume.{c}", LABELS.get(c, c.capitalize()),
                  f"0 to {VOLUME_STEPS}") for c in VOLUME_CONTEXTS]


PAGES = (settings_page("sound", "Sound", fields),)
