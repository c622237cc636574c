"""Hostile input to the XML push parser: whatever the bytes, a parsed object or XmlPushError.

Hypothesis builds objects from the real element and attribute names with random text,
random entity and DTD fragments, and plain random bytes; nothing else may come out (no
expat error, no KeyError, no recursion), and a DOCTYPE is never accepted.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskphone.net.xml_push import MAX_XML, XmlPushError, parse_object
from deskphone.net.phonebook import PhonebookError, parse_book

ROOTS = ["YealinkIPPhoneTextScreen", "YealinkIPPhoneTextMenu", "YealinkIPPhoneStatus",
         "YealinkIPPhoneExecute", "YealinkIPPhoneDirectory", "yealinkipphonetextscreen", "x"]
CHILDREN = ["Title", "Text", "MenuItem", "Prompt", "URI", "Message", "ExecuteItem",
            "DirectoryEntry", "Name", "Telephone", "SoftKey"]
ATTRS = ["Beep", "Timeout", "defaultIndex", "style", "SessionID", "URI", "cancelAction",
         "doneAction", "Index"]
text = st.text(max_size=30)
fragment = st.sampled_from(["&amp;", "&lt;", "&#x41;", "&#0;", "&bogus;", "<![CDATA[x]]>",
                            "<!-- c -->", "<?pi x?>", '<!DOCTYPE a [<!ENTITY e "x">]>',
                            "<!ENTITY e SYSTEM 'file:///etc/passwd'>", "&e;", "\x00", "]]>"])


@st.composite
def element(draw, depth: int = 0) -> str:
    name = draw(st.sampled_from(CHILDREN if depth else ROOTS))
    attrs = "".join(f' {a}="{draw(st.sampled_from(["yes", "no", "0", "3", "-1", "99999999"]))}"'
                    for a in draw(st.lists(st.sampled_from(ATTRS), max_size=3, unique=True)))
    inner = "".join(draw(st.lists(st.one_of(text.map(lambda t: t.replace("<", "")), fragment,
                                            element(depth + 1) if depth < 3 else text),
                                  max_size=4)))
    return f"<{name}{attrs}>{inner}</{name}>"


document = st.one_of(element(), st.binary(max_size=300),
                     st.tuples(fragment, element()).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_the_push_parser_answers_an_object_or_a_clear_error(doc):
    data = doc if isinstance(doc, bytes) else doc.encode("utf-8", "surrogatepass")
    try:
        parse_object(data)
    except XmlPushError as exc:
        assert exc.status in (400, 413) and str(exc)
    else:
        assert b"<!DOCTYPE" not in data and len(data) <= MAX_XML


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_the_phone_book_parser_answers_contacts_or_a_clear_error(doc):
    data = doc if isinstance(doc, bytes) else doc.encode("utf-8", "surrogatepass")
    try:
        contacts = parse_book(data, "PBX")
    except PhonebookError as exc:
        assert str(exc)
    else:
        assert all(c.numbers for c in contacts)


def test_deep_nesting_is_refused_by_the_element_cap_not_the_stack():
    deep = "<YealinkIPPhoneTextScreen>" + "<Text>" * 300 + "</Text>" * 300 \
        + "</YealinkIPPhoneTextScreen>"
    assert len(deep) < MAX_XML
    with pytest.raises(XmlPushError, match="more than 200 elements"):
        parse_object(deep.encode())
