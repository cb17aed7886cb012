"""cardgen/book/record.py: a card's content as the book hashes it, the manifest written and
read back, and a record that contradicts itself refused with every problem and the way
back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from cardgen.book.record import (
    CONTENT,
    FORMAT,
    MANIFEST,
    Book,
    BookError,
    Edition,
    Entry,
    GridBook,
    Retired,
    address_part,
    card_content,
    check_book,
    format_number,
    manifest_bytes,
    parse_book,
    read_book,
    recorded_name,
)
from cardgen.config import Config, load_config
from cardgen.data.model import Category, Household, Member
from cardgen.errors import UsageError

HEAD_ID = "360426199101010071"
WIFE_ID = "11010519491231002X"
CATEGORY = Category("orange", ("张秀英 低保",), False, "每月走访", "低保")


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def household(*members: Member, address: str = "阳光花园2号楼1单元302") -> Household:
    return Household("H001", "grid.csv", 2, community="恒安社区", grid="第3网格",
                     address=address, members=list(members))


def head(**changes: object) -> Member:
    member = Member("张秀英", "户主", True, "女", "汉族", dt.date(1991, 1, 1), HEAD_ID,
                    "13812345678", residence="常住", flags=("低保",))
    return dataclasses.replace(member, **changes)  # type: ignore[arg-type]


def wife(**changes: object) -> Member:
    member = Member("李明", "配偶", False, "女", "汉族", dt.date(1949, 12, 31), WIFE_ID,
                    residence="常住", flags=("社区矫正",))
    return dataclasses.replace(member, **changes)  # type: ignore[arg-type]


def test_numbers_have_three_digits_four_past_999() -> None:
    assert [format_number(n) for n in (1, 17, 999, 1000)] == ["001", "017", "999", "1000"]


def test_the_record_keeps_no_name_in_full() -> None:
    assert [recorded_name(n) for n in ("欧阳秀英", "李明", "张", "")] == \
        ["欧**英", "李*", "张", ""]


def test_the_content_is_the_card_as_printed_not_the_row_order(config: Config) -> None:
    content = card_content(household(head(), wife()), CATEGORY, config)
    assert content.hash == card_content(household(wife(), head()), CATEGORY, config).hash
    assert content.colour == "orange" and content.members == 2
    assert content.flags == ("低保", "重点人员")  # a red sub-type as printed, slots first
    assert content.head == "张*英" and content.address == "阳光花园2号楼1单元302"


def test_what_the_card_does_not_show_changes_no_hash(config: Config) -> None:
    """The masked digits of an ID are not on the card; the subtype of a red flag neither."""
    content = card_content(household(head(), wife()), CATEGORY, config)
    hidden_digits = WIFE_ID[:6] + "000000000" + WIFE_ID[-3:]
    assert card_content(household(head(), wife(id_number=hidden_digits)), CATEGORY,
                        config).hash == content.hash
    assert card_content(household(head(), wife(flags=("刑满释放",))), CATEGORY,
                        config).hash == content.hash


def test_a_change_on_the_card_changes_the_hash_and_the_part_that_names_it(
        config: Config) -> None:
    content = card_content(household(head(), wife()), CATEGORY, config)
    cases = {"phones": household(head(phone="13900000000"), wife()),
             "members": household(head(), wife(name="李敏")),
             "address": household(head(), wife(), address="阳光花园3号楼1单元302"),
             "flags": household(head(flags=()), wife(flags=("社区矫正", "低保")))}
    for part, changed in cases.items():
        other = card_content(changed, CATEGORY, config)
        assert other.hash != content.hash, part
        assert {name for name in content.parts
                if content.parts[name] != other.parts[name]} == {part}, part


def test_the_content_hashes_stay_as_books_made_them(config: Config) -> None:
    """A book's hashes are compared month after month: the hash of the whole and of each
    part stay what they were (here with quotes, a backslash and a landline in them)."""
    content = card_content(household(head(notes="他说\"门铃坏了\"\\n'后门'"),
                                     wife(landline="0791-1234567")), CATEGORY, config)
    assert content.hash == content.legacy_hash == (
        "ce5e582bab4236904a4775ab45511f1f2b78a97c2c72d70734d87b5326b3623b")
    assert content.parts["address"] == address_part("恒安社区", "第3网格",
                                                    "阳光花园2号楼1单元302") == "c4f8c110a08a"
    assert content.parts["people"] == "411694d74c5b"


def test_a_book_of_card_order_hashes_compares_as_it_was_made(config: Config) -> None:
    """Content 1 hashed members in card order (the head, then rows), 2 as a set."""
    son = wife(name="李强", relation="子", id_number="", flags=())
    content = card_content(household(head(), wife(name="王芳"), son), CATEGORY, config)
    new, old = Entry("H001", 1, content=CONTENT), Entry("H001", 1, content=1)
    assert content.hash_for(new) == content.hash
    assert content.hash_for(old) == content.legacy_hash != content.hash
    assert content.parts_for(old) == content.legacy_parts


def grid_book(**changes: object) -> GridBook:
    book = GridBook(
        "恒安社区 第3网格", "恒安社区-第3网格.pdf", Edition(2, "2026-01-05", "ab12", "2026-11-01"),
        [Entry("H001", 1, "orange", ("低保",), 2, "h1", {"address": "a1"}, 3, 1,
               address="阳光花园2号楼", head="张*英"),
         Entry("H002", 2, "red", (), 1, "h2", {"address": "a2"}, 4, 2),
         Entry("H004", 4)],  # kept out of the print for errors
        [Retired(3, "H003", "2026-11-01")], "恒安社区", "第3网格", "A5", True)
    return dataclasses.replace(book, **changes)  # type: ignore[arg-type]


def write(folder: Path, *books: GridBook) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / MANIFEST).write_bytes(manifest_bytes(list(books)))
    return folder


def test_the_manifest_reads_back_as_it_was_written(tmp_path: Path) -> None:
    written = grid_book()
    data = manifest_bytes([written])
    raw = json.loads(data)
    assert raw["format"] == FORMAT
    [ledger] = raw["ledgers"]
    assert ledger["highest"] == "004" and ledger["total"] == 3 and ledger["content"] == CONTENT
    assert ledger["unprinted"] == [{"household_id": "H004", "number": "004"}]
    assert data.count(b"\n        {") == 4  # one household (or retired number) a line
    book = read_book(write(tmp_path / "book", written))
    [read] = book.grids.values()
    assert read.entries == written.entries and read.retired == written.retired
    assert read.edition == written.edition and read.highest == 4
    assert (read.paper, read.duplex, read.recorded_total) == ("A5", True, 3)
    assert not read.entry("H004").printed and read.entry("H001").printed  # type: ignore[union-attr]
    assert book.last_update == "2026-11-01"
    assert book.find("H002") == (read, read.entries[1])


def test_a_consistent_record_has_no_problems() -> None:
    assert check_book(Book(Path("b"), {"g": grid_book()})) == []


@pytest.mark.parametrize(("change", "code", "said"), [
    ({"entries": [Entry("H001", 1), Entry("H002", 1), Entry("H004", 4),
                  Entry("H005", 2)]},
     "book.number_twice", "households H001, H002 are all numbered 001"),
    ({"entries": [Entry("H001", 1), Entry("H001", 2), Entry("H004", 4)]},
     "book.household_twice", "household H001 is in the book twice, as 001, 002"),
    ({"retired": [Retired(2, "H003", "2026-11-01"), Retired(3, "H003", "2026-11-01")]},
     "book.retired_in_use", "number 002 is retired (household H003, since 2026-11-01) but "
                            "household H002 has it"),
    ({"retired": [Retired(3, "H003", "2026-11-01"), Retired(3, "H009", "2026-11-02")]},
     "book.retired_twice", "number 003 is retired twice (H003, H009)"),
    ({"recorded_highest": 3}, "book.above_highest",
     "number 004 (H004) is above the book's highest, 003"),
    ({"retired": []}, "book.number_missing",
     "number(s) 003 are neither in use nor retired"),
    ({"recorded_total": 5}, "book.total", "the record says 5 household(s) but lists 3"),
    ({"grid": "第4网格"}, "book.grid_name",
     "the book named 恒安社区 第3网格 says it is 恒安社区 第4网格"),
    ({"file": "../elsewhere.pdf"}, "book.file_name", "../elsewhere.pdf is no ledger file name"),
])
def test_each_contradiction_is_found_and_named(change: dict[str, object], code: str,
                                               said: str) -> None:
    problems = check_book(Book(Path("b"), {"g": grid_book(**change)}))
    assert [p.code for p in problems] == [code]
    assert said in problems[0].message


def test_a_record_that_contradicts_itself_is_refused_with_every_problem_and_the_way_back(
        tmp_path: Path) -> None:
    folder = write(tmp_path / "book", grid_book(retired=[], grid="第4网格"))
    with pytest.raises(BookError) as refused:
        read_book(folder)
    message = str(refused.value)
    assert refused.value.code == "book.inconsistent"
    assert f"{folder / MANIFEST} contradicts itself" in message
    assert "number(s) 003 are neither in use nor retired" in message
    assert "says it is 恒安社区 第4网格" in message
    assert f"cardgen ledger INPUT --book {folder} --renumber -o NEWDIR" in message
    assert "Nothing was written." in message  # a command that would write stopped
    assert read_book(folder, check=False).grids  # read as it is, when asked


def test_book_check_gives_the_way_back_without_saying_nothing_was_written(
        tmp_path: Path) -> None:
    """`book check` only reads: its report of a contradiction ends in the way back, not in
    「没有写任何文件」 (which read as if it had been about to write)."""
    from click.testing import CliRunner

    from cardgen.cli.commands import cli

    folder = write(tmp_path / "book", grid_book(retired=[]))
    result = CliRunner().invoke(cli, ["book", "check", str(folder), "--lang", "zh"])
    assert result.exit_code == 1, result.output
    assert "编号 003 既没有户在用也没有注销" in result.output
    assert "恢复办法：放回上一份正确的 manifest.json" in result.output
    assert "没有写任何文件" not in result.output


def test_books_of_two_communities_in_one_record_are_a_contradiction(tmp_path: Path) -> None:
    ours = grid_book()
    other = grid_book(group="幸福社区 第1网格", community="幸福社区", grid="第1网格",
                      file="幸福社区-第1网格.pdf",  # its own households (in both: another
                      entries=[dataclasses.replace(e, household_id="X" + e.household_id)
                               for e in ours.entries])  # contradiction, tested elsewhere)
    problems = check_book(read_book(write(tmp_path / "b", ours, other), check=False))
    assert [p.code for p in problems] == ["book.communities"]
    assert "(幸福社区, 恒安社区)" in problems[0].message


def test_a_folder_that_holds_no_book_is_said_with_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder") as missing:
        read_book(tmp_path / "nowhere")
    assert missing.value.code == "book.missing" and missing.value.exit_code == 2
    with pytest.raises(UsageError, match=r"there is no book here \(no manifest.json\)"):
        read_book(tmp_path)


@pytest.mark.parametrize(("text", "code", "said"), [
    ("{not json", "book.unreadable", "cannot be read as a book"),
    ('{"format": "cardgen-book/9", "ledgers": []}', "book.format",
     "a book of format 'cardgen-book/9', which this cardgen does not know"),
    ('{"format": "cardgen-book/1", "ledgers": [{"group": "g"}]}', "book.unreadable",
     "is damaged"),
    ('[1, 2]', "book.unreadable", "is not a cardgen book"),
])
def test_a_manifest_that_is_no_book_is_refused_with_a_new_edition_as_the_way(
        tmp_path: Path, text: str, code: str, said: str) -> None:
    (tmp_path / MANIFEST).write_text(text, encoding="utf-8")
    with pytest.raises(BookError, match=said) as refused:
        read_book(tmp_path)
    assert refused.value.code == code
    assert "cardgen ledger INPUT -o NEWDIR" in str(refused.value)


def test_the_first_format_is_read_for_its_numbers_of_one_grid_a_ledger() -> None:
    households = [{"household_id": "H1", "number": "002/040", "first_page": 5,
                   "page_count": 1},
                  {"household_id": "H2", "number": "001/040", "first_page": 3,
                   "page_count": 2, "colour": "red"}]
    book = parse_book({"ledgers": [{"file": "a.pdf", "group": "g", "households": households}]},
                      Path("b"))
    assert book.legacy
    assert [(e.household_id, e.number, e.colour) for e in book.grids["g"].entries] == [
        ("H2", 1, "red"), ("H1", 2, "")]
    mixed = [{**households[0], "number": "001/040"}, households[1]]
    with pytest.raises(BookError, match="ledger of several grids") as refused:
        parse_book({"ledgers": [{"file": "a.pdf", "group": "g", "households": mixed}]},
                   Path("b"))
    assert refused.value.code == "book.legacy"
