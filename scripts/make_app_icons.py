"""Draws the web app's icons (assets/app-icon-*.png): the brand's ticket, white on the indigo
accent (#3e63dd). Run again after changing the brand: `python scripts/make_app_icons.py`."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parents[1] / "assets"
INDIGO = (62, 99, 221, 255)
WHITE = (255, 255, 255, 255)
SCALE = 4  # drawn large, then scaled down: smooth edges without antialiasing support in ImageDraw


def ticket(size: int, *, maskable: bool) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        # Full bleed: the platform cuts its own shape; the drawing stays in the central 80 % safe zone.
        draw.rectangle((0, 0, big, big), fill=INDIGO)
        inset = big * 0.26
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.18, fill=INDIGO)
        inset = big * 0.17
    left, right = inset, big - inset
    height = (right - left) * 0.62
    top = (big - height) / 2
    bottom = top + height
    draw.rounded_rectangle((left, top, right, bottom), radius=big * 0.05, fill=WHITE)
    # The notches either side of the tear line, and the tear line itself.
    notch = height * 0.16
    tear_x = left + (right - left) * 0.66
    for y in (top, bottom):
        draw.ellipse((tear_x - notch, y - notch, tear_x + notch, y + notch), fill=INDIGO)
    dash = height * 0.09
    y = top + notch * 1.5
    while y + dash <= bottom - notch * 1.5:
        draw.rectangle((tear_x - big * 0.008, y, tear_x + big * 0.008, y + dash), fill=INDIGO)
        y += dash * 1.8
    # Two lines of "text" on the stub's left part.
    for row in (0.36, 0.56):
        y0 = top + height * row
        draw.rounded_rectangle(
            (left + big * 0.06, y0, tear_x - big * 0.08, y0 + height * 0.09), radius=big * 0.01, fill=INDIGO
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ticket(192, maskable=False).save(ASSETS / "app-icon-192.png", optimize=True)
    ticket(512, maskable=False).save(ASSETS / "app-icon-512.png", optimize=True)
    ticket(512, maskable=True).save(ASSETS / "app-icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
