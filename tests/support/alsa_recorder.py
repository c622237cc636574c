"""The far side of a test sound device: records what a program plays, in real time.

alsa-lib's ``file`` PCM plugin, given ``file "|command"``, starts this program
each time the device is opened and writes a WAV stream to its standard input.
Its slave (``null``) takes data at any speed, so this end sets the pace: it
reads no faster than the sample rate (shrinking the pipe to one page so the
writer cannot run far ahead), which makes the player block as it would on a
sound card. Every open gives a recording of its own:

    <dir>/<device>-<ns>-<pid>.raw    the samples, written as they come
    <dir>/<device>-<ns>-<pid>.json   rate, channels, start (wall clock of sample 0),
                                     and, once the player closes the device, end

Standard library only; started as ``python3 -S`` (fast start).
"""

import fcntl
import json
import os
import struct
import sys
import time

F_SETPIPE_SZ = 1031          # Linux fcntl
PIPE_SIZE = 4096
CHUNK_S = 0.01


def read_exact(n: int) -> bytes:
    data = b""
    while len(data) < n:
        more = os.read(0, n - len(data))
        if not more:
            break
        data += more
    return data


def shrink() -> bool:
    try:
        fcntl.fcntl(0, F_SETPIPE_SZ, PIPE_SIZE)
        return True
    except OSError:
        return False


def main() -> None:
    os.closerange(3, 4096)               # sockets the player's process had: not ours to keep
    out_dir, name = sys.argv[1], sys.argv[2]
    header = read_exact(44)
    if len(header) < 44 or header[:4] != b"RIFF":
        return
    channels, rate = struct.unpack("<HI", header[22:28])
    bits = struct.unpack("<H", header[34:36])[0]
    bps = rate * channels * bits // 8
    base = os.path.join(out_dir, f"{name}-{time.time_ns()}-{os.getpid()}")

    # What the player wrote before we ran (one pipe full at most): take it at once,
    # then shrink the pipe, so that from here on the player cannot run ahead.
    flags = fcntl.fcntl(0, fcntl.F_GETFL)
    fcntl.fcntl(0, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        backlog = os.read(0, 65536)
    except BlockingIOError:
        backlog = b""
    fcntl.fcntl(0, fcntl.F_SETFL, flags)
    shrunk = shrink()
    start = time.time() - len(backlog) / bps
    meta = {"device": name, "rate": rate, "channels": channels, "bits": bits, "start": start,
            "pid": os.getpid()}
    total = len(backlog)
    chunk = max(channels * bits // 8, int(bps * CHUNK_S) // (channels * bits // 8)
                * (channels * bits // 8))
    with open(base + ".raw", "wb", buffering=0) as raw:
        raw.write(backlog)
        with open(base + ".json", "w") as fh:       # after the .raw: readers find both
            json.dump(meta, fh)
        t0 = time.monotonic() - len(backlog) / bps
        while True:
            ahead = total / bps - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
            data = os.read(0, chunk)
            if not data:
                break
            if not shrunk:                  # EBUSY while it held more than one page
                shrunk = shrink()
            raw.write(data)
            total += len(data)
    meta.update(end=time.time(), bytes=total)
    with open(base + ".json.tmp", "w") as fh:
        json.dump(meta, fh)
    os.replace(base + ".json.tmp", base + ".json")


if __name__ == "__main__":
    main()
