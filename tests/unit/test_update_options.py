"""An update prints its packet as the grid's book was printed, with the print options a
ledger of that book gives: the same paper, and the same names in the cache (cache.KINDS),
so the update finds what the book's ledger drew there (printing/index_pages.py)."""

from __future__ import annotations

from cardgen.book.record import Edition, GridBook
from cardgen.config import Config
from cardgen.layout.geometry import PrintOptions
from cardgen.pipeline.updates import book_options


def printed_on(paper: str, impose: str = "") -> GridBook:
    return GridBook("测试社区 第1网格", "测试社区-第1网格.pdf", Edition(1, "2026-11-29"), [], [],
                    paper=paper, impose=impose)


def test_the_packet_takes_the_options_of_the_ledger_that_printed_the_book(
        config: Config) -> None:
    assert book_options(None, config) == PrintOptions()
    # `cardgen ledger` without --paper: the configuration's paper, recorded by its name
    assert book_options(printed_on(config.papers.default), config) == PrintOptions()
    assert book_options(printed_on(""), config) == PrintOptions()
    assert book_options(printed_on("A5"), config) == PrintOptions(paper="A5")
    # imposed: the imposition says the card's paper
    assert book_options(printed_on("A5", "a4-2up"), config) == PrintOptions(impose="a4-2up")
