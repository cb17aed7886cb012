"""The ledger index's layout: its columns, each household's row measured as it prints, and the
rows paginated onto index pages."""

from __future__ import annotations

from dataclasses import dataclass

from cardgen.config import Config, PaletteColour
from cardgen.layout.cards import name_size
from cardgen.layout.geometry import PT, Column, Layout
from cardgen.layout.printed import PrintedHousehold
from cardgen.layout.typeset import Typesetter

INDEX_COLUMNS = (  # each headed by [card.words] index_KEY (index_no: 编号 …)
    Column("no", 0.09), Column("hid", 0.13), Column("addr", 0.36), Column("head", 0.12),
    Column("col", 0.06), Column("fl", 0.16), Column("pg", 0.08),
)
INDEX_TITLE_HEIGHT = 10.0  # mm at scale 1
INDEX_HEAD = 6.0
INDEX_FONT = 8.0  # pt
INDEX_PAD = 1.6
INDEX_MIN_ROW = 5.6
# The longest part of a real name (with its "·"): the 户主 column holds it whole at the
# index's size, taking the room from the address column where the paper is small (A5).
LONGEST_PART = "阿卜杜热合曼·"
# Columns whose text breaks only between its parts: the head's name between its parts,
# the flags between flags (never 残/疾).
WHOLE_PARTS = frozenset({"head", "fl"})


def index_columns(layout: Layout, typesetter: Typesetter) -> tuple[Column, ...]:
    """The index's columns on this paper: the 户主 column at least as wide as the longest
    part of a real name at the index's size, the address column narrower by as much."""
    s = layout.paper.scale
    size = layout.type(INDEX_FONT)
    need = (typesetter.width(LONGEST_PART) * size * PT + 2 * s + 0.2) / layout.content_width
    head = next(c for c in INDEX_COLUMNS if c.key == "head")
    extra = max(0.0, round(need - head.share, 3))
    if not extra:
        return INDEX_COLUMNS
    return tuple(Column(c.key, c.share + extra) if c.key == "head" else
                 Column(c.key, c.share - extra) if c.key == "addr" else c
                 for c in INDEX_COLUMNS)


def head_size(layout: Layout, typesetter: Typesetter, name: str) -> float:
    """The size the 户主 column prints `name` at: the index's, or smaller (down to the
    smallest text) where one part of it would not fit the column whole."""
    s = layout.paper.scale
    column = next(c for c in index_columns(layout, typesetter) if c.key == "head")
    return name_size(typesetter, name, layout.content_width * column.share - 2 * s,
                     layout.type(INDEX_FONT), layout.smallest)



@dataclass(frozen=True)
class IndexRow:
    """A line of the index; a retired number's has no colour and no page (0)."""

    number: str
    household_id: str
    address: str
    head: str
    colour: str
    char: str
    flags: str
    page: int
    height: float
    head_size: float = 0.0  # pt: the 户主's size, when smaller than the index's



def index_rows(households: list[PrintedHousehold], numbers: list[str],
               colours: list[PaletteColour], config: Config, layout: Layout,
               typesetter: Typesetter) -> list[IndexRow]:
    """Each household's row: its book number, address, head, colour and flags, as the card
    prints them (layout/printed.py)."""
    measure = _Measure(layout, typesetter)
    rows = []
    for printed, number, colour in zip(households, numbers, colours, strict=True):
        household = printed.household
        flags = "、".join(printed.listed_flags)
        head = printed.head.name if printed.head else config.card.words["index_vacant"]
        address = household.full_address
        texts = {"no": number, "hid": household.household_id, "addr": address,
                 "head": head, "fl": flags, "col": "", "pg": "000"}
        size = measure.head_size(head)
        size = 0.0 if size >= measure.size else round(size, 2)
        rows.append(IndexRow(number, household.household_id, address, head, colour.key,
                             colour.char, flags, 0, measure.height(texts, size), size))
    return rows


def retired_row(number: str, household_id: str, text: str, layout: Layout,
                typesetter: Typesetter) -> IndexRow:
    """The row of a retired number: who had it and `text` (已迁出/注销 and the date) where
    the address goes; no colour, no page."""
    texts = {"no": number, "hid": household_id, "addr": text, "head": "", "fl": "",
             "col": "", "pg": ""}
    return IndexRow(number, household_id, text, "", "", "", "", 0,
                    _Measure(layout, typesetter).height(texts))


class _Measure:
    """Rows' heights and heads' sizes, the columns measured once for all the rows of an
    index. (Measured again for each row, with each cell's lines built only to be counted,
    a 1,000-household index took 0.17 s of a ledger's 1.4 s under cProfile, session 6.)"""

    def __init__(self, layout: Layout, typesetter: Typesetter) -> None:
        self.layout = layout
        self.typesetter = typesetter
        s = layout.paper.scale
        self.size = layout.type(INDEX_FONT)
        self.columns = [(c.key, layout.content_width * c.share - 2 * s)
                        for c in index_columns(layout, typesetter)]
        self.head_width = next(width for key, width in self.columns if key == "head")
        self.pad = INDEX_PAD * s
        self.least = INDEX_MIN_ROW * s

    def head_size(self, name: str) -> float:
        """`head_size` of `name`. A name that fits the column whole fits it part by part
        (no part is wider than the whole), so it prints at the index's size."""
        if self.typesetter.width(name) * PT * self.size <= self.head_width + 0.01:
            return self.size
        return name_size(self.typesetter, name, self.head_width, self.size,
                         self.layout.smallest)

    def height(self, texts: dict[str, str], head: float = 0.0) -> float:
        """A row's height: its tallest cell's lines, padded."""
        height = 0.0
        typesetter = self.typesetter
        for key, width in self.columns:
            at = head or self.size if key == "head" else self.size
            text, width_em = texts[key], width / (at * PT)
            # a text that fits whole is one line, as Typesetter.lines finds first (by the
            # same sum): only the others are broken into lines to be counted
            if "\n" in text or typesetter.width(text) > width_em + 1e-9:
                count = len(typesetter.lines(text, width_em, name=key in WHOLE_PARTS))
            else:
                count = 1
            height = max(height, count * self.layout.line_height(at))
        return max(height + self.pad, self.least)


def paginate_index(rows: list[IndexRow], layout: Layout) -> list[list[IndexRow]]:
    s = layout.paper.scale
    room_per_page = (layout.content_height - layout.footer_height - INDEX_TITLE_HEIGHT * s
                     - INDEX_HEAD * s - 2 * s)
    pages: list[list[IndexRow]] = [[]]
    room = room_per_page
    for row in rows:
        if row.height > room and pages[-1]:
            pages.append([])
            room = room_per_page
        pages[-1].append(row)
        room -= row.height
    return pages
