"""The phone: a sans-I/O state machine from inputs to effects.

``Phone.handle(input, now)`` applies one input and returns the effects it
causes. It never sleeps, reads a clock or touches a device: time comes in as
``now`` (wall-clock seconds) and timers go out as ``StartTimer`` effects.

Which Action URL event fires when (our reading of the Yealink descriptions,
documented in the README):

- Off Hook / On Hook: the handset hook switch (or the OFFHOOK / ONHOOK remote keys).
- Idle To Busy / Busy To Idle: the phone leaves / returns to its idle screen
  (a call in any state, dialing, or the handset lifted makes it busy). They
  fire after the event that caused the change.
- Outgoing Call: the engine has placed the call (the SIP Call-ID is known).
- Established: a call is answered, by either side. Terminated: an answered
  call ends, for any reason.
- Missed Call: an incoming call ends unanswered without the user rejecting it
  (plus Call Remote Canceled when the caller cancelled it), or is turned away
  busy because call waiting is off.
- Reject Incoming Call: the user (or a remote key) rejects a ringing call, or
  DND turns it away.
- Cancel Call Out: the user ends an outgoing call before it is answered.
- Remote Busy: the far end rejects an outgoing call (busy, decline, 4xx-6xx).
- Transfer Call: a transfer starts (the TRANSFER key, BTrans= or ATrans=);
  Blind Transfer / Attended Transfer: the transfer is handed to the engine;
  Transfer Finished / Transfer Failed: its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from . import effects as fx
from . import inputs as ins
from .accounts import MAX_ACCOUNTS, account, enabled_accounts
from .keys import DIGITS, is_line_key
from .screens import Screen, build_screen
from .state import DeviceInfo
from .tones import key_tone, tone_plan
from .trust import trust_key


@dataclass
class Call:
    ref: str                         # ours, known from the start
    call_id: str                     # the SIP Call-ID, "" until the engine reports it
    direction: str                   # "in" | "out"
    account: int
    remote_uri: str = ""
    remote_name: str = ""
    number: str = ""                 # what the user dialled (outgoing)
    state: str = "calling"           # calling | ringback | ringing | connected
    held: bool = False               # we put it on hold
    remote_held: bool = False        # the far end put us on hold
    muted: bool = False
    established_at: float | None = None
    consult_for: str | None = None   # ref of the call this consultation would transfer
    auto_transfer: bool = False      # ATrans=: complete as soon as the target rings
    transferring: bool = False       # handed to the engine, outcome pending
    remote_ringing: bool = False     # outgoing: the far end said it rings (180/183)
    early_media: bool = False        # outgoing: the far end plays its own ringback (183)

    def matches(self, call_id: str) -> bool:
        return call_id in (self.call_id, self.ref) and call_id != ""


@dataclass
class DialBuffer:
    digits: str = ""
    account: int = 1
    transfer_of: str | None = None   # ref of the held call when dialling a transfer target


@dataclass
class Menu:
    items: tuple[str, ...]
    index: int = 0
    editing: str | None = None       # the forward kind whose target is being typed
    entry: str = ""


FEATURE_MENU = ("DND", "Always Fwd", "Busy Fwd", "NoAns Fwd", "Call Waiting")
MENU_FORWARD = {"Always Fwd": "always", "Busy Fwd": "busy", "NoAns Fwd": "no_answer"}
FORWARD_EVENTS = {"always": "always_fwd", "busy": "busy_fwd", "no_answer": "no_answer_fwd"}
# Settings whose switching fires an event pair (<event>_on / <event>_off), with their defaults.
SWITCH_EVENTS = (
    ("features.dnd.enable", False, "dnd"),
    *((f"forward.{kind}.enable", False, event) for kind, event in FORWARD_EVENTS.items()),
    ("call_waiting.enable", True, "call_waiting"),
)
RING_SECONDS = 6                     # Yealink counts no-answer forward in rings of 6 s
MESSAGE_SECONDS = 2.0
VOLUME_STEPS = 15
ROUTES = ("handset", "speaker", "headset")
# What the volume keys adjust, each kept as deskphone.volume.<context>: the ringer,
# each route's call (and its tones), and the key tones heard from an idle phone.
VOLUME_CONTEXTS = ("ring", "handset", "speaker", "headset", "tones")
DEFAULT_VOLUME = 8
# Close details (SIP status) that mean "no such number": the special information tone.
UNAVAILABLE_CODES = ("404", "410", "484", "604")


class Phone:
    def __init__(self, settings: Mapping[str, object], device: DeviceInfo) -> None:
        self.settings: Mapping[str, object] = settings
        self.device = device
        self.ip = device.ip
        self.started = False
        self.hook_off = False            # debounced handset hook
        self._raw_hook = False
        self.audio: str | None = None    # None | handset | speaker | headset
        self.dial: DialBuffer | None = None
        self.calls: list[Call] = []
        self.focus: str | None = None    # ref of the call the screen and keys act on
        self.menu: Menu | None = None
        self.prompts: list[str] = []         # sources waiting for "Allow Remote Control?", in order
        self.regs: dict[int, str] = {}
        self.engine_up = True
        self.missing: dict[str, str] = {}    # board parts that went away: device -> detail
        self.missed = 0
        self.last_number = ""
        self.volume = 8
        self.show_volume = False
        self.message = ""
        self.now = 0.0
        self._refs = 0
        self._busy = False
        self._screen: Screen | None = None
        self._leds: dict[str, str] = {}
        self._status = ""
        self._out: list[fx.Effect] = []
        # The phone's own sounds: a progress tone after a call ended (tone, route), and
        # what was last asked of the sound device(s), to send changes only.
        self.progress: tuple[str, str] | None = None
        self._tones: dict[str, str] = {}
        self._levels: dict[str, int] = {}
        self._mics: dict[str, bool] = {}
        self._route: str | None = None
        self._bell = False

    # ------------------------------------------------------------------ API

    def handle(self, inp: ins.Input, now: float) -> list[fx.Effect]:
        self.now = now
        self._out = []
        if self.progress is not None and _ends_progress_tone(inp):
            self._end_progress()
        handler = getattr(self, "_on_" + type(inp).__name__)
        handler(inp)
        if self.started:
            self._after()
        return self._out

    @property
    def screen(self) -> Screen:
        return build_screen(self, self.now)

    @property
    def busy(self) -> bool:
        return bool(self.calls) or self.dial is not None or self.audio is not None or self.hook_off

    # -------------------------------------------------------------- helpers

    def _emit(self, event: str, call: Call | None = None, account_index: int | None = None) -> None:
        self._out.append(fx.Emit(event, self.variables(call, account_index)))

    def variables(self, call: Call | None = None, account_index: int | None = None) -> dict[str, str]:
        """The 14 Yealink variables for an event about ``call`` (or about an account)."""
        v = dict.fromkeys(("active_url", "active_user", "active_host", "local", "remote",
                           "display_local", "display_remote", "call_id", "callerID",
                           "calledNumber"), "")
        v.update(mac=self.device.mac, ip=self.ip, model=self.device.model,
                 firmware=self.device.firmware)
        n = call.account if call else account_index
        if n is not None:
            acc = account(self.settings, n)
            v.update(active_url=acc.uri, active_user=acc.user_name, active_host=acc.host)
        if call is not None:
            acc = account(self.settings, call.account)
            # $local / $remote swap with the direction: "local" is always this phone's side.
            v.update(local=acc.uri, remote=call.remote_uri,
                     display_local=acc.display_name or acc.user_name,
                     display_remote=call.remote_name, call_id=call.call_id)
            if call.direction == "in":
                v["callerID"] = call.remote_name or _user_part(call.remote_uri)
            else:
                v["calledNumber"] = call.number or _user_part(call.remote_uri)
        return v

    def _setting(self, key: str, default: object) -> object:
        return self.settings.get(key, default)

    def _set_feature(self, key: str, value: object) -> None:
        # A config.Settings stays one (it keeps what is derived from it, such as the
        # enabled accounts every screen needs); a plain mapping (tests) is copied.
        try:
            self.settings = self.settings.with_overrides({key: value})  # type: ignore[attr-defined]
        except Exception:
            self.settings = {**self.settings, key: value}
        self._out.append(fx.Persist(key, value))

    def _timer(self, name: str, delay: float) -> None:
        self._out.append(fx.StartTimer(name, delay))

    def _cancel_timer(self, name: str) -> None:
        self._out.append(fx.CancelTimer(name))

    def _flash(self, text: str) -> None:
        self.message = text
        self._timer("message", MESSAGE_SECONDS)

    def _call(self, call_id: str | None) -> Call | None:
        if call_id is None:
            return self.focused
        return next((c for c in self.calls if c.matches(call_id)), None)

    @property
    def focused(self) -> Call | None:
        return next((c for c in self.calls if c.ref == self.focus), None)

    def _ringing(self) -> Call | None:
        return next((c for c in self.calls if c.state == "ringing"), None)

    def _default_account(self) -> int:
        accs = enabled_accounts(self.settings)
        for a in accs:
            if self.regs.get(a.index) == "registered":
                return a.index
        return accs[0].index if accs else 1

    def _remove(self, call: Call) -> None:
        self.calls.remove(call)
        self._cancel_timer(f"noanswer:{call.ref}")
        if self.focus == call.ref:
            nxt = next((c for c in self.calls if c.ref == call.consult_for), None) \
                or (self.calls[0] if self.calls else None)
            self.focus = nxt.ref if nxt else None
        if not self.calls:
            if self.hook_off:
                self.audio = "handset"
                self.dial = DialBuffer(account=self._default_account())
            else:
                self.audio = None

    def _after(self) -> None:
        """State-derived outputs: busy transitions, screen, LEDs, status, tick timers."""
        busy = self.busy
        if busy != self._busy:
            self._busy = busy
            self._emit("idle_to_busy" if busy else "busy_to_idle")
        screen = self.screen
        if screen != self._screen:
            self._screen = screen
            self._out.append(fx.Render(screen))
        for led, pattern in self._led_patterns().items():
            if self._leds.get(led) != pattern:
                self._leds[led] = pattern
                self._out.append(fx.SetLed(led, pattern))
        status = screen.status
        if status != self._status:
            self._status = status
            self._out.append(fx.Status(status))
        self._sound()

    def _led_patterns(self) -> dict[str, str]:
        focused = self.focused
        leds = {
            "power": "on",
            "dnd": "on" if self._setting("features.dnd.enable", False) else "off",
            "mwi": "slow" if self.missed else "off",
            "mute": "on" if focused and focused.muted else "off",
            "speaker": "on" if self.audio == "speaker" else "off",
            "headset": "on" if self.audio == "headset" else "off",
        }
        for n in range(1, self.device.line_keys + 1):
            on_line = [c for c in self.calls if c.account == n]
            if any(c.state == "ringing" for c in on_line):
                leds[f"line{n}"] = "fast"
            elif any(c.held for c in on_line):
                leds[f"line{n}"] = "slow"
            elif on_line:
                leds[f"line{n}"] = "on"
            else:
                leds[f"line{n}"] = "off"
        return leds

    def _schedule_ticks(self) -> None:
        """One timer drives the on-screen clock: every second in a call, every minute when idle."""
        if any(c.state == "connected" for c in self.calls):
            self._timer("tick", 1.0)
        else:
            self._timer("tick", 60.0 - (self.now % 60.0) + 0.01)

    # ---------------------------------------------------------------- sound

    def volume_level(self, context: str) -> int:
        """The stored level (0..15) of a volume context (``VOLUME_CONTEXTS``)."""
        return int(self._setting(f"deskphone.volume.{context}", DEFAULT_VOLUME))  # type: ignore[arg-type]

    def wanted_tones(self) -> dict[str, str]:
        """Which tone each route plays now, by name, from the state alone.

        A ringing call rings on the loudspeaker, or, while a route is in use (a call,
        dialing), sounds the call waiting tone there. Otherwise the route in use
        plays the dial tone until the first digit, the ringback tone while the far
        end rings without early media, and after a failed or remotely ended call
        the busy / congestion / number unavailable tone for
        ``features.busy_tone_delay`` seconds.
        """
        want: dict[str, str] = {}
        if self.progress is not None:
            tone, route = self.progress
            want[route] = tone
        if self._ringing() is not None:
            in_use = self.audio is not None and (
                self.dial is not None or any(c.state != "ringing" for c in self.calls))
            if in_use:
                want[self.audio] = "call_waiting"  # type: ignore[index]
            else:
                want["speaker"] = "ring"
            return want
        if self.audio is None or self.audio in want:
            return want
        call = self.focused
        if self.dial is not None and not self.dial.digits:
            want[self.audio] = "dial"
        elif call is not None and call.direction == "out" and call.state == "ringback" \
                and call.remote_ringing and not call.early_media and not call.held:
            want[self.audio] = "ringback"
        return want

    def volume_context(self) -> str:
        """What the volume keys adjust now: ringer, the route in use, or the key tones."""
        if self.wanted_tones().get("speaker") == "ring":
            return "ring"
        if self.audio is not None:
            return self.audio
        if self.progress is not None:
            return self.progress[1]
        return "tones"

    def _device_levels(self, tones: dict[str, str]) -> dict[str, int]:
        # Each device plays at the level of what is on it: the loudspeaker rings at the
        # ring volume, carries a handsfree call at the speaker volume, else key tones.
        if tones.get("speaker") == "ring":
            speaker = "ring"
        elif self.audio == "speaker" or (self.progress and self.progress[1] == "speaker"):
            speaker = "speaker"
        else:
            speaker = "tones"
        return {"handset": self.volume_level("handset"), "speaker": self.volume_level(speaker),
                "headset": self.volume_level("headset")}

    def _sound(self) -> None:
        """Sound effects derived from the state: route, tones, levels, microphones, bell."""
        if self.audio is not None and self.audio != self._route:
            self._route = self.audio
            # First, so the engine opens the right device for an answer or dial of this step.
            self._out.insert(0, fx.EngineRoute(self.audio))
        tones = self.wanted_tones()
        plan = None
        for route in ROUTES:
            tone = tones.get(route)
            if tone == self._tones.get(route):
                continue
            if tone is None:
                del self._tones[route]
                self._out.append(fx.StopTone(route))
            else:
                plan = plan or tone_plan(self.settings)
                self._tones[route] = tone
                self._out.append(fx.PlayTone(route, tone, plan[tone]))
        for route, level in self._device_levels(tones).items():
            if self._levels.get(route) != level:
                self._levels[route] = level
                self._out.append(fx.SetVolume(route, level))
        focused = self.focused
        muted = self.audio if focused is not None and focused.muted else None
        for route in ROUTES:
            if self._mics.get(route) != (route == muted):
                self._mics[route] = route == muted
                self._out.append(fx.SetMicMute(route, route == muted))
        bell = tones.get("speaker") == "ring"
        if bell != self._bell:
            self._bell = bell
            self._out.append(fx.Bell(tone_plan(self.settings)["ring"] if bell else ()))

    def _overlay(self, tone: str, cadence: tuple) -> None:
        self._out.append(fx.PlayTone(self.audio or "speaker", tone, cadence, overlay=True))

    def _key_tone(self, key: str) -> None:
        if self._setting("features.key_tone", True) and key in DIGITS:
            self._overlay("key", key_tone(key))

    def _confirm(self) -> None:
        """A feature was switched: the confirmation tone."""
        self._overlay("confirm", tone_plan(self.settings)["confirm"])

    def _start_progress(self, tone: str, route: str | None) -> None:
        delay = int(self._setting("features.busy_tone_delay", 3))  # type: ignore[arg-type]
        if route is None or delay <= 0:
            return
        self.progress = (tone, route)
        self._timer("progress", float(delay))

    def _end_progress(self) -> None:
        self.progress = None
        self._cancel_timer("progress")

    # ----------------------------------------------------------- life cycle

    def _on_Start(self, inp: ins.Start) -> None:
        self.started = True
        self._emit("setup_completed")
        for acc in enabled_accounts(self.settings):
            self._out.append(fx.EngineRegister(acc.index, True))
        if self._setting("static.auto_provision.power_on", False):
            self._out.append(fx.StartAutoProvision())
        self._schedule_ticks()

    def _on_TimerFired(self, inp: ins.TimerFired) -> None:
        name = inp.name
        if name == "tick":
            self._schedule_ticks()
        elif name == "message":
            self.message = ""
        elif name == "volume":
            self.show_volume = False
        elif name == "progress":
            self.progress = None
        elif name == "dial":
            if self.dial and self.dial.digits:
                self._send_dial()
        elif name == "hook":
            if self._raw_hook != self.hook_off:
                self._apply_hook(self._raw_hook)
        elif name.startswith("noanswer:"):
            call = next((c for c in self.calls if c.ref == name.split(":", 1)[1]), None)
            target = str(self._setting("forward.no_answer.target", ""))
            if call and call.state == "ringing" and target:
                self._forward(call, target)

    def _on_SettingsChanged(self, inp: ins.SettingsChanged) -> None:
        old, self.settings = self.settings, inp.settings
        # A decision made elsewhere (the web page) answers a prompt still on screen.
        self.prompts = [s for s in self.prompts if trust_key(s) not in self.settings]
        if not self.started:
            return
        # A feature switched from the web page, the console or provisioning is announced
        # like the same switch made on the keypad.
        for key, default, event in SWITCH_EVENTS:
            before, after = bool(old.get(key, default)), bool(self.settings.get(key, default))
            if before != after:
                self._emit(event + ("_on" if after else "_off"))
        # Accounts enabled, disabled or changed there (re-)register at once.
        was = {a.index: a for a in enabled_accounts(old)}
        now = {a.index: a for a in enabled_accounts(self.settings)}
        for n in sorted(was.keys() - now.keys()):
            self._out.append(fx.EngineRegister(n, False))
        for n, acc in sorted(now.items()):
            if was.get(n) != acc:
                self._out.append(fx.EngineRegister(n, True))

    def _on_IpChanged(self, inp: ins.IpChanged) -> None:
        if inp.ip != self.ip:
            self.ip = inp.ip
            if self.started:
                self._emit("ip_change")

    def _on_RequestAutoProvision(self, inp: ins.RequestAutoProvision) -> None:
        self._flash("Provisioning...")
        self._out.append(fx.StartAutoProvision())

    def _on_RequestRestart(self, inp: ins.RequestRestart) -> None:
        self._flash("Resetting..." if inp.reset else "Rebooting...")
        self._out.append(fx.Restart(inp.reset))

    # ------------------------------------------------------ remote control

    def _on_RemoteControlAsk(self, inp: ins.RemoteControlAsk) -> None:
        # Asked once per source: repeated requests while it is on screen add nothing.
        if inp.source not in self.prompts and trust_key(inp.source) not in self.settings:
            self.prompts.append(inp.source)

    def _answer_prompt(self, allow: bool) -> None:
        """OK / X on the "Allow Remote Control?" screen."""
        source = self.prompts.pop(0)
        self._set_feature(trust_key(source), "allow" if allow else "deny")
        self._flash("Remote control allowed" if allow else "Remote control denied")

    def _on_AutoProvisionDone(self, inp: ins.AutoProvisionDone) -> None:
        if inp.ok:
            self._emit("setup_autop_finish")
            self._flash("Provisioned")
        else:
            self._flash("Provisioning failed")

    # ------------------------------------------------------------- the hook

    def _on_HookChanged(self, inp: ins.HookChanged) -> None:
        self._raw_hook = inp.off_hook
        debounce_ms = int(self._setting("deskphone.hook.debounce_ms", 0))  # type: ignore[arg-type]
        if debounce_ms <= 0:
            if inp.off_hook != self.hook_off:
                self._apply_hook(inp.off_hook)
        else:
            # Mock pins (and some kernels) ignore bounce_time: settle here instead.
            self._timer("hook", debounce_ms / 1000.0)

    def _apply_hook(self, off: bool) -> None:
        self.hook_off = off
        self._emit("off_hook" if off else "on_hook")
        call = self.focused
        if off:
            ringing = self._ringing()
            if ringing and (call is None or call is ringing or call.state != "connected"):
                self._answer(ringing, "handset")
            elif call is not None:
                self.audio = "handset"
            else:
                self._go_off_hook("handset")
        elif self.audio == "handset":
            if call is not None:
                self._end(call)
            self.dial = None
            self.menu = None
            self.audio = None

    def _go_off_hook(self, audio: str, line: int | None = None) -> None:
        self.audio = audio
        self.menu = None
        if self.dial is None:
            self.dial = DialBuffer(account=line or self._default_account())
        elif line:
            self.dial.account = line

    # ------------------------------------------------------------- the keys

    def _on_KeyPress(self, inp: ins.KeyPress) -> None:
        key = inp.key
        if key in ("VOLUME_UP", "VOLUME_DOWN"):
            step = 1 if key == "VOLUME_UP" else -1
            context = self.volume_context()
            level = max(0, min(VOLUME_STEPS, self.volume_level(context) + step))
            if level != self.volume_level(context):
                self._set_feature(f"deskphone.volume.{context}", level)
            self.volume = level
            self.show_volume = True
            self._timer("volume", MESSAGE_SECONDS)
            return
        if key == "AUTOP":
            return self._on_RequestAutoProvision(ins.RequestAutoProvision())
        if key.startswith("F") and key[1:].isdigit():
            label = self.screen.softkeys[int(key[1:]) - 1]
            return self._softkey(label, inp.remote)
        if key in ("OK", "X") and self.prompts and self.screen.kind == "prompt":
            # The prompt owns OK and X; only the person at the phone may answer it.
            if not inp.remote:
                self._answer_prompt(key == "OK")
            return
        if self.menu is not None and self._menu_key(key):
            return
        if key == "HEADSET":
            self._emit("headset")
            return self._audio_key("headset")
        if key == "SPEAKER":
            self._emit("handfree")
            return self._audio_key("speaker")
        if is_line_key(key):
            return self._line_key(int(key[1:]))
        call = self.focused
        ringing = self._ringing()
        if key == "OK":
            if ringing:
                self._answer(ringing, self.audio or "speaker")
            elif self.dial is not None:
                self._send_dial()
            elif call is None:
                self.menu = Menu(FEATURE_MENU)
        elif key == "X":
            if ringing:
                self._reject(ringing)
            elif self.dial is not None:
                self._cancel_dial()
            elif call is not None:
                self._end(call)
            else:
                self.message = ""
        elif key in DIGITS:
            self._digit(key)
        elif key == "MUTE":
            if call and call.state == "connected":
                self._mute(call, not call.muted)
        elif key == "HOLD":
            if call and call.state == "connected":
                self._hold(call, not call.held)
        elif key == "TRANSFER":
            self._transfer_key()
        elif key == "RD":
            if not self.calls and self.last_number:
                self._go_off_hook(self.audio or "speaker")
                self.dial.digits = self.last_number  # type: ignore[union-attr]
                self._send_dial()
        elif key == "MSG":
            self._flash("No new messages")
        elif key == "CONF":
            if call is not None:
                self._flash("No conference")
        elif key in ("UP", "DOWN"):
            if len(self.calls) > 1 and call is not None:
                i = self.calls.index(call) + (1 if key == "DOWN" else -1)
                self.focus = self.calls[i % len(self.calls)].ref
        elif key == "LEFT":
            if self.dial is not None and self.dial.digits:
                self.dial.digits = self.dial.digits[:-1]

    def _softkey(self, label: str, remote: bool = False) -> None:
        action = {
            "Answer": "OK", "Send": "OK", "Reject": "X", "Cancel": "X", "End": "X",
            "Hold": "HOLD", "Resume": "HOLD", "Xfer": "TRANSFER", "Mute": "MUTE",
            "Unmute": "MUTE", "Del": "LEFT", "Menu": "OK", "Back": "X", "Ok": "OK",
            "Redial": "RD",
        }.get(label)
        if label == "DND":
            self._on_SetDnd(ins.SetDnd(not self._setting("features.dnd.enable", False)))
        elif action:
            self._on_KeyPress(ins.KeyPress(action, remote))

    def _menu_key(self, key: str) -> bool:
        """Keys while the feature menu is open; False lets the key through."""
        menu = self.menu
        assert menu is not None
        if menu.editing is not None:
            if key in DIGITS:
                menu.entry += key
            elif key == "LEFT":
                menu.entry = menu.entry[:-1]
            elif key == "OK" and menu.entry:
                self._on_SetForward(ins.SetForward(menu.editing, True, menu.entry))
                menu.editing, menu.entry = None, ""
            elif key == "X":
                menu.editing, menu.entry = None, ""
            return True
        if key in ("UP", "DOWN"):
            menu.index = (menu.index + (1 if key == "DOWN" else -1)) % len(menu.items)
        elif key == "OK":
            item = menu.items[menu.index]
            if item == "DND":
                self._on_SetDnd(ins.SetDnd(not self._setting("features.dnd.enable", False)))
            elif item == "Call Waiting":
                self._on_SetCallWaiting(
                    ins.SetCallWaiting(not self._setting("call_waiting.enable", True)))
            else:
                kind = MENU_FORWARD[item]
                if self._setting(f"forward.{kind}.enable", False):
                    self._on_SetForward(ins.SetForward(kind, False))
                else:
                    menu.editing = kind
                    menu.entry = str(self._setting(f"forward.{kind}.target", ""))
        elif key == "X":
            self.menu = None
        else:
            self.menu = None
            return False
        return True

    def _audio_key(self, mode: str) -> None:
        call = self.focused
        ringing = self._ringing()
        if ringing and (call is None or call is ringing):
            return self._answer(ringing, mode)
        if call is not None or self.dial is not None:
            if self.audio == mode and not self.hook_off:
                # Pressing the lit handsfree/headset key again hangs up, as on a desk phone.
                if call is not None:
                    self._end(call)
                self.dial = None
                if not self.calls:
                    self.audio = None
            else:
                self.audio = mode
            return
        self._go_off_hook(mode)

    def _line_key(self, n: int) -> None:
        ringing = self._ringing()
        if ringing and (ringing.account == n or self.focused in (None, ringing)):
            return self._answer(ringing, self.audio or "speaker")
        on_line = [c for c in self.calls if c.account == n]
        if on_line:
            self.focus = on_line[0].ref
        elif not self.calls and 1 <= n <= MAX_ACCOUNTS and account(self.settings, n).enabled:
            self._go_off_hook(self.audio or "speaker", line=n)

    def _digit(self, key: str) -> None:
        call = self.focused
        if self.dial is not None or not self.calls or (call is not None and call.state == "connected"):
            self._key_tone(key)
        if self.dial is not None:
            if key == "#" and self.dial.digits:
                return self._send_dial()
            self.dial.digits += key
            self._timer("dial", float(self._setting("phone_setting.inter_digit_time", 4)))
        elif call is not None and call.state == "connected":
            self._out.append(fx.EngineDtmf(call.call_id, key))
        elif not self.calls:
            # Digits on an idle phone start pre-dialling; the call goes out on the speaker.
            self.menu = None
            self.dial = DialBuffer(digits=key, account=self._default_account())
            self._timer("dial", float(self._setting("phone_setting.inter_digit_time", 4)))

    def _cancel_dial(self) -> None:
        dial = self.dial
        assert dial is not None
        self.dial = None
        self._cancel_timer("dial")
        if dial.transfer_of is not None:
            held = next((c for c in self.calls if c.ref == dial.transfer_of), None)
            if held is not None:
                self.focus = held.ref
                self._hold(held, False)
        elif not self.hook_off and not self.calls:
            self.audio = None

    def _send_dial(self) -> None:
        dial = self.dial
        assert dial is not None
        self._cancel_timer("dial")
        number = dial.digits
        if not number:
            return
        self.dial = None
        if self.audio is None:
            self.audio = "speaker"
        self._place(number, dial.account, consult_for=dial.transfer_of)

    def _place(self, number: str, account_index: int, consult_for: str | None = None,
               auto_transfer: bool = False) -> Call:
        self._refs += 1
        call = Call(ref=f"c{self._refs}", call_id="", direction="out", account=account_index,
                    number=number, consult_for=consult_for, auto_transfer=auto_transfer)
        self.calls.append(call)
        self.focus = call.ref
        self.last_number = number
        self._out.append(fx.EngineDial(call.ref, number, account_index))
        return call

    # ------------------------------------------------------ call operations

    def _answer(self, call: Call, audio: str) -> None:
        others = [c for c in self.calls if c is not call and c.state == "connected" and not c.held]
        for other in others:
            self._hold(other, True)
        self.dial = None
        self.menu = None
        self.audio = "handset" if self.hook_off else audio
        self.focus = call.ref
        call.state = "connected"
        call.established_at = self.now
        self._cancel_timer(f"noanswer:{call.ref}")
        self._out.append(fx.EngineAnswer(call.call_id))
        if others or len(self.calls) > 1:
            self._emit("answer_new_incoming_call", call)
        self._emit("call_established", call)
        self._schedule_ticks()

    def _reject(self, call: Call) -> None:
        self._out.append(fx.EngineHangup(call.call_id, 486))
        self._emit("reject_incoming_call", call)
        self._remove(call)

    def _end(self, call: Call) -> None:
        """The user ends ``call`` in whatever state it is."""
        if call.state == "ringing":
            return self._reject(call)
        self._out.append(fx.EngineHangup(call.call_id or call.ref))
        if call.state == "connected":
            self._emit("call_terminated", call)
        else:
            self._emit("cancel_callout", call)
        self._remove(call)

    def _hold(self, call: Call, on: bool) -> None:
        if call.held == on:
            return
        call.held = on
        self._out.append(fx.EngineHold(call.call_id, on))
        self._emit("hold" if on else "unhold", call)

    def _mute(self, call: Call, on: bool) -> None:
        call.muted = on
        self._out.append(fx.EngineMute(call.call_id, on))
        self._emit("mute" if on else "unmute", call)

    def _forward(self, call: Call, target: str) -> None:
        self._out.append(fx.EngineForward(call.call_id, target))
        self._emit("forward_incoming_call", call)
        self._remove(call)

    def _transfer_key(self) -> None:
        call = self.focused
        if call is None:
            return
        if self.dial is not None and self.dial.transfer_of is not None:
            held = next((c for c in self.calls if c.ref == self.dial.transfer_of), None)
            target = self.dial.digits
            if held is not None and target:
                # TRANSFER again before dialling the target out: a blind transfer.
                self.dial = None
                self._cancel_timer("dial")
                self._blind_transfer(held, target)
            return
        if call.consult_for is not None:
            held = next((c for c in self.calls if c.ref == call.consult_for), None)
            if held is not None and call.state in ("ringback", "connected"):
                self._attended_transfer(held, call)
            return
        if call.state == "connected":
            self._emit("transfer_call", call)
            self._hold(call, True)
            self.dial = DialBuffer(account=call.account, transfer_of=call.ref)

    def _blind_transfer(self, call: Call, target: str) -> None:
        call.transferring = True
        self._out.append(fx.EngineTransfer(call.call_id, target))
        self._emit("blind_transfer_call", call)

    def _attended_transfer(self, held: Call, consult: Call) -> None:
        held.transferring = True
        self._out.append(fx.EngineAttendedTransfer(held.call_id, consult.call_id))
        self._emit("attended_transfer_call", held)

    # ------------------------------------------------- remote-control inputs

    def _on_Dial(self, inp: ins.Dial) -> None:
        if any(c.state in ("calling", "ringback") for c in self.calls):
            return self._flash("Busy")
        for c in self.calls:
            if c.state == "connected":
                self._hold(c, True)
        self.dial = None
        self.menu = None
        if self.audio is None:
            self.audio = "handset" if self.hook_off else "speaker"
        n = inp.account or self._default_account()
        self._place(inp.number, n)

    def _on_Answer(self, inp: ins.Answer) -> None:
        call = self._call(inp.call_id) if inp.call_id else self._ringing()
        if call is not None and call.state == "ringing":
            self._answer(call, self.audio or "speaker")

    def _on_EndCall(self, inp: ins.EndCall) -> None:
        call = self._call(inp.call_id)
        if inp.call_id is None and call is None:
            call = self._ringing()
        if call is not None:
            self._end(call)
        elif self.dial is not None and inp.call_id is None:
            self._cancel_dial()

    def _on_SetHold(self, inp: ins.SetHold) -> None:
        call = self._call(inp.call_id)
        if call is not None and call.state == "connected":
            self._hold(call, inp.on)

    def _on_Transfer(self, inp: ins.Transfer) -> None:
        call = self.focused
        if call is None or call.state != "connected" or not inp.target:
            return
        self._emit("transfer_call", call)
        if inp.attended:
            self._hold(call, True)
            self._place(inp.target, call.account, consult_for=call.ref, auto_transfer=True)
        else:
            self._blind_transfer(call, inp.target)

    def _on_SetDnd(self, inp: ins.SetDnd) -> None:
        if bool(self._setting("features.dnd.enable", False)) != inp.on:
            self._set_feature("features.dnd.enable", inp.on)
            self._emit("dnd_on" if inp.on else "dnd_off")
            self._confirm()

    def _on_SetForward(self, inp: ins.SetForward) -> None:
        kind = inp.kind
        target = inp.target if inp.target is not None else str(
            self._setting(f"forward.{kind}.target", ""))
        if inp.on and not target:
            return self._flash("No forward target")
        changed = bool(self._setting(f"forward.{kind}.enable", False)) != inp.on
        if inp.target is not None and inp.target != self._setting(f"forward.{kind}.target", ""):
            self._set_feature(f"forward.{kind}.target", inp.target)
        if kind == "no_answer" and inp.timeout is not None:
            self._set_feature("forward.no_answer.timeout", inp.timeout)
        if changed:
            self._set_feature(f"forward.{kind}.enable", inp.on)
            self._emit(FORWARD_EVENTS[kind] + ("_on" if inp.on else "_off"))
            self._confirm()

    def _on_SetCallWaiting(self, inp: ins.SetCallWaiting) -> None:
        if bool(self._setting("call_waiting.enable", True)) != inp.on:
            self._set_feature("call_waiting.enable", inp.on)
            self._emit("call_waiting_on" if inp.on else "call_waiting_off")
            self._confirm()

    def _on_SetAccountEnabled(self, inp: ins.SetAccountEnabled) -> None:
        self._set_feature(f"account.{inp.account}.enable", inp.enabled)
        self._out.append(fx.EngineRegister(inp.account, inp.enabled))

    # ------------------------------------------------------- engine events

    def _on_EngineState(self, inp: ins.EngineState) -> None:
        if inp.up == self.engine_up:
            return
        self.engine_up = inp.up
        if inp.up:
            self._route = None          # a new engine starts on its configured devices
            for acc in enabled_accounts(self.settings):
                self._out.append(fx.EngineRegister(acc.index, True))
            return
        for call in list(self.calls):
            self._emit("call_terminated", call)
            self._remove(call)
        for n, state in list(self.regs.items()):
            if state == "registered":
                self.regs[n] = "unregistered"
                self._emit("unregistered", account_index=n)

    # --------------------------------------------------------- the board

    def _on_DeviceState(self, inp: ins.DeviceState) -> None:
        if inp.present:
            self.missing.pop(inp.device, None)
        else:
            self.missing[inp.device] = inp.detail

    def _on_RegState(self, inp: ins.RegState) -> None:
        if self.regs.get(inp.account) == inp.state:
            return
        self.regs[inp.account] = inp.state
        event = {"registered": "registered", "failed": "register_failed",
                 "unregistered": "unregistered"}[inp.state]
        self._emit(event, account_index=inp.account)

    def _on_CallOutgoing(self, inp: ins.CallOutgoing) -> None:
        call = next((c for c in self.calls if c.ref == inp.ref), None)
        if call is None:
            return
        call.call_id = inp.call_id
        call.remote_uri = inp.remote_uri
        call.remote_name = inp.remote_name or call.remote_name
        call.state = "ringback"
        self._emit("outgoing_call", call)

    def _on_CallRinging(self, inp: ins.CallRinging) -> None:
        call = self._call(inp.call_id)
        if call is not None and call.direction == "out" and call.state in ("calling", "ringback"):
            call.state = "ringback"
            call.remote_ringing = True
            call.early_media = call.early_media or inp.early_media
            if call.auto_transfer:
                self._complete_consult(call)

    def _on_CallEstablished(self, inp: ins.CallEstablished) -> None:
        call = self._call(inp.call_id)
        if call is None or call.direction != "out" or call.state == "connected":
            return
        call.state = "connected"
        call.established_at = self.now
        self._emit("call_established", call)
        self._schedule_ticks()
        if call.auto_transfer:
            self._complete_consult(call)

    def _complete_consult(self, consult: Call) -> None:
        held = next((c for c in self.calls if c.ref == consult.consult_for), None)
        consult.auto_transfer = False
        if held is not None:
            self._attended_transfer(held, consult)

    def _on_CallIncoming(self, inp: ins.CallIncoming) -> None:
        self._refs += 1
        call = Call(ref=f"c{self._refs}", call_id=inp.call_id, direction="in",
                    account=inp.account, remote_uri=inp.remote_uri, remote_name=inp.remote_name,
                    state="ringing")
        if self._setting("features.dnd.enable", False):
            self._out.append(fx.EngineHangup(call.call_id, 480))
            self._emit("reject_incoming_call", call)
            return
        if self._setting("forward.always.enable", False):
            return self._turn_away_forward(call, "always")
        if self.calls:
            if self._setting("forward.busy.enable", False):
                return self._turn_away_forward(call, "busy")
            if not self._setting("call_waiting.enable", True):
                self._out.append(fx.EngineHangup(call.call_id, 486))
                self.missed += 1
                self._emit("missed_call", call)
                return
        self.calls.append(call)
        if self.focus is None:
            self.focus = call.ref
        self.menu = None
        self._emit("incoming_call", call)
        if self._setting("forward.no_answer.enable", False) and \
                self._setting("forward.no_answer.target", ""):
            rings = int(self._setting("forward.no_answer.timeout", 2))  # type: ignore[arg-type]
            self._timer(f"noanswer:{call.ref}", rings * RING_SECONDS)

    def _turn_away_forward(self, call: Call, kind: str) -> None:
        target = str(self._setting(f"forward.{kind}.target", ""))
        self._out.append(fx.EngineForward(call.call_id, target))
        self._emit("forward_incoming_call", call)

    def _on_CallClosed(self, inp: ins.CallClosed) -> None:
        call = self._call(inp.call_id)
        if call is None:
            return      # we ended it ourselves already
        route = self.audio
        tone = _progress_tone(call, inp)
        if call.state == "ringing":
            self.missed += 1
            self._emit("missed_call", call)
            if inp.reason == "canceled":
                self._emit("call_remote_canceled", call)
        elif call.state == "connected":
            if call.transferring and inp.reason == "transferred":
                self._emit("transfer_finished", call)
            self._emit("call_terminated", call)
        elif inp.reason in ("busy", "declined"):
            self._emit("remote_busy", call)
            self._flash("Busy" if inp.reason == "busy" else "Call rejected")
        else:
            self._emit("call_terminated", call)
            self._flash(inp.detail or "Call failed")
        consult_for = call.consult_for
        self._remove(call)
        if tone is not None and not self.calls:
            self._start_progress(tone, route)
        held = next((c for c in self.calls if c.ref == consult_for), None)
        if held is not None and not held.transferring:
            self.focus = held.ref

    def _on_CallRemoteHold(self, inp: ins.CallRemoteHold) -> None:
        call = self._call(inp.call_id)
        if call is not None and call.remote_held != inp.held:
            call.remote_held = inp.held
            self._emit("held" if inp.held else "unheld", call)

    def _on_TransferResult(self, inp: ins.TransferResult) -> None:
        call = self._call(inp.call_id)
        if call is None or not call.transferring:
            return
        call.transferring = False
        if inp.ok:
            self._emit("transfer_finished", call)
            self._emit("call_terminated", call)
            consult = next((c for c in self.calls if c.consult_for == call.ref), None)
            self._remove(call)
            if consult is not None:
                # Our leg of the consultation call goes away with the transfer.
                self._remove(consult)
            self._flash("Transferred")
        else:
            self._emit("transfer_failed", call)
            self._flash("Transfer failed")


def _progress_tone(call: Call, closed: ins.CallClosed) -> str | None:
    """The tone after ``call`` closed as ``closed`` says, or None."""
    if call.state == "connected":
        return "busy" if closed.reason == "normal" else None      # the far end hung up
    if call.direction != "out":
        return None
    code = closed.detail[:3]
    if closed.reason == "busy":
        return "busy"
    if closed.reason == "declined":
        if code in UNAVAILABLE_CODES:
            return "unavailable"
        return "congestion" if code.startswith("5") else "busy"
    if closed.reason == "error":
        return "unavailable" if code in UNAVAILABLE_CODES else "congestion"
    return None


def _ends_progress_tone(inp: ins.Input) -> bool:
    """The person at the phone does something (not the volume keys): the busy tone stops."""
    if isinstance(inp, ins.KeyPress):
        return inp.key not in ("VOLUME_UP", "VOLUME_DOWN")
    return isinstance(inp, (ins.HookChanged, ins.Dial, ins.Answer, ins.CallIncoming))


def _user_part(uri: str) -> str:
    rest = uri.split(":", 1)[1] if uri.startswith(("sip:", "sips:", "tel:")) else uri
    return rest.split("@", 1)[0].split(";", 1)[0]
