"""Line editing on a raw serial line: echo, backspace, CR/LF/CRLF, escape sequences."""

from deskphone.console.editor import MAX_LINE, LineEditor


def feed_all(editor: LineEditor, *chunks: bytes) -> tuple[bytes, list[str]]:
    echo, lines = b"", []
    for chunk in chunks:
        out = editor.feed(chunk)
        echo += out.echo
        lines += out.lines
    return echo, lines


def test_cr_lf_and_crlf_each_end_one_line():
    for ending in (b"\r", b"\n", b"\r\n"):
        echo, lines = feed_all(LineEditor(), b"status" + ending + b"help" + ending)
        assert lines == ["status", "help"], ending
        assert echo == b"status\r\nhelp\r\n"


def test_crlf_split_across_reads_is_still_one_line():
    echo, lines = feed_all(LineEditor(), b"a\r", b"\nb\r", b"\n")
    assert lines == ["a", "b"]


def test_two_crs_are_two_lines():
    assert feed_all(LineEditor(), b"\r\r")[1] == ["", ""]


def test_backspace_and_del_erase_on_screen_too():
    echo, lines = feed_all(LineEditor(), b"stx\x7fa\x08atus\r")
    assert lines == ["status"]
    assert echo == b"stx\b \ba\b \batus\r\n"


def test_backspace_on_an_empty_line_echoes_nothing():
    assert feed_all(LineEditor(), b"\x7f\x7f")[0] == b""


def test_arrow_keys_and_other_escapes_are_swallowed():
    echo, lines = feed_all(LineEditor(), b"\x1b[Ast\x1b[1;5Datus\x1bOP\r")
    assert lines == ["status"]
    assert b"\x1b" not in echo


def test_ctrl_c_drops_the_line_and_ctrl_u_erases_it():
    echo, lines = feed_all(LineEditor(), b"dial 12\x03")
    assert lines == [""] and echo.endswith(b"^C\r\n")
    editor = LineEditor()
    echo, lines = feed_all(editor, b"abc\x15help\r")
    assert lines == ["help"]
    assert echo == b"abc" + b"\b \b" * 3 + b"help\r\n"


def test_utf8_split_across_reads():
    _, lines = feed_all(LineEditor(), "dial Jos".encode(), "é".encode()[:1], "é".encode()[1:],
                        b"\r")
    assert lines == ["dial José"]


def test_a_long_line_is_capped_with_a_bell():
    echo, lines = feed_all(LineEditor(), b"x" * (MAX_LINE + 5) + b"\r")
    assert lines == ["x" * MAX_LINE]
    assert echo.count(b"\x07") == 5


def test_a_masked_part_is_echoed_as_stars():
    editor = LineEditor(mask=lambda typed: typed == "pw ")
    echo, lines = feed_all(editor, b"pw se")
    assert echo == b"pw **" and editor.shown == "pw **"
    echo, lines = feed_all(editor, b"\x7f\x7f\x7fx\r")      # erased back past the mask: plain again
    assert lines == ["pwx"]
    assert echo == b"\b \b\b \b\b \bx\r\n"


def test_config_set_of_a_secret_key_is_masked():
    from deskphone.console.commands import Commands
    editor = LineEditor(mask=Commands.masks_input)
    echo, lines = feed_all(editor, b"config set account.1.password s3cret\r")
    assert lines == ["config set account.1.password s3cret"]
    assert echo == b"config set account.1.password ******\r\n"
    echo, _ = feed_all(editor, b"config set account.1.label Desk\r")
    assert echo == b"config set account.1.label Desk\r\n"
