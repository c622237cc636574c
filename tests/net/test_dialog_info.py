"""application/dialog-info+xml (RFC 4235): parsing, hostile bodies refused, and one
subscription's dialogs kept across full and partial NOTIFYs."""

from __future__ import annotations

import pytest

from deskphone.core.blf import Dialog
from deskphone.net.dialog_info import MAX_BODY, MAX_DIALOGS, DialogBook, DialogInfoError, parse


def doc(dialogs: str, version: int = 1, state: str = "full",
        entity: str = "sip:202@127.0.0.1") -> bytes:
    return (f'<?xml version="1.0"?>\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
            f'version="{version}" state="{state}" entity="{entity}">{dialogs}</dialog-info>'
            ).encode()


# What kamailio 5.6's pua_dialoginfo published for the callee of a ringing call (the BLF lab).
KAMAILIO_EARLY = b"""<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="2" state="full" entity="sip:202@127.0.0.1">
  <dialog id="padi-6b0f8f89-35f-1" call-id="17df2f0068e3c55c" local-tag="ae1cfc745989e615" remote-tag="0edcf9c835b0dc7c" direction="recipient">
    <state>early</state>
    <remote>
      <identity>sip:201@127.0.0.1:46810</identity>
      <target uri="sip:201-0x563b03b52970@127.0.0.1:54145"/>
    </remote>
    <local>
      <identity>sip:202@127.0.0.1:46810</identity>
      <target uri="sip:202-0x55e3ae8d5970@127.0.0.1:34415"/>
    </local>
  </dialog>
</dialog-info>
"""


def dialog(ident: str, state: str, direction: str = "recipient") -> str:
    return f'<dialog id="{ident}" direction="{direction}"><state>{state}</state></dialog>'


def test_a_ringing_dialog_with_its_ids_tags_and_remote():
    info = parse(KAMAILIO_EARLY)
    assert (info.version, info.full, info.entity) == (2, True, "sip:202@127.0.0.1")
    assert info.dialogs == (Dialog("padi-6b0f8f89-35f-1", "early", "recipient",
                                   "17df2f0068e3c55c", "ae1cfc745989e615", "0edcf9c835b0dc7c",
                                   "sip:201@127.0.0.1:46810"),)


def test_a_prefixed_namespace_and_a_bare_dialog_are_read():
    body = (b'<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info" version="0" '
            b'state="partial" entity="sip:x@y"><d:dialog id="1"><d:state>confirmed</d:state>'
            b'</d:dialog></d:dialog-info>')
    info = parse(body)
    assert not info.full and info.dialogs == (Dialog("1", "confirmed"),)
    assert parse(doc("")).dialogs == ()               # no dialog at all: the user is idle


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                            else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><dialog-info version="1" state="full" entity="x">&lol9;</dialog-info>')


@pytest.mark.parametrize("body, why", [
    (BILLION_LAUGHS, "DTD"),
    (b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><dialog-info version="1" '
     b'state="full">&x;</dialog-info>', "DTD"),
    (b"<dialog-info" + b" " * MAX_BODY + b"/>", "larger"),
    (doc("".join(dialog(str(i), "early") for i in range(MAX_DIALOGS + 1))), "dialogs"),
    (doc("<x/>" * 500), "elements"),
    (b"", "XML"),
    (b"\xff\xfe garbage", "XML"),
    (doc(dialog("1", "early"))[:-20], "XML"),                     # cut short
    (b'<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', "not dialog-info"),
    (doc("", version=-1), "version"),
    (doc("", version=10**12), "version"),
    (doc("", state="most"), "full or partial"),
    (doc('<dialog><state>early</state></dialog>'), "without an id"),
    (doc(dialog("1", "ringing")), "state"),
    (doc(dialog("1", "early", direction="sideways")), "direction"),
])
def test_hostile_and_broken_bodies_are_refused_clearly(body, why):
    with pytest.raises(DialogInfoError, match=why):
        parse(body)


def test_fields_are_bounded_and_printable():
    long = "x" * 5000
    info = parse(doc(f'<dialog id="{long}" call-id="a&#10;b"><state>early</state></dialog>'))
    assert len(info.dialogs[0].id) == 256 and info.dialogs[0].call_id == "ab"


def test_the_book_takes_full_and_partial_documents_in_version_order():
    book = DialogBook()
    assert book.state == "idle"
    assert book.apply(parse(doc(dialog("a", "early"), version=1)))
    assert book.state == "ringing"
    assert book.apply(parse(doc(dialog("a", "confirmed") + dialog("b", "trying", "initiator"),
                                version=2, state="partial")))
    assert book.state == "talking" and set(book.dialogs) == {"a", "b"}
    # an older partial one is stale: nothing changes
    assert not book.apply(parse(doc(dialog("a", "early"), version=1, state="partial")))
    assert book.dialogs["a"].state == "confirmed"
    assert book.apply(parse(doc(dialog("a", "terminated"), version=3, state="partial")))
    assert set(book.dialogs) == {"b"} and book.state == "talking"
    # a full document replaces everything (a server restart may start the versions again)
    assert book.apply(parse(doc("", version=0)))
    assert book.dialogs == {} and book.state == "idle"


def test_partial_documents_that_only_add_stay_bounded():
    book = DialogBook()
    for v in range(100):
        book.apply(parse(doc(dialog(f"d{v}", "confirmed"), version=v, state="partial")))
    assert len(book.dialogs) == MAX_DIALOGS and "d99" in book.dialogs
