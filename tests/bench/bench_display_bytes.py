"""Bytes on the display bus: one typed digit with page updates versus luma's full frame.

    make bench      (or: .venv/bin/python tests/bench/bench_display_bytes.py)

The bytes are counted where luma's real driver object hands them to its
serial interface (a recording mock of it). I2C time assumes 400 kHz, 9 clocks
a byte, plus the control byte and address of each transfer.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskphone.core.screens import Screen  # noqa: E402
from deskphone.hw.display_luma import DisplaySpec, make_luma_device  # noqa: E402
from deskphone.hw.render import render  # noqa: E402
from support.oled import PanelRam, RecordingSerial  # noqa: E402

I2C_HZ = 400_000


def dialing(digits: str) -> Screen:
    return Screen("dialing", "Desk", "09:42", (digits, "", ""), ("Send", "Del", "", "Cancel"))


def i2c_ms(serial: RecordingSerial) -> float:
    # Each command()/data() call is one I2C transfer: address + control byte + payload.
    return (serial.total + 2 * serial.writes) * 9 / I2C_HZ * 1000


def counts(serial: RecordingSerial) -> tuple[int, int, float]:
    """Command bytes, data bytes and the I2C time of what was sent since the last reset."""
    return serial.command_bytes, serial.data_bytes, i2c_ms(serial)


def measure(driver: str) -> dict[str, tuple[int, int, float]]:
    offset = 2 if driver == "sh1106" else 0
    serial = RecordingSerial(PanelRam(driver, column_offset=offset))
    dev = make_luma_device(DisplaySpec(driver=driver, interface="noop"), serial=serial)
    results = {}
    before, after = render(dialing("030123")), render(dialing("0301234"))

    dev.display(before)
    serial.reset_counts()
    dev.display(after)                                    # luma by itself: the whole frame
    results["luma display(), full frame"] = counts(serial)

    dev.display_changed(before)
    serial.reset_counts()
    dev.display_changed(after)                            # ours: only the changed pages/columns
    results["display_changed(), one digit"] = counts(serial)

    softkeys = ("DND", "", "Redial", "Menu")
    idle_a = render(Screen("idle", "Desk", "09:41", ("Tue 14 Jan", "", ""), softkeys))
    idle_b = render(Screen("idle", "Desk", "09:42", ("Tue 14 Jan", "", ""), softkeys))
    dev.display_changed(idle_a)
    serial.reset_counts()
    dev.display_changed(idle_b)
    results["display_changed(), clock tick"] = counts(serial)
    assert serial.panel.image().tobytes() == idle_b.tobytes()

    ringing = render(Screen("ringing", "Desk", "09:42", ("Incoming call", "Alice", "201"),
                            ("Answer", "Fwd", "Silence", "Reject")))
    serial.reset_counts()
    dev.display_changed(ringing)
    results["display_changed(), idle -> ringing"] = counts(serial)
    assert serial.panel.image().tobytes() == ringing.tobytes()
    return results


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import figure, header
    header("Display bus bytes: changed pages against luma's full frame")
    print(f"{'driver':8} {'update':34} {'cmd B':>6} {'data B':>7} {'total':>6} {'I2C ms @400k':>13}")
    measured = {}
    for driver in ("ssd1306", "sh1106"):
        measured[driver] = measure(driver)
        for what, (cmd, data, ms) in measured[driver].items():
            print(f"{driver:8} {what:34} {cmd:6d} {data:7d} {cmd + data:6d} {ms:13.2f}")
    for driver, results in measured.items():
        full = sum(results["luma display(), full frame"][:2])
        for what, label in (("display_changed(), one digit", "one typed digit"),
                            ("display_changed(), clock tick", "one clock tick"),
                            ("display_changed(), idle -> ringing", "a full screen change")):
            cmd, data, ms = results[what]
            figure(f"{driver} bus bytes for {label}", cmd + data, full, "B",
                   note=f"{ms:.2f} ms at 400 kHz I2C; baseline = luma display(), whole frame "
                        f"({results['luma display(), full frame'][1]} data bytes)")
    screen = dialing("0301234")
    n = 200
    started = time.perf_counter()
    for _ in range(n):
        render(screen)
    print(f"render(): {(time.perf_counter() - started) / n * 1000:.2f} ms a frame (on the loop)")


if __name__ == "__main__":
    main()
