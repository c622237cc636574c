from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, strategies as st

from deskphone.core.events import VARIABLES
from deskphone.core.variables import expand


@pytest.mark.parametrize("template, values, expected", [
    ("http://h/x?mac=$mac", {"mac": "001565aabbcc"}, "http://h/x?mac=001565aabbcc"),
    ("?n=$display_remote", {"display_remote": "A&B=C #1"}, "?n=A%26B%3DC%20%231"),
    ("?n=$remote", {"remote": "sip:100@pbx.example"}, "?n=sip%3A100%40pbx.example"),
    ("?n=$display_remote", {"display_remote": "Zoë +1/2%"}, "?n=Zo%C3%AB%20%2B1%2F2%25"),
    # Prefixes of each other: the longest identifier decides.
    ("?a=$local&b=$display_local", {"local": "L", "display_local": "D"}, "?a=L&b=D"),
    ("?a=$local_x&b=$localx", {"local": "L"}, "?a=$local_x&b=$localx"),
    # Missing and empty values become "", never the variable's name.
    ("?c=$calledNumber&d=$callerID", {"callerID": ""}, "?c=&d="),
    # Unknown words are left as written, including a backslash before them.
    ("?a=$foo&b=\\$bar&c=$", {}, "?a=$foo&b=\\$bar&c=$"),
    # Case-sensitive, as Yealink writes them.
    ("?a=$MAC&b=$callerid", {"mac": "m", "callerID": "c"}, "?a=$MAC&b=$callerid"),
    # \$mac as pasted from the PDF reads as $mac.
    ("?mac=\\$mac&ip=\\$ip", {"mac": "m", "ip": "10.0.0.2"}, "?mac=m&ip=10.0.0.2"),
    ("$ip$mac", {"mac": "m", "ip": "i"}, "im"),
])
def test_expand(template, values, expected):
    assert expand(template, values) == expected


def test_every_catalogue_variable_is_expanded():
    values = {name: f"v-{name}" for name in VARIABLES}
    template = "&".join(f"{name}=${name}" for name in VARIABLES)
    assert expand(template, values) == "&".join(f"{name}=v-{name}" for name in VARIABLES)


_TEMPLATE = "http://receiver.invalid/help.xml?" + "&".join(f"{n}=${n}" for n in VARIABLES) + "#frag"


@given(st.fixed_dictionaries({name: st.text() for name in VARIABLES}))
def test_no_value_breaks_out_of_its_parameter(values):
    query = urlsplit(expand(_TEMPLATE, values)).query
    parsed = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    assert parsed == {name: [values[name]] for name in VARIABLES}
