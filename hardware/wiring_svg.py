"""Draws hardware/<board>/wiring.svg from the wiring table in hardware/<board>/README.md.

    .venv/bin/python hardware/wiring_svg.py      (all boards)

The table is the source of truth: rows ``| part pin | header pin | GPIO or power |``.
The picture shows the 40-pin header (pin 1 top left, as seen from above with the
USB ports at the bottom) and a line from each used pin to its part's label.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([\d, ]+)\s*\|\s*([^|]+?)\s*\|")
COLOURS = {"3V3": "#d62728", "5V": "#ff7f0e", "GND": "#333333"}


def rows(readme: Path) -> list[tuple[str, list[int], str]]:
    out = []
    for line in readme.read_text().splitlines():
        m = ROW.match(line)
        if m and m[2].strip():
            pins = [int(p) for p in re.findall(r"\d+", m[2])]
            out.append((m[1], pins, m[3]))
    return out


def svg(title: str, table: list[tuple[str, list[int], str]]) -> str:
    pitch, top, left = 22, 60, 60
    width = 900
    height = top + 20 * pitch + 40 + max(0, len(table) - 20) * pitch
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="100%" height="100%" fill="#fafafa"/>',
             f'<text x="{left}" y="30" font-size="16" font-weight="bold">{html.escape(title)}</text>',
             f'<rect x="{left - 10}" y="{top - 14}" width="{2 * pitch + 20}" height="{20 * pitch + 8}" '
             f'fill="#1b5e20" rx="4"/>']
    for pin in range(1, 41):
        row, col = (pin - 1) // 2, (pin - 1) % 2
        x, y = left + col * pitch + 5, top + row * pitch
        parts.append(f'<circle cx="{x}" cy="{y}" r="6" fill="#ffd54f" stroke="#795548"/>')
        parts.append(f'<text x="{x}" y="{y + 3}" font-size="7" text-anchor="middle">{pin}</text>')
    label_x = left + 2 * pitch + 260
    for i, (part, pins, signal) in enumerate(table):
        y = top + i * pitch
        colour = next((c for k, c in COLOURS.items() if signal.startswith(k)), "#1565c0")
        for pin in pins[:1] if len(pins) > 1 else pins:
            row, col = (pin - 1) // 2, (pin - 1) % 2
            px, py = left + col * pitch + 5, top + row * pitch
            parts.append(f'<polyline points="{px},{py} {left + 2 * pitch + 30 + i * 4},{py} '
                         f'{left + 2 * pitch + 30 + i * 4},{y} {label_x - 6},{y}" fill="none" '
                         f'stroke="{colour}" stroke-width="1.5" opacity="0.85"/>')
        pin_text = ", ".join(str(p) for p in pins)
        parts.append(f'<text x="{label_x}" y="{y + 4}"><tspan font-weight="bold">'
                     f'{html.escape(part)}</tspan> - pin {pin_text} - {html.escape(signal)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    for readme in sorted(HERE.glob("*/README.md")):
        table = rows(readme)
        title = readme.read_text().splitlines()[0].lstrip("# ").strip()
        (readme.parent / "wiring.svg").write_text(svg(title, table))
        print(f"{readme.parent.name}/wiring.svg: {len(table)} connections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
