"""The simulated PBX keeps a bounded log: a phone left running on the simulated board
(`make sim`, the 30-minute soak) must not grow with every command it ever got."""

from deskphone.config.board import SimPbxConfig
from deskphone.config.settings import Settings
from deskphone.core import effects as fx
from deskphone.engine.sim import LOG_KEPT, SimEngine


def test_the_command_log_keeps_the_latest_commands_only():
    engine = SimEngine(SimPbxConfig(), lambda: Settings.defaults())
    for n in range(LOG_KEPT + 500):
        engine.execute(fx.EngineDtmf(f"c{n}", "1"))
    assert len(engine.log) == LOG_KEPT
    assert engine.log[0].call_id == "c500" and engine.log[-1].call_id == f"c{LOG_KEPT + 499}"
