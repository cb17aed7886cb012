"""PDF drawing for the data layer: text lines and simple shapes, in millimetres from top-left.

A Canvas writes PDF content-stream operators; a GlyphLog remembers, for the whole document,
which glyphs of which face were drawn and what text they show, so the fonts can be embedded
once (cardgen/pdf/compose.py) with exactly those glyphs.

The canvas also tags what it draws (tagged PDF, PDF/UA): each text is a marked-content
sequence with its own MCID, inside the structure element opened around it (`element`);
rules, boxes and patterns are artifacts. The structure travels in the content stream as
comment lines (`%<Role`, `%<Role <alt>`, `%>`, `%F` for the frame's place in the reading
order), so that it is cached with the page; the composer reads them into the structure tree
and leaves them out of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cardgen.layout.colours import BLACK, Colour, pattern_tile
from cardgen.layout.fonts import Face, resource_name
from cardgen.layout.geometry import MM
from cardgen.layout.typeset import Line, Run
from cardgen.pdf.writer import text


def _n(value: float) -> str:
    return f"{value:.2f}"


@lru_cache(maxsize=256, typed=True)  # a page's few colours, drawn some 60 times a card
def fill_colour(colour: Colour) -> str:
    """The operator setting the fill colour: black and greys as DeviceGray (`g`), so a
    print shop keeps them on the black plate; colours as RGB, the palette's exact hex."""
    red, green, blue = (_n(value) for value in colour)
    return f"{red} g" if red == green == blue else f"{red} {green} {blue} rg"


@lru_cache(maxsize=256, typed=True)
def stroke_colour(colour: Colour) -> str:
    """The operator setting the stroke colour (see `fill_colour`)."""
    red, green, blue = (_n(value) for value in colour)
    return f"{red} G" if red == green == blue else f"{red} {green} {blue} RG"


@dataclass
class GlyphLog:
    """Per document: a resource name for each face, and the glyphs drawn with it."""

    names: dict[Face, str] = field(default_factory=dict)
    glyphs: dict[Face, dict[int, str]] = field(default_factory=dict)
    # the runs noted, by id (each kept, so that its id is not another's): the same labels
    # and cells recur on a card, and noting one took 0.2 s of a 1,000-card ledger's 7 s
    # (cProfile, session 6)
    runs: dict[int, Run] = field(default_factory=dict, repr=False, compare=False)

    def name(self, face: Face) -> str:
        if face not in self.names:
            self.names[face] = resource_name(face)
            self.glyphs[face] = {}
        return self.names[face]

    def note(self, face: Face, glyphs: tuple[int, ...], text: str) -> None:
        used = self.glyphs[face]
        if len(glyphs) == len(text):
            for glyph, char in zip(glyphs, text, strict=True):
                used.setdefault(glyph, char)
        else:
            for glyph in glyphs:
                used.setdefault(glyph, "")

    def note_run(self, run: Run) -> None:
        """`note` of a run's glyphs, from what the run shows (Run.shows, made once)."""
        self.name(run.face)
        used = self.glyphs[run.face]
        for glyph, shown in run.shows.items():
            if glyph not in used:
                used[glyph] = shown


# what compose.read_structure takes for a role and an alternate description
_ROLE = re.compile(r"[\w:]+", re.ASCII)
_ALT = re.compile(r"<[0-9a-fA-F]*>|\([^)]*\)")
_READ_ROLES: set[str] = set()  # the roles that are one
# "%<Role" of each role opened without an alternate description: the same string each time,
# so a page's shape (Canvas.structure) hashes once a string and compares by identity where
# compose.prepare_content looks its compiled structure up, not a new string's characters
# each time (with ink_for's cache: 2.2 % fewer instructions drawing a 23-page index,
# callgrind, session 8)
_OPENING: dict[str, str] = {}


def _opening(role: str) -> str:
    if len(_OPENING) >= 256:  # roles are the code's own, but bounded all the same
        _OPENING.clear()
    comment = _OPENING[role] = f"%<{role}"
    return comment


class _Element:
    """A canvas's open element as a context: closed when the `with` block ends. (A
    contextmanager generator took 0.14 s of a 1,000-card ledger's 7.7 s: cProfile,
    session 6.)"""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.canvas.close()


class Canvas:
    """The data layer of one page. (0, 0) is the trimmed page's top-left corner."""

    def __init__(self, height_mm: float, log: GlyphLog) -> None:
        # PDF user space has its origin at the trimmed page's bottom-left corner, bleed or
        # not (WeasyPrint's MediaBox then starts at minus the bleed)
        self.top = height_mm * MM
        self.log = log
        self.ops: list[str] = []
        self._roles: list[str] = []  # the structure elements open, innermost last
        self._mcid = 0  # the last MCID given; 0 is the frame's (see compose.py)
        self._marked: int | None = None  # the depth whose marked content is still open
        # the structure as compose.read_structure reads it back from the comments: the
        # page's kids, each open element's kids (innermost last), the frame's place given,
        # and whether every comment is one read_structure reads (else it reads them)
        self._kids: list[Any] = []
        self._open_kids: list[list[Any]] = [self._kids]
        self._framed = False
        self._readable = True
        self._element = _Element(self)
        # the structure as a key: its comment lines and "" for each MCID (they count up
        # from 1), which is all that shapes the kids (Canvas.structure)
        self._shape: list[str] = []

    # ---- structure ------------------------------------------------------------------

    def open(self, role: str, alt: str = "") -> None:
        """A structure element (a standard PDF role) around what is drawn until `close`;
        `alt` is its alternate description (a figure's)."""
        self._end_marked()
        hexed = text(alt).decode("ascii") if alt else ""
        comment = f"%<{role} {hexed}" if alt else _OPENING.get(role) or _opening(role)
        self.ops.append(comment)
        self._shape.append(comment)
        self._roles.append(role)
        if role not in _READ_ROLES:
            if _ROLE.fullmatch(role) is None:
                self._readable = False
            else:
                _READ_ROLES.add(role)
        if alt and _ALT.fullmatch(hexed) is None:
            self._readable = False
        title = alt  # what compose.read_structure reads back from `hexed`
        kids: list[Any] = []
        self._open_kids[-1].append((role, title, kids))
        self._open_kids.append(kids)

    def close(self) -> None:
        self._end_marked()
        self._roles.pop()
        self.ops.append("%>")
        self._shape.append("%>")
        if len(self._open_kids) > 1:
            self._open_kids.pop()
        else:
            self._readable = False

    def element(self, role: str, alt: str = "") -> _Element:
        """`open` … `close` around a `with` block."""
        self.open(role, alt)
        return self._element

    def frame(self) -> None:
        """The frame's place in the reading order: inside the element open here."""
        self._end_marked()
        self.ops.append("%F")
        self._shape.append("%F")
        self._open_kids[-1].append(0)
        self._framed = True

    def structure(self) -> tuple[list[Any], bool, tuple[str, ...]] | None:
        """The page's kids (elements and MCIDs in reading order) and whether the frame's
        place was given, as compose.read_structure reads them from `content`, kept as they
        were drawn (reading them back took 0.3 s of a 1,000-card ledger's 7.7 s, cProfile,
        session 6), and a key of their shape: pages with the same key have the same kids
        (compose.prepare_content compiles them once). None when read_structure must read
        them."""
        if not self._readable or len(self._open_kids) != 1:
            return None
        return self._kids, self._framed, tuple(self._shape)

    def _end_marked(self) -> None:
        if self._marked is not None:
            self.ops.append("EMC")
            self._marked = None

    def _artifact(self, ops: str) -> None:
        """Drawing that is decoration, not content: rules, boxes, patterns."""
        self._end_marked()
        self.ops.append(f"/Artifact BMC {ops} EMC")

    def _x(self, x: float) -> float:
        return x * MM

    def _y(self, y: float) -> float:
        return self.top - y * MM

    def text(self, line: Line, x: float, baseline: float, size_pt: float,
             colour: Colour = BLACK) -> None:
        """One line of glyphs with its left end at x and its baseline at `baseline` (mm)."""
        runs = line.runs
        if not runs:
            return
        ops = self.ops
        # the texts drawn one after another in one element share a marked-content sequence
        if self._marked != len(self._roles):
            self._end_marked()
            self._mcid += 1
            role = self._roles[-1] if self._roles else "Span"
            ops.append(f"/{role} <</MCID {self._mcid}>> BDC")
            self._open_kids[-1].append(self._mcid)
            self._shape.append("")
            self._marked = len(self._roles)
        # each number as _n writes it, the line's size and baseline once for its runs, the
        # line's operators as one piece (`content` joins the pieces with newlines): canvas.text
        # took 1.07 s of a 1,000-card ledger's 9.5 s (cProfile, session 6), 0.53 s of a
        # worker's 3.0 s for 1,000 cards before the runs carried their font and glyphs'
        # texts (Run.font, Run.shows; session 7)
        size = f"{size_pt:.2f}"
        y = f"{self.top - baseline * MM:.2f}"
        noted = self.log.runs
        if len(runs) == 1:  # most lines: one run
            run = runs[0]
            if noted.get(id(run)) is not run:  # a run noted once has nothing more to note
                noted[id(run)] = run
                self.log.note_run(run)
            ops.append(f"BT {fill_colour(colour)}\n{run.font} {size} Tf 1 0 0 1 {x * MM:.2f} {y}"
                       f" Tm <{run.hexes}> Tj\nET")
            return
        position = x * MM
        parts = [f"BT {fill_colour(colour)}"]
        for run in runs:
            if noted.get(id(run)) is not run:
                noted[id(run)] = run
                self.log.note_run(run)
            parts.append(f"{run.font} {size} Tf 1 0 0 1 {position:.2f} {y} Tm <{run.hexes}> Tj")
            position += run.width * size_pt
        parts.append("ET")
        ops.append("\n".join(parts))

    def rect(self, x: float, y: float, width: float, height: float,
             fill: Colour | None = None, stroke: Colour | None = None, line: float = 0.2,
             dash: tuple[float, float] | None = None, radius: float = 0.0) -> None:
        """A rectangle (mm), optionally rounded, filled and/or stroked."""
        ops = ["q"]
        if fill is not None:
            ops.append(fill_colour(fill))
        if stroke is not None:
            ops.append(f"{stroke_colour(stroke)} {_n(line * MM)} w")
            if dash is not None:
                ops.append(f"[{_n(dash[0] * MM)} {_n(dash[1] * MM)}] 0 d")
        ops.append(self._path(x, y, width, height, radius))
        paint = {(True, True): "B", (True, False): "f", (False, True): "S"}.get(
            (fill is not None, stroke is not None))
        if paint is None:
            return
        ops.append(paint)
        ops.append("Q")
        self._artifact(" ".join(ops))

    def _path(self, x: float, y: float, width: float, height: float, radius: float) -> str:
        left, right = self._x(x), self._x(x + width)
        top, bottom = self._y(y), self._y(y + height)
        if radius <= 0:
            return f"{_n(left)} {_n(bottom)} {_n(right - left)} {_n(top - bottom)} re"
        r = min(radius * MM, (right - left) / 2, (top - bottom) / 2)
        k = r * 0.5523
        return " ".join([
            f"{_n(left + r)} {_n(bottom)} m", f"{_n(right - r)} {_n(bottom)} l",
            f"{_n(right - r + k)} {_n(bottom)} {_n(right)} {_n(bottom + r - k)} "
            f"{_n(right)} {_n(bottom + r)} c",
            f"{_n(right)} {_n(top - r)} l",
            f"{_n(right)} {_n(top - r + k)} {_n(right - r + k)} {_n(top)} "
            f"{_n(right - r)} {_n(top)} c",
            f"{_n(left + r)} {_n(top)} l",
            f"{_n(left + r - k)} {_n(top)} {_n(left)} {_n(top - r + k)} {_n(left)} "
            f"{_n(top - r)} c",
            f"{_n(left)} {_n(bottom + r)} l",
            f"{_n(left)} {_n(bottom + r - k)} {_n(left + r - k)} {_n(bottom)} "
            f"{_n(left + r)} {_n(bottom)} c", "h"])

    def pattern(self, x: float, y: float, width: float, height: float, kind: str,
                ink: Colour, pitch: float = 2.6, line: float = 0.7) -> None:
        """A colour's black-and-white pattern inside a box: its tile (layout/colours.py,
        the one the frames use) repeated from the box's corner, clipped to the box."""
        marks = pattern_tile(kind, pitch, line)
        if not marks:
            return
        ops = ["q", self._path(x, y, width, height, 0), "W n",
               f"{stroke_colour(ink)} {fill_colour(ink)} {_n(line * MM)} w"]
        for row in range(int(height / pitch) + 1):
            for column in range(int(width / pitch) + 1):
                left, top = x + column * pitch, y + row * pitch
                for mark in marks:
                    if mark[0] == "line":
                        _, x1, y1, x2, y2 = mark  # type: ignore[misc]
                        ops.append(f"{_n(self._x(left + x1))} {_n(self._y(top + y1))} m "
                                   f"{_n(self._x(left + x2))} {_n(self._y(top + y2))} l S")
                    else:
                        _, cx, cy, radius = mark  # type: ignore[misc]
                        ops.append(self._path(left + cx - radius, top + cy - radius,
                                              2 * radius, 2 * radius, radius) + " f")
        ops.append("Q")
        self._artifact(" ".join(ops))

    def hline(self, x1: float, x2: float, y: float, colour: Colour, width: float) -> None:
        self._artifact(f"q {stroke_colour(colour)} {_n(width * MM)} w {_n(self._x(x1))} "
                       f"{_n(self._y(y))} m "
                       f"{_n(self._x(x2))} {_n(self._y(y))} l S Q")

    def content(self) -> bytes:
        self._end_marked()
        # artifacts drawn one after another are one artifact
        return "\n".join(self.ops).replace(" EMC\n/Artifact BMC ", "\n").encode("ascii")
