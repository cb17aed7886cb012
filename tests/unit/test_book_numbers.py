"""cardgen/book/numbers.py: numbers kept from one print to the next, newcomers at the back,
numbers of households that left retired and never given again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from cardgen.book.numbers import Numbering, number_books
from cardgen.book.record import Book, Content, Edition, Entry, GridBook, Retired, card_content
from cardgen.config import Config, load_config
from cardgen.data.model import Category, Household, Member

TODAY = dt.date(2026, 11, 29)
GROUP = "恒安社区 第3网格"
CATEGORY = Category("yellow", (), False, "每季走访", "")


def home(hid: str, address: str, grid: str = "第3网格", name: str = "") -> Household:
    return Household(hid, "grid.csv", 2, community="恒安社区", grid=grid, address=address,
                     members=[Member(name or f"住户{hid}", "户主", True)])


def book(*grids: GridBook) -> Book:
    return Book(Path("book"), {g.group: g for g in grids})


def grid(entries: dict[str, int], retired: tuple[Retired, ...] = (), group: str = GROUP,
         parts: dict[str, dict[str, str]] | None = None) -> GridBook:
    return GridBook(group, "g.pdf", Edition(1, "2026-01-05"),
                    [Entry(hid, n, parts=(parts or {}).get(hid, {}), first_page=n + 2,
                           page_count=1) for hid, n in entries.items()], list(retired),
                    "恒安社区", group.split()[-1])


def numbers(numbering: Numbering, group: str = GROUP) -> dict[str, int]:
    return numbering.grids[group].numbers


def test_a_first_print_numbers_in_natural_address_order() -> None:
    households = [home("H3", "阳光花园10号楼"), home("H1", "阳光花园2号楼"),
                  home("H2", "阳光花园2号楼1单元")]
    numbering = number_books(households, TODAY, "reg")
    assert numbers(numbering) == {"H1": 1, "H2": 2, "H3": 3}  # 2号楼 before 10号楼
    assert numbering.numbers == {"H1": "001", "H2": "002", "H3": "003"}
    grid_numbers = numbering.grids[GROUP]
    assert grid_numbers.new_edition and grid_numbers.edition == Edition(
        1, "2026-11-29", "reg", "2026-11-29")
    assert numbering.unbooked == {"H1", "H2", "H3"}


def test_numbers_are_kept_newcomers_go_at_the_back_and_leavers_are_retired() -> None:
    previous = book(grid({"H1": 1, "H2": 2, "H3": 3}, (Retired(4, "H0", "2026-03-01"),)))
    households = [home("H9", "阳光花园1号楼"), home("H1", "阳光花园2号楼"),
                  home("H3", "阳光花园3号楼"), home("H8", "阳光花园9号楼")]
    numbering = number_books(households, TODAY, "reg", previous)
    grid_numbers = numbering.grids[GROUP]
    # H9 is first by address, but a newcomer: after the highest number ever used (4)
    assert numbers(numbering) == {"H1": 1, "H3": 3, "H9": 5, "H8": 6}
    assert grid_numbers.arrived == ["H9", "H8"]
    assert grid_numbers.left == [Retired(2, "H2", "2026-11-29")]
    assert grid_numbers.retired == [Retired(4, "H0", "2026-03-01"),
                                    Retired(2, "H2", "2026-11-29")]
    assert grid_numbers.edition.number == 1 and not grid_numbers.new_edition
    assert grid_numbers.highest == 6 and numbering.unbooked == {"H9", "H8"}


def test_a_retired_number_is_never_given_again_even_to_the_household_that_had_it() -> None:
    previous = book(grid({"H1": 1}, (Retired(2, "H2", "2026-03-01"),)))
    numbering = number_books([home("H1", "1号楼"), home("H2", "2号楼")], TODAY,
                             previous=previous)
    assert numbers(numbering) == {"H1": 1, "H2": 3}


def test_an_update_of_some_households_numbers_only_those_and_retires_nobody() -> None:
    previous = book(grid({"H1": 1, "H2": 2}))
    numbering = number_books([home("H1", "1号楼"), home("H7", "7号楼"), home("H8", "8号楼")],
                             TODAY, previous=previous, admitted={"H8"})
    assert numbers(numbering) == {"H1": 1, "H8": 3}
    assert numbering.grids[GROUP].left == []


def test_a_new_edition_numbers_the_grid_afresh() -> None:
    previous = book(grid({"H1": 1, "H2": 2}, (Retired(3, "H3", "2026-03-01"),)))
    numbering = number_books([home("H2", "1号楼"), home("H1", "2号楼")], TODAY,
                             previous=previous, renumber=True)
    grid_numbers = numbering.grids[GROUP]
    assert numbers(numbering) == {"H2": 1, "H1": 2}
    assert grid_numbers.retired == [] and grid_numbers.edition.number == 2
    assert grid_numbers.new_edition


def test_a_grid_the_book_lacks_starts_its_own_first_edition_and_others_are_untouched() -> None:
    previous = book(grid({"H1": 1}))
    numbering = number_books([home("H1", "1号楼"), home("H5", "5号楼", grid="第4网格")],
                             TODAY, previous=previous)
    assert numbers(numbering, "恒安社区 第4网格") == {"H5": 1}
    assert numbering.grids["恒安社区 第4网格"].new_edition
    assert numbers(numbering) == {"H1": 1}


def test_a_household_that_moved_between_grids_is_said_on_both_sides() -> None:
    other = "恒安社区 第4网格"
    previous = book(grid({"H1": 1, "H2": 2}), grid({"H5": 1}, group=other))
    numbering = number_books([home("H1", "1号楼"), home("H5", "5号楼"),
                              home("H2", "2号楼", grid="第4网格")], TODAY, previous=previous)
    assert numbering.grids[GROUP].moved_in == {"H5": other}
    assert numbering.grids[GROUP].moved_out == {"H2": other}
    assert numbering.grids[other].moved_in == {"H2": GROUP}
    assert numbering.grids[other].moved_out == {"H5": GROUP}


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def content_of(config: Config) -> Callable[[Household], Content]:
    return lambda household: card_content(household, CATEGORY, config)


def test_a_household_the_office_gave_a_new_id_keeps_its_number(config: Config) -> None:
    content = content_of(config)
    old = home("H2", "阳光花园2号楼", name="王芳")
    previous = book(grid({"H1": 1, "H2": 2}, parts={"H2": content(old).parts}))
    renamed = home("N2", "阳光花园2号楼", name="王芳")
    numbering = number_books([home("H1", "1号楼"), renamed], TODAY, previous=previous,
                             content=content)
    grid_numbers = numbering.grids[GROUP]
    assert numbers(numbering) == {"H1": 1, "N2": 2}
    assert grid_numbers.renumbered == {"N2": "H2"}
    assert grid_numbers.left == [] and grid_numbers.arrived == []


def test_two_newcomers_that_match_one_household_that_left_are_both_new(
        config: Config) -> None:
    content = content_of(config)
    old = home("H2", "阳光花园2号楼", name="王芳")
    previous = book(grid({"H1": 1, "H2": 2}, parts={"H2": content(old).parts}))
    twins = [home(hid, "阳光花园2号楼", name="王芳") for hid in ("N2", "N3")]
    numbering = number_books([home("H1", "1号楼"), *twins], TODAY, previous=previous,
                             content=content)
    assert numbers(numbering) == {"H1": 1, "N2": 3, "N3": 4}
    assert numbering.grids[GROUP].left == [Retired(2, "H2", "2026-11-29")]
