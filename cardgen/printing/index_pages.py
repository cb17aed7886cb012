"""A ledger index page drawn over the rows an earlier run drew: only what changed is drawn.

The monthly update prints the grid's whole index again, and every page of it is new to the
cache: its heading counts the households, its footer carries the date, and each row ends
with its card's page, which moves when a household before it leaves. Yet most of a page is
what last month's book drew, row for row at the same place: 20 of the bench update's 23
pages (1,000 households, 10 changed) hold the same rows but for their pages. Drawing them
again was a third of the update (cProfile, session 7).

So the rows of an index page are kept in the cache as they were drawn, but for each row's
page cell (`Template`): the canvas's operators, the structure elements, the marked-content
numbers (MCIDs) and the glyphs noted, in drawing order. The page is then drawn with no rows
(its heading, column heads and footer, by `draw_index_page` itself), and where the table
closes, the kept rows are put back event by event, each row's page cell drawn now, as
`draw_index_page` draws it. The content, the structure and the glyph log come out as a
whole drawing makes them, byte for byte (tests/print/test_index_pages.py); where the canvas
does not stand where the rows were drawn (another MCID), the page is drawn whole. The
page's structure compiled for the composer (compose.compile_structure) is kept with the
rows, and taken when the page's structure is the same.

The template is named by the rows but their pages (whether a row has one: a retired
number's has none, so no MCID), the side of the sheet and the run (the kind `ledger-pages`:
scope and print options, so the paper, fonts, configuration and code); it holds what the
page itself holds (the index's addresses, heads and flags as printed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from cardgen.cache import key
from cardgen.layout.colours import BLACK, Colour
from cardgen.layout.geometry import index_layout
from cardgen.layout.index import (
    INDEX_FONT,
    INDEX_HEAD,
    INDEX_PAD,
    INDEX_TITLE_HEIGHT,
    IndexRow,
    index_columns,
)
from cardgen.layout.typeset import Line
from cardgen.pdf.canvas import Canvas, GlyphLog
from cardgen.pdf.compose import Compiled, Prepared, prepare_content
from cardgen.pdf.draw import Pen

if TYPE_CHECKING:
    from cardgen.layout.fonts import Face
    from cardgen.printing.run import PrintRun

TEMPLATE = 2  # the template's own format, in its name

# (kind, …) events in drawing order: ("open", role, alt), ("close",), ("artifact", ops),
# ("text", its operators, the MCID it began (0: none), the glyphs it noted first: a list of
# (face family, [(glyph, its text), …])), ("page",): a row's page cell, drawn now
Event = tuple[Any, ...]


@dataclasses.dataclass
class Template:
    """An index page's rows as drawn, but their page cells: `events` from the column
    heads' rule to the table's end, and the MCID the canvas stood at before them."""

    mcid: int
    events: list[Event]
    # the whole page's structure as drawn: the SHA-256 of its kids (marshalled) and their
    # compile_structure, which a page drawn over these rows takes when its kids are the
    # same (its heading and footer drawn as these were): 3 ms a page (timeit, session 7)
    kids: bytes = b""
    compiled: Compiled | None = None

    def dumps(self) -> bytes:
        return marshal.dumps((TEMPLATE, self.mcid, self.events, self.kids, self.compiled))

    @classmethod
    def loads(cls, data: bytes) -> Template | None:
        try:
            version, mcid, events, kids, compiled = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None
        return cls(mcid, events, kids, compiled) if version == TEMPLATE else None


_ROW_FIELDS = tuple(field.name for field in dataclasses.fields(IndexRow))
_row_values = attrgetter(*_ROW_FIELDS)


def template_name(rows: list[IndexRow], verso: bool) -> str:
    """What an index page's rows look like, drawn, but their pages: every field of each,
    its page said only as whether it has one."""
    return key("index rows", TEMPLATE, _ROW_FIELDS, verso,
               [tuple(bool(value) if name == "page" else value
                      for name, value in zip(_ROW_FIELDS, _row_values(row), strict=True))
                for row in rows])


class _Mismatch(Exception):
    """The canvas does not stand where the kept rows were drawn: draw the page whole."""


class IndexCanvas(Canvas):
    """A canvas for one index page: it keeps the rows as they are drawn (`template` None),
    or puts kept rows back where the table closes (`template` given), drawing their page
    cells with `page_cell`."""

    def __init__(self, height_mm: float, log: GlyphLog, rows: int,
                 template: Template | None = None,
                 page_cell: Callable[[Canvas, int], None] | None = None,
                 faces: dict[str, Face] | None = None) -> None:
        super().__init__(height_mm, log)
        self.rows = rows  # how many page cells the rows have
        self.template = template
        self.page_cell = page_cell
        self.faces = faces or {}  # by family: the faces the kept rows' glyphs are of
        self.table = False  # in the table, before its column heads' rule
        self.kept: list[Event] | None = None  # while the rows are drawn: their events
        self.kept_from = 0  # the MCID before the first row
        self.finished: list[Event] | None = None  # the rows' events, the table closed

    # ---- keeping the rows ----------------------------------------------------------

    def open(self, role: str, alt: str = "") -> None:
        super().open(role, alt)
        if role == "Table" and self.template is None and self.kept is None:
            self.table = True
        elif self.kept is not None:
            self.kept.append(("open", role, alt))

    def close(self) -> None:
        if self._roles and self._roles[-1] == "Table":
            if self.template is not None:
                self._put_back(self.template)
                self.template = None
            self.table = False
            super().close()
            if self.kept is not None:
                self.finished, self.kept = self.kept, None
            return
        super().close()
        if self.kept is not None:
            self.kept.append(("close",))

    def _artifact(self, ops: str) -> None:
        super()._artifact(ops)
        if self.kept is not None:
            self.kept.append(("artifact", ops))
        elif self.table and self._roles == ["Table"]:  # the column heads' rule: rows follow
            self.table = False
            self.kept, self.kept_from = [], self._mcid

    def text(self, line: Line, x: float, baseline: float, size_pt: float,
             colour: Colour = BLACK) -> None:
        if self.kept is None:
            super().text(line, x, baseline, size_pt, colour)
            return
        start, mcid = len(self.ops), self._mcid
        super().text(line, x, baseline, size_pt, colour)
        if len(self.ops) > start:  # where its operators are, and its runs: made into the
            # event when the template is (_first_notes); a list and tuples a text made here
            # set the garbage collector off, which doubled what keeping the rows cost (2 ->
            # 5 ms a page, timeit with gc on and off, session 7)
            self.kept.append(("text", start, len(self.ops),
                              self._mcid if self._mcid != mcid else 0, line.runs))

    def made_template(self, page_column: int) -> Template | None:
        """The rows kept, each row's page cell (the cell `page_column` of its row) taken
        out; None when the page was not drawn as an index page is."""
        events = self.finished
        if events is None:
            return None
        kept: list[Event] = []
        depth, cell, skipping = 0, -1, 0
        for event in events:
            kind = event[0]
            if skipping:
                skipping += 1 if kind == "open" else -1 if kind == "close" else 0
                continue
            if kind == "open":
                depth += 1
                if depth == 1:
                    if event[1] != "TR":
                        return None
                    cell = -1
                elif depth == 2:
                    cell += 1
                    if cell == page_column:
                        if event[1] != "TD":
                            return None
                        kept.append(("page",))
                        skipping, depth = 1, 1
                        continue
            elif kind == "close":
                depth -= 1
                if depth < 0:
                    return None
            kept.append(event)
        if depth != 0 or sum(1 for e in kept if e[0] == "page") != self.rows:
            return None
        return Template(self.kept_from, _first_notes(kept, self.ops))

    # ---- putting them back ---------------------------------------------------------

    def _put_back(self, template: Template) -> None:
        """The kept rows drawn as they were, each page cell drawn now."""
        if self._mcid != template.mcid or self._marked is not None or \
                self._roles != ["Table"]:
            raise _Mismatch
        page = 0
        for event in template.events:
            kind = event[0]
            if kind == "open":
                super().open(event[1], event[2])
            elif kind == "close":
                super().close()
            elif kind == "artifact":
                super()._artifact(event[1])
            elif kind == "text":
                _, ops, mcid, runs = event
                self.ops.extend(ops)
                if mcid:  # it began a marked-content sequence, as Canvas.text does
                    self._mcid = mcid
                    self._open_kids[-1].append(mcid)
                    self._marked = len(self._roles)
                log = self.log
                for family, pairs in runs:
                    face = self.faces.get(family)
                    if face is None:
                        raise _Mismatch
                    log.name(face)
                    used = log.glyphs[face]
                    for glyph, char in pairs:
                        used.setdefault(glyph, char)
            else:
                assert self.page_cell is not None
                super().open("TD")
                self.page_cell(self, page)
                super().close()
                page += 1


def _first_notes(events: list[Event], ops: list[str]) -> list[Event]:
    """The text events as a template keeps them: their operators (from `ops`, the page's),
    and, instead of their runs, the glyphs they note first (as
    GlyphLog.note pairs them with their text), each face said where it is first used.
    What a glyph noted again does is nothing (GlyphLog.note keeps its first text), whatever
    a page cell or the heading noted in between: the page's glyph log comes out the same,
    and is put back with 4,700 fewer notes a page of 44 rows (timeit, session 7)."""
    seen: dict[str, set[int]] = {}
    found: list[Event] = []
    for event in events:
        if event[0] != "text":
            found.append(event)
            continue
        kind, start, end, mcid, runs = event
        notes = []
        for run in runs:
            family, glyphs, text = run.face.family, run.glyphs, run.text
            known = seen.get(family)
            first = known is None
            if known is None:
                known = seen[family] = set()
            pairs = zip(glyphs, text, strict=True) if len(glyphs) == len(text) \
                else ((glyph, "") for glyph in glyphs)
            new = []
            for glyph, char in pairs:
                if glyph not in known:
                    known.add(glyph)
                    new.append((glyph, char))
            if new or first:
                notes.append((family, new))
        found.append((kind, ops[start:end], mcid, notes))
    return found


def _kids_digest(structure: tuple[list[Any], bool, Any] | None) -> bytes:
    return hashlib.sha256(marshal.dumps(structure[0])).digest() if structure else b""


def draw_index(log: GlyphLog, rows: list[IndexRow], verso: bool, printing: PrintRun,
               draw: Callable[[Canvas, list[IndexRow]], None]) -> Prepared:
    """An index page of `rows` drawn on a new canvas by `draw` (draw_index_page with its
    other arguments), over the rows kept in the cache when it has them (the module's
    docstring), and prepared (compose.prepare_content); a page drawn whole keeps its rows
    there for the next run."""
    height_mm = printing.paper.height
    geometry = printing.geometry(False, verso)
    layout = index_layout(geometry, verso)
    s = layout.paper.scale
    typesetter = printing.typesetter
    columns = index_columns(layout, typesetter)
    page_column = next(i for i, column in enumerate(columns) if column.key == "pg")
    # where draw_index_page puts a row's page cell, worked out as it works it out
    width = layout.content_width
    x = 0.0
    for column in columns[:page_column]:
        x += width * column.share
    share = columns[page_column].share
    size = layout.type(INDEX_FONT)
    tops = []
    y = INDEX_TITLE_HEIGHT * s + INDEX_HEAD * s
    for row in rows:
        tops.append(y + INDEX_PAD * s / 2)
        y += row.height

    def page_cell(canvas: Canvas, index: int) -> None:
        pen = Pen(canvas, typesetter, layout.margin_left, layout.margin_top, layout.line,
                  geometry.smallest)
        page = rows[index].page
        pen.text(str(page) if page else "", x + s, tops[index], size, width * share - 2 * s,
                 name=False)

    name = template_name(rows, verso)
    stored = printing.cache.get("ledger-pages", name) if rows else None
    template = Template.loads(stored) if stored is not None else None
    if template is not None:
        canvas = IndexCanvas(height_mm, log, len(rows), template, page_cell,
                             typesetter.fonts.by_family())
        try:
            draw(canvas, [])
        except _Mismatch:  # drawn whole below; the log holds the heading's glyphs, as it
            pass  # will when drawn again, in the same order
        else:
            structure = canvas.structure()
            same = template.compiled is not None and _kids_digest(structure) == template.kids
            return prepare_content(canvas.content(), structure,
                                   template.compiled if same else None)
    canvas = IndexCanvas(height_mm, log, len(rows))
    draw(canvas, rows)
    structure = canvas.structure()
    prepared = prepare_content(canvas.content(), structure)
    made = canvas.made_template(page_column) if rows else None
    if made is not None:
        made.kids, made.compiled = _kids_digest(structure), prepared[3]
        printing.cache.put("ledger-pages", name, made.dumps())
    return prepared
