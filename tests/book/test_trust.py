"""A book an office can trust (docs/book.md, issue 20): the record checks itself, the
register must fit the book, a household is its content (not its row order or its 户号),
dates go forward, a run publishes its folder in one step, and the change list shows the
card being pulled. Each test hands the book one of an office's mistakes and reads the
folder and the record afterwards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.book.test_book import (
    FIRST,
    SECOND,
    THIRD,
    first_register,
    invoke,
    plain,
    second_register,
    two_months,
)
from tests.conftest import household_rows, suite_cache, write_csv


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Month 1 printed (book1), month 2 updated (book2: 004 and 第4网格's 002 retired)."""
    return two_months(tmp_path_factory.mktemp("trust"))


def copy(book: Path, to: Path) -> Path:
    shutil.copytree(book, to)
    return to


def record(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def save(folder: Path, data: dict) -> None:  # type: ignore[type-arg]
    (folder / "manifest.json").write_text(json.dumps(data, ensure_ascii=False, indent=1),
                                          encoding="utf-8")


def grid(data: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(ledger for ledger in data["ledgers"] if ledger["grid"] == name)


def entry(ledger: dict, hid: str) -> dict:  # type: ignore[type-arg]
    return next(e for e in ledger["households"] if e["household_id"] == hid)


def numbers(folder: Path, name: str = "第3网格") -> dict[str, str]:
    return {e["household_id"]: e["number"]
            for e in grid(record(folder), name)["households"]}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


# ---- 1. the record checks itself --------------------------------------------------------

def test_a_number_changed_to_one_in_use_is_refused_naming_both_and_the_way_back(
        books: dict[str, Path], tmp_path: Path) -> None:
    book = copy(books["book1"], tmp_path / "book")
    data = record(book)
    entry(grid(data, "第3网格"), "A05")["number"] = "003"  # A03's
    save(book, data)
    result = invoke("update", books["register2"], "--book", book, "-o", tmp_path / "out",
                    "--date", SECOND)
    assert result.exit_code == 1, result.output
    assert "households A03, A05 are all numbered 003" in result.output
    assert "number(s) 005 are neither in use nor retired" in result.output
    assert str(book / "manifest.json") in result.output
    assert "--renumber" in result.output and "last good manifest.json" in result.output
    assert not (tmp_path / "out").exists()
    result = invoke("update", books["register2"], "--book", book, "-o", tmp_path / "out",
                    "--date", SECOND, lang="zh")
    assert result.exit_code == 1 and "A03，A05 都编为 003" in result.output
    assert "--renumber" in result.output
    # the way back it gives: a new edition, numbered in address order again
    result = invoke("ledger", books["register2"], "--book", book, "--renumber", "-o",
                    tmp_path / "edition2", "--date", SECOND, "--quiet")
    assert result.exit_code == 0, result.output
    assert grid(record(tmp_path / "edition2"), "第3网格")["edition"]["number"] == 2
    assert invoke("book", "check", tmp_path / "edition2").exit_code == 0


def test_a_number_changed_to_a_retired_one_is_refused(books: dict[str, Path],
                                                      tmp_path: Path) -> None:
    book = copy(books["book2"], tmp_path / "book")
    data = record(book)
    entry(grid(data, "第3网格"), "A07")["number"] = "004"  # A04's, retired
    save(book, data)
    result = invoke("reprint", books["register2"], "--book", book, "-o", tmp_path / "a.pdf",
                    "--household", "A01", "--date", THIRD)
    assert result.exit_code == 1, result.output
    assert "number 004 is retired (household A04, since 2027-01-05) but household A07 has " \
        "it" in result.output
    assert not (tmp_path / "a.pdf").exists()


@pytest.mark.parametrize("gone", ["A03", "A07"])  # one in the middle, the highest
def test_an_entry_taken_out_of_the_record_does_not_come_back_as_new(
        books: dict[str, Path], tmp_path: Path, gone: str) -> None:
    book = copy(books["book1"], tmp_path / "book")
    data = record(book)
    ledger = grid(data, "第3网格")
    ledger["households"] = [e for e in ledger["households"] if e["household_id"] != gone]
    save(book, data)
    result = invoke("update", books["register1"], "--book", book, "-o", tmp_path / "out",
                    "--date", SECOND)
    assert result.exit_code == 1, result.output
    assert "the record says 6 household(s) but lists 5" in result.output
    assert not (tmp_path / "out").exists()
    ledger["total"] = 5  # the count mended too: the number's gap still tells
    save(book, data)
    result = invoke("update", books["register1"], "--book", book, "-o", tmp_path / "out",
                    "--date", SECOND)
    assert result.exit_code == 1, result.output
    number = {"A03": "003", "A07": "006"}[gone]
    assert f"number(s) {number} are neither in use nor retired" in result.output


def test_a_record_edited_by_hand_but_consistent_is_accepted(books: dict[str, Path],
                                                            tmp_path: Path) -> None:
    book = copy(books["book2"], tmp_path / "book")
    data = record(book)
    ledger = grid(data, "第3网格")
    ledger["retired"][0]["since"] = "2027-01-04"  # a date put right
    ledger["households"] = list(reversed(ledger["households"]))  # and re-sorted
    save(book, data)
    result = invoke("book", "check", book)
    assert result.exit_code == 0, result.output
    result = invoke("update", books["register2"], "--book", book, "-o", tmp_path / "out",
                    "--date", THIRD)
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output


@pytest.mark.parametrize(("edit", "said"), [
    (lambda data: grid(data, "第4网格").update(community="幸福社区", group="幸福社区 第4网格"),
     "several communities (幸福社区, 恒安社区)"),
    (lambda data: grid(data, "第4网格").update(grid="第5网格"),
     "the book named 恒安社区 第4网格 says it is 恒安社区 第5网格"),
    (lambda data: data["ledgers"].append(data["ledgers"][0]),
     "the book of 恒安社区 第3网格 is in the record twice"),
])
def test_a_record_of_mixed_books_is_refused(books: dict[str, Path], tmp_path: Path,
                                            edit: object, said: str) -> None:
    book = copy(books["book1"], tmp_path / "book")
    data = record(book)
    edit(data)  # type: ignore[operator]
    save(book, data)
    result = invoke("update", books["register2"], "--book", book, "-o", tmp_path / "out",
                    "--date", SECOND)
    assert result.exit_code == 1 and said in result.output, result.output


def test_book_check_reports_the_state_in_chinese_or_json(books: dict[str, Path],
                                                         tmp_path: Path) -> None:
    result = invoke("book", "check", books["book2"], lang="zh")
    assert result.exit_code == 0, result.output
    assert "恒安社区 第3网格" in result.output and "第 1 版" in result.output
    assert "7 户，编号 001–008；注销 1 个（004）" in result.output
    assert "记录一致" in result.output
    result = invoke("book", "check", books["book2"], "--format", "json")
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["problems"] == []
    third = next(g for g in report["grids"] if g["grid"] == "恒安社区 第3网格")
    assert third["households"] == 7 and third["highest"] == "008"
    assert third["retired"] == [{"number": "004", "household_id": "A04", "since": SECOND}]
    assert third["edition"] == {"number": 1, "date": FIRST, "updated": SECOND}

    book = copy(books["book2"], tmp_path / "book")
    data = record(book)
    entry(grid(data, "第3网格"), "A01")["number"] = "004"
    save(book, data)
    result = invoke("book", "check", book, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    codes = {p["code"] for p in report["problems"]}
    assert {"book.retired_in_use", "book.number_missing"} <= codes
    [problem] = [p for p in report["problems"] if p["code"] == "book.retired_in_use"]
    assert problem["households"] == ["A01", "A04"] and problem["numbers"] == ["004"]
    result = invoke("book", "check", book, lang="zh")
    assert result.exit_code == 1 and "--renumber" in result.output
    result = invoke("book", "check", tmp_path / "nothing", "--format", "json")
    assert result.exit_code == 2 and json.loads(result.stdout)["ok"] is False


# ---- 2. the register must fit the book -----------------------------------------------------

def test_a_register_of_another_community_is_refused(books: dict[str, Path],
                                                    tmp_path: Path) -> None:
    rows = [{**row, "社区": "幸福社区"} for row in first_register()]
    other = write_csv(tmp_path / "other.csv", rows)
    for command in (["update", other, "--book", books["book1"], "-o", tmp_path / "out"],
                    ["ledger", other, "--book", books["book1"], "-o", tmp_path / "out",
                     "--quiet"]):
        result = invoke(*command, "--date", SECOND)
        assert result.exit_code == 1, result.output
        assert "a register of 幸福社区, but the book in" in result.output
        assert "恒安社区's" in result.output and "without --book" in result.output
        assert not (tmp_path / "out").exists()


def test_a_register_that_matches_too_few_households_is_refused(books: dict[str, Path],
                                                               tmp_path: Path) -> None:
    """第3网格 of another export (one household of six still there), 第4网格 right: refused,
    naming the grid that does not fit; --grid 第4网格 updates that grid only."""
    rows = [row for n in range(1, 7) for row in household_rows(
        f"Z{n:02d}", 地址=f"和谐家园{n}号", 姓名=f"赵{n}", 身份证号="", 特殊情况="")]
    rows += first_register()[:2]  # A01 is still there
    rows += [row for row in first_register() if row["网格"] == "第4网格"]
    stranger = write_csv(tmp_path / "stranger.csv", rows)
    result = invoke("update", stranger, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", SECOND)
    assert result.exit_code == 1, result.output
    assert "does not fit the book" in result.output
    assert "of its 7 household(s) in 恒安社区 第3网格, 1 are in the book" in result.output
    assert "and of the book's 6, 1 are in the register" in result.output
    assert "第4网格" not in result.output.split("Nothing was written")[0]
    assert "--grid" in result.output and "--renumber" in result.output
    assert not (tmp_path / "out").exists()
    result = invoke("update", stranger, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", SECOND, lang="zh")
    assert result.exit_code == 1 and "对不上" in result.output
    result = invoke("update", stranger, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", SECOND, "--grid", "第四网格")  # as people write it
    assert result.exit_code == 0, result.output
    assert numbers(tmp_path / "out") == numbers(books["book1"])  # 第3网格 as it was


def test_an_excerpt_reprints_its_cards_but_updates_no_book(books: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """Two households of the six: their cards may be reprinted with the book's numbers,
    but as an update it would retire the other four numbers."""
    excerpt = write_csv(tmp_path / "excerpt.csv", first_register()[:4])
    result = invoke("reprint", excerpt, "--book", books["book1"], "-o", tmp_path / "a.pdf",
                    "--date", FIRST)
    assert result.exit_code == 0, result.output
    result = invoke("update", excerpt, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", FIRST)
    assert result.exit_code == 1, result.output
    assert "and of the book's 6, 2 are in the register" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("spelled", ["第三网格", "三网格", "第３网格", " 第 3 网格 "])
def test_a_grid_spelled_otherwise_is_the_same_grid(books: dict[str, Path], tmp_path: Path,
                                                   spelled: str) -> None:
    rows = [{**row, "网格": spelled} if row["网格"] == "第3网格" else row
            for row in second_register()]
    register = write_csv(tmp_path / "spelled.csv", rows)
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", SECOND, "--format", "json")
    assert result.exit_code == 0, result.output
    [third] = [g for g in json.loads(result.stdout)["grids"] if g["grid"] == "恒安社区 第3网格"]
    changed = {c["household_id"]: c["reasons"] for c in third["changed"]}
    assert changed == {"A02": ["新增贴纸 残疾"], "A03": ["颜色 黄→红", "新增贴纸 重点人员"],
                       "A05": ["电话变更"], "A07": ["颜色 黄→橙"]}
    assert numbers(tmp_path / "out") == numbers(books["book2"])
    assert [g["grid"] for g in record(tmp_path / "out")["ledgers"]] == ["第3网格", "第4网格"]
    assert "is the book's 恒安社区 第3网格: its cards keep the book's name" in result.stderr


# ---- 3. a household is its content -----------------------------------------------------------

def three_people(hid: str, address: str) -> list[dict[str, str]]:
    """A household of three: its rows in the register's order."""
    rows = plain(hid, address)
    return [*rows, {**rows[1], "姓名": "李小宝", "与户主关系": "子", "身份证号": ""}]


def test_rows_re_sorted_within_a_household_change_nothing(tmp_path: Path) -> None:
    first = [*three_people("C01", "阳光花园1号楼101"), *three_people("C02", "阳光花园1号楼102")]
    register = write_csv(tmp_path / "m1.csv", first)
    assert invoke("ledger", register, "-o", tmp_path / "book", "--date", FIRST,
                  "--quiet").exit_code == 0
    resorted = write_csv(tmp_path / "m2.csv", list(reversed(first)))
    result = invoke("update", resorted, "--book", tmp_path / "book", "-o", tmp_path / "u",
                    "--date", SECOND, "--format", "json")
    assert result.exit_code == 0, result.output
    [changes] = json.loads(result.stdout)["grids"]
    assert changes["changed"] == [] and changes["added"] == [] and changes["removed"] == []
    # a phone changed in re-sorted rows: that, and only that, is said
    rows = list(reversed(first))
    rows[0] = {**rows[0], "联系电话": "13900002222"}
    changed = write_csv(tmp_path / "m3.csv", rows)
    result = invoke("update", changed, "--book", tmp_path / "book", "-o", tmp_path / "v",
                    "--date", SECOND, "--format", "json")
    [changes] = json.loads(result.stdout)["grids"]
    assert [c["reasons"] for c in changes["changed"]] == [["电话变更"]]


def test_a_book_of_before_compares_as_it_was_hashed_and_is_migrated(
        books: dict[str, Path], tmp_path: Path) -> None:
    """A book written before members were a set (no "content": 2) holds hashes of the
    members in card order: they are compared as such, and the update writes the new ones."""
    import datetime as dt

    from cardgen.book.record import card_content
    from cardgen.config import load_config
    from cardgen.pipeline.register import load

    first = [*three_people("C01", "阳光花园1号楼101"), *three_people("C02", "阳光花园1号楼102")]
    # card order (the head, then the rows' order) is not the set's (the head, then by name)
    register = write_csv(tmp_path / "m1.csv", first)
    assert invoke("ledger", register, "-o", tmp_path / "book", "--date", FIRST,
                  "--quiet").exit_code == 0
    loaded = load(register, load_config(), dt.date.fromisoformat(FIRST))
    data = record(tmp_path / "book")
    for ledger in data["ledgers"]:
        del ledger["content"], ledger["highest"]
        for item in ledger["households"]:
            household = next(h for h in loaded.dataset.households
                             if h.household_id == item["household_id"])
            content = card_content(household, loaded.categories[household.household_id],
                                   loaded.config)
            assert content.legacy_hash != content.hash
            item.update(hash=content.legacy_hash, parts=content.legacy_parts)
            del item["address"], item["head"]
    save(tmp_path / "book", data)
    result = invoke("update", register, "--book", tmp_path / "book", "-o", tmp_path / "u",
                    "--date", SECOND, "--format", "json")
    assert result.exit_code == 0, result.output
    [changes] = json.loads(result.stdout)["grids"]
    assert changes["changed"] == []
    [ledger] = record(tmp_path / "u")["ledgers"]
    assert ledger["content"] == 2 and ledger["highest"] == "002"
    assert entry(ledger, "C01")["address"] == "阳光花园1号楼101"
    resorted = write_csv(tmp_path / "m2.csv", list(reversed(first)))
    result = invoke("update", resorted, "--book", tmp_path / "u", "-o", tmp_path / "v",
                    "--date", SECOND, "--format", "json")
    [changes] = json.loads(result.stdout)["grids"]
    assert changes["changed"] == []


def test_a_household_the_office_renumbered_keeps_its_number(books: dict[str, Path],
                                                            tmp_path: Path) -> None:
    rows = [{**row, "户编号": "A05-2"} if row["户编号"] == "A05" else row
            for row in first_register()]
    register = write_csv(tmp_path / "renumbered.csv", rows)
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", FIRST, "--format", "json")
    assert result.exit_code == 0, result.output
    third = next(g for g in json.loads(result.stdout)["grids"] if g["grid"].endswith("第3网格"))
    assert third["changed"] == [{"household_id": "A05-2", "number": "005",
                                 "reasons": ["户号变更"]}]
    assert third["added"] == [] and third["removed"] == []
    after = grid(record(tmp_path / "out"), "第3网格")
    assert after["retired"] == [] and entry(after, "A05-2")["number"] == "005"


# ---- 4. dates go forward --------------------------------------------------------------------

def test_a_date_before_the_books_last_update_is_refused_unless_forced(
        books: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("update", books["register2"], "--book", books["book2"], "-o",
                    tmp_path / "out", "--date", FIRST)
    assert result.exit_code == 2, result.output
    assert "--date 2026-11-29 is before the book's last update (2027-01-05" in result.output
    assert "--force" in result.output and not (tmp_path / "out").exists()
    result = invoke("ledger", books["register2"], "--book", books["book2"], "-o",
                    tmp_path / "out", "--date", FIRST, "--quiet", lang="zh")
    assert result.exit_code == 2 and "早于" in result.output
    result = invoke("update", books["register2"], "--book", books["book2"], "-o",
                    tmp_path / "out", "--date", FIRST, "--force")
    assert result.exit_code == 0, result.output


# ---- 5. nothing half-done, nothing mixed -------------------------------------------------------

def hidden(folder: Path) -> list[str]:
    """Private folders, backups and locks a run would leave beside or in a folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_an_earlier_runs_files_are_refused_or_removed_with_force(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cardgen.pipeline.updates as updates

    out = copy(books["book2"], tmp_path / "out")  # an update's packet of 第3网格 is there
    before = snapshot(out)
    drawn = []
    real = updates.compose_packet
    monkeypatch.setattr(updates, "compose_packet",
                        lambda *args: drawn.append(1) or real(*args))  # type: ignore[func-returns-value]
    rows = first_register()  # this time only 第4网格 changes: 第3网格's packet would stay
    for row in rows:
        if row["户编号"] == "B01" and row["联系电话"]:
            row["联系电话"] = "13900004444"
    register = write_csv(tmp_path / "b01.csv", rows)
    result = invoke("update", register, "--book", books["book1"], "-o", out,
                    "--date", FIRST)
    assert result.exit_code == 1, result.output
    assert "holds files of an earlier run that this one would not replace" in result.output
    assert "恒安社区-第3网格-变更.pdf" in result.output and "--force" in result.output
    assert snapshot(out) == before and hidden(tmp_path) == []
    assert drawn == []  # refused before anything was drawn
    result = invoke("update", register, "--book", books["book1"], "-o", out,
                    "--date", FIRST, "--force")
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(out)) == ["manifest.json", "恒安社区-第4网格-变更.pdf"]
    assert record(out) != json.loads(before["manifest.json"])


def inject(monkeypatch: pytest.MonkeyPatch, where: str, failure: BaseException,
           target: Path | None = None) -> None:
    """Make one step of writing and publishing `target` fail."""
    import os

    import cardgen.book.publish as publish
    import cardgen.pipeline.ledgers as ledgers
    import cardgen.pipeline.updates as updates

    def fail(*args: object, **kwargs: object) -> None:
        raise failure

    if where == "packet":
        monkeypatch.setattr(updates, "compose_packet", fail)
    elif where == "record":  # the book of record, as ledgers and updates write it
        real_write = ledgers.write_atomic

        def write(path: Path, data: bytes) -> None:
            if path.name == "manifest.json":
                raise failure
            real_write(path, data)
        monkeypatch.setattr(ledgers, "write_atomic", write)
    elif where == "link":
        monkeypatch.setattr(os, "link", fail)
    elif where == "swap":
        monkeypatch.setattr(publish, "_exchange", fail)
    elif where == "second move":  # no swap on this system: the files are moved one by one
        monkeypatch.setattr(publish, "_exchange", lambda new, old: False)
        real_replace, moves = os.replace, []

        def replace(source: object, to: object) -> None:
            if Path(str(to)).parent == target:  # a move into the target, not a file made
                moves.append(to)
                if len(moves) == 2:
                    raise failure
            real_replace(source, to)  # type: ignore[arg-type]
        monkeypatch.setattr(os, "replace", replace)
    elif where == "rename":
        monkeypatch.setattr(os, "rename", fail)


@pytest.mark.parametrize(("where", "failure"), [
    *((where, KeyboardInterrupt()) for where in ("packet", "record", "link", "swap",
                                                  "second move")),
    ("swap", OSError(28, "No space left")), ("second move", OSError(28, "No space left")),
])
def test_an_update_interrupted_at_any_step_leaves_the_folder_as_it_was(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        where: str, failure: BaseException) -> None:
    """An update into a folder that holds an earlier update of the same month (every file
    of which it rewrites, with another phone number for A05), stopped at each step of
    writing and publishing: the folder is the earlier update, whole."""
    import datetime as dt

    import cardgen.pipeline as pipeline
    from cardgen.config import load_config
    from cardgen.data.select import Selection
    from cardgen.errors import CardgenError
    from cardgen.pipeline import UpdateRequest

    rows = second_register()
    for row in rows:
        if row["户编号"] == "A05" and row["联系电话"]:
            row["联系电话"] = "13900002222"
    register = write_csv(tmp_path / "corrected.csv", rows)
    out = copy(books["book2"], tmp_path / "out")
    (out / "notes.txt").write_text("the worker's own file", encoding="utf-8")
    before, book_before = snapshot(out), snapshot(books["book1"])
    loaded = pipeline.load(register, load_config(), dt.date.fromisoformat(SECOND),
                           cache=suite_cache())
    inject(monkeypatch, where, failure, out)
    expected = KeyboardInterrupt if isinstance(failure, KeyboardInterrupt) else CardgenError
    with pytest.raises(expected) as raised:
        pipeline.update(loaded, UpdateRequest(books["book1"], out, Selection()))
    if expected is CardgenError:
        assert "disk holding" in str(raised.value) and "is full" in str(raised.value)
    assert snapshot(out) == before and snapshot(books["book1"]) == book_before
    assert hidden(tmp_path) == [] and hidden(out) == []
    if where == "swap":  # and it goes through after
        monkeypatch.undo()
        pipeline.update(loaded, UpdateRequest(books["book1"], out, Selection()))
        after = snapshot(out)
        assert sorted(after) == sorted(before) and after["notes.txt"] == before["notes.txt"]
        assert after["manifest.json"] != before["manifest.json"]
        assert after["恒安社区-第3网格-变更.pdf"] != before["恒安社区-第3网格-变更.pdf"]


@pytest.mark.parametrize("where", ["record", "rename"])
def test_an_interrupted_update_into_a_new_folder_leaves_none(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        where: str) -> None:
    import datetime as dt

    import cardgen.pipeline as pipeline
    from cardgen.config import load_config
    from cardgen.data.select import Selection
    from cardgen.pipeline import UpdateRequest

    loaded = pipeline.load(books["register2"], load_config(), dt.date.fromisoformat(SECOND),
                           cache=suite_cache())
    inject(monkeypatch, where, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pipeline.update(loaded, UpdateRequest(books["book1"], tmp_path / "new", Selection()))
    assert not (tmp_path / "new").exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("where", ["swap", "second move"])
def test_a_ledger_in_place_interrupted_leaves_the_book_as_it_was(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        where: str) -> None:
    """`ledger --book X -o X` rewrites every ledger and the record: stopped before its one
    step, X is the old book, every PDF with its own record."""
    import datetime as dt

    import cardgen.pipeline as pipeline
    from cardgen.config import load_config
    from cardgen.data.select import Selection
    from cardgen.pipeline import LedgerRequest

    book = copy(books["book1"], tmp_path / "book")
    before = snapshot(book)
    loaded = pipeline.load(books["register2"], load_config(), dt.date.fromisoformat(SECOND),
                           cache=suite_cache())
    inject(monkeypatch, where, KeyboardInterrupt(), book)
    with pytest.raises(KeyboardInterrupt):
        pipeline.ledger(loaded, LedgerRequest(book, Selection(), book=book))
    assert snapshot(book) == before and hidden(tmp_path) == [] and hidden(book) == []


def test_a_second_run_on_the_same_book_or_folder_is_refused_at_once(
        books: dict[str, Path], tmp_path: Path) -> None:
    from cardgen.book.publish import folders_locked

    out = tmp_path / "out"
    with folders_locked(out, None):  # an update writing into out
        result = invoke("update", books["register2"], "--book", books["book1"], "-o", out,
                        "--date", SECOND)
        assert result.exit_code == 1, result.output
        assert f"{out} is in use by another cardgen run" in result.output
        assert not out.exists()
        result = invoke("update", books["register2"], "--book", books["book1"], "-o", out,
                        "--date", SECOND, lang="zh")
        assert "正被另一个 cardgen 使用" in result.output
    book = copy(books["book1"], tmp_path / "book")
    with folders_locked(book, book):  # a ledger printing the book anew in its folder
        result = invoke("update", books["register2"], "--book", book, "-o", out,
                        "--date", SECOND)
        assert result.exit_code == 1 and "in use by another cardgen run" in result.output
    with folders_locked(tmp_path / "other", book):  # another update reading it: fine
        result = invoke("update", books["register2"], "--book", book, "-o", out,
                        "--date", SECOND)
        assert result.exit_code == 0, result.output
    assert hidden(tmp_path) == []


@pytest.mark.parametrize(("code", "said"), [(28, "所在的磁盘已满"), (30, "无法写入")])
def test_a_full_disk_or_a_read_only_folder_is_said_in_words(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        code: int, said: str) -> None:
    import os

    import cardgen.pipeline.updates as updates

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(updates, "compose_packet", full)
    result = invoke("update", books["register2"], "--book", books["book1"], "-o",
                    tmp_path / "out", "--date", SECOND, lang="zh")
    assert result.exit_code == 1, result.output
    assert said in result.output and "台账保持原样" in result.output
    assert "内部错误" not in result.output
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


# ---- 6. the change list shows the card being pulled --------------------------------------

def change_page(packet: Path) -> str:
    import re
    import subprocess

    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(packet), "-"],
                          capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", text)


def test_a_pulled_card_shows_its_address_and_head_as_printed(books: dict[str, Path]) -> None:
    third = change_page(books["book2"] / "恒安社区-第3网格-变更.pdf")
    assert "阳光花园3号楼101·张*英" in third  # A04, gone from the register (the record
    # keeps no name in full)
    fourth = change_page(books["book2"] / "恒安社区-第4网格-变更.pdf")
    assert "和平里2号·张*英" in fourth  # B02 as its card says, not where it lives now
    assert "阳光花园12号楼101" not in fourth and "迁往恒安社区第3网格" in fourth


def test_the_change_list_says_who_lives_at_a_pulled_cards_address_now(
        books: dict[str, Path], tmp_path: Path) -> None:
    rows = [row for row in first_register() if row["户编号"] != "A05"]
    rows += plain("A09", "阳光花园10号楼101", 姓名="孙新", 身份证号="")  # A05's address
    register = write_csv(tmp_path / "moved-in.csv", rows)
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", FIRST)
    assert result.exit_code == 0, result.output
    assert "005  A05  remove  已迁出/注销; 与 007 同址" in result.output
    assert "与007同址" in change_page(tmp_path / "out" / "恒安社区-第3网格-变更.pdf")


def test_old_stickers_move_to_the_new_card_only_where_there_were_some(
        books: dict[str, Path], tmp_path: Path) -> None:
    # month 2: A05's phone and A07's colour changed, neither card had a sticker
    assert "旧贴纸移到新卡" not in change_page(books["book2"] / "恒安社区-第3网格-变更.pdf")
    rows = first_register()
    for row in rows:
        if row["户编号"] == "A02" and row["联系电话"]:
            row["联系电话"] = "13900003333"  # A02 has its 低保 sticker
    register = write_csv(tmp_path / "phone.csv", rows)
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", FIRST)
    assert result.exit_code == 0, result.output
    assert "旧贴纸移到新卡" in change_page(tmp_path / "out" / "恒安社区-第3网格-变更.pdf")


def test_a_kill_9_at_the_publishing_step_leaves_the_folder_and_the_next_run_cleans_up(
        books: dict[str, Path], tmp_path: Path) -> None:
    """A real `kill -9` of the process just before its folder would be swapped in: the
    folder is the earlier one, whole; the next run removes what the killed one left."""
    import subprocess
    import sys

    out = copy(books["book2"], tmp_path / "out")
    before = snapshot(out)
    rows = second_register()
    for row in rows:
        if row["户编号"] == "A05" and row["联系电话"]:
            row["联系电话"] = "13900002222"
    register = write_csv(tmp_path / "corrected.csv", rows)
    args = ["update", str(register), "--book", str(books["book1"]), "-o", str(out), "--date",
            SECOND]
    killed = ("import os, signal, sys\n"
              "import cardgen.book.publish as publish\n"
              "publish._exchange = lambda new, old: os.kill(os.getpid(), signal.SIGKILL)\n"
              "from cardgen.cli.commands import main\n"
              f"sys.argv = ['cardgen', *{args!r}]\n"
              "main()\n")
    root = Path(__file__).parents[2]
    process = subprocess.run([sys.executable, "-c", killed], cwd=root, capture_output=True,
                             text=True, timeout=300)
    assert process.returncode == -9, process.stderr
    assert snapshot(out) == before
    assert [name for name in hidden(tmp_path) if ".cardgen-" in name]  # what it left
    again = subprocess.run([sys.executable, "-m", "cardgen", *args], cwd=root,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert hidden(tmp_path) == [] and snapshot(out) != before


def test_a_full_disk_under_a_reprint_is_said_in_words(books: dict[str, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    import cardgen.write as write

    def full(handle: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(write.os, "fsync", full)
    result = invoke("reprint", books["register1"], "-o", tmp_path / "a.pdf", "--household",
                    "A01", "--date", FIRST, lang="zh")
    assert result.exit_code == 1, result.output
    assert "所在的磁盘已满" in result.output and "内部错误" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_grid_the_office_renamed_keeps_its_numbers_when_told(books: dict[str, Path],
                                                              tmp_path: Path) -> None:
    rows = [{**row, "网格": "第5网格"} if row["网格"] == "第4网格" else row
            for row in first_register()]
    register = write_csv(tmp_path / "renamed.csv", rows)
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "out",
                    "--date", FIRST, "--rename-grid", "第四网格=第5网格", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "恒安社区 第4网格 is now 恒安社区 第5网格 (--rename-grid)" in result.stderr
    fifth = next(g for g in json.loads(result.stdout)["grids"] if g["grid"].endswith("第5网格"))
    assert fifth["changed"] == [
        {"household_id": "B01", "number": "001", "reasons": ["网格改名 第4网格→第5网格"]},
        {"household_id": "B02", "number": "002", "reasons": ["网格改名 第4网格→第5网格"]}]
    assert fifth["added"] == fifth["removed"] == []
    assert [g["grid"] for g in record(tmp_path / "out")["ledgers"]] == ["第3网格", "第5网格"]
    assert numbers(tmp_path / "out", "第5网格") == {"B01": "001", "B02": "002"}
    assert invoke("book", "check", tmp_path / "out").exit_code == 0
    book = copy(books["book1"], tmp_path / "book")  # the whole book again, in its folder
    result = invoke("ledger", register, "--book", book, "-o", book, "--date", FIRST,
                    "--quiet", "--rename-grid", "第4网格=第5网格")
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(book)) == ["manifest.json", "恒安社区-第3网格.pdf",
                                      "恒安社区-第5网格.pdf"]
    assert numbers(book, "第5网格") == {"B01": "001", "B02": "002"}
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "x",
                    "--date", FIRST, "--rename-grid", "第9网格=第5网格")
    assert result.exit_code == 2 and "has no grid 第9网格" in result.output
    result = invoke("update", register, "--book", books["book1"], "-o", tmp_path / "x",
                    "--date", FIRST, "--rename-grid", "第9网格")
    assert result.exit_code == 2 and "OLD=NEW" in result.output
    assert not (tmp_path / "x").exists()


def test_a_folder_without_hard_links_or_swaps_is_still_published_whole(
        books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FAT-formatted USB stick: no hard links, no swap of folders. The files are moved in
    one by one, the record last, and the worker's own file stays."""
    import errno
    import os

    import cardgen.book.publish as publish

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(publish, "_exchange", lambda new, old: False)
    out = copy(books["book1"], tmp_path / "out")  # a ledger of this book, printed anew
    (out / "notes.txt").write_text("the worker's own file", encoding="utf-8")
    result = invoke("ledger", books["register2"], "--book", out, "-o", out, "--date", SECOND,
                    "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(out)) == ["manifest.json", "notes.txt", "恒安社区-第3网格.pdf",
                                     "恒安社区-第4网格.pdf"]
    assert numbers(out) == numbers(books["book2"]) and hidden(out) == []


def test_a_date_that_makes_a_birth_impossible_is_still_said_as_a_date_going_back(
        books: dict[str, Path], tmp_path: Path) -> None:
    """A baby born after the mistyped --date: the update says the date goes back before the
    book's last update (exit 2), not that the baby's birth date is impossible."""
    from tests.registers.make_registers import id_number

    rows = [*second_register(), *plain("A09", "阳光花园1号楼109", 姓名="新生",
                                       身份证号=id_number("20261220", 1))]
    source = write_csv(tmp_path / "born.csv", rows)
    result = invoke("update", source, "--book", books["book2"], "-o", tmp_path / "out",
                    "--date", "2026-12-01")
    assert result.exit_code == 2, result.output
    assert "is before the book's last update" in result.output
    assert "birth" not in result.output and not (tmp_path / "out").exists()


def test_a_households_id_changed_by_hand_in_the_record_is_refused_by_the_update(
        books: dict[str, Path], tmp_path: Path) -> None:
    """A record whose 户号 was changed by hand still reads well (book check: consistent),
    but the register's household comes back under its own 户号 with the edited one's number
    (the same address and members): the update would write a record with both on one
    number, which the next command refuses. It refuses now, nothing written."""
    book = copy(books["book2"], tmp_path / "book")
    data = record(book)
    ledger = grid(data, "第3网格")
    edited = ledger["households"][0]
    edited["household_id"] = "Z99"
    save(book, data)
    assert invoke("book", "check", book).exit_code == 0
    out = tmp_path / "out"
    result = invoke("update", books["register2"], "--book", book, "-o", out, "--date", THIRD)
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())  # as the terminal wraps it
    assert f"{book / 'manifest.json'} does not fit this register" in said
    assert f"are all numbered {edited['number']}" in said and "Z99" in said
    assert "Nothing was written" in said
    assert not out.exists()
