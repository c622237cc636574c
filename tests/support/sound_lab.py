"""Sound devices for tests on a machine without a sound card: real ALSA, in a temporary asoundrc.

``SoundLab`` writes an asoundrc (named by ``ALSA_CONFIG_PATH``; it includes the
system's alsa.conf first, since that variable replaces it) with three devices,
``handset``, ``speaker`` and ``headset``, each an ALSA ``asym`` PCM:

- playback: ``softvol`` (control "<Route> Playback Volume") over alsa-lib's
  ``file`` plugin over ``null``, piping a WAV stream to ``alsa_recorder.py``,
  which records every open of the device to a file of its own and reads in
  real time, so players are paced as by a card;
- capture: the ``file`` plugin reading a FIFO that a thread here feeds with a
  sine in real time (1 kHz handset, 1.5 kHz speaker, 2 kHz headset); the
  thread notes when a program starts and stops listening.

The mixer is a control device of its own: ``ctl.hw`` is the file-backed
external control plugin built from ``fake_mixer.c`` (there is no /dev/snd
to host a softvol control). Controls: "<Route> Playback Volume" (0..255,
softvol's dB scale) and "<Route> Mic Capture Switch".

Everything here works on any architecture: the plugin is compiled on the
machine (gcc and libasound2-dev, installed by ``make test``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PLUGIN_SRC = HERE / "fake_mixer.c"
RECORDER = HERE / "alsa_recorder.py"
ROUTES = ("handset", "speaker", "headset")
MIC_FREQS = {"handset": 1000, "speaker": 1500, "headset": 2000}
RATE = 16000
CHANNELS = 1


def build_plugin(cache: Path) -> Path:
    """Compile the fake mixer plugin (once per source version) into ``cache``."""
    digest = hashlib.sha256(PLUGIN_SRC.read_bytes()).hexdigest()[:12]
    out = cache / digest / "libasound_module_ctl_deskphone_fake.so"
    if out.exists():
        return out
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler: make test installs gcc (NATIVE_DEBS)")
    if not Path("/usr/include/alsa/control_external.h").exists():
        raise RuntimeError("no ALSA headers: make test installs libasound2-dev")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    subprocess.run([cc, "-shared", "-fPIC", "-DPIC", "-O2", "-Wall", "-o", str(tmp),
                    str(PLUGIN_SRC), "-lasound"], check=True, capture_output=True, timeout=60)
    os.replace(tmp, out)
    return out


def control_name(route: str) -> str:
    return route.capitalize()


def board_section(srate: int = RATE, channels: int = CHANNELS, **extra: object) -> str:
    """The board's [sound] section for these devices."""
    lines = ["[sound]"]
    for route in ROUTES:
        lines += [f'{route} = "{route}"', f'{route}_volume = "{control_name(route)}"',
                  f'{route}_mic_switch = "{control_name(route)} Mic"']
    lines += [f"srate = {srate}", f"channels = {channels}", 'mixer = "hw:0"']
    lines += [f"{k} = {json.dumps(v) if isinstance(v, str) else str(v).lower()}"
              for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Recording:
    path: Path                      # the .raw file
    meta: dict

    @property
    def device(self) -> str:
        return self.meta["device"]

    @property
    def rate(self) -> int:
        return self.meta["rate"]

    @property
    def start(self) -> float:
        """Wall clock of the first sample (for a player paced like a card)."""
        return self.meta["start"]

    @property
    def opened(self) -> float:
        """Wall clock when the device was opened (the recorder started)."""
        return int(self.path.stem.split("-")[-2]) / 1e9

    @property
    def end(self) -> float | None:
        return self.meta.get("end")

    def samples(self) -> np.ndarray:
        """The first channel, as floats in -1..1 (what has arrived so far)."""
        data = self.path.read_bytes()
        width = self.meta["channels"] * 2
        data = data[:len(data) - len(data) % width]
        x = np.frombuffer(data, dtype="<i2").reshape(-1, self.meta["channels"])[:, 0]
        return x.astype(np.float64) / 32768.0

    @property
    def duration(self) -> float:
        return len(self.samples()) / self.rate

    def window(self, t0: float, t1: float) -> np.ndarray:
        """Samples between wall-clock times t0 and t1."""
        x = self.samples()
        a = max(0, int((t0 - self.start) * self.rate))
        b = max(a, int((t1 - self.start) * self.rate))
        return x[a:b]


def amplitude(x: np.ndarray, rate: int, freq: float) -> float:
    """The amplitude of ``freq`` in ``x`` (a single-bin Fourier transform)."""
    if len(x) == 0:
        return 0.0
    n = np.arange(len(x))
    w = np.hanning(len(x))
    return float(2 * abs(np.sum(x * w * np.exp(-2j * np.pi * freq * n / rate))) / np.sum(w))


def peaks(x: np.ndarray, rate: int, count: int = 2, floor: float = 100.0) -> list[float]:
    """The ``count`` strongest frequencies (Hz, FFT with a Hann window), above ``floor`` Hz."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    spec[freqs < floor] = 0
    found: list[float] = []
    for i in np.argsort(spec)[::-1]:
        if all(abs(freqs[i] - f) > 30 for f in found):
            found.append(float(freqs[i]))
        if len(found) == count:
            break
    return sorted(found)


def envelope(rec: Recording, freq: float, hop: float = 0.01,
             win: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """(wall-clock times, amplitude of ``freq``) in windows ``win`` long every ``hop``."""
    x = rec.samples()
    h, w = int(hop * rec.rate), int(win * rec.rate)
    starts = np.arange(0, max(0, len(x) - w), h)
    if len(starts) == 0:
        return np.array([]), np.array([])
    n = np.arange(w)
    basis = np.hanning(w) * np.exp(-2j * np.pi * freq * n / rec.rate)
    frames = np.stack([x[s:s + w] for s in starts])
    amp = 2 * np.abs(frames @ basis) / np.sum(np.hanning(w))
    return rec.start + (starts + w / 2) / rec.rate, amp


def on_intervals(rec: Recording, freq: float, threshold: float,
                 win: float = 0.02) -> list[tuple[float, float]]:
    """Stretches (wall clock) where ``freq`` is louder than ``threshold``.

    ``win`` sets the frequency resolution: 20 ms tells tones 100 Hz apart, 60 ms 35 Hz.
    """
    times, amp = envelope(rec, freq, win=win)
    out: list[tuple[float, float]] = []
    start = None
    for t, a in zip(times, amp):
        if a >= threshold and start is None:
            start = t
        elif a < threshold and start is not None:
            out.append((start, t))
            start = None
    if start is not None:
        out.append((start, float(times[-1])))
    return out


class Microphone:
    """Feeds a capture FIFO with a sine in real time while someone reads it."""

    def __init__(self, fifo: Path, freq: int, rate: int, channels: int) -> None:
        self.fifo = fifo
        self.freq = freq
        self.rate = rate
        self.channels = channels
        self.sessions: list[list[float | None]] = []     # [opened, closed] wall clock
        self._stop = False
        os.mkfifo(fifo)
        self._thread = threading.Thread(target=self._run, name=f"mic-{fifo.stem}", daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        return bool(self.sessions) and self.sessions[-1][1] is None

    def _run(self) -> None:
        chunk_frames = self.rate // 25                   # 40 ms: more than a reader asks at once
        n = np.arange(self.rate)                          # one second: whole periods
        tone = (0.3 * 32767 * np.sin(2 * np.pi * self.freq * n / self.rate)).astype("<i2")
        tone = np.repeat(tone, self.channels).tobytes()
        step = chunk_frames * 2 * self.channels
        while not self._stop:
            fd = os.open(self.fifo, os.O_WRONLY)         # blocks until a program opens it
            if self._stop:
                os.close(fd)
                return
            session: list[float | None] = [time.time(), None]
            self.sessions.append(session)
            t0, sent, pos = time.monotonic(), 0, 0
            try:
                while not self._stop:
                    ahead = sent / self.rate - (time.monotonic() - t0) - 0.04
                    if ahead > 0:
                        time.sleep(ahead)
                    data = (tone + tone)[pos:pos + step]
                    os.write(fd, data)
                    pos = (pos + step) % len(tone)
                    sent += chunk_frames
            except (BrokenPipeError, OSError):
                pass
            finally:
                session[1] = time.time()
                os.close(fd)

    def stop(self) -> None:
        self._stop = True
        try:                                              # release a writer waiting in open()
            fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
            time.sleep(0.05)
            os.close(fd)
        except OSError:
            pass
        self._thread.join(2)


@dataclass
class SoundLab:
    root: Path
    plugin: Path
    rate: int = RATE
    channels: int = CHANNELS
    mics: dict[str, Microphone] = field(default_factory=dict)

    @property
    def asoundrc(self) -> Path:
        return self.root / "asoundrc"

    @property
    def state(self) -> Path:
        return self.root / "mixer.state"

    @property
    def recordings_dir(self) -> Path:
        return self.root / "recordings"

    def start(self) -> "SoundLab":
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{control_name(r)} Playback Volume\tint\t1\t0\t255\t255" for r in ROUTES]
        lines += [f"{control_name(r)} Mic Capture Switch\tbool\t1\t0\t1\t1" for r in ROUTES]
        self.state.write_text("\n".join(lines) + "\n")
        conf = [
            "</usr/share/alsa/alsa.conf>",
            f'ctl_type.deskphone_fake {{ lib "{self.plugin}" }}',
            'ctl.!hw { @args [ CARD ] @args.CARD { type string default "0" } '
            f'type deskphone_fake; state "{self.state}" }}',
        ]
        for route in ROUTES:
            fifo = self.root / f"{route}.mic"
            conf += [
                f"pcm.{route}_rec {{ type file; slave.pcm \"null\"; format \"wav\"; "
                f"file \"|exec {sys.executable} -S {RECORDER} {self.recordings_dir} {route}\" }}",
                f"pcm.{route}_out {{ type softvol; slave.pcm \"{route}_rec\"; control {{ "
                f"name \"{control_name(route)} Playback Volume\"; card 0; count 1 }} }}",
                f"pcm.{route}_in {{ type file; slave.pcm \"null\"; file \"/dev/null\"; "
                f"infile \"{fifo}\"; format \"raw\" }}",
                f"pcm.{route} {{ type asym; playback.pcm \"{route}_out\"; "
                f"capture.pcm \"{route}_in\" }}",
            ]
            self.mics[route] = Microphone(fifo, MIC_FREQS[route], self.rate, self.channels)
        self.asoundrc.write_text("\n".join(conf) + "\n")
        return self

    def stop(self) -> None:
        for mic in self.mics.values():
            mic.stop()

    # --------------------------------------------------------------- reading

    def recordings(self, device: str) -> list[Recording]:
        """Every recording of ``device`` so far, oldest first."""
        out = []
        for meta_file in sorted(self.recordings_dir.glob(f"{device}-*.json")):
            try:
                meta = json.loads(meta_file.read_text())
            except (OSError, ValueError):
                continue                                 # being rewritten this instant
            out.append(Recording(meta_file.with_suffix(".raw"), meta))
        return sorted(out, key=lambda r: r.start)

    def control(self, name: str) -> list[int]:
        """A control's values, read from the mixer's state file."""
        for line in self.state.read_text().splitlines():
            parts = line.split("\t")
            if parts[0] == name:
                return [int(v) for v in parts[5].split(",")]
        raise KeyError(name)

    def amixer(self, *args: str) -> str:
        """amixer on the lab's mixer (alsa-utils): what another program sees."""
        env = {**os.environ, "ALSA_CONFIG_PATH": str(self.asoundrc)}
        return subprocess.run(["amixer", "-D", "hw:0", *args], capture_output=True, text=True,
                              env=env, timeout=10, check=True).stdout

    def wait_closed(self, device: str, timeout: float = 5.0) -> list[Recording]:
        """Until every recording of ``device`` is finished (the player closed it)."""
        deadline = time.monotonic() + timeout
        while True:
            recs = self.recordings(device)
            if all(r.end is not None for r in recs) or time.monotonic() > deadline:
                return recs
            time.sleep(0.02)
