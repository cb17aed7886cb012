"""cardgen/pdf/draw.py's card page: each piece of a household's data drawn inside the place
its frame gives it, as the card prints it (masked, red sub-types as 重点人员), and tagged in
reading order. The places come from the frame template's geometry pass: the suite's cache
has it after any card was printed; alone, this module pays for one WeasyPrint probe."""

from __future__ import annotations

import datetime as dt
import marshal
import sys
from dataclasses import dataclass

import pikepdf
import pytest

from cardgen.config import Config
from cardgen.data.categorise import categorise
from cardgen.data.model import Household, Member
from cardgen.layout.cards import Card, build_card
from cardgen.layout.geometry import MM, Box, Geometry
from cardgen.pdf.canvas import Canvas, GlyphLog
from cardgen.pdf.compose import read_structure
from cardgen.pdf.draw import draw_card_page
from cardgen.printing.run import PrintRun
from tests.unit.conftest import TODAY

HEAD_ID = "360426199101010071"


@dataclass(frozen=True)
class Drawn:
    """One text drawn: what it shows, its left end and baseline (mm from the top left)."""

    text: str
    x: float
    baseline: float

    def inside(self, box: Box) -> bool:
        return (box.x - 0.05 <= self.x <= box.right + 0.05
                and box.y - 0.05 <= self.baseline <= box.bottom + 0.05)


@dataclass(frozen=True)
class DrawnPage:
    texts: list[Drawn]
    structure: list[object]
    geometry: Geometry
    card: Card

    def places(self, text: Drawn) -> set[str]:
        """The frame's places the text is drawn in."""
        boxes = self.geometry.page(True, self.card.household_grow, False).boxes
        return {name for name, box in boxes.items() if text.inside(box)}

    def places_of(self, text: str) -> set[str]:
        [found] = [t for t in self.texts if t.text == text]
        return self.places(found)

    def find(self, text: str, place: str) -> Drawn:
        [found] = [t for t in self.texts if t.text == text and place in self.places(t)]
        return found


@pytest.fixture(scope="module")
def page(print_run: PrintRun) -> DrawnPage:
    config: Config = print_run.config
    run = print_run
    geometry = run.geometry(False)
    household = Household(
        "H001", "grid.csv", 2, community="恒安社区", grid="第3网格",
        address="阳光花园2号楼1单元302",
        members=[Member("李明", "配偶", False, "男", "汉族", dt.date(1949, 12, 31),
                        "11010519491231002X", flags=("残疾",)),
                 Member("张秀英", "户主", True, "女", "汉族", dt.date(1991, 1, 1), HEAD_ID,
                        "13812345678", flags=("低保", "社区矫正"))])
    card = build_card(household, categorise(household, config, TODAY), config, geometry,
                      TODAY, "017", False, run.typesetter)
    canvas = Canvas(geometry.paper.height, GlyphLog())
    draw_card_page(canvas, card, card.pages[0], geometry, run.typesetter, run.words, False)
    raw, structure, _ = read_structure(canvas.content())
    to_text = {glyph: char for glyphs in canvas.log.glyphs.values()
               for glyph, char in glyphs.items()}
    texts: list[Drawn] = []
    with pikepdf.new() as pdf:
        shown, at = "", (0.0, 0.0)
        for instruction in pikepdf.parse_content_stream(pikepdf.Stream(pdf, raw)):
            op, args = str(instruction.operator), list(instruction.operands)
            if op == "BT":
                shown = ""
            elif op == "Tm" and not shown:
                at = (float(args[4]) / MM, geometry.paper.height - float(args[5]) / MM)
            elif op == "Tj":
                codes = bytes(args[0])
                shown += "".join(to_text[int.from_bytes(codes[i:i + 2], "big")]
                                 for i in range(0, len(codes), 2))
            elif op == "ET":
                texts.append(Drawn(shown, *at))
    return DrawnPage(texts, structure, geometry, card)


def test_the_band_says_who_it_is_where_and_why_in_its_places(page: DrawnPage) -> None:
    assert page.places_of("户号 H001") == {"household-id"}
    assert page.places_of("编号 017") == {"book-number"}
    assert page.places_of("恒安社区 第3网格") == {"place"}
    assert page.places_of("依据：张秀英 重点人员") == {"reasons"}  # a red sub-type: its category
    assert not [t for t in page.texts if "社区矫正" in t.text]


def test_stickers_fill_their_slots_and_empty_slots_say_so(page: DrawnPage) -> None:
    assert page.places_of("■ 低保") == {"slot-1", "stickers"}
    assert page.places_of("□ 大病") == {"slot-2", "stickers"}
    assert page.places_of("■ 残疾") == {"slot-3", "stickers"}
    assert page.find("张秀英", "slot-1") and page.find("李明", "slot-3")  # who has them
    slots = [page.places(t) for t in page.texts if t.text == "（空位，可手贴）"]
    assert slots == [{"slot-2", "stickers"}, {"slot-4", "stickers"}]
    chips = [t for t in page.texts if "chips" in page.places(t)]
    assert [t.text for t in chips] == ["重点人员", "张秀英"]  # the other flag, as a chip


def test_each_member_is_on_their_row_head_first_in_the_columns_ids_masked(
        page: DrawnPage) -> None:
    places = page.geometry.page(True, page.card.household_grow, False)
    rows = [t for t in page.texts if page.places(t) == {"members"}]
    head, spouse = page.find("张秀英", "members"), page.find("李明", "members")
    assert head.baseline < spouse.baseline  # the head's row first, whatever the order

    def column(text: Drawn) -> str:
        [key] = [name for name, box in places.boxes.items() if name.startswith("col-")
                 and box.x - 0.05 <= text.x <= box.right]
        return key

    assert {t.text: column(t) for t in rows if t.baseline == head.baseline} == {
        "1": "col-number", "张秀英": "col-name", "户主": "col-relation", "女": "col-sex",
        "汉族": "col-ethnicity", "35": "col-age", "**************0071": "col-id_text",
        "13812345678": "col-phone", "低保、": "col-flags"}
    assert page.find("**************002X", "members").baseline == spouse.baseline
    assert not [t for t in page.texts if "3604261991" in t.text or "110105" in t.text]


def test_the_visit_and_the_footer_are_in_their_places(page: DrawnPage) -> None:
    assert page.places_of("每月入户走访（重点关注户）") == {"visit"}
    assert page.places_of("2 人") == {"visit"}
    assert page.places_of("恒安社区 第3网格 · 编号 017") == {"footer-place"}
    assert page.places_of("打印 2026-11-29 · 常态") == {"footer-date"}
    assert not [t for t in page.texts if not page.places(t)]  # nothing outside a place


def test_the_page_is_tagged_in_reading_order(page: DrawnPage) -> None:
    kids = [kid for kid in page.structure if isinstance(kid, tuple)]
    assert [kid[0] for kid in kids] == ["H1", "Figure", "P", "Sect", "Sect", "Table", "P",
                                        "P"]
    heading, figure = kids[:2]
    assert len(heading[2]) == 1 and isinstance(heading[2][0], int)  # one marked sequence
    assert "红" in figure[1] and figure[2] == [0]  # the frame's place, described
    rows = kids[5][2]
    assert [row[0] for row in rows] == ["TR", "TR"]  # a row per member
    assert all(len(row[2]) == 10 and {cell[0] for cell in row[2]} == {"TD"} for row in rows)


def test_a_card_read_back_from_the_cache_is_the_card_its_short_texts_shared(
        page: DrawnPage, print_run: PrintRun) -> None:
    # the cache keeps a card as marshal's bytes of to_data: read back, its short texts are
    # one object each however many cards repeat them (20,000 in a town's book)
    back = Card.from_data(marshal.loads(marshal.dumps(page.card.to_data())), print_run.config)
    assert back == page.card
    assert back.community is sys.intern("".join(["恒安", "社区"]))
    assert back.pages[0].members[0].relation is sys.intern("".join(["户", "主"]))
