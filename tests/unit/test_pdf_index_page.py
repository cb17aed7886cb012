"""A ledger's plan and its index page: every page numbered (cover, index, cards; duplex
cards on right-hand pages, a one-page card's back its visit log), retired numbers where
they stood, and the index drawn row by row from the plan."""

from __future__ import annotations

import itertools

import pikepdf
import pytest

from cardgen.book.ledger import LedgerPlan, Slot, plan_ledger
from cardgen.book.record import Edition, Retired
from cardgen.data.model import Household, Member
from cardgen.layout.geometry import MM
from cardgen.pdf.canvas import Canvas, GlyphLog
from cardgen.pdf.compose import read_structure
from cardgen.pdf.draw import draw_index_page
from cardgen.printing.run import PrintRun

GROUP = "恒安社区 第3网格"


def plan(run: PrintRun, duplex: bool, pages: tuple[int, ...] = (1, 2, 1)) -> LedgerPlan:
    config = run.config
    households = [Household(f"H{n}", "grid.csv", 2, community="恒安社区", grid="第3网格",
                            address=f"阳光花园{n}号楼",
                            members=[Member(f"住户{n}", "户主", True, flags=("低保",))])
                  for n in (1, 2, 4)]
    colours = [config.palette[key] for key in ("orange", "red", "yellow")]
    slots = [Slot(h, f"{n:03d}", colour, count)
             for h, n, colour, count in zip(households, (1, 2, 4), colours, pages, strict=True)]
    return plan_ledger(GROUP, slots, {GROUP: [Retired(3, "H3", "2026-03-01")]},
                       [Edition(1, "2026-01-05")], config, run.index_layout, run.typesetter,
                       False, duplex, "", [], "g.pdf")


def test_a_ledger_numbers_its_pages_cover_index_then_cards(print_run: PrintRun) -> None:
    simplex = plan(print_run, duplex=False)
    assert simplex.index_first_page == 2 and len(simplex.index_pages) == 1
    assert [slot.first_page for slot in simplex.slots] == [3, 4, 6]
    assert simplex.total_pages == 6 and simplex.blank_pages == []
    assert simplex.number_range == "001–004" and simplex.retired_count == 1
    counts = {row.key: row.count for row in simplex.colour_counts}
    assert (counts["red"], counts["orange"], counts["yellow"], counts["blue"]) == (1, 1, 1, 0)


def test_a_duplex_ledger_starts_each_card_on_a_right_hand_page(print_run: PrintRun) -> None:
    duplex = plan(print_run, duplex=True)
    # the cover's back blank; the index on 3; one-page cards take their visit log behind
    assert duplex.index_first_page == 3 and duplex.blank_pages[0] == 2
    firsts = [slot.first_page for slot in duplex.slots]
    assert all(page % 2 == 1 for page in firsts)
    assert firsts == [5, 7, 9] and duplex.total_pages == 10
    assert duplex.blank_pages == [2, 4]  # the index's back too


def test_the_index_lists_every_number_the_retired_one_where_it_stood(
        print_run: PrintRun) -> None:
    ledger = plan(print_run, duplex=False)
    [rows] = ledger.index_pages
    assert [(row.number, row.household_id, row.page) for row in rows] == [
        ("001", "H1", 3), ("002", "H2", 4), ("003", "H3", 0), ("004", "H4", 6)]
    assert rows[2].colour == "" and rows[2].address == "已迁出/注销 2026-03-01"
    geometry = print_run.geometry(False)
    canvas = Canvas(geometry.paper.height, GlyphLog())
    draw_index_page(canvas, GROUP, rows, 1, 1, 2, False, geometry, print_run.typesetter,
                    print_run.words, False, {k: c.hex for k, c in print_run.config.palette.items()})
    raw, structure, framed = read_structure(canvas.content())
    to_text = {glyph: char for glyphs in canvas.log.glyphs.values()
               for glyph, char in glyphs.items()}
    lines: dict[float, list[str]] = {}  # the texts of each baseline, left to right
    dots = 0
    with pikepdf.new() as pdf:
        at = 0.0
        for instruction in pikepdf.parse_content_stream(pikepdf.Stream(pdf, raw)):
            op, args = str(instruction.operator), list(instruction.operands)
            if op == "Tm":
                at = round(geometry.paper.height - float(args[5]) / MM, 1)
            elif op == "Tj":
                codes = bytes(args[0])
                lines.setdefault(at, []).append("".join(
                    to_text[int.from_bytes(codes[i:i + 2], "big")]
                    for i in range(0, len(codes), 2)))
            elif op == "c":
                dots += 1
    texts = [" ".join(parts) for _, parts in sorted(lines.items())]
    assert any(GROUP in text for text in texts[:1])  # the title first
    body = [text for text in texts if text.split()[0] in ("001", "002", "003", "004")]
    assert [text.split()[:2] for text in body] == [
        ["001", "H1"], ["002", "H2"], ["003", "H3"], ["004", "H4"]]
    assert body[2] == "003 H3 已迁出/注销 2026-03-01"  # no colour, no head, no page
    assert body[0].endswith(" 3") and body[3].endswith(" 6")  # each card's first page
    assert dots == 3 * 4  # a colour dot (four curves) for each household, none retired
    table = [kid for kid in structure if isinstance(kid, tuple) and kid[0] == "Table"]
    assert len(table) == 1 and len(table[0][2]) == 1 + 4  # a header row and one a number
    assert framed


@pytest.mark.parametrize("duplex", [False, True])
def test_a_two_page_card_keeps_both_pages_together(print_run: PrintRun, duplex: bool) -> None:
    ledger = plan(print_run, duplex, pages=(2, 2, 2))
    firsts = [slot.first_page for slot in ledger.slots]
    assert [b - a for a, b in itertools.pairwise(firsts)] == [2, 2]
