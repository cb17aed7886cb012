"""Issue 20 audited as a new user would meet it: a record damaged by hand (a number that is
no number, a date that is no date, JSON cut short) is said in words with the household and
the way back; a household never ends up in two grids' books (a grid renamed without
--rename-grid, a move updated on one side only); a read-only output folder is exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.book.test_book import SECOND, first_register, invoke, second_register
from tests.book.test_trust import books, copy, entry, grid, record, save  # noqa: F401
from tests.conftest import write_csv


@pytest.mark.parametrize(("damage", "said"), [
    ("number", ['A03', '编号 "abc" 不是数字写法']),
    ("date", ['日期 "2026-13-45" 不是 YYYY-MM-DD']),
    ("cut", ["不是完整的 JSON"]),
    ("format", ['缺少 "format" 一项']),
])
def test_a_damaged_record_is_said_in_words_with_the_household_and_the_way_back(
        books: dict[str, Path], tmp_path: Path, damage: str,  # noqa: F811
        said: list[str]) -> None:
    book = copy(books["book2"], tmp_path / "book")
    data = record(book)
    if damage == "number":
        entry(grid(data, "第3网格"), "A03")["number"] = "abc"
    elif damage == "date":
        grid(data, "第3网格")["edition"]["updated"] = "2026-13-45"
    elif damage == "format":
        del data["format"]
    save(book, data)
    if damage == "cut":
        text = (book / "manifest.json").read_text(encoding="utf-8")
        (book / "manifest.json").write_text(text[:len(text) // 2], encoding="utf-8")
    for args in (["book", "check", book],
                 ["update", books["register2"], "--book", book, "-o", tmp_path / "out",
                  "--date", "2027-12-01"]):
        result = invoke(*args, lang="zh")
        assert result.exit_code == 1, result.output  # a damaged record, not a wrong --date
        for words in said:
            assert words in result.output
        assert "放回上一份正确的 manifest.json" in result.output
        # no Python message in the user's words
        for english in ("book number", "Unterminated", "Expecting", "line 1 column"):
            assert english not in result.output
    assert not (tmp_path / "out").exists()


def test_a_household_in_two_grids_of_the_record_is_refused(
        books: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    book = copy(books["book1"], tmp_path / "book")
    data = record(book)
    entry(grid(data, "第3网格"), "A03")["household_id"] = "B01"  # B01 is 第4网格's 001
    save(book, data)
    result = invoke("book", "check", book, "--format", "json")
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["code"] for p in problems] == ["book.household_in_two_grids"]
    assert problems[0]["households"] == ["B01"]
    result = invoke("update", books["register1"], "--book", book, "-o", tmp_path / "out",
                    "--date", SECOND, lang="zh")
    assert result.exit_code == 1 and "户 B01 在几个网格的台账里都有" in result.output
    assert not (tmp_path / "out").exists()


def test_a_grid_renamed_without_saying_so_is_refused_not_numbered_twice(
        books: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    rows = [{**row, "网格": "第5网格"} if row["网格"] == "第3网格" else row
            for row in first_register()]
    register = write_csv(tmp_path / "renamed.csv", rows)
    out = tmp_path / "out"
    result = invoke("update", register, "--book", books["book1"], "-o", out, "--date",
                    SECOND, lang="zh")
    assert result.exit_code == 1, result.output
    assert "两个编号" in result.output and "--rename-grid 第3网格=第5网格" in result.output
    assert not out.exists()
    result = invoke("update", register, "--book", books["book1"], "-o", out, "--date",
                    SECOND, "--rename-grid", "第3网格=第5网格")
    assert result.exit_code == 0, result.output
    assert {g["grid"] for g in record(out)["ledgers"]} == {"第4网格", "第5网格"}
    assert invoke("book", "check", out).exit_code == 0


@pytest.mark.parametrize("choose", [["--grid", "第3网格"], ["--household", "B02"]])
def test_a_move_updated_on_one_side_only_is_refused(
        books: dict[str, Path], tmp_path: Path, choose: list[str]) -> None:  # noqa: F811
    # month 2: B02 moved from 第4网格 to 第3网格; updating 第3网格 alone would give it
    # 第3网格's next number while 第4网格's book keeps it as 002
    register = write_csv(tmp_path / "month2.csv", second_register())
    out = tmp_path / "out"
    result = invoke("update", register, "--book", books["book1"], "-o", out, "--date",
                    SECOND, *choose, lang="zh")
    assert result.exit_code == 1, result.output
    assert "B02" in result.output and "两个编号" in result.output
    assert not out.exists()


def test_a_read_only_output_folder_is_exit_1_in_words(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    shelf = tmp_path / "shelf"  # as a read-only mount (root passes any mode bits)
    shelf.mkdir()
    access = os.access

    def read_only(path: object, mode: int, **kwargs: object) -> bool:
        if Path(str(path)).resolve() == shelf.resolve() and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", read_only)
    result = invoke("update", books["register2"], "--book", books["book1"], "-o",
                    shelf / "out", "--date", SECOND, lang="zh")
    assert result.exit_code == 1, result.output
    assert "不能写入" in result.output and "Traceback" not in result.output
    assert list(shelf.iterdir()) == []


def test_a_family_keeps_its_number_when_the_office_gives_its_户号_to_another(
        tmp_path: Path) -> None:
    """The office closed the gap a departure left (C03 → C02, C04 → C03) and swapped two
    户号 (C01 ↔ C05): each family keeps the number on its card; only the gone one is
    pulled."""
    from tests.book.test_book import FIRST, plain

    def family(hid: str, flat: str, head: str) -> list[dict[str, str]]:
        return plain(hid, f"阳光花园1号楼{flat}", 姓名=head)

    month1 = [*family("C01", "101", "王一"), *family("C02", "102", "王二"),
              *family("C03", "103", "王三"), *family("C04", "104", "王四"),
              *family("C05", "105", "王五")]
    book = tmp_path / "book"
    result = invoke("ledger", write_csv(tmp_path / "m1.csv", month1), "-o", book, "--date",
                    FIRST, "--quiet")
    assert result.exit_code == 0, result.output
    month2 = [*family("C05", "101", "王一"), *family("C02", "103", "王三"),
              *family("C03", "104", "王四"), *family("C01", "105", "王五")]
    out = tmp_path / "out"
    result = invoke("update", write_csv(tmp_path / "m2.csv", month2), "--book", book, "-o",
                    out, "--date", SECOND)
    assert result.exit_code == 0, result.output
    ledger = grid(record(out), "第3网格")
    cards = {e["number"]: (e["household_id"], e["address"][-3:])
             for e in ledger["households"]}  # the card's flat: the family on it
    assert cards == {"001": ("C05", "101"), "003": ("C02", "103"), "004": ("C03", "104"),
                     "005": ("C01", "105")}
    assert [r["number"] for r in ledger["retired"]] == ["002"]
    assert ledger["highest"] == "005"  # nobody took a new number
    assert "002  C02  remove" in result.output
    assert "003  C02  replace  户号变更" in result.output


@pytest.mark.parametrize(("moves", "after"), [(1, "before"), (3, "after")])
def test_a_kill_9_between_the_moves_into_a_folder_is_undone_or_finished_when_it_is_read(
        books: dict[str, Path], tmp_path: Path, moves: int, after: str) -> None:  # noqa: F811
    """`cd 台账 && cardgen ledger … --book . -o .` (the folder the user is in is not swapped:
    its files are moved in one by one) killed by a real `kill -9` after the first move (a new
    PDF beside the old record) or after the record moved in (its folders not yet removed):
    the next read of the folder puts back the old book, or finishes the
    new one; never a mix."""
    import subprocess
    import sys

    def snapshot(folder: Path) -> dict[str, bytes]:  # the files a worker sees
        return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    book = copy(books["book1"], tmp_path / "book")
    (book / "extra.pdf").write_bytes(b"a file of the worker's")  # stays
    before = snapshot(book)
    args = ["ledger", str(books["register2"]), "--book", ".", "-o", ".", "--date", SECOND,
            "--quiet", "--jobs", "1", "--force"]
    killed = ("import os, signal, sys\n"
              "real, moved = os.replace, []\n"
              "def replace(a, b, *args, **kwargs):\n"
              "    real(a, b, *args, **kwargs)\n"
              "    if '.cardgen-' in str(a) and '.cardgen-' not in str(b):\n"
              "        moved.append(b)\n"
              f"        if len(moved) == {moves}: os.kill(os.getpid(), signal.SIGKILL)\n"
              "os.replace = replace\n"
              "from cardgen.cli.commands import main\n"
              f"sys.argv = ['cardgen', *{args!r}]\n"
              "main()\n")
    process = subprocess.run([sys.executable, "-c", killed], cwd=book, capture_output=True,
                             text=True, timeout=300)
    assert process.returncode == -9, process.stderr
    assert snapshot(book) != before  # mixed, as the kill left it
    result = invoke("book", "check", book)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in book.iterdir() if p.name.startswith(".")) == []
    if after == "before":
        assert snapshot(book) == before
    else:
        assert sorted(snapshot(book)) == ["extra.pdf", "manifest.json",  # the user's file
                                          "恒安社区-第3网格.pdf", "恒安社区-第4网格.pdf"]
        assert grid(record(book), "第3网格")["edition"]["updated"] == SECOND


def test_a_grid_put_under_another_community_is_refused_not_booked_beside(
        books: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    """第4网格's rows typed with another 社区: not a second community's book beside this
    one (which the next run would refuse), but the 社区 column to correct."""
    rows = [{**row, "社区": "幸福社区"} if row["网格"] == "第4网格" else row
            for row in first_register()]
    out = tmp_path / "out"
    result = invoke("update", write_csv(tmp_path / "typo.csv", rows), "--book",
                    books["book1"], "-o", out, "--date", SECOND, lang="zh")
    assert result.exit_code == 1, result.output
    assert "B01" in result.output and "改正登记表的“社区”一列" in result.output
    assert "--rename-grid" not in result.output and not out.exists()


def test_a_register_of_other_people_under_the_same_户号_is_refused(tmp_path: Path) -> None:
    """Another register whose 户号 and grid are spelt as the book's (G01-0001 …, 第1网格),
    flats and all, but whose people are others: not 30 cards replaced with exit 0, but a
    refusal that says so, with nothing written."""
    from cardgen.samplegen import generate, to_csv

    first, other = tmp_path / "first.csv", tmp_path / "other.csv"
    first.write_text(to_csv(list(generate(30, seed=5, grids=1))), encoding="utf-8")
    other.write_text(to_csv(list(generate(30, seed=99, grids=1))), encoding="utf-8")
    book = tmp_path / "book"
    result = invoke("ledger", first, "-o", book, "--date", "2026-11-01", "--quiet")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = invoke("update", other, "--book", book, "-o", out, "--date", SECOND, lang="zh")
    assert result.exit_code == 1, result.output
    assert "户号在台账里，但户主换了人，成员也不是台账里任何一户的" in result.output
    assert "--renumber" in result.output and not out.exists()
    result = invoke("update", first, "--book", book, "-o", out, "--date", SECOND)
    assert result.exit_code == 0, result.output  # its own register: nothing to refuse


def test_a_highest_edited_upwards_is_said_in_a_line_and_listed_in_full_as_data(
        books: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    book = copy(books["book1"], tmp_path / "book")
    data = record(book)
    grid(data, "第3网格")["highest"] = "090"
    save(book, data)
    result = invoke("book", "check", book, lang="zh")
    assert result.exit_code == 1, result.output
    assert "等，另有" in result.output and "080" not in result.output
    result = invoke("book", "check", book, "--format", "json")
    missing = json.loads(result.stdout)["problems"][0]
    assert missing["code"] == "book.number_missing" and "080" in missing["numbers"]
