"""An index page drawn over the rows an earlier run kept (cardgen/printing/index_pages.py) is
the page drawn whole: its content, structure and glyphs, byte for byte."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from cardgen.cache import Cache
from cardgen.config import Config
from cardgen.layout.geometry import PrintOptions
from cardgen.layout.index import INDEX_MIN_ROW, IndexRow
from cardgen.pdf.canvas import Canvas, GlyphLog
from cardgen.pdf.compose import prepare_content
from cardgen.pdf.draw import PageWords, draw_index_page
from cardgen.printing import index_pages
from cardgen.printing.index_pages import IndexCanvas, Template, draw_index, template_name
from cardgen.printing.run import PrintRun
from tests.conftest import suite_cache

LAST_MONTH, THIS_MONTH = dt.date(2026, 11, 29), dt.date(2026, 12, 29)


def month_rows(config: Config, scale: float, moved: int) -> list[IndexRow]:
    """An index page's rows: households with and without flags, a head printed smaller, an
    address on two lines, a retired number; their cards' pages `moved` on."""
    colours = list(config.palette.values())
    rows = []
    for index in range(30):
        colour = colours[index % len(colours)]
        address = f"测试家园 {index + 1}号楼 1单元 101室" + ("（东侧入口，靠近物业）" * 3
                                                            if index == 7 else "")
        rows.append(IndexRow(f"{index + 40:03d}", f"T01-{index + 40:04d}", address,
                             "阿卜杜热合曼·买买提" if index == 3 else f"张{index}",
                             colour.key, colour.char, "低保、残疾" if index % 4 == 1 else "",
                             60 + 2 * index + moved, INDEX_MIN_ROW * scale * (3 if index == 7
                                                                              else 1),
                             6.5 if index == 3 else 0.0))
    rows[12] = IndexRow("052", "T01-0052", "已迁出 2026-12-01", "", "", "", "", 0,
                        INDEX_MIN_ROW * scale)
    return rows


def draw(printing: PrintRun, rows: list[IndexRow], date: dt.date, verso: bool,
         whole: bool) -> tuple[Any, ...]:
    """A page drawn as drawn_page draws it (over kept rows when there are), or whole (as
    before they were kept): its prepared content (compressed, structure, compiled), and
    its glyph log with its order."""
    words = PageWords(date.isoformat(), printing.config.card.words)
    palette = {key: colour.hex for key, colour in printing.config.palette.items()}

    def page(canvas: Canvas, shown: list[IndexRow]) -> None:
        draw_index_page(canvas, "测试社区 第1网格 · 共 30 户", shown, 2, 5, 14, False,
                        printing.geometry(False, verso), printing.typesetter, words, verso,
                        palette)

    log = GlyphLog()
    if whole:
        canvas = Canvas(printing.paper.height, log)
        page(canvas, rows)
        prepared = prepare_content(canvas.content(), canvas.structure())
    else:
        prepared = draw_index(log, rows, verso, printing, page)
    return (prepared, list(log.names.items()),
            [(face, list(glyphs.items())) for face, glyphs in log.glyphs.items()])


@pytest.fixture
def put_back(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pages were drawn over kept rows."""
    used: list[int] = []
    original = IndexCanvas._put_back

    def counted(self: IndexCanvas, template: Template) -> None:
        original(self, template)
        used.append(1)

    monkeypatch.setattr(IndexCanvas, "_put_back", counted)
    return used


@pytest.mark.parametrize(("paper", "verso"), [("A4", False), ("A4", True), ("A5", False)])
def test_a_page_over_last_months_rows_is_the_page_drawn_whole(
        config: Config, put_back: list[int], paper: str, verso: bool) -> None:
    printing = PrintRun.start(config, PrintOptions(paper=paper), None, THIS_MONTH,
                              suite_cache(config))
    scale = printing.paper.scale
    draw(printing, month_rows(config, scale, 0), LAST_MONTH, verso, False)  # kept
    assert not put_back or put_back == [1]  # (kept by an earlier run of the suite)
    put_back.clear()
    # a month on: the heading's date and every row's page changed, the rows did not
    rows = month_rows(config, scale, -2)
    over = draw(printing, rows, THIS_MONTH, verso, False)
    assert put_back == [1]
    assert over == draw(printing, rows, THIS_MONTH, verso, True)


def test_rows_that_changed_are_drawn_whole_and_kept(config: Config,
                                                    put_back: list[int]) -> None:
    printing = PrintRun.start(config, None, None, THIS_MONTH, suite_cache(config))
    rows = month_rows(config, printing.paper.scale, 0)
    draw(printing, rows, LAST_MONTH, False, False)
    put_back.clear()
    changed = [dataclasses.replace(row, flags="低保") if row.number == "045" else row
               for row in rows]
    assert draw(printing, changed, THIS_MONTH, False, False) == \
        draw(printing, changed, THIS_MONTH, False, True)
    assert put_back == []  # not over last month's
    assert printing.cache.get("ledger-pages", template_name(changed, False)) is not None


def test_a_canvas_not_where_the_rows_were_drawn_draws_the_page_whole(
        config: Config, put_back: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    printing = PrintRun.start(config, None, None, THIS_MONTH, suite_cache(config))
    rows = month_rows(config, printing.paper.scale, 0)
    draw(printing, rows, LAST_MONTH, False, False)
    name = template_name(rows, False)
    stored = printing.cache.get("ledger-pages", name)
    assert stored is not None
    kept = Template.loads(stored)
    assert kept is not None
    # kept after another MCID than this page's rows start at
    monkeypatch.setattr(index_pages.Template, "loads",
                        classmethod(lambda cls, data: Template(kept.mcid + 1, kept.events,
                                                               kept.kids, kept.compiled)))
    put_back.clear()
    assert draw(printing, rows, THIS_MONTH, False, False) == \
        draw(printing, rows, THIS_MONTH, False, True)
    assert put_back == []


def test_no_rows_are_kept_without_a_cache(config: Config) -> None:
    printing = PrintRun.start(config, None, None, THIS_MONTH, Cache.off())
    rows = month_rows(config, printing.paper.scale, 0)
    assert draw(printing, rows, THIS_MONTH, False, False) == \
        draw(printing, rows, THIS_MONTH, False, True)


def test_the_kept_structure_is_taken_only_for_the_same_structure(
        config: Config, put_back: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    printing = PrintRun.start(config, None, None, THIS_MONTH, suite_cache(config))
    rows = month_rows(config, printing.paper.scale, 0)
    draw(printing, rows, LAST_MONTH, False, False)
    stored = printing.cache.get("ledger-pages", template_name(rows, False))
    assert stored is not None
    kept = Template.loads(stored)
    assert kept is not None and kept.compiled is not None
    # a kept compilation of another page's structure (as if its footer had drawn another
    # element) is not taken: the page's own is compiled
    steps, *rest = kept.compiled
    wrong = ([*steps, 0], *rest)
    monkeypatch.setattr(index_pages.Template, "loads", classmethod(
        lambda cls, data: Template(kept.mcid, kept.events, b"another", wrong)))
    put_back.clear()
    assert draw(printing, rows, THIS_MONTH, False, False) == \
        draw(printing, rows, THIS_MONTH, False, True)
    assert put_back == [1]
