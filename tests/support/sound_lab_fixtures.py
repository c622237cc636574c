"""pytest fixtures of the sound lab (support/sound_lab.py); a test module imports those it uses."""

from __future__ import annotations

import pytest

from .sound_lab import SoundLab, build_plugin


@pytest.fixture(scope="session")
def sound_plugin(tmp_path_factory):
    return build_plugin(tmp_path_factory.getbasetemp() / "alsa-plugin")


@pytest.fixture
def sound_lab(tmp_path, sound_plugin, monkeypatch):
    """The lab's devices; ALSA_CONFIG_PATH points at them for this process and its children."""
    lab = SoundLab(tmp_path / "sound", sound_plugin).start()
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(lab.asoundrc))
    yield lab
    lab.stop()
