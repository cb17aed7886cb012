"""The ledger index's layout: its columns, each household's row measured as it prints, and the
rows paginated onto index pages."""

from __future__ import annotations

from dataclasses import dataclass

from cardgen.config import Colour, Config
from cardgen.data.flags import shown_flag
from cardgen.data.model import Household
from cardgen.layout.geometry import PT, Column, Layout
from cardgen.layout.typeset import Typesetter

INDEX_COLUMNS = (
    Column("no", "编号", 0.09), Column("hid", "户号", 0.13), Column("addr", "地址", 0.36),
    Column("head", "户主", 0.12), Column("col", "颜色", 0.06), Column("fl", "特殊情况", 0.16),
    Column("pg", "页码", 0.08),
)
INDEX_TITLE_HEIGHT = 10.0  # mm at scale 1
INDEX_HEAD = 6.0
INDEX_FONT = 8.0  # pt
INDEX_PAD = 1.6
INDEX_MIN_ROW = 5.6



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



def index_rows(households: list[Household], numbers: list[str], colours: list[Colour],
               config: Config, layout: Layout, typesetter: Typesetter) -> list[IndexRow]:
    """Each household's row: its book number, address, head, colour and flags."""
    rows = []
    for household, number, colour in zip(households, numbers, colours, strict=True):
        head = household.head
        flags = "、".join(dict.fromkeys(shown_flag(f, config) for m in household.members
                                        for f in m.flags))
        texts = {"no": number, "hid": household.household_id,
                 "addr": household.full_address, "head": head.name if head else "（空置）",
                 "fl": flags, "col": "", "pg": "000"}
        rows.append(IndexRow(number, household.household_id, household.full_address,
                             texts["head"], colour.key, colour.char, flags, 0,
                             _height(texts, layout, typesetter)))
    return rows


def retired_row(number: str, household_id: str, text: str, layout: Layout,
                typesetter: Typesetter) -> IndexRow:
    """The row of a retired number: who had it and `text` (已迁出/注销 and the date) where
    the address goes; no colour, no page."""
    texts = {"no": number, "hid": household_id, "addr": text, "head": "", "fl": "",
             "col": "", "pg": ""}
    return IndexRow(number, household_id, text, "", "", "", "", 0,
                    _height(texts, layout, typesetter))


def _height(texts: dict[str, str], layout: Layout, typesetter: Typesetter) -> float:
    s = layout.paper.scale
    size = layout.type(INDEX_FONT)
    lines = max(len(typesetter.lines(texts[col.key],
                                     (layout.content_width * col.share - 2 * s) / (size * PT),
                                     name=col.key == "head"))
                for col in INDEX_COLUMNS)
    height = lines * layout.line_height(size) + INDEX_PAD * s
    return max(height, INDEX_MIN_ROW * s)


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
