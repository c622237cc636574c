"""Real kernel devices standing in for the Pi's: the ALSA loopback card (the phone's tones
recorded on its far side), the serial console on the VM's second UART, netlink address
changes firing IP Changed."""

from __future__ import annotations

import io
import os
import select
import termios
import time
import tty
import wave

import numpy as np

from conftest import CONSOLE_TTY, record
from test_keypad import press, wait_status


# ------------------------------------------------------------------ sound (snd-aloop)

def dominant_hz(wav_bytes: bytes) -> tuple[float, float]:
    with wave.open(io.BytesIO(wav_bytes)) as w:
        rate, n, width, channels = w.getframerate(), w.getnframes(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(n)
    dtype = {2: np.int16, 4: np.int32}[width]
    samples = np.frombuffer(raw, dtype=dtype).astype(np.float64).reshape(-1, channels)[:, 0]
    samples -= samples.mean()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    peak = int(np.argmax(spectrum))
    rms = float(np.sqrt(np.mean(samples ** 2)))
    return float(freqs[peak]), rms


def test_dial_tone_recorded_on_the_loopback_far_side(installed, receiver):
    vm = installed.vm
    assert "Loopback" in vm.out("cat /proc/asound/cards")
    wait_status(installed, lambda t: "Keypad missing" not in t)
    mark = receiver.mark()
    start = time.monotonic()
    press(vm, "num_lock")                   # SPEAKER: off hook on the loudspeaker, dial tone
    when, _ = receiver.wait("handfree", since=mark, timeout=60)
    try:
        # The phone plays through dmix on Loopback,0: record the same subdevice's far side.
        vm.ssh("arecord -q -D plughw:CARD=Loopback,DEV=1,SUBDEV=0 -f S16_LE -r 48000 -c 1 -d 3 "
               "/tmp/dial.wav", timeout=60)
        data = vm.ssh("base64 -w0 /tmp/dial.wav").stdout
    finally:
        mark = receiver.mark()
        press(vm, "num_lock")
        receiver.wait("busy_to_idle", since=mark, timeout=60)
    import base64
    hz, rms = dominant_hz(base64.b64decode(data))
    record("amd64.dial_tone_hz", round(hz, 1))
    assert rms > 100, f"silence on the loopback (rms {rms:.0f})"
    assert abs(hz - 425) < 10, hz


# ------------------------------------------------------------------ serial console

def test_serial_console_on_the_second_uart(installed):
    pty = installed.vm.serial_pty
    assert pty, "QEMU gave no pty for the second serial port"
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        tty.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[4] = attrs[5] = termios.B115200
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        seen = b""
        deadline = time.monotonic() + 90
        os.write(fd, b"\rstatus\r")
        last_sent = time.monotonic()
        while b"IP" not in seen or b"10.0.2.15" not in seen:
            assert time.monotonic() < deadline, seen[-2000:]
            if time.monotonic() - last_sent > 10:      # the service may have been restarting
                os.write(fd, b"\rstatus\r")
                last_sent = time.monotonic()
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                seen += os.read(fd, 4096)
    finally:
        os.close(fd)
    # The port the service opened is the VM's ttyS1 (arm64: hvc0), owned by the service.
    pid = installed.show("MainPID")["MainPID"]
    assert CONSOLE_TTY in installed.vm.out(f"ls -l /proc/{pid}/fd")


# ------------------------------------------------------------------ netlink: IP Changed

def test_ip_change_fires_ip_changed(installed, receiver):
    vm = installed.vm
    dev = vm.out("ls /sys/class/net | grep -v lo | head -1").strip()
    mark = receiver.mark()
    start = time.monotonic()
    # A second address, and the segment's route now leaves from it: the address the phone's
    # SIP traffic leaves from (its $ip) changes; ssh and hostfwd keep using 10.0.2.15.
    vm.ssh(f"ip addr add 10.0.2.16/24 dev {dev} && "
           f"ip route replace 10.0.2.0/24 dev {dev} proto kernel scope link src 10.0.2.16")
    try:
        when, query = receiver.wait("ip_change", since=mark, timeout=90)
        record("amd64.ip_change_to_action_url_s", round(when - start, 1))
        assert query["ip"] == "10.0.2.16"
    finally:
        mark = receiver.mark()
        vm.ssh(f"ip route replace 10.0.2.0/24 dev {dev} proto kernel scope link src 10.0.2.15 && "
               f"ip addr del 10.0.2.16/24 dev {dev}")
    _, query = receiver.wait("ip_change", since=mark, timeout=90)
    assert query["ip"] == "10.0.2.15"
