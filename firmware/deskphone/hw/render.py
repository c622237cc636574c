"""Screen model -> 1-bit PIL image, shared by the OLED driver, the simulated display and /screencapture.

Uses Pillow's built-in bitmap font: TrueType fonts rendered in 1-bit mode lose
strokes at this size, a bitmap font stays crisp.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from ..core.screens import Screen

ICON_TEXT = {"dnd": "DND", "fwd": "FWD", "missed": "!", "mute": "MUTE", "hold": "HOLD",
             "held": "HELD", "speaker": "SPK", "headset": "HS"}


@lru_cache(maxsize=1)
def font() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """Cut ``text`` cleanly to ``width`` pixels, marking the cut with '~'."""
    if draw.textlength(text, font=font()) <= width:
        return text
    while text and draw.textlength(text + "~", font=font()) > width:
        text = text[:-1]
    return text + "~"


def render(screen: Screen, width: int = 128, height: int = 64) -> Image.Image:
    img = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(img)
    f = font()
    # Status bar: inverted, title left, clock or call timer right, icons before the clock.
    draw.rectangle((0, 0, width - 1, 10), fill=1)
    corner = " ".join([ICON_TEXT.get(i, i) for i in screen.icons] + [screen.corner])
    corner_w = int(draw.textlength(corner, font=f))
    draw.text((width - corner_w - 1, 0), corner, font=f, fill=0)
    draw.text((1, 0), _fit(draw, screen.title, width - corner_w - 4), font=f, fill=0)

    rows = 3 if height >= 64 else 1
    body_top, row_h = 13, 12
    for i, line in enumerate(screen.lines[:rows]):
        y = body_top + i * row_h
        if screen.selected == i:
            draw.rectangle((0, y - 1, width - 1, y + row_h - 2), fill=1)
            draw.text((2, y), _fit(draw, line, width - 4), font=f, fill=0)
        else:
            draw.text((2, y), _fit(draw, line, width - 4), font=f, fill=1)
    if screen.bar is not None:
        y = body_top + 2 * row_h + 2
        draw.rectangle((2, y, width - 3, y + 6), outline=1, fill=0)
        filled = int((width - 6) * screen.bar / 15)
        if filled:
            draw.rectangle((3, y + 1, 3 + filled - 1, y + 5), fill=1)

    if height >= 64 and any(screen.softkeys):
        top = height - 11
        draw.line((0, top, width - 1, top), fill=1)
        cell = width // 4
        for i, label in enumerate(screen.softkeys):
            if label:
                text = _fit(draw, label, cell - 2)
                x = i * cell + (cell - int(draw.textlength(text, font=f))) // 2
                draw.text((x, top + 1), text, font=f, fill=1)
    return img
