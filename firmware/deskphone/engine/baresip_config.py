"""baresip's configuration directory, written from the phone's settings.

baresip reads two files from the directory given with ``-f``: ``config`` (one
``name value`` per line) and ``accounts`` (one SIP address with parameters per
line). The phone owns both: they are written again before every start of
baresip from the Yealink account keys, the board's ``[sound]`` section,
``sip.listen_port``, the RTP port range and the ``--bind`` address, so editing
them by hand has no lasting effect. ``accounts`` holds passwords: it is
written with mode 0600 in a 0700 directory.

Only lines that work with every baresip version we support (1.0.0, 1.1.0) are
written.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..config.yealink_cfg import atomic_write_text
from ..core.accounts import Account, enabled_accounts
from ..errors import ConfigError
from ..config.board_sound import KEYS as BOARD_SOUND_KEYS, ROUTES, parse_sound

# Where Debian, Raspberry Pi OS and a source build put the modules; the first that exists wins.
MODULE_DIRS = ("/usr/lib/baresip/modules", "/usr/lib/*/baresip/modules",
               "/usr/local/lib/baresip/modules", "/usr/local/lib/*/baresip/modules")
# Audio codecs, best first; only those present in the module directory are loaded.
CODEC_MODULES = ("g722.so", "g711.so")
APP_MODULES = ("account.so", "menu.so", "ctrl_tcp.so")
# The simulated board has no sound card: play into ALSA's null device, send a tone.
SIM_SOUND = {"player": "alsa,null", "alert": "alsa,null", "source": "ausine,440"}
PI_SOUND = {"player": "alsa,default", "alert": "alsa,default", "source": "alsa,default"}
SOUND_KEYS = ("player", "source", "alert", "srate", "channels")
# How the sound card is attached: read by config/board_needs.py, not by baresip.
BUS_KEYS = {"driver", "interface", "bus", "i2c_address", "i2c_port", "i2c_bus", "spi_port",
            "spi_device", "spi_bus"}
# Characters a value in the accounts line cannot carry: baresip splits parameters at
# ';' and blanks and has no escape for them.
_UNSAFE_PARAM = re.compile(r"[;\s\"<>,]")
REGISTER_INTERVAL_MIN = 30


class BaresipConfigError(ConfigError):
    pass


def find_module_dir() -> str | None:
    for pattern in MODULE_DIRS:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(os.path.join(path, "ctrl_tcp.so")):
                return path
    return None


@dataclass(frozen=True)
class AccountLine:
    """One line of baresip's ``accounts`` file for one Yealink account."""
    index: int
    aor: str                # what baresip reports as ``accountaor`` (sip:user@host[:port])
    line: str = field(repr=False)   # holds the password: never log it


@dataclass(frozen=True)
class BehindEdge:
    """baresip behind the SIP edge (engine.sip_edge): both on loopback ports of their own."""
    inner_port: int         # the edge's loopback socket: every account's outbound proxy
    phone_port: int         # where baresip listens (127.0.0.1)


def account_line(acc: Account, edge: BehindEdge | None = None) -> AccountLine:
    """The accounts line for ``acc``; raises BaresipConfigError for what baresip cannot take.

    Behind the edge every request leaves through it (the account's own outbound
    proxy is then the edge's business, engine.sip_edge_config)."""
    key = f"account.{acc.index}"
    if not acc.server or not acc.user_name:
        raise BaresipConfigError("account has no SIP server or user name", key=key)
    for what, value in (("user name", acc.user_name), ("authentication name", acc.auth_name),
                        ("password", acc.password)):
        if value and _UNSAFE_PARAM.search(value):
            raise BaresipConfigError(
                f"the {what} holds a character baresip cannot take in an account "
                "(';', blank, quote, '<', '>' or ',')", key=key)
    if re.search(r"[\s;<>@\"]", acc.server):
        raise BaresipConfigError("the SIP server is not a host name or address",
                                 key=f"{key}.sip_server.1.address")
    host = acc.host if acc.port != 5060 else _bracket(acc.server)
    aor = f"sip:{acc.user_name}@{host}"
    uri_params = {1: ";transport=tcp", 2: ";transport=tls"}.get(acc.transport, "")
    name = re.sub(r'["\\\r\n]', "", acc.display_name).strip()
    parts = [f'"{name}" ' if name else "", f"<{aor}{uri_params}>"]
    if acc.auth_name and acc.auth_name != acc.user_name:
        parts.append(f";auth_user={acc.auth_name}")
    if acc.password:
        parts.append(f";auth_pass={acc.password}")
    if edge is not None:
        parts.append(f';outbound="sip:127.0.0.1:{edge.inner_port}{uri_params}"')
    elif acc.outbound_proxy_enable and acc.outbound_host:
        proxy = _bracket(acc.outbound_host)
        if acc.outbound_port not in (0, 5060):
            proxy += f":{acc.outbound_port}"
        parts.append(f';outbound="sip:{proxy}{uri_params}"')
    parts.append(f";regint={max(REGISTER_INTERVAL_MIN, acc.expires)}")
    # The phone answers, rejects and forwards itself; it does not follow a REFER
    # sent to it (the core has no notion of a call the engine starts on its own).
    parts.append(";answermode=manual;call_transfer=no;mwi=no")
    return AccountLine(acc.index, aor, "".join(parts))


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class BaresipConfig:
    """Everything baresip's ``config`` file says, as the phone decides it."""
    sip_listen: str                     # address:port
    ctrl_port: int
    module_dir: str
    net_interface: str | None = None    # an address; 1.0.0 cannot take an interface name
    player: str = "alsa,default"
    source: str = "alsa,default"
    alert: str = "alsa,default"
    srate: int | None = None
    channels: int | None = None
    rtp_ports: tuple[int, int] = (11780, 12780)   # Yealink's default range
    dns_server: str | None = None
    # Where baresip looks for its ring/ringback/busy WAV files: an empty directory, so
    # it plays none. The phone plays its own tones (sound/), with cadence and volume.
    sounds_dir: str | None = None

    def render(self) -> str:
        lines = [
            "# Written by deskphone before every start of baresip: edits here do not last.",
            "poll_method\t\tepoll",
            f"sip_listen\t\t{self.sip_listen}",
        ]
        if self.net_interface:
            lines.append(f"net_interface\t\t{self.net_interface}")
        if self.dns_server:
            lines.append(f"dns_server\t\t{self.dns_server}")
        lines += [
            f"audio_player\t\t{self.player}",
            f"audio_source\t\t{self.source}",
            f"audio_alert\t\t{self.alert}",
        ]
        if self.srate:
            lines.append(f"ausrc_srate\t\t{self.srate}")
            lines.append(f"auplay_srate\t\t{self.srate}")
        if self.channels:
            lines.append(f"ausrc_channels\t\t{self.channels}")
            lines.append(f"auplay_channels\t\t{self.channels}")
        if self.sounds_dir:
            lines.append(f"audio_path\t\t{self.sounds_dir}")
            lines.append("ringback_disabled\tyes")
        lines += [
            f"rtp_ports\t\t{self.rtp_ports[0]}-{self.rtp_ports[1]}",
            "call_max_calls\t\t4",
            f"module_path\t\t{self.module_dir}",
        ]
        present = set(os.listdir(self.module_dir)) if os.path.isdir(self.module_dir) else set()
        drivers = {spec.split(",", 1)[0] + ".so" for spec in (self.player, self.source, self.alert)}
        for module in (*CODEC_MODULES, *sorted(drivers)):
            if module in present:
                lines.append(f"module\t\t\t{module}")
        for module in APP_MODULES:
            lines.append(f"module_app\t\t{module}")
        # ctrl_tcp listens on 0.0.0.0 unless told otherwise: only this machine may drive it.
        lines.append(f"ctrl_tcp_listen\t\t127.0.0.1:{self.ctrl_port}")
        return "\n".join(lines) + "\n"


def sound_devices(sound: Mapping[str, object], simulated: bool) -> dict[str, object]:
    """The board's ``[sound]`` section with defaults filled in.

    ``player`` / ``source`` / ``alert`` take baresip's ``driver,device`` form
    (``alsa,plughw:CARD=Device``) or a bare ALSA device name (``plughw:1,0`` is
    taken as ``alsa,plughw:1,0``).
    """
    unknown = set(sound) - set(BOARD_SOUND_KEYS)
    if unknown:
        raise BaresipConfigError(f"unknown key(s) in [sound]: {', '.join(sorted(unknown))}",
                                 key="sound")
    if any(route in sound for route in ROUTES):
        # The phone's own sound devices (config/board_sound.py): call audio starts on the
        # handset, the alert device is the loudspeaker; calls move with the route.
        try:
            board = parse_sound(sound, simulated)
        except ConfigError as exc:
            raise BaresipConfigError(exc.message, key=exc.key) from None
        handset, speaker = board.device("handset"), board.device("speaker")
        assert handset is not None and speaker is not None
        return {"player": f"alsa,{handset.playback}", "source": f"alsa,{handset.capture}",
                "alert": f"alsa,{speaker.playback}", "srate": board.srate,
                "channels": board.channels}
    out: dict[str, object] = dict(SIM_SOUND if simulated else PI_SOUND)
    for key in ("player", "source", "alert"):
        value = sound.get(key)
        if value is None:
            continue
        text = str(value).strip()
        if not text or re.search(r"\s", text):
            raise BaresipConfigError("must be 'driver,device' or an ALSA device name",
                                     key=f"sound.{key}")
        out[key] = text if _has_driver(text) else f"alsa,{text}"
    if "alert" not in sound and "player" in sound:
        out["alert"] = out["player"]
    for key in ("srate", "channels"):
        if key in sound:
            value = sound[key]
            if not isinstance(value, int) or value <= 0:
                raise BaresipConfigError("must be a positive whole number", key=f"sound.{key}")
            out[key] = value
    if str(out["source"]).startswith("ausine,"):
        # baresip 1.0.0's ausine only produces 48 kHz stereo.
        out.setdefault("srate", 48000)
        out.setdefault("channels", 2)
    return out


def _has_driver(spec: str) -> bool:
    driver, sep, _ = spec.partition(",")
    return bool(sep) and driver.isidentifier() and ":" not in driver


def account_lines(settings: Mapping[str, object], edge: BehindEdge | None = None,
                  ) -> tuple[list[AccountLine], dict[int, str]]:
    """Lines for every enabled account; the accounts baresip cannot take, with the reason."""
    lines, problems = [], {}
    for acc in enabled_accounts(settings):
        try:
            lines.append(account_line(acc, edge))
        except BaresipConfigError as exc:
            problems[acc.index] = str(exc)
    return lines, problems


def render_accounts(lines: list[AccountLine]) -> str:
    body = "".join(line.line + "\n" for line in lines)
    return "# Written by deskphone from the account.N.* settings. Holds passwords.\n" + body


def write_config_dir(directory: Path, config: BaresipConfig, accounts: list[AccountLine]) -> None:
    """Write ``config`` and ``accounts`` atomically; ``accounts`` only ever exists as 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    # mkstemp makes the temp file 0600, and the rename keeps that: passwords stay private.
    atomic_write_text(directory / "config", config.render())
    atomic_write_text(directory / "accounts", render_accounts(accounts))


@dataclass(frozen=True)
class LaunchConfig:
    """What one start of baresip is configured with, from the settings and the board."""
    config: BaresipConfig
    accounts: list[AccountLine]
    problems: dict[int, str]            # account -> why baresip cannot take it


def launch_config(settings: Mapping[str, object], *, sound: Mapping[str, object],
                  simulated: bool, bind: str, runtime_dir: Path, module_dir: str,
                  ctrl_port: int, edge: BehindEdge | None = None) -> LaunchConfig:
    """The configuration of the next start; raises BaresipConfigError for a bad [sound].

    With ``edge`` baresip listens on its loopback port and sends through the edge,
    which holds the phone's SIP port."""
    devices = sound_devices(sound, simulated)
    lines, problems = account_lines(settings, edge)
    bind = bind if bind not in ("", "0.0.0.0", "::") else ""
    host = f"[{bind}]" if ":" in bind else bind
    port = int(settings.get("sip.listen_port", 5060))  # type: ignore[arg-type]
    rtp = (int(settings.get("network.port.min_rtpport", 11780)),  # type: ignore[arg-type]
           int(settings.get("network.port.max_rtpport", 12780)))  # type: ignore[arg-type]
    config = BaresipConfig(
        sip_listen=f"127.0.0.1:{edge.phone_port}" if edge is not None
        else f"{host or '0.0.0.0'}:{port}", ctrl_port=ctrl_port, module_dir=module_dir,
        net_interface=bind or None, player=str(devices["player"]),
        source=str(devices["source"]), alert=str(devices["alert"]),
        srate=devices.get("srate"), channels=devices.get("channels"),  # type: ignore[arg-type]
        rtp_ports=(min(rtp), max(rtp)), sounds_dir=str(runtime_dir / "sounds"))
    return LaunchConfig(config, lines, problems)
