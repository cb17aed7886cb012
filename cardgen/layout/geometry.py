"""The card's geometry, as the rendered frame says it: the places the data layer fills.

The frame template marks each place with an id (README, "Templates"); WeasyPrint lays the
frame out and gives every element with an id its box (`Page.anchors`). `Places` holds the
boxes of one frame page, `Geometry` those of every page kind of a print run (first page at
each household growth, 续页, index page; recto and verso). Nothing here knows where a place
is: the template does. Also the one definition of the units: `MM` points per millimetre,
`PT` millimetres per point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cardgen.config import Config, LineStyle, Paper, TextStyle

MM = 72 / 25.4  # points per millimetre
PT = 25.4 / 72  # millimetres per point
PX = 25.4 / 96  # millimetres per CSS pixel (WeasyPrint's unit)

@dataclass(frozen=True)
class PrintOptions:
    """How the PDF is made for the printer: paper, bleed, marks, PDF variant, imposition
    (the CLI's print options; the frames, the print run and the composer read them)."""

    paper: str | None = None
    bleed: float = 0.0  # millimetres
    marks: bool = False
    pdf_variant: str | None = None
    impose: str | None = None  # a name in the config's [impositions]


# The member table's columns, in the order of the card model's fields; the template gives
# each a header cell `#col-<key>` whose box is the column's text area.
COLUMN_KEYS = ("number", "name", "relation", "sex", "ethnicity", "age", "id_text", "phone",
               "residence", "flags")
BAND = ("continued", "reasons", "household-id", "book-number", "place")
FOOTER = ("footer-place", "footer-date", "footer-page")
FIRST_ONLY = ("stickers", "household", "chips")  # and the sticker slots, `slot-1` …
CARD = (*BAND, "members", "visit", "notes", *FOOTER, *(f"col-{key}" for key in COLUMN_KEYS))
PLAIN = ("content", *FOOTER)  # an index page's frame
LOG = ("household-id", "book-number", "visit", "log", *FOOTER)  # a visit log's frame (duplex)
ROW = re.compile(r"(?:member|log)-row-(\d+)$")  # ruled rows: the members table's, a log's


@dataclass(frozen=True)
class Column:
    """A column of a table cardgen draws whole (the ledger's index); its heading is the
    word index_KEY of [card.words]."""

    key: str
    share: float  # of the content width


@dataclass(frozen=True)
class Box:
    """A place on the page, in millimetres from the trimmed page's top-left corner."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Places:
    """The boxes of one frame page by id, and its ruled member rows in order."""

    boxes: dict[str, Box]
    rows: tuple[Box, ...] = ()
    size: tuple[float, float] = (0.0, 0.0)  # the page, mm

    def __getitem__(self, name: str) -> Box:
        return self.boxes[name]

    def __contains__(self, name: str) -> bool:
        return name in self.boxes

    @classmethod
    def from_anchors(cls, anchors: dict[str, tuple[float, float, float, float]],
                     size: tuple[float, float]) -> Places:
        """From WeasyPrint's `Page.anchors` (CSS pixels) and the page's size (mm)."""
        boxes: dict[str, Box] = {}
        rows: dict[int, Box] = {}
        for name, (x1, y1, x2, y2) in anchors.items():
            box = Box(round(x1 * PX, 3), round(y1 * PX, 3), round((x2 - x1) * PX, 3),
                      round((y2 - y1) * PX, 3))
            found = ROW.match(name)
            if found:
                rows[int(found[1])] = box
            else:
                boxes[name] = box
        ordered = tuple(rows[n] for n in sorted(rows))
        return cls(boxes, ordered, size)

    def slots(self) -> list[Box]:
        """The sticker slots, `slot-1` … in order."""
        found: list[Box] = []
        while f"slot-{len(found) + 1}" in self.boxes:
            found.append(self.boxes[f"slot-{len(found) + 1}"])
        return found

    def rows_inside(self) -> tuple[Box, ...]:
        """The ruled rows that lie whole inside the members area (or the visit log's)."""
        # kept once found: asked 250 times a card, the rows' filter took 0.4 s of a
        # 1,000-card ledger's 9.5 s (cProfile, session 6). Places are never changed.
        found = self.__dict__.get("_inside")
        if found is None:
            area = self.boxes["members"] if "members" in self.boxes else self.boxes["log"]
            found = tuple(row for row in self.rows if row.bottom <= area.bottom + 0.01)
            self.__dict__["_inside"] = found
        return found

    def as_data(self) -> tuple[object, ...]:
        """Plain values (for marshal and cache keys)."""
        return (tuple(sorted((k, (b.x, b.y, b.width, b.height)) for k, b in self.boxes.items())),
                tuple((b.x, b.y, b.width, b.height) for b in self.rows), self.size)

    @classmethod
    def from_data(cls, data: tuple[object, ...]) -> Places:
        boxes, rows, size = data
        assert isinstance(boxes, tuple) and isinstance(rows, tuple) and isinstance(size, tuple)
        return cls({name: Box(*values) for name, values in boxes}, tuple(Box(*r) for r in rows),
                   (float(size[0]), float(size[1])))


def grown(places: Places, rows: int) -> Places:
    """A first page whose household block is `rows` ruled rows taller: the frame is laid
    out in flow and the members table takes what is left, so what lies between the block
    and the end of the members table moves down that much, the members table loses that
    much, and nothing else moves. (The frame variant itself is laid out and checked against
    this when it is rendered: cardgen/frame/render.py, `check_frame`.)"""
    if not rows:
        return places
    step = rows * places.rows[0].height
    household, members = places["household"], places["members"]

    def move(box: Box) -> Box:
        if household.bottom - TOUCH <= box.y < members.bottom - TOUCH:
            return Box(box.x, round(box.y + step, 3), box.width, box.height)
        return box

    boxes = {name: move(box) for name, box in places.boxes.items()}
    boxes["household"] = Box(household.x, household.y, household.width,
                             round(household.height + step, 3))
    boxes["members"] = Box(members.x, round(members.y + step, 3), members.width,
                           round(members.height - step, 3))
    return Places(boxes, tuple(move(row) for row in places.rows), places.size)


TOUCH = 0.01  # mm: boxes this close count as touching


# A page kind: (first page, household growth in rows, verso); growth is 0 on a 续页.
PageKind = tuple[bool, int, bool]


@dataclass(frozen=True)
class Geometry:
    """Every page kind of one print run (paper and mode), and the type the data is set in.

    Sizes for fitting come from the recto pages; drawing takes each page's own places."""

    paper: Paper
    pages: dict[PageKind, Places]
    plain: dict[bool, Places]  # by verso
    text: dict[str, TextStyle]
    lines: dict[str, LineStyle]
    line_factor: float
    inset: float
    grow_max: int
    smallest: float = 0.0  # pt: no text smaller ([card.text] smallest)
    thinnest: float = 0.0  # mm: no rule thinner ([card.lines] smallest)
    log: Places | None = None  # a duplex card's visit log (a back page), when printed
    scale: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", self.paper.scale)
        # each text style's size on this paper, once (asked 180,000 times in a 1,000-card
        # ledger: cProfile, session 6); the styles are never changed
        object.__setattr__(self, "_sizes", {})

    def page(self, first: bool, grow: int = 0, verso: bool = False) -> Places:
        return self.pages[(first, grow if first else 0, verso)]

    def size(self, style: str) -> float:
        """A text style's size in points on this paper: scaled, never under the style's
        least nor the smallest of all."""
        sizes: dict[str, float] = self._sizes  # type: ignore[attr-defined]
        found = sizes.get(style)
        if found is None:
            found = sizes[style] = self.text[style].on_paper(self.scale, self.smallest)
        return found

    def fit(self, size: float) -> float:
        """A size of the frame's own type (pt on A4) on this paper, likewise."""
        return max(size * self.scale, self.smallest)

    def rule(self, width: float) -> float:
        """A line style's width (mm on A4) on this paper: scaled, never under [card.lines]
        smallest."""
        return max(width * self.scale, self.thinnest)

    def line_height(self, style: str) -> float:
        """One line of a text style, mm."""
        return self.size(style) * PT * self.line_factor

    def rows(self, first: bool, grow: int = 0) -> tuple[Box, ...]:
        return self.page(first, grow).rows_inside()

    def column(self, key: str) -> Box:
        return self.page(False)[f"col-{key}"]

    @property
    def notes_width(self) -> float:
        """A member's notes run from the name column to the table's right edge."""
        page = self.page(False)
        return page["col-flags"].right - page["col-name"].x

    def as_data(self) -> tuple[object, ...]:
        return (tuple((kind, places.as_data()) for kind, places in sorted(self.pages.items())),
                tuple((verso, places.as_data()) for verso, places in sorted(self.plain.items())),
                self.log.as_data() if self.log is not None else None)

    @classmethod
    def from_data(cls, data: tuple[object, ...], config: Config, paper: Paper) -> Geometry:
        pages, plain, log = data
        assert isinstance(pages, tuple) and isinstance(plain, tuple)
        return cls(paper, {tuple(kind): Places.from_data(places) for kind, places in pages},
                   {verso: Places.from_data(places) for verso, places in plain},
                   config.card.text, config.card.lines, config.card.line_factor, config.card.inset,
                   config.card.household_grow, config.card.smallest_text, config.card.smallest_rule,
                   Places.from_data(log) if isinstance(log, tuple) else None)


@dataclass(frozen=True)
class Layout:
    """A page cardgen draws whole (a ledger's index) on a plain frame: its content box and
    footer, as the frame template places them."""

    paper: Paper
    content: Box
    footer_top: float  # mm from the content box's top
    line: float  # line height as a factor of the size
    smallest: float = 0.0  # pt: no text smaller

    def type(self, size: float) -> float:
        """A size (pt on A4) on this paper: scaled, never under the smallest."""
        return max(size * self.paper.scale, self.smallest)

    @property
    def width(self) -> float:
        return self.paper.width

    @property
    def height(self) -> float:
        return self.paper.height

    @property
    def margin_left(self) -> float:
        return self.content.x

    @property
    def margin_top(self) -> float:
        return self.content.y

    @property
    def content_width(self) -> float:
        return self.content.width

    @property
    def content_height(self) -> float:
        return self.content.height

    @property
    def footer_height(self) -> float:
        return self.content.height - self.footer_top

    def line_height(self, size_pt: float) -> float:
        return size_pt * PT * self.line


def index_layout(geometry: Geometry, verso: bool = False) -> Layout:
    """The index pages' layout, from the plain frame."""
    plain = geometry.plain[verso]
    content = plain["content"]
    footer = min(plain[name].y for name in FOOTER)
    return Layout(geometry.paper, content, footer - content.y, geometry.line_factor,
                  geometry.smallest)


# The text style one line of each place must hold (the template makes it at least as tall).
PLACE_STYLES = {"continued": "band", "reasons": "band", "household-id": "band_id",
                "book-number": "band_number", "place": "band", "visit": "strong",
                "footer-place": "footer", "footer-date": "footer", "footer-page": "footer",
                "household": "body", "chips": "small", "members": "body"}


def required_places(first: bool, plain: bool, slots: int, log: bool = False) -> tuple[str, ...]:
    """The ids a frame page must have."""
    if log:
        return LOG
    if plain:
        return PLAIN
    if not first:
        return CARD
    return (*CARD, *FIRST_ONLY, *(f"slot-{n}" for n in range(1, slots + 1)))
