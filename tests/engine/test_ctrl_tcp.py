"""The ctrl_tcp client: framing, token matching, timeouts, garbage and dropped connections.

The peer is a real TCP server on 127.0.0.1 that plays the part of baresip's
ctrl_tcp byte for byte (the same client runs against real baresip in
tests/integration/test_baresip_*.py); only a scripted peer can send garbage
or hang up at a chosen moment.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from deskphone.engine.ctrl_tcp import (CommandTimeout, ConnectionLost, CtrlTcpClient,
                                       NetstringDecoder, encode_netstring)


def frame(obj) -> bytes:
    return encode_netstring(json.dumps(obj).encode())


# ------------------------------------------------------------ the decoder

def test_decoder_splits_frames_across_reads():
    d = NetstringDecoder()
    wire = frame({"a": 1}) + frame({"b": 2})
    out = []
    for i in range(len(wire)):
        out += d.feed(wire[i:i + 1])
    assert [json.loads(p) for p in out] == [{"a": 1}, {"b": 2}]
    assert d.skipped == 0


@pytest.mark.parametrize("garbage", [
    b"hello", b"12x:", b"5:abcdeX", b"00:,", b":::", b"99999999999:", b"\xff\xfe", b"3:abc",
])
def test_decoder_skips_garbage_and_resynchronises(garbage):
    d = NetstringDecoder()
    # "3:abc" without its comma glued to the next frame is garbage too.
    out = d.feed(garbage + frame({"ok": True}))
    assert json.loads(out[-1]) == {"ok": True}
    assert d.skipped > 0


def test_decoder_refuses_oversized_lengths():
    d = NetstringDecoder()
    out = d.feed(b"999999:" + frame({"x": 1}))
    assert [json.loads(p) for p in out] == [{"x": 1}]


def test_decoder_waits_for_a_partial_frame():
    d = NetstringDecoder()
    assert d.feed(b"12:") == []
    assert d.feed(b'{"a":"1234"') == []
    assert d.feed(b"},") == [b'{"a":"1234"}']


# ----------------------------------------------------------- the client

class FakeCtrlTcp:
    """A TCP peer on 127.0.0.1 whose replies each test scripts."""

    def __init__(self, script) -> None:
        self.script = script
        self.received: list[dict] = []
        self.server: asyncio.base_events.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        for w in self.writers:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        self.writers.append(writer)
        decoder = NetstringDecoder()
        while data := await reader.read(4096):
            for payload in decoder.feed(data):
                msg = json.loads(payload)
                self.received.append(msg)
                await self.script(msg, writer)


def response(msg, ok=True, data=""):
    return frame({"response": True, "ok": ok, "data": data, "token": msg["token"]})


async def connected(port, events=None, closes=None) -> CtrlTcpClient:
    client = CtrlTcpClient(lambda e: events.append(e) if events is not None else None,
                           lambda err: closes.append(err) if closes is not None else None)
    await client.connect("127.0.0.1", port)
    return client


async def test_event_before_its_response_and_tokens():
    async def script(msg, writer):
        # baresip sends the event the command caused first, then garbage, then the answer.
        writer.write(frame({"event": True, "type": "CALL_LOCAL_SDP", "param": "offer"}))
        writer.write(b"junk!")
        writer.write(response(msg, data=f"did {msg['command']}"))
    events = []
    async with FakeCtrlTcp(script) as peer:
        client = await connected(peer.port, events)
        r = await client.command("dial", "sip:201@pbx")
        assert (r.ok, r.data) == (True, "did dial")
        assert events[0]["type"] == "CALL_LOCAL_SDP"
        assert peer.received[0] == {"command": "dial", "params": "sip:201@pbx",
                                    "token": peer.received[0]["token"]}
        await client.close()


async def test_responses_out_of_order_are_matched_by_token():
    held = []

    async def script(msg, writer):
        held.append(msg)
        if len(held) == 3:
            for m in reversed(held):          # answer the last first
                writer.write(response(m, data=m["command"]))
    async with FakeCtrlTcp(script) as peer:
        client = await connected(peer.port)
        results = await client.batch([("uafind", "sip:a@b"), ("callfind", "x"), ("hold", None)])
        assert [r.data for r in results] == ["uafind", "callfind", "hold"]
        assert "params" not in peer.received[2]
        await client.close()


async def test_a_command_without_answer_times_out_and_the_late_answer_is_ignored():
    late = []

    async def script(msg, writer):
        late.append(msg)
    async with FakeCtrlTcp(script) as peer:
        client = await connected(peer.port)
        with pytest.raises(CommandTimeout):
            await client.command("reginfo", timeout=0.2)
        peer.writers[0].write(response(late[0], data="too late"))
        peer.writers[0].write(frame({"event": True, "type": "REGISTER_OK"}))
        # The connection still works for the next command.
        async def answer(msg, writer):
            writer.write(response(msg, data="fresh"))
        peer.script = answer
        assert (await client.command("about", timeout=2)).data == "fresh"
        await client.close()


async def test_dropped_connection_fails_pending_commands_and_reports_once():
    async def script(msg, writer):
        writer.close()                         # baresip died mid-command
    closes = []
    async with FakeCtrlTcp(script) as peer:
        client = await connected(peer.port, closes=closes)
        with pytest.raises(ConnectionLost):
            await client.command("hangup", timeout=5)
        await asyncio.sleep(0)
        assert len(closes) == 1
        assert not client.connected
        with pytest.raises(ConnectionLost):
            await client.command("reginfo")
        await client.close()
    assert len(closes) == 1                    # our own close is not reported


async def test_frames_that_are_not_json_objects_are_skipped():
    async def script(msg, writer):
        writer.write(encode_netstring(b"{not json"))
        writer.write(encode_netstring(b"[1,2]"))
        writer.write(frame({"neither": "response nor event"}))
        writer.write(response(msg, ok=False, data="command not found (x)\n"))
    async with FakeCtrlTcp(script) as peer:
        client = await connected(peer.port)
        r = await client.command("x")
        assert (r.ok, r.data) == (False, "command not found (x)\n")
        await client.close()


async def test_an_event_handler_that_raises_does_not_cut_the_connection():
    async def script(msg, writer):
        writer.write(frame({"event": True, "type": "BOOM"}))
        writer.write(response(msg))

    def explode(event):
        raise RuntimeError("bug in a handler")
    async with FakeCtrlTcp(script) as peer:
        client = CtrlTcpClient(explode)
        await client.connect("127.0.0.1", peer.port)
        assert (await client.command("about")).ok
        await client.close()


async def test_too_long_a_command_is_refused_before_sending():
    async with FakeCtrlTcp(lambda m, w: None) as peer:
        client = await connected(peer.port)
        with pytest.raises(Exception, match="too long"):
            await client.command("dial", "sip:" + "9" * 2000 + "@x")
        await client.close()
