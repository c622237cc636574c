"""The web simulator: the simulated board in a browser, at ``/sim`` on the phone's own web server.

The page shows the live screen (the same pixels as the OLED, pushed over a
WebSocket whenever a frame changes), the LEDs, a clickable keypad with every
phone key, the hook switch, and the far end of the simulated PBX: a call in
from a name and number, and the remote party answering, hanging up, holding.

Only the simulated board serves it (the composition root installs it when the
board's kind is ``sim``); it sees the phone through the ``PhoneHost`` port and
drives the board's parts through ``SimControls``, as a person would.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ..core import effects as fx
from ..core.keys import DIGITS, FUNCTION_KEYS, NAVIGATION, SOFT_KEYS, is_key
from ..host import PhoneHost
from .controls import SimControls

log = logging.getLogger("deskphone.sim.web")

PATH = "/sim"
MAX_BUFFERED = 64 * 1024        # bytes written to a page and not yet taken by its socket
BACKLOG_POLL = 0.1              # seconds between looks at a page that has stopped reading
LED_ORDER = ("power", "mwi", "dnd", "mute", "speaker", "headset")


def same_origin(request: web.Request) -> bool:
    """No Origin, or one naming the very host and port the request was sent to."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    want = urlsplit(f"//{request.host}")
    try:
        want_port = want.port or (443 if request.secure else 80)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname is not None \
        and parts.hostname == want.hostname and port == want_port


class SimWeb:
    def __init__(self, host: PhoneHost, controls: SimControls) -> None:
        self.host = host
        self.controls = controls
        self.clients: set[web.WebSocketResponse] = set()
        self._pending = False
        self._pages: dict[web.WebSocketResponse, _Page] = {}

    def install(self, web_app: web.Application) -> None:
        web_app.router.add_get(PATH, self.page)
        web_app.router.add_get(PATH + "/ws", self.socket)
        web_app.router.add_get(PATH + "/screen.png", self.screen_png)
        self.host.on_effect(self._on_effect)

    # ------------------------------------------------------------ pushing

    def _on_effect(self, effect: fx.Effect) -> None:
        if isinstance(effect, (fx.Render, fx.SetLed, fx.Status)):
            self._push_soon()

    def _push_soon(self) -> None:
        if self._pending or not self.clients:
            return
        self._pending = True
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._push()))

    async def _push(self) -> None:
        self._pending = False
        message = json.dumps(self.state())
        for ws in list(self.clients):
            page = self._pages.get(ws)
            if page is not None and not ws.closed:
                page.offer(ws, message)

    def _png(self) -> bytes:
        buf = io.BytesIO()
        self.controls.display.frame.save(buf, format="PNG")
        return buf.getvalue()

    def state(self) -> dict[str, Any]:
        host, controls = self.host, self.controls
        screen = controls.display.screen
        return {
            "type": "state",
            "png": "data:image/png;base64," + base64.b64encode(self._png()).decode(),
            "title": screen.title if screen else "",
            "corner": screen.corner if screen else "",
            "lines": list(screen.lines) if screen else [],
            "softkeys": list(screen.softkeys) if screen else [],
            "leds": dict(controls.leds.state),
            "off_hook": bool(getattr(controls.hook, "off_hook", False)),
            "status": host.status,
        }

    # ------------------------------------------------------------ handlers

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=_page(self.host.device.line_keys), content_type="text/html")

    async def screen_png(self, request: web.Request) -> web.Response:
        return web.Response(body=self._png(), content_type="image/png")

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            # Another site's page must not press keys here (a browser always sends Origin
            # with a WebSocket; a script that sends none is no page of another site).
            return web.Response(status=403, text="Forbidden: a WebSocket from another site\n")
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self.clients.add(ws)
        self._pages[ws] = _Page(request.transport)
        try:
            await ws.send_str(json.dumps(self.state()))
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    self.command(json.loads(msg.data))
                except (ValueError, KeyError, TypeError) as exc:
                    await ws.send_str(json.dumps({"type": "error", "error": str(exc)}))
        finally:                                    # closed, cut or cancelled: forget it
            self.clients.discard(ws)
            self._pages.pop(ws).close()
        return ws

    def command(self, cmd: dict[str, Any]) -> None:
        controls = self.controls
        if "key" in cmd:
            key = str(cmd["key"])
            if not is_key(key):
                raise ValueError(f"no such key: {key!r}")
            controls.keypad.press(key)
        elif "hook" in cmd:
            controls.hook.set(cmd["hook"] == "off")
        elif "call_in" in cmd:
            number = str(cmd["call_in"].get("number", "")).strip()
            if not number:
                raise ValueError("a call in needs a number")
            controls.pbx().incoming(number, str(cmd["call_in"].get("name", "")).strip())
        elif "far" in cmd:
            engine = controls.pbx()
            action = {"answer": engine.remote_answer, "hangup": engine.remote_hangup,
                      "hold": lambda: engine.remote_hold(True),
                      "resume": lambda: engine.remote_hold(False)}[cmd["far"]]
            action()
        else:
            raise ValueError("unknown command")
        self._push_soon()


class _Page:
    """One open /sim page: the newest state not yet written to it, and the one task writing.

    A page that reads slowly (or never) costs the phone one state and at most
    ``MAX_BUFFERED`` bytes of socket buffer, not every state since it stopped
    reading: each state is the whole picture, so an unsent one is replaced.
    """

    def __init__(self, transport: asyncio.BaseTransport | None) -> None:
        self.transport = transport
        self.unsent: str | None = None
        self.sender: asyncio.Task[None] | None = None

    def offer(self, ws: web.WebSocketResponse, message: str) -> None:
        self.unsent = message
        if self.sender is None:
            self.sender = asyncio.create_task(self._send(ws))

    def _backlog(self) -> int:
        transport = self.transport
        if not isinstance(transport, asyncio.WriteTransport) or transport.is_closing():
            return 0
        return transport.get_write_buffer_size()

    async def _send(self, ws: web.WebSocketResponse) -> None:
        try:
            while self.unsent is not None and not ws.closed:
                if self._backlog() > MAX_BUFFERED:
                    await asyncio.sleep(BACKLOG_POLL)       # it reads nothing: wait, hold one
                    continue
                message, self.unsent = self.unsent, None
                await ws.send_str(message)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.sender = None

    def close(self) -> None:
        self.unsent = None
        if self.sender is not None:
            self.sender.cancel()


def _button(key: str, label: str | None = None, cls: str = "") -> str:
    return (f'<button type="button" class="key {cls}" data-key="{key}" '
            f'aria-label="{key}">{label or key}</button>')


def _page(line_keys: int) -> str:
    softkeys = "".join(_button(k, cls="soft") for k in SOFT_KEYS)
    nav = ('<div class="nav">' + _button("UP", "&#9650;") + _button("LEFT", "&#9664;")
           + _button("OK") + _button("RIGHT", "&#9654;") + _button("DOWN", "&#9660;")
           + _button("X") + "</div>")
    digits = "".join(_button(d) for d in "123456789*0#")
    functions = "".join(_button(k, k.replace("VOLUME_", "VOL ").replace("_", " "))
                        for k in FUNCTION_KEYS if k not in ("OK", "X"))
    lines = "".join(_button(f"L{n}", cls="line") + f'<span class="led" id="led-line{n}"></span>'
                    for n in range(1, line_keys + 1))
    leds = "".join(f'<span class="ledbox"><span class="led" id="led-{name}"></span>{name}</span>'
                   for name in LED_ORDER)
    assert len(DIGITS) == 12 and len(NAVIGATION) == 4      # every key has its button above
    return _PAGE.replace("{softkeys}", softkeys).replace("{nav}", nav) \
        .replace("{digits}", digits).replace("{functions}", functions) \
        .replace("{lines}", lines).replace("{leds}", leds)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>deskphone simulator</title>
<style>
 body { font: 14px system-ui, sans-serif; background: #2b2d31; color: #ddd; margin: 2em; }
 .phone { display: flex; gap: 2em; flex-wrap: wrap; }
 .panel { background: #1d1e21; border-radius: 12px; padding: 1em; }
 #screen { width: 384px; height: 192px; image-rendering: pixelated; background: #000;
           border: 6px solid #111; display: block; }
 #screen-text { font: 12px monospace; white-space: pre; color: #8ab4f8; min-height: 5em; }
 .soft { width: 92px; }
 .key { margin: 3px; padding: 8px 10px; min-width: 44px; border-radius: 6px; border: 0;
        background: #44474e; color: #fff; cursor: pointer; font-weight: 600; }
 .key:active { background: #6b7080; }
 .digits { display: grid; grid-template-columns: repeat(3, 60px); }
 .nav { display: grid; grid-template-columns: repeat(3, 60px); }
 .nav [data-key=UP] { grid-column: 2; } .nav [data-key=LEFT] { grid-column: 1; }
 .nav [data-key=DOWN] { grid-column: 2; } .nav [data-key=X] { grid-column: 3; }
 .led { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
        background: #333; margin: 0 6px; vertical-align: middle; }
 .led.on, .led.slow, .led.fast { background: #3ddc84; box-shadow: 0 0 6px #3ddc84; }
 .led.slow { animation: blink 1s steps(1) infinite; }
 .led.fast { animation: blink .3s steps(1) infinite; }
 @keyframes blink { 50% { background: #333; box-shadow: none; } }
 .ledbox { margin-right: 10px; }
 #hook { background: #b3261e; width: 140px; }
 #hook.off { background: #1e7b34; }
 input { width: 110px; margin: 2px; }
 h2 { font-size: 14px; margin: .6em 0 .3em; color: #aaa; }
</style></head>
<body>
<h1>deskphone simulator</h1>
<div class="phone">
 <div class="panel">
  <img id="screen" alt="phone screen" src="/sim/screen.png">
  <div>{softkeys}</div>
  <div id="screen-text" aria-live="polite"></div>
  <div>{leds}</div>
  <p id="status"></p>
 </div>
 <div class="panel">
  <button type="button" id="hook" class="key">Hook off</button>
  <div class="digits">{digits}</div>
  {nav}
 </div>
 <div class="panel">
  <h2>Keys</h2><div style="max-width: 360px">{functions}</div>
  <h2>Line keys</h2><div>{lines}</div>
  <h2>The far end (simulated PBX)</h2>
  <form id="call-in">
   <input id="call-number" placeholder="number" value="300">
   <input id="call-name" placeholder="name" value="Bob">
   <button type="submit" class="key" id="call-in-button">Call in</button>
  </form>
  <div>
   <button type="button" class="key far" data-far="answer">Answer</button>
   <button type="button" class="key far" data-far="hangup">Hang up</button>
   <button type="button" class="key far" data-far="hold">Hold</button>
   <button type="button" class="key far" data-far="resume">Resume</button>
  </div>
 </div>
</div>
<script>
"use strict";
let ws, offHook = false;
const send = (msg) => ws && ws.readyState === 1 && ws.send(JSON.stringify(msg));
function show(s) {
  document.getElementById("screen").src = s.png;
  const text = [s.title + "  " + s.corner, ...s.lines,
                s.softkeys.map((k) => k ? "[" + k + "]" : "").join(" ")].join("\\n");
  document.getElementById("screen-text").textContent = text;
  document.querySelectorAll(".led").forEach((el) => {
    const name = el.id.slice(4);
    el.className = "led " + (s.leds[name] || "off");
  });
  offHook = s.off_hook;
  const hook = document.getElementById("hook");
  hook.textContent = offHook ? "Hook on" : "Hook off";
  hook.classList.toggle("off", offHook);
  document.getElementById("status").textContent = s.status;
  document.body.dataset.ready = "1";
}
function connect() {
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/sim/ws");
  ws.onmessage = (ev) => { const m = JSON.parse(ev.data); if (m.type === "state") show(m); };
  ws.onclose = () => setTimeout(connect, 1000);
}
document.querySelectorAll("[data-key]").forEach((b) =>
  b.addEventListener("click", () => send({key: b.dataset.key})));
document.querySelectorAll("[data-far]").forEach((b) =>
  b.addEventListener("click", () => send({far: b.dataset.far})));
document.getElementById("hook").addEventListener("click", () => send({hook: offHook ? "on" : "off"}));
document.getElementById("call-in").addEventListener("submit", (ev) => {
  ev.preventDefault();
  send({call_in: {number: document.getElementById("call-number").value,
                  name: document.getElementById("call-name").value}});
});
document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT") return;
  if ("0123456789*#".includes(ev.key)) send({key: ev.key});
  else if (ev.key === "Enter") send({key: "OK"});
  else if (ev.key === "Escape") send({key: "X"});
  else if (ev.key.startsWith("Arrow")) send({key: ev.key.slice(5).toUpperCase()});
});
connect();
</script>
</body></html>
"""
