"""The console's commands against a bare PhoneHost: no app, no simulated parts unless given."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from deskphone.config.settings import Settings
from deskphone.config.store import StateStore
from deskphone.config.writer import SettingsWriter
from deskphone.console.commands import Commands
from deskphone.core import inputs as ins
from deskphone.core.state import DeviceInfo
from deskphone.core.trust import trust_key
from deskphone.sim.board import SimDisplay, SimHook, SimKeypad, SimLeds
from deskphone.sim.controls import SimControls
from deskphone.sim.terminal import Terminal, board_commands


class BareHost:
    """Only what the console reads; every input posted is kept."""

    def __init__(self, state_dir: Path) -> None:
        self.posted: list[ins.Input] = []
        self.told: list[Settings] = []
        self.writer = SettingsWriter(StateStore(state_dir), Settings.defaults,
                                     lambda s, tell: self.told.append(s) if tell else None)
        self.writer.load()
        self.device = DeviceInfo("001565abcdef", "deskphone", "1.0", "192.0.2.7", line_keys=2)
        self.board_name, self.status, self.ip = "bench", "Idle", "192.0.2.7"
        self.registrations = MappingProxyType({1: "registered"})
        self.deliveries: list = []
        self.engine_name, self.engine_up, self.uptime = "FakeEngine", False, 3725.0

    @property
    def settings(self) -> Settings:
        return self.writer.settings

    def post(self, inp: ins.Input) -> None:
        self.posted.append(inp)


async def test_hook_on_a_real_board_tells_the_phone_the_switch_moved(tmp_path):
    host = BareHost(tmp_path)
    commands = Commands(host)           # type: ignore[arg-type]
    assert await commands.execute("hook off") == ""
    assert await commands.execute("hook on") == ""
    # A command, like a remote OFFHOOK/ONHOOK key: a press, not a bouncing contact.
    assert host.posted == [ins.HookChanged(True, remote=True),
                           ins.HookChanged(False, remote=True)]


async def test_hook_on_the_simulated_board_moves_the_twin(tmp_path):
    host = BareHost(tmp_path)
    hook = SimHook(host.post)
    controls = SimControls(SimKeypad(host.post), hook, SimLeds(), SimDisplay())
    commands = Commands(host, extra=board_commands(controls))   # type: ignore[arg-type]
    assert await commands.execute("hook off") == ""
    assert hook.off_hook is True                 # the web simulator shows it lifted
    assert host.posted == [ins.HookChanged(True)]
    assert (await commands.execute("hook")).startswith("error: usage: hook on|off")


async def test_status_reads_the_host(tmp_path):
    host = BareHost(tmp_path)
    text = await Commands(host).execute("status")    # type: ignore[arg-type]
    assert "deskphone" in text and "'bench'" in text and "state:    Idle" in text
    assert "IP:       192.0.2.7 (MAC 001565abcdef)" in text
    assert "uptime:   1:02:05" in text
    assert "(FakeEngine): DOWN" in text
    assert "DND:      off; forward: always off, busy off, no_answer off; call waiting: on" in text
    host.writer.update({"forward.busy.enable": "1", "forward.busy.target": "301"})
    text = await Commands(host).execute("status")    # type: ignore[arg-type]
    assert "forward: always off, busy -> 301, no_answer off" in text


async def test_config_set_and_trust_forget_go_through_the_writer(tmp_path):
    host = BareHost(tmp_path)
    commands = Commands(host)          # type: ignore[arg-type]
    answer = await commands.execute("config set call_waiting.enable 0")
    assert answer == "call_waiting.enable = 0    # kept in the runtime state"
    assert host.told[-1]["call_waiting.enable"] is False          # the core is told
    host.writer.set(trust_key("10.1.2.3"), "allow")
    assert await commands.execute("trust forget 10.1.2.3") == \
        "forgot 10.1.2.3: it will be asked again"
    assert trust_key("10.1.2.3") not in host.writer.runtime_state()
    assert (await commands.execute("trust forget 10.1.2.3")).startswith("error: no decision")


async def test_the_sim_terminal_without_the_sim_engine_says_so(tmp_path):
    host = BareHost(tmp_path)
    controls = SimControls(SimKeypad(host.post), SimHook(host.post), SimLeds(), SimDisplay())
    shown: list[str] = []
    terminal = Terminal(host, controls, out=shown.append)     # type: ignore[arg-type]
    await terminal.command("call-in 201")
    assert shown == ["error: the engine is not the simulated PBX (deskphone.engine = sim)"]
    await terminal.command("ip 192.0.2.99")
    assert host.posted == [ins.IpChanged("192.0.2.99")]
