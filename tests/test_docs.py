"""The README's event table is the catalogue's: regenerate it with `deskphone events --markdown`."""

from pathlib import Path

from deskphone.docs import BEGIN, END, events_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_event_table_matches_the_catalogue():
    text = README.read_text()
    block = text[text.index(BEGIN):text.index(END) + len(END)]
    assert block == events_markdown()


def test_readme_quick_start_has_exactly_the_two_commands():
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in section.splitlines()
                if line.startswith("    make ")]
    assert commands == ["make sim", "make test"]
