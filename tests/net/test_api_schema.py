"""The JSON API's schema and documents without a network: the README's copy, edge values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from deskphone.core import inputs as ins
from deskphone.core.call_log import CallLogLoaded, Entry
from deskphone.net import api_data
from deskphone.net.api_schema import SCHEMA, pretty
from fake_host import FakeHost
from support.api_schema import check

README = Path(__file__).parents[2] / "README.md"
T0 = 1_796_000_000.0


def test_the_schema_is_draft_2020_12_and_the_readme_carries_it():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    section = README.read_text().split("## JSON API", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert block, "no ```json block in the README's JSON API section"
    assert json.loads(block.group(1)) == SCHEMA
    assert block.group(1) == pretty(SCHEMA)        # as python -m deskphone.net.api_schema prints


def test_a_phone_just_started_and_a_log_from_an_older_file_fit_the_schema(tmp_path):
    host = FakeHost(tmp_path, {"account.1.enable": True, "account.1.user_name": "100",
                               "account.1.password": "sip-secret",
                               "account.1.sip_server.1.address": "pbx.test"})
    host.post(CallLogLoaded((Entry("received", "", "sip:2", 1, T0), Entry(
        "placed", "Bob", "202", 1, T0 + 5, 12, outcome="answered"))))
    host.post(ins.Dial("201"))
    status = check(api_data.status(host, T0 + 9), "status")
    assert status["uptime"] is None and status["engine"] == {"name": "none", "up": True}
    assert status["registrations"][0]["state"] == "registering"
    assert [(c["direction"], c["state"], c["since"], c["duration"]) for c in status["calls"]] \
        == [("out", "calling", None, 0)]
    calls = check(api_data.calls(host, T0 + 9), "calls")
    assert [(c["outcome"], c["start"], c["duration"]) for c in calls["calls"]] == [
        ("answered", "2026-11-30T00:53:25Z", 12), ("rejected", "2026-11-30T00:53:20Z", 0)]
    check(api_data.voicemail(host, T0), "voicemail")
    check(api_data.blf(host, T0), "blf")
    assert "sip-secret" not in json.dumps([status, calls])


def test_a_uris_password_is_cut_and_everything_else_kept():
    cut = api_data.no_secret
    assert cut("sip:300:hunter2@pbx.test") == "sip:300@pbx.test"
    assert cut("sips:alice:pw@[2001:db8::1]:5061") == "sips:alice@[2001:db8::1]:5061"
    assert cut("http://u:p@h.example/x") == "http://u@h.example/x"
    for kept in ("300", "sip:300@pbx.test", "tel:+4930123", "sip:pbx.test", ""):
        assert cut(kept) == kept
