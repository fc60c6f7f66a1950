#!/usr/bin/env python3
"""Draw the mobile workspace's app icons (192, 512 and a maskable 512 PNG) from the favicon's design — the
blue shield with a white house of doorstep/static/doorstep/favicon.svg — with Pillow. Run once after a design
change and commit the PNGs:

    .venv/bin/python scripts/mobile-icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "doorstep" / "static" / "doorstep" / "mobile" / "icons"
BLUE = (32, 107, 196, 255)  # #206bc4, the favicon's fill
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4


def _cubic(p0, p1, p2, p3, steps=48):
    points = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1 - t
        points.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return points


def shield() -> list[tuple[float, float]]:
    """The favicon's path "M16 2 4 7v8c0 7.5 5.1 13.4 12 15 6.9-1.6 12-7.5 12-15V7z" in its 32-unit box."""
    points = [(16, 2), (4, 7), (4, 15)]
    points += _cubic((4, 15), (4, 22.5), (9.1, 28.4), (16, 30))
    points += _cubic((16, 30), (22.9, 28.4), (28, 22.5), (28, 15))
    points.append((28, 7))
    return points


def draw(size: int, *, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), BLUE if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        # Full-bleed blue; the white shield stays inside the 80 % safe circle a launcher may crop to.
        scale, fill, house = big * 0.56 / 32, WHITE, BLUE
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.18, fill=WHITE)
        scale, fill, house = big * 0.84 / 32, BLUE, WHITE
    offset = (big - 32 * scale) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return (offset + x * scale, offset + y * scale)

    pen.polygon([at(x, y) for x, y in shield()], fill=fill)
    pen.rectangle((*at(10, 15), *at(22, 23)), fill=house)
    pen.polygon([at(12, 11), at(16, 8), at(20, 11)], fill=house)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("maskable-512.png", 512, True),
    ):
        draw(size, maskable=maskable).save(OUT / name, optimize=True)
        print(OUT / name)


if __name__ == "__main__":
    main()
