"""The README's event table is the catalogue's: regenerate it with `deskphone events --markdown`."""

import re
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


ARCHITECTURE = README.parent / "ARCHITECTURE.md"
PACKAGE = README.parent / "firmware" / "deskphone"


def _rooms() -> list[str]:
    """Every package folder and top-level module of firmware/deskphone, as the map names them."""
    rooms = [f"{p.name}/" for p in sorted(PACKAGE.iterdir())
             if p.is_dir() and (p / "__init__.py").exists()]
    rooms += [p.name for p in sorted(PACKAGE.glob("*.py"))
              if p.name not in ("__init__.py", "__main__.py", "docs.py")]
    return rooms


def test_the_architecture_page_and_the_readme_name_every_room():
    page, readme = ARCHITECTURE.read_text(), README.read_text()
    layout = readme.split("## What it is made of", 1)[1].split("\n## ", 1)[0]
    for room in _rooms():
        assert room in page, f"ARCHITECTURE.md does not name {room}"
        assert room in layout, f"the README's layout section does not name {room}"


def test_the_architecture_page_names_every_core_model_and_only_real_ones():
    page = ARCHITECTURE.read_text()
    core = page.split("### core/", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"\b([a-z_]+\.py)\b", core))
    present = {p.name for p in (PACKAGE / "core").glob("*.py")} - {"__init__.py"}
    assert named <= present, f"named but not in core/: {sorted(named - present)}"
    missing = present - named - {"accounts.py", "keys.py", "tones.py"}   # small helpers
    assert not missing, f"core/ modules the map leaves out: {sorted(missing)}"
