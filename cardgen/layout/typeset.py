"""Text into lines of glyphs: the first font that has each character, its advance, line breaks.

Where a line may break comes from Unicode's line breaking algorithm (UAX #14, by ICU's line
breaker for Chinese through icu4py), tailored further with the 禁则 of GB/T 15834 and CLREQ
(W3C, "Requirements for Chinese
Text Layout", 3.1.7): no line starts with closing punctuation, a full stop, comma or pause
mark, a percent sign or a wave dash, and none ends with opening punctuation. Latin words and
numbers (ID numbers, phones) stay whole unless a word alone is wider than the line. Widths
come from the fonts' advances, one glyph per character: text that fits its line, the usual
case, is measured without looking for breaks at all.

Names break otherwise: only after the "·" between the parts of a name (巴特尔·那仁格日勒,
never 巴特尔·那仁格日 / 勒) or after the mark between names of a list (张秀英、李明); the
callers make a name smaller before it would have to break inside a part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from cardgen.layout.fonts import Face, FontSet, resource_name
from cardgen.layout.geometry import PT

# CLREQ 3.1.7 and GB/T 15834: characters no line may start with (closing brackets and
# quotes, the pause, full stop, comma and other stops, the interpunct, percent and degree
# signs, the wave dash; the second half of a two-character dash or ellipsis) …
NO_LINE_START = frozenset(
    "）〕］｝〉》」』】〙〗〟’”｠»、。，．：；？！‼⁇⁈⁉·・‧％‰℃℉～〜…—–‥"
    ",.;:?!)]}%")
# … and characters no line may end with (opening brackets and quotes, currency signs).
NO_LINE_END = frozenset("（〔［｛〈《「『【〘〖〝‘“｟«￥＄￡$£¥([{")
# A name breaks only after these: the dots between the parts of a minority name (the
# middle dot as registers write it, and its look-alikes) and the marks between names.
NAME_BREAKS = frozenset("·・•‧･.．、，, ")
# Texts a Typesetter keeps the widths and lines of, in each of its memos; past this, a memo
# starts again. Most texts on a card are its household's own (names, numbers, addresses),
# met once: at 20,000 a worker of a 10,000-household ledger held some 29 MiB more after
# 10,000 cards (RSS 156 MiB, not 127) for about the same CPU time (issue 26, peak memory).
KEPT = 2_000


@dataclass(frozen=True)
class Run:
    """Consecutive glyphs of one face; `text` holds the characters they show, `hexes` the
    glyph ids as a content stream's hex string shows them (made once with the run: each
    line is drawn again and again from the typesetter's caches).

    Made once with the run too, for the canvas that draws it on every card: `font`, its
    face's resource name, and `shows`, each glyph's text as a PDF's ToUnicode map gives it
    (the first character a glyph shows; none when the glyphs are not one a character)."""

    face: Face
    glyphs: tuple[int, ...]
    text: str
    width: float  # em
    hexes: str = ""
    font: str = field(default="", repr=False, compare=False)
    shows: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.hexes:
            object.__setattr__(self, "hexes", "".join(f"{g:04x}" for g in self.glyphs))
        if not self.font:
            object.__setattr__(self, "font", resource_name(self.face))
        if not self.shows:
            shows: dict[int, str] = {}
            if len(self.glyphs) == len(self.text):
                for glyph, char in zip(self.glyphs, self.text, strict=True):
                    shows.setdefault(glyph, char)
            else:
                shows = dict.fromkeys(self.glyphs, "")
            object.__setattr__(self, "shows", shows)


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]
    width: float  # em

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True, slots=True)
class _Glyph:
    char: str
    face: Face
    glyph: int
    advance: float  # em
    hexes: str  # the glyph id in four hex digits


class Typesetter:
    """Shapes text with a font set: one glyph per character, advances from the fonts."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        # by bold, then by character: a card's drawing and fitting look up some 850 glyphs
        # (cProfile, session 6)
        self._cache: dict[bool, dict[str, _Glyph]] = {False: {}, True: {}}
        self._lines: dict[tuple[str, float, bool, bool], list[Line]] = {}
        # texts measured and set on one line, by bold: labels and words recur on every card
        self._widths: dict[bool, dict[str, float]] = {False: {}, True: {}}
        self._one_line: dict[bool, dict[str, Line]] = {False: {}, True: {}}
        self._drops: dict[tuple[float, float], float] = {}

    def baseline_drop(self, size: float, line_height: float) -> float:
        """`baseline_drop` with this typesetter's fonts, kept for each size and line
        height (asked for each of a card's 50 lines)."""
        found = self._drops.get((size, line_height))
        if found is None:
            found = self._drops[(size, line_height)] = baseline_drop(self.fonts, size,
                                                                     line_height)
        return found

    def _glyph(self, char: str, bold: bool) -> _Glyph:
        found = self._cache[bold].get(char)
        if found is None:
            faces = self.fonts.faces(bold)
            code = ord(char)
            for face in faces:
                glyph = face.cmap.get(code)
                if glyph is not None:
                    break
            else:  # the glyph check refuses such text before drawing; keep .notdef visible
                face, glyph = faces[0], 0
            found = _Glyph(char, face, glyph, face.advance(glyph), f"{glyph:04x}")
            self._cache[bold][char] = found
        return found

    def _glyphs(self, text: str, bold: bool) -> list[_Glyph]:
        known = self._cache[bold]
        try:
            return [known[char] for char in text]
        except KeyError:
            return [self._glyph(char, bold) for char in text]

    def width(self, text: str, bold: bool = False) -> float:
        """Width of `text` on one line, in em."""
        widths = self._widths[bold]
        found = widths.get(text)
        if found is None:
            found = sum([glyph.advance for glyph in self._glyphs(text, bold)])
            if len(widths) > KEPT:  # bounded, as the lines
                widths.clear()
            widths[text] = found
        return found

    def widest_unit(self, name: str, bold: bool = False) -> float:
        """The widest piece of a name that never breaks (see `name_units`), in em."""
        return max((self.width(unit.rstrip(), bold) for unit in name_units(name)), default=0.0)

    def line(self, text: str, bold: bool = False) -> Line:
        """All of `text` on one line (no breaking)."""
        lines = self._one_line[bold]
        found = lines.get(text)
        if found is None:
            found = _make_line(self._glyphs(text, bold))
            if len(lines) > KEPT:  # bounded, as the lines
                lines.clear()
            lines[text] = found
        return found

    def lines(self, text: str, width_em: float, bold: bool = False,
              name: bool = False) -> list[Line]:
        """`text` broken into lines no wider than `width_em` (unless one character is); a
        `name` only between its parts or between names (see `name_units`)."""
        key = (text, width_em, bold, name)
        found = self._lines.get(key)
        if found is not None:
            return found
        result: list[Line] = []
        for paragraph in text.split("\n"):
            glyphs = self._glyphs(paragraph, bold)
            if sum([g.advance for g in glyphs]) <= width_em + 1e-9:  # the usual case: one line
                result.append(_make_line(glyphs))
            else:
                allowed = (name_breaks(paragraph) if name
                           else break_opportunities(paragraph))
                result.extend(_make_line(part) for part in _break(glyphs, width_em, allowed))
        result = result or [Line((), 0.0)]
        if len(self._lines) > KEPT:  # bounded: memory must not grow with the ledger
            self._lines.clear()
        self._lines[key] = result
        return result


def baseline_drop(fonts: FontSet, size: float, line_height: float) -> float:
    """From a line's top to its baseline (mm), for text of `size` pt on lines
    `line_height` mm tall: the leading split above and below the regular face's extent."""
    face = fonts.regular[0]
    ascent, descent = face.ascent / face.units, face.descent / face.units
    em = size * PT
    return (line_height - (ascent + descent) * em) / 2 + ascent * em


def break_opportunities(text: str) -> frozenset[int]:
    """Indices before which `text` may break: UAX #14 with ICU's Chinese tailoring, and
    the 禁则 ICU leaves out (it breaks before ～ and ％ after a Chinese character).
    Measured: ICU through icu4py 36 µs a text, uniseg (pure Python) 3.3 ms. Imported here,
    when a text first needs breaking (20 ms that a card without one does not spend)."""
    from icu4py.breakers import LineBreaker

    return frozenset(end for _, end in LineBreaker(text, "zh@lb=strict").segments()
                     if 0 < end < len(text) and text[end] not in NO_LINE_START
                     and text[end - 1] not in NO_LINE_END)


def name_breaks(text: str) -> frozenset[int]:
    """Indices before which a name (or a list of names) may break: after a "·" between
    its parts, or after the mark between two names; never inside a part."""
    return frozenset(index for index in range(1, len(text))
                     if text[index - 1] in NAME_BREAKS and text[index] not in NAME_BREAKS)


def name_units(text: str) -> list[str]:
    """The pieces a name never breaks inside: each part with the "·" (or the mark between
    names) that follows it."""
    cuts = [0, *sorted(name_breaks(text)), len(text)]
    return [text[start:end] for start, end in pairwise(cuts) if end > start]


def _forbidden(glyphs: list[_Glyph], index: int) -> bool:
    """A break before `index` would start a line or end one against the 禁则."""
    return index < len(glyphs) and (glyphs[index].char in NO_LINE_START
                                    or glyphs[index - 1].char in NO_LINE_END)


def _break(glyphs: list[_Glyph], width: float, allowed: frozenset[int]) -> list[list[_Glyph]]:
    """Greedy: each line takes as much as fits, up to its last break opportunity in
    `allowed`. A unit wider than a whole line is cut where it must, never before a 禁则
    character."""
    lines: list[list[_Glyph]] = []
    start = 0
    while start < len(glyphs):
        used, end, last_break = 0.0, start, None
        while end < len(glyphs):
            if end > start and end in allowed:
                last_break = end
            if used + glyphs[end].advance > width + 1e-9 and end > start:
                break
            used += glyphs[end].advance
            end += 1
        if end < len(glyphs):
            if last_break is not None and last_break > start:
                end = last_break
            else:  # one unit wider than the line: cut it, but not at a 禁则 character
                cut = end
                while cut > start + 1 and _forbidden(glyphs, cut):
                    cut -= 1
                if _forbidden(glyphs, cut):  # nothing before it: the mark hangs past the end
                    while cut < len(glyphs) and _forbidden(glyphs, cut):
                        cut += 1
                end = cut
        line = glyphs[start:end]
        while line and line[-1].char == " ":
            line.pop()
        lines.append(line)
        start = end
        while start < len(glyphs) and glyphs[start].char == " ":
            start += 1
    return lines or [[]]


def _make_line(glyphs: list[_Glyph]) -> Line:
    if glyphs:
        face = glyphs[0].face
        if all(glyph.face is face for glyph in glyphs):  # most lines: one face
            run = _make_run(glyphs)
            return Line((run,), run.width)
    runs: list[Run] = []
    current: list[_Glyph] = []
    for glyph in glyphs:
        if current and glyph.face is not current[0].face:
            runs.append(_make_run(current))
            current = []
        current.append(glyph)
    if current:
        runs.append(_make_run(current))
    return Line(tuple(runs), sum([run.width for run in runs]))


_new = object.__new__


def _make_run(glyphs: list[_Glyph]) -> Run:
    ids = tuple([g.glyph for g in glyphs])
    chars = [g.char for g in glyphs]
    shows = dict(zip(ids, chars, strict=True))
    if len(shows) < len(ids):  # a glyph twice: the first character it shows (Run.shows)
        shows = {}
        for glyph, char in zip(ids, chars, strict=True):
            shows.setdefault(glyph, char)
    face = glyphs[0].face
    # the Run as Run(...) makes it, every field given, without its frozen __init__ and
    # __post_init__ (which has nothing to fill in then): 0.37 against 1.3 µs a run (timeit),
    # and most texts on a card or an index row are new to the typesetter, each a run or more
    # (session 8)
    run = _new(Run)
    run.__dict__.update(face=face, glyphs=ids, text="".join(chars),
                        width=sum([g.advance for g in glyphs]),
                        hexes="".join([g.hexes for g in glyphs]), font=resource_name(face),
                        shows=shows)
    return run
