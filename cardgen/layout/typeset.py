"""Text into lines of glyphs: the first font that has each character, its advance, line breaks.

Chinese breaks between any two characters except before closing punctuation (，。、）」…)
and after opening punctuation (（「…); Latin words and numbers (ID numbers, phones) stay
whole unless a word alone is wider than the line.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from cardgen.layout.fonts import Face, FontSet

NO_LINE_START = frozenset("，。、；：？！）」』】》〉’”…—·,.;:?!)]}%")
NO_LINE_END = frozenset("（「『【《〈‘“([{")
_WIDE = frozenset({"W", "F"})


@dataclass(frozen=True)
class Run:
    """Consecutive glyphs of one face; `text` holds the characters they show."""

    face: Face
    glyphs: tuple[int, ...]
    text: str
    width: float  # em


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]
    width: float  # em

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True)
class _Glyph:
    char: str
    face: Face
    glyph: int
    advance: float  # em


class Typesetter:
    """Shapes text with a font set: one glyph per character, advances from the fonts."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self._cache: dict[tuple[str, bool], _Glyph] = {}
        self._lines: dict[tuple[str, float, bool], list[Line]] = {}

    def _glyph(self, char: str, bold: bool) -> _Glyph:
        key = (char, bold)
        found = self._cache.get(key)
        if found is None:
            faces = self.fonts.faces(bold)
            code = ord(char)
            for face in faces:
                glyph = face.cmap.get(code)
                if glyph is not None:
                    break
            else:  # the glyph check refuses such text before drawing; keep .notdef visible
                face, glyph = faces[0], 0
            found = _Glyph(char, face, glyph, face.advance(glyph))
            self._cache[key] = found
        return found

    def width(self, text: str, bold: bool = False) -> float:
        """Width of `text` on one line, in em."""
        glyph = self._glyph
        return sum(glyph(char, bold).advance for char in text)

    def line(self, text: str, bold: bool = False) -> Line:
        """All of `text` on one line (no breaking)."""
        return _make_line([self._glyph(char, bold) for char in text])

    def lines(self, text: str, width_em: float, bold: bool = False) -> list[Line]:
        """`text` broken into lines no wider than `width_em` (unless one character is)."""
        key = (text, width_em, bold)
        found = self._lines.get(key)
        if found is not None:
            return found
        result: list[Line] = []
        for paragraph in text.split("\n"):
            glyphs = [self._glyph(char, bold) for char in paragraph]
            if sum(g.advance for g in glyphs) <= width_em + 1e-9:  # the usual case: one line
                result.append(_make_line(glyphs))
            else:
                result.extend(_make_line(part) for part in _break(glyphs, width_em))
        result = result or [Line((), 0.0)]
        if len(self._lines) > 20_000:  # bounded: memory must not grow with the ledger
            self._lines.clear()
        self._lines[key] = result
        return result


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in _WIDE


def _can_break_before(glyphs: list[_Glyph], index: int) -> bool:
    previous, current = glyphs[index - 1].char, glyphs[index].char
    if current in NO_LINE_START or previous in NO_LINE_END or current == " ":
        return False
    return previous == " " or previous in "-/" or _wide(previous) or _wide(current)


def _break(glyphs: list[_Glyph], width: float) -> list[list[_Glyph]]:
    lines: list[list[_Glyph]] = []
    start = 0
    while start < len(glyphs):
        used, end, last_break = 0.0, start, None
        while end < len(glyphs):
            if end > start and _can_break_before(glyphs, end):
                last_break = end
            if used + glyphs[end].advance > width + 1e-9 and end > start:
                break
            used += glyphs[end].advance
            end += 1
        if end < len(glyphs):
            if last_break is not None and last_break > start:
                end = last_break
            while end > start + 1 and glyphs[end].char in NO_LINE_START:
                end -= 1  # a forced break keeps closing punctuation with its word
        line = glyphs[start:end]
        while line and line[-1].char == " ":
            line.pop()
        lines.append(line)
        start = end
        while start < len(glyphs) and glyphs[start].char == " ":
            start += 1
    return lines or [[]]


def _make_line(glyphs: list[_Glyph]) -> Line:
    runs: list[Run] = []
    current: list[_Glyph] = []
    for glyph in glyphs:
        if current and glyph.face is not current[0].face:
            runs.append(_make_run(current))
            current = []
        current.append(glyph)
    if current:
        runs.append(_make_run(current))
    return Line(tuple(runs), sum(run.width for run in runs))


def _make_run(glyphs: list[_Glyph]) -> Run:
    return Run(glyphs[0].face, tuple(g.glyph for g in glyphs), "".join(g.char for g in glyphs),
               sum(g.advance for g in glyphs))
