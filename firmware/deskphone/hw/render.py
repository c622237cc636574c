"""Screen model -> 1-bit PIL image, shared by the OLED driver, the simulated display and /screencapture.

Pure: the same ``Screen`` always gives the same pixels (the reference PNGs in
``tests/hw/reference/`` hold it to that), so the last ``FRAMES_KEPT`` frames are
kept: a screen the phone comes back to (idle after a call, the dial tone screen
after each lift of the handset) costs a copy instead of a drawing (about 80 us of
Pillow on this machine's 2 cores, several times that on a Pi).

- Text uses Pillow's built-in bitmap font (6 x 11 cells, 21 characters across
  128 pixels). TrueType rendered in 1-bit mode loses strokes at this size; a
  bitmap font stays crisp. It has Latin-1 glyphs only: other letters are
  reduced to their base letter (``Ł`` -> ``L``), or ``?``.
- Text too wide for its place is cut at a character and ends in a small
  three-dot ellipsis, never in half a glyph.
- Status icons (DND, forward, missed call, mute, hold, held, speaker, headset)
  are 7 x 7 bitmaps drawn here, so they cost a glyph's width, not a word's.
- 128 x 64: status bar, three body lines, soft keys. 128 x 32: status bar and
  two body lines (the first line, then the last non-empty one; in a list the
  selected line and its neighbour), no soft keys.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from ..core.screens import Screen

BAR_H = 11              # status bar height
ROW_H = 12              # body row pitch on 64-pixel panels
ICON = 7                # icon cell, pixels
ELLIPSIS_W = 6

_ICON_ROWS = {
    "dnd": ("..###..",
            ".#####.",
            "#######",
            "#.....#",
            "#######",
            ".#####.",
            "..###.."),
    "fwd": ("....#..",
            "....##.",
            "#######",
            "#######",
            "....##.",
            "....#..",
            "......."),
    "missed": ("#.....#",
               ".#...#.",
               "..#.#..",
               "...#..#",
               "......#",
               "....###",
               "......."),
    "mute": ("#..#...",
             ".#####.",
             ".###.#.",
             ".#.#.#.",
             ".####..",
             "...#.#.",
             "...#..#"),
    "hold": (".##.##.",
             ".##.##.",
             ".##.##.",
             ".##.##.",
             ".##.##.",
             ".##.##.",
             "......."),
    "held": ("#######",
             "#.#.#.#",
             "#.#.#.#",
             "#.#.#.#",
             "#.#.#.#",
             "#######",
             "......."),
    "speaker": ("...#..#",
                "..##.#.",
                "####..#",
                "####.#.",
                "####..#",
                "..##.#.",
                "...#..#"),
    "headset": (".#####.",
                "#.....#",
                "#.....#",
                "##...##",
                "##...##",
                "##...##",
                "......."),
}


@lru_cache(maxsize=1)
def font() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()


@lru_cache(maxsize=None)
def icon(name: str) -> Image.Image | None:
    rows = _ICON_ROWS.get(name)
    if rows is None:
        return None
    img = Image.new("1", (ICON, ICON), 0)
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch == "#":
                img.putpixel((x, y), 1)
    return img


@lru_cache(maxsize=4096)
def displayable(text: str) -> str:
    """``text`` in the font's Latin-1 repertoire: accents kept where Latin-1 has them."""
    out = []
    for ch in text:
        if ord(ch) < 256 and ch.isprintable():
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
        base = "".join(c for c in base if not unicodedata.combining(c))
        out.append(base or {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o",
                            "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"',
                            "”": '"', "…": "..."}.get(ch, "?"))
    return "".join(out)


def _width(draw: ImageDraw.ImageDraw, text: str) -> int:
    return int(draw.textlength(text, font=font()))


def fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> tuple[str, bool]:
    """``text`` cut at a character to fit ``width`` pixels; True when it was cut."""
    text = displayable(text)
    if _width(draw, text) <= width:
        return text, False
    while text and _width(draw, text) + ELLIPSIS_W > width:
        text = text[:-1]
    return text.rstrip(), True


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, width: int,
          fill: int) -> int:
    """Draw ``text`` clipped to ``width`` with an ellipsis; returns the pixels used."""
    shown, cut = fit(draw, text, width)
    x, y = xy
    draw.text((x, y), shown, font=font(), fill=fill)
    used = _width(draw, shown)
    if cut:
        for i in range(3):                       # a three-dot ellipsis, 1 px dots
            draw.point((x + used + 1 + 2 * i, y + 8), fill=fill)
        used += ELLIPSIS_W
    return used


FRAMES_KEPT = 32        # about 1 KiB each at 128 x 64


def render(screen: Screen, width: int = 128, height: int = 64) -> Image.Image:
    """The frame of ``screen``: a new image each call (the caller may change it)."""
    # The status line is for the service manager, not the panel: not part of the key.
    return _frame(replace(screen, status=""), width, height).copy()


@lru_cache(maxsize=FRAMES_KEPT)
def _frame(screen: Screen, width: int, height: int) -> Image.Image:
    img = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(img)

    # Status bar, inverted: title left; icons, then the clock or call timer, right.
    draw.rectangle((0, 0, width - 1, BAR_H - 1), fill=1)
    corner = displayable(screen.corner)
    x = width - 1 - _width(draw, corner)
    draw.text((x, 0), corner, font=font(), fill=0)
    for name in reversed(screen.icons):
        glyph = icon(name)
        if glyph is None:
            continue
        x -= ICON + 2
        img.paste(0, (x, 2, x + ICON, 2 + ICON), mask=glyph)
    _text(draw, (1, 0), screen.title, x - 4, fill=0)

    lines = tuple(screen.lines)
    if height >= 64:
        rows = [(i, 13 + i * ROW_H) for i in range(3)]
    elif screen.selected is not None and len(lines) > 1:
        # A list (menu, call log, pushed TextMenu): the selected line and its neighbour.
        first = min(screen.selected, len(lines) - 2)
        rows = [(first, BAR_H), (first + 1, BAR_H + 10)]
    else:
        last = next((i for i in range(len(lines) - 1, 0, -1) if lines[i]), 1)
        rows = [(0, BAR_H), (last, BAR_H + 10)]
    for i, y in rows:
        line = lines[i] if i < len(lines) else ""
        # 21 characters fit across 128 pixels from x = 1.
        if screen.selected == i:
            draw.rectangle((0, y - 1, width - 1, y + ROW_H - 2), fill=1)
            _text(draw, (1, y), line, width - 1, fill=0)
        elif line:
            _text(draw, (1, y), line, width - 1, fill=1)

    if screen.bar is not None and height >= 64:
        y = 13 + 2 * ROW_H + 2
        draw.rectangle((2, y, width - 3, y + 6), outline=1, fill=0)
        filled = int((width - 6) * max(0, min(15, screen.bar)) / 15)
        if filled:
            draw.rectangle((3, y + 1, 3 + filled - 1, y + 5), fill=1)

    if height >= 64 and any(screen.softkeys):
        top = height - 11
        draw.line((0, top, width - 1, top), fill=1)
        for x, label in softkey_layout(draw, screen.softkeys, width):
            draw.text((x, top + 1), label, font=font(), fill=1)
    return img


def softkey_layout(draw: ImageDraw.ImageDraw, labels: tuple[str, ...],
                   width: int, gap: int = 3) -> list[tuple[int, str]]:
    """Each label centred over its key; a long one edges its neighbours aside, the longest gets cut last."""
    texts = [displayable(t) for t in labels]
    cell = width // len(texts)
    while True:
        widths = [_width(draw, t) for t in texts]
        xs = [i * cell + (cell - w) // 2 for i, w in enumerate(widths)]
        shown = [i for i, t in enumerate(texts) if t]
        if shown:
            xs[shown[0]] = max(0, xs[shown[0]])
            xs[shown[-1]] = min(width - widths[shown[-1]], xs[shown[-1]])
        for a, b in zip(shown, shown[1:]):           # push right past the left neighbour
            xs[b] = max(xs[b], xs[a] + widths[a] + gap)
        for a, b in reversed(list(zip(shown, shown[1:]))):   # and back left from the edge
            if xs[b] + widths[b] > width:
                xs[b] = width - widths[b]
            xs[a] = min(xs[a], xs[b] - widths[a] - gap)
        if not shown or (xs[shown[0]] >= 0 and xs[shown[-1]] + widths[shown[-1]] <= width):
            return [(xs[i], texts[i]) for i in shown]
        longest = max(shown, key=lambda i: widths[i])
        texts[longest] = texts[longest][:-1]
