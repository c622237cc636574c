"""Property tests (Hypothesis) for the ctrl_tcp netstring reader: what baresip sends, however
the stream is cut into reads, and whatever garbage is mixed in.

The example-based twins (garbage, oversized lengths, partial frames) are in
tests/engine/test_ctrl_tcp.py; ``make fuzz`` runs these much longer.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deskphone.engine.ctrl_tcp import (MAX_FRAME, MAX_LENGTH_DIGITS, NetstringDecoder,
                                       encode_netstring)

payloads = st.lists(st.binary(max_size=300), max_size=12)


def feed_in_pieces(data: bytes, cuts: list[int]) -> tuple[list[bytes], NetstringDecoder]:
    decoder = NetstringDecoder()
    out: list[bytes] = []
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for a, b in zip(points, points[1:]):
        out += decoder.feed(data[a:b])
    return out, decoder


@settings(max_examples=400, deadline=None)
@given(payloads, st.lists(st.integers(0, 10_000), max_size=20))
def test_frames_come_out_whole_and_in_order_however_the_stream_is_cut(frames, cuts):
    stream = b"".join(encode_netstring(p) for p in frames)
    out, decoder = feed_in_pieces(stream, cuts)
    assert out == frames
    assert decoder.skipped == 0


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(0, 10_000), max_size=20))
def test_any_bytes_never_raise_and_the_buffer_stays_bounded(data, cuts):
    out, decoder = feed_in_pieces(data, cuts)
    assert all(len(p) <= MAX_FRAME for p in out)
    # What is kept waiting is at most one frame that may still be arriving.
    assert len(decoder._buf) <= MAX_LENGTH_DIGITS + 1 + MAX_FRAME + 1     # noqa: SLF001


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300).map(lambda b: bytes(c for c in b if not 0x30 <= c <= 0x39)),
       payloads, st.lists(st.integers(0, 10_000), max_size=10))
def test_after_garbage_the_reader_finds_every_following_frame(garbage, frames, cuts):
    """Garbage without digits (so it cannot pass for a length) before the frames: skipped,
    counted, and every frame after it comes out whole, however the stream is cut."""
    stream = garbage + b"".join(encode_netstring(p) for p in frames)
    out, decoder = feed_in_pieces(stream, cuts)
    assert out == frames
    assert decoder.skipped == len(garbage)
