"""Colour as the card uses it: RGB from the palette's hex, black or white ink on a colour,
the tint a black-and-white pattern is drawn in, and the patterns themselves (one tile,
drawn by the frame's stylesheet as SVG and by the label sheets as PDF)."""

from __future__ import annotations

from functools import lru_cache

Colour = tuple[float, float, float]
# Text black: pure black, which a print shop keeps on the black plate alone (a 90 % black
# is screened into dots, and small characters break up)
BLACK: Colour = (0.0, 0.0, 0.0)


def mix(colour: Colour, other: Colour, amount: float) -> Colour:
    """`amount` of `other` mixed into `colour`."""
    return (colour[0] + (other[0] - colour[0]) * amount,
            colour[1] + (other[1] - colour[1]) * amount,
            colour[2] + (other[2] - colour[2]) * amount)


def pattern_ink(hex_colour: str) -> Colour:
    """The pattern's colour on a colour: a lighter tint on dark colours, darker on light."""
    base = rgb(hex_colour)
    if ink_for(hex_colour) == "#000000":
        return mix(base, (0.0, 0.0, 0.0), 0.35)
    return mix(base, (1.0, 1.0, 1.0), 0.5)


@lru_cache(maxsize=256)  # the config's few colours, asked 90,000 times a 1,000-card ledger
def rgb(hex_colour: str) -> Colour:
    return (int(hex_colour[1:3], 16) / 255, int(hex_colour[3:5], 16) / 255,
            int(hex_colour[5:7], 16) / 255)


# WCAG 2 AA's least contrast for text under 18 pt (14 pt bold): the band's words are 6–15 pt
AA_CONTRAST = 4.5


def contrast(hex_colour: str, other: str) -> float:
    """The WCAG 2 contrast ratio of two colours, 1 to 21."""
    def luminance(colour: str) -> float:
        def linear(channel: int) -> float:
            c = channel / 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)

    light, dark = sorted((luminance(hex_colour), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@lru_cache(maxsize=256)  # a palette's few colours: asked for each card page and index row, its
# two contrasts took 3.4 % of a worker's drawing (py-spy, session 8)
def ink_for(hex_colour: str) -> str:
    """The ink of words on the colour: white only where it contrasts more than black and at
    least WCAG AA's 4.5:1 (red #D62828 5.0:1, blue #1E6FD9 4.9:1), else black — black on
    a mid colour where neither reaches 4.5:1 still reads in black-and-white copies."""
    white = contrast(hex_colour, "#FFFFFF")
    if white >= AA_CONTRAST and white > contrast(hex_colour, "#000000"):
        return "#FFFFFF"
    return "#000000"


# A mark of a pattern tile: ("line", x1, y1, x2, y2) or ("dot", x, y, radius), in mm from
# the tile's top-left corner.
Stroke = tuple[str, float, float, float, float] | tuple[str, float, float, float]


def pattern_tile(kind: str, pitch: float, line: float) -> list[Stroke]:
    """The marks of one square tile of a colour's pattern (hatch, dots, lines, grid; plain
    has none); tiles repeat edge to edge."""
    half = pitch / 2
    marks: dict[str, list[Stroke]] = {
        "hatch": [("line", 0.0, pitch, pitch, 0.0), ("line", -half, half, half, -half),
                  ("line", half, pitch + half, pitch + half, half)],
        "lines": [("line", 0.0, half, pitch, half)],
        "grid": [("line", 0.0, half, pitch, half), ("line", half, 0.0, half, pitch)],
        "dots": [("dot", half, half, line / 2 + pitch / 26)],
    }
    return marks.get(kind, [])
