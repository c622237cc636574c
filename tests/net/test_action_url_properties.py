"""Property test (Hypothesis): no variable's value breaks out of its query parameter, all the
way to the URL the Action URL sender puts on the wire (moved from tests/core so the core's
tests import no aiohttp)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from deskphone.core.events import VARIABLES
from deskphone.core.variables import expand
from deskphone.net.action_url import request_url

# --- variables, all the way to the bytes the sender puts on the wire ----------------------

TEMPLATE = "http://receiver.invalid/p/$mac/x?" + "&".join(f"{n}=${n}" for n in VARIABLES) + "#f"


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({name: st.text() for name in VARIABLES}))
def test_no_value_breaks_out_of_its_parameter_on_the_wire(values):
    url = request_url(expand(TEMPLATE, values))         # exactly what aiohttp will send
    raw = str(url)
    assert url.host == "receiver.invalid" and url.raw_path.startswith("/p/")
    assert url.raw_path.count("/") == 3                 # a value in the path adds no segment
    query = urlsplit(raw).query
    assert parse_qs(query, keep_blank_values=True, strict_parsing=True,
                    errors="strict") == {
        name: [values[name].encode("utf-8", "replace").decode("utf-8")] for name in VARIABLES}
    assert "#" not in raw.split("#", 1)[0].split("?", 1)[1]
