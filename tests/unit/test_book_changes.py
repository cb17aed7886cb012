"""cardgen/book/changes.py: the change list of a grid's book — what to add, replace, take out
or hold back — and the reasons, in the book's words, from the record and the register."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from cardgen.book.changes import ADD, INSERT, PENDING, REMOVE, REPLACE, compare, reasons
from cardgen.book.numbers import number_books
from cardgen.book.record import Book, Content, Edition, Entry, GridBook, Retired, card_content
from cardgen.config import Config, load_config
from cardgen.data.model import Category, Household, Member

TODAY = dt.date(2026, 11, 29)
GROUP = "恒安社区 第3网格"
YELLOW = Category("yellow", (), False, "每季走访", "")
ORANGE = Category("orange", ("王芳 低保",), False, "每月走访", "低保")


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def home(hid: str, address: str, *members: Member) -> Household:
    return Household(hid, "grid.csv", 2, community="恒安社区", grid="第3网格", address=address,
                     members=list(members) or [Member(f"住户{hid}", "户主", True)])


def entry(hid: str, number: int, content: Content, printed: bool = True) -> Entry:
    return Entry(hid, number, content.colour, content.flags, content.members, content.hash,
                 content.parts, number + 2 if printed else 0, 1, address=content.address,
                 head=content.head)


def test_reasons_name_the_colour_stickers_and_members_in_the_books_words(
        config: Config) -> None:
    before = card_content(home("H1", "1号楼", Member("王芳", "户主", True)), YELLOW, config)
    after = card_content(home("H1", "1号楼", Member("王芳", "户主", True, flags=("低保",)),
                              Member("李强", "子")), ORANGE, config)
    assert reasons(entry("H1", 1, before), after, config) == (
        "颜色 黄→橙", "新增贴纸 低保", "成员变动 1→2人")
    moved = card_content(home("H1", "2号楼", Member("王芳", "户主", True)), YELLOW, config)
    assert reasons(entry("H1", 1, before), moved, config) == ("地址变更",)
    phoned = card_content(home("H1", "1号楼", Member("王芳", "户主", True, phone="139")),
                          YELLOW, config)
    assert reasons(entry("H1", 1, before), phoned, config) == ("电话变更",)


def test_the_change_list_adds_replaces_inserts_holds_back_and_takes_out(
        config: Config) -> None:
    def content(household: Household, category: Category = YELLOW) -> Content:
        return card_content(household, category, config)

    same, changed = home("H1", "1号楼"), home("H2", "2号楼")
    unprinted, held, gone = home("H3", "3号楼"), home("H4", "4号楼"), home("H5", "5号楼")
    newcomer = home("H6", "6号楼")
    previous = Book(Path("book"), {GROUP: GridBook(
        GROUP, "g.pdf", Edition(1, "2026-01-05"),
        [entry("H1", 1, content(same)), entry("H2", 2, content(changed)),
         entry("H3", 3, content(unprinted), printed=False),
         entry("H4", 4, content(held, ORANGE)), entry("H5", 5, content(gone))],
        [Retired(6, "H0", "2026-03-01")], "恒安社区", "第3网格")})
    now = [same, changed, unprinted, held, newcomer]
    numbering = number_books(now, TODAY, previous=previous)
    contents = {h.household_id: content(h, ORANGE if h is changed else YELLOW) for h in now}
    changes = compare(numbering.grids[GROUP], contents,
                      printable={"H1", "H2", "H3", "H6"}, config=config)
    assert [(c.action, c.household_id, c.number) for c in changes.changes] == [
        (REPLACE, "H2", 2), (INSERT, "H3", 3), (PENDING, "H4", 4), (REMOVE, "H5", 5),
        (ADD, "H6", 7)]  # H1 is as its card shows: no line; 6 stays retired
    replace, insert, pending, remove, add = changes.changes
    assert replace.reasons == ("颜色 黄→橙",) and replace.old_colour == "yellow"
    assert replace.tab == "new" and replace.printed
    assert insert.reasons == ("补打（上次数据有误未打印）",)
    assert not pending.printed and pending.colour == "yellow"
    assert remove.reasons == ("已迁出/注销",) and remove.since == "2026-11-29"
    assert (remove.address, remove.head) == ("5号楼", "住**5")  # as its card printed them (住户H5)
    assert add.tab == "new" and add.stickers_added == ()
    assert (changes.before, changes.after) == (5, 5) and not changes.empty
    data = changes.as_dict()
    assert data["added"] == [{"household_id": "H6", "number": "007"}]
    assert data["changed"] == [
        {"household_id": "H2", "number": "002", "reasons": ["颜色 黄→橙"]},
        {"household_id": "H3", "number": "003", "reasons": ["补打（上次数据有误未打印）"]}]
    assert data["removed"] == [{"household_id": "H5", "number": "005"}]
    assert data["pending"] == [{"household_id": "H4", "number": "004"}]


def test_a_card_taken_out_says_who_lives_at_its_address_now(config: Config) -> None:
    gone = home("H1", "1号楼")
    previous = Book(Path("book"), {GROUP: GridBook(
        GROUP, "g.pdf", Edition(1, "2026-01-05"),
        [entry("H1", 1, card_content(gone, YELLOW, config))], [], "恒安社区", "第3网格")})
    arrived = home("H2", "1号楼", Member("新住户", "户主", True))
    numbering = number_books([arrived], TODAY, previous=previous)
    changes = compare(numbering.grids[GROUP], {"H2": card_content(arrived, YELLOW, config)},
                      {"H2"}, config)
    removed = changes.of(REMOVE)[0]
    assert removed.reasons == ("已迁出/注销", "与 002 同址")


def test_a_family_that_moved_in_the_grid_under_a_new_number_is_pointed_to_its_new_card(
        config: Config) -> None:
    """The office gave a family a new 户号 when it moved to another flat of the grid: its
    old card is pulled (a new address is a new home), and the row says where the same
    people are now, so the worker carries the stickers and the notes over."""
    family = (Member("王芳", "户主", True, flags=("低保",)), Member("李强", "子"))
    before, neighbour = home("H1", "1号楼101", *family), home("H2", "2号楼", )
    previous = Book(Path("book"), {GROUP: GridBook(
        GROUP, "g.pdf", Edition(1, "2026-01-05"),
        [entry("H1", 1, card_content(before, ORANGE, config)),
         entry("H2", 2, card_content(neighbour, YELLOW, config))], [], "恒安社区", "第3网格")})
    now = [neighbour, home("H9", "5号楼302", *family), home("H8", "6号楼")]
    numbering = number_books(now, TODAY, previous=previous)
    contents = {h.household_id: card_content(h, ORANGE if h.household_id == "H9" else YELLOW,
                                             config) for h in now}
    changes = compare(numbering.grids[GROUP], contents, {"H2", "H8", "H9"}, config)
    [removed] = changes.of(REMOVE)
    went = next(c.number for c in changes.of(ADD) if c.household_id == "H9")
    assert removed.reasons == (f"迁至 {went:03d}",)
    assert removed.address == "1号楼101"
    other = next(c for c in changes.of(ADD) if c.household_id == "H8")
    assert other.number != went


def test_a_rerun_with_nothing_changed_is_an_empty_list(config: Config) -> None:
    households = [home("H1", "1号楼"), home("H2", "2号楼")]
    contents = {h.household_id: card_content(h, YELLOW, config) for h in households}
    previous = Book(Path("book"), {GROUP: GridBook(
        GROUP, "g.pdf", Edition(1, "2026-01-05"),
        [entry(hid, n, contents[hid]) for n, hid in enumerate(contents, 1)], [],
        "恒安社区", "第3网格")})
    numbering = number_books(households, TODAY, previous=previous)
    changes = compare(numbering.grids[GROUP], contents, set(contents), config)
    assert changes.changes == [] and changes.empty
    held = compare(numbering.grids[GROUP], contents, {"H1"}, config)
    assert held.changes == [] and held.empty  # held back, but its card is right already
    stale = dataclasses.replace(contents["H2"], hash="other")
    later = compare(numbering.grids[GROUP], {**contents, "H2": stale}, {"H1"}, config)
    assert [(c.action, c.household_id) for c in later.changes] == [(PENDING, "H2")]
    assert later.empty  # a held-back card is nothing to do in the binder
