"""cardgen/book/fit.py: grids named as a person reads them, a register read with the book's
spelling, grids renamed by the office, and a register that is not the book's refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cardgen.book.fit import align, check_fit, name_key, rename_grids
from cardgen.book.record import Book, BookError, Content, Edition, Entry, GridBook
from cardgen.data.model import Household, Member
from cardgen.errors import UsageError

GROUP = "恒安社区 第3网格"


def home(hid: str, address: str, grid: str = "第3网格", community: str = "恒安社区") -> Household:
    return Household(hid, "grid.csv", 2, community=community, grid=grid, address=address,
                     members=[Member(f"住户{hid}", "户主", True)])


def content(household: Household) -> Content:
    """A card's content as far as the fit looks: its address and members."""
    parts = {"address": household.full_address, "members": household.members[0].name}
    return Content("yellow", (), 1, household.household_id, parts)


def book(count: int = 4) -> Book:
    entries = [Entry(f"H{n}", n, parts=content(home(f"H{n}", f"{n}号楼")).parts,
                     first_page=n + 2, page_count=1) for n in range(1, count + 1)]
    return Book(Path("/books/恒安"), {GROUP: GridBook(
        GROUP, "g.pdf", Edition(1, "2026-01-05"), entries, [], "恒安社区", "第3网格")})


def test_a_grid_is_named_as_a_person_reads_it() -> None:
    assert name_key("第一网格") == name_key("第1网格") == name_key("一网格") == \
        name_key("第１网格") == name_key("第 1 网格")
    assert name_key("第十二网格") == name_key("第12网格") != name_key("第2网格")


def test_a_register_spelled_otherwise_is_read_with_the_books_names() -> None:
    households = [home("H1", "1号楼", grid="第三网格"), home("H2", "2号楼"),
                  home("H9", "9号楼", grid="第5网格", community="恒安社区 ")]
    renamed = align(households, book())
    assert [(r.register, r.book) for r in renamed] == [("恒安社区 第三网格", GROUP),
                                                       ("恒安社区  第5网格", "恒安社区 第5网格")]
    assert [(h.community, h.grid) for h in households] == [
        ("恒安社区", "第3网格"), ("恒安社区", "第3网格"), ("恒安社区", "第5网格")]


def test_a_grid_the_office_renamed_keeps_its_book_under_the_new_name() -> None:
    held = book()
    [renamed] = rename_grids(held, [("第三网格", "第8网格")])
    assert (renamed.register, renamed.book, renamed.explicit) == (
        "恒安社区 第8网格", GROUP, True)
    grid = held.grids["恒安社区 第8网格"]
    assert GROUP not in held.grids and grid.renamed_from == "第3网格"
    assert len(grid.entries) == 4  # its numbers stay
    with pytest.raises(UsageError, match=r"has no grid 第9网格 \(it has 恒安社区 第8网格\)") \
            as refused:
        rename_grids(held, [("第9网格", "第10网格")])
    assert refused.value.code == "book.rename_grid"


def test_a_register_of_another_community_or_other_grids_is_refused() -> None:
    with pytest.raises(BookError, match=r"new.csv is a register of 幸福社区, but the book in "
                                        r"/books/恒安 is 恒安社区's") as other:
        check_fit([home("X1", "1号楼", community="幸福社区")], book(), "new.csv", content,
                  renumber=False)
    assert other.value.code == "book.other_community"
    with pytest.raises(BookError, match="has the grids 恒安社区 第4网格") as grids:
        check_fit([home("X1", "1号楼", grid="第4网格")], book(), "new.csv", content,
                  renumber=False)
    assert grids.value.code == "book.other_grids"


def test_a_register_that_matches_too_few_households_is_refused_with_the_figures() -> None:
    strangers = [home(f"X{n}", f"{n}0号楼") for n in range(1, 4)] + [home("H1", "1号楼")]
    with pytest.raises(BookError) as refused:
        check_fit(strangers, book(), "new.csv", content, renumber=False)
    assert refused.value.code == "book.does_not_fit"
    assert ("of its 4 household(s) in 恒安社区 第3网格, 1 are in the book (by 户号, address "
            "or members), and of the book's 4, 1 are in the register") in str(refused.value)
    check_fit(strangers, book(), "new.csv", content, renumber=True)  # a new edition: fine


def test_households_under_new_ids_at_the_same_addresses_fit() -> None:
    moved = [home(f"N{n}", f"{n}号楼") for n in range(1, 5)]  # new 户号, same homes
    for household, old in zip(moved, range(1, 5), strict=True):
        household.members[0].name = f"住户H{old}"
    check_fit(moved, book(), "new.csv", content, renumber=False)


def test_an_excerpt_fits_when_it_writes_no_book() -> None:
    excerpt = [home("H1", "1号楼")]  # one of the book's four
    check_fit(excerpt, book(), "one.csv", content, renumber=False, writes=False)
    with pytest.raises(BookError, match="of the book's 4, 1 are in the register"):
        check_fit(excerpt, book(), "one.csv", content, renumber=False, writes=True)


def headed(household: Household) -> Content:
    """`content` with the head's name, as a card's content records it."""
    shown = content(household)
    shown.head = household.members[0].name
    return shown


def headed_members(household: Household) -> Content:
    """`headed`, its members all of them (a family that grew is another set)."""
    shown = headed(household)
    shown.parts = {**shown.parts, "members": "、".join(m.name for m in household.members)}
    return shown


def headed_book(count: int = 4) -> Book:
    held = book(count)
    for grid in held.grids.values():
        grid.entries = [replace(e, head=f"住户{e.household_id}") for e in grid.entries]
    return held


def test_other_people_under_the_books_户号_are_refused_a_new_family_is_not() -> None:
    """The same 户号 (G01-0001 … or 1, 2, 3 … in every grid) at the same flats, but other
    heads and members no household of the book has: another register, refused; one new
    family in a month, or families that took each other's 户号, fit."""
    others = [home(f"H{n}", f"{n}号楼") for n in range(1, 5)]
    for household in others:
        household.members[0].name = f"别人{household.household_id}"
    with pytest.raises(BookError) as refused:
        check_fit(others, headed_book(), "other.csv", headed, renumber=False)
    assert refused.value.code == "book.does_not_fit"
    assert ("of its 4 household(s) in 恒安社区 第3网格, 4 have a 户号 of the book under "
            "another head, and members no household of the book has") in str(refused.value)
    check_fit(others, headed_book(), "other.csv", headed, renumber=True)  # a new edition
    moved_in = [home(f"H{n}", f"{n}号楼") for n in range(1, 5)]
    moved_in[0].members[0].name = "新住户"
    check_fit(moved_in, headed_book(), "month.csv", headed, renumber=False)
    swapped = [home(f"H{n}", f"{n}号楼") for n in (2, 1, 4, 3)]  # 户号 given to each other
    for household, old in zip(swapped, (1, 2, 3, 4), strict=True):
        household.members[0].name = f"住户H{old}"
    check_fit(swapped, headed_book(), "month.csv", headed, renumber=False)
    grown = [home(f"H{n}", f"{n}号楼") for n in range(1, 5)]  # a child born in every one
    for household in grown:
        household.members.append(Member(f"新生儿{household.household_id}", "子", False))
    check_fit(grown, headed_book(), "month.csv", headed_members, renumber=False)
    check_fit(others, book(), "other.csv", headed, renumber=False)  # heads unknown: no judge
