"""Issue 15, item 15: forward targets and numbers that forge lines or pass as other numbers.

A forward target carrying U+2028 (LINE SEPARATOR) or U+0085 (NEXT LINE) is stored and
printed back by ``phonecfg=get&fw=1``; clients read that answer line by line, and
Python's ``str.splitlines()`` (like many readers) ends a line at both, so the target
forged a line of its own (``NoAnswFwd=1`` while the forward is off). A right-to-left
override makes ``1002`` look like ``2001`` on a screen or in a log; Arabic-Indic digits
pass ``str.isdigit()`` but dial nothing a PBX knows. Each is refused with a 400 and
changes nothing. Replayed over a real socket against the servlet on a fake host.
"""

from __future__ import annotations

import pytest

from deskphone.core import inputs as ins
from support.servlet_on_host import ServletOnHost


def _phonecfg(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.mark.parametrize("separator", ["%E2%80%A8", "%C2%85", "%E2%80%A9"],
                         ids=["U+2028", "U+0085", "U+2029"])
async def test_a_forward_target_cannot_forge_a_phonecfg_line(tmp_path, separator):
    async with ServletOnHost(tmp_path) as servlet:
        status, text = await servlet.get(f"/servlet?key=AlwaysFwdOn=123{separator}NoAnswFwd=1")
        assert status == 400 and "forward target contains" in text
        assert not any(isinstance(i, ins.SetForward) for i in servlet.host.posted)
        status, text = await servlet.get("/servlet?phonecfg=get&fw=1")
        assert status == 200
        cfg = _phonecfg(text)
        assert cfg["NoAnswFwd"] == "0" and cfg["AlwaysFwd"] == "0"
        assert cfg["AlwaysFwdTarget"] == ""


@pytest.mark.parametrize("query", [
    "key=number=%E2%80%AE1002",                    # RIGHT-TO-LEFT OVERRIDE
    "number=%E2%80%8F1002",                        # RIGHT-TO-LEFT MARK
    "key=BTrans=10%E2%80%8B02",                    # ZERO WIDTH SPACE
    "number=%D9%A1%D9%A0%D9%A0%D9%A2",             # Arabic-Indic digits 1002
    "key=AlwaysFwdOn=%EF%BC%91%EF%BC%90",          # full-width digits
    "key=NoAnswFwdOn=%DB%B1%DB%B2=2",              # Extended Arabic-Indic digits
])
async def test_disguised_numbers_are_refused_and_nothing_is_done(tmp_path, query):
    async with ServletOnHost(tmp_path) as servlet:
        status, text = await servlet.get(f"/servlet?{query}")
        assert status == 400, text
        assert servlet.host.posted == []
