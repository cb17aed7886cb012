"""The book of record walked through three months (docs/book.md): a first print; a month in
which households arrive (one mid-address), leave, move to the other grid, turn red, gain a
sticker, change a phone or only have a birthday; the update packet and the new book; a
reprint that matches the book; a renumbered edition; and the refusals."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardgen.cli.commands import cli
from cardgen.data.idnumber import check_digit
from tests.conftest import (
    household_rows,
    page_count,
    pdftotext,
    render_page,
    suite_cache,
    write_csv,
)

FIRST, SECOND, THIRD = "2026-11-29", "2027-01-05", "2027-02-05"
# born 1967-01-02: 59 at the first print, 60 at the update (the ≥60 rule turns the colour)
TURNS_60 = "11010519670102001" + check_digit("11010519670102001")


def invoke(*args: str | Path, lang: str = "en") -> Result:
    return CliRunner(env={"CARDGEN_LANG": lang}).invoke(cli, [str(a) for a in args],
                                                        catch_exceptions=False)


def plain(hid: str, address: str, **overrides: str) -> list[dict[str, str]]:
    """A yellow two-person household of 第3网格 (no flags)."""
    return household_rows(hid, 地址=address, 特殊情况="", **overrides)


def first_register() -> list[dict[str, str]]:
    return [
        *plain("A01", "阳光花园1号楼101"),
        *household_rows("A02", 地址="阳光花园1号楼102"),  # 低保: orange
        *plain("A03", "阳光花园2号楼101"),
        *plain("A04", "阳光花园3号楼101"),
        *plain("A05", "阳光花园10号楼101"),
        {**plain("A07", "阳光花园11号楼101")[0], "身份证号": TURNS_60},  # lives alone
        *plain("B01", "和平里1号", 网格="第4网格"),
        *plain("B02", "和平里2号", 网格="第4网格"),
    ]


def second_register() -> list[dict[str, str]]:
    """A month later: A04 left; A06 arrived between 1号楼102 and 2号楼; B02 moved from
    第4网格 to 第3网格; A03 turned red; A02 gained 残疾; A05's phone changed; A07 turned
    60; A01's second member had a birthday (only)."""
    rows = [row for row in first_register() if row["户编号"] != "A04"]
    for row in rows:
        if row["户编号"] == "A03" and row["与户主关系"] == "户主":
            row["特殊情况"] = "社区矫正"
        if row["户编号"] == "A02" and row["与户主关系"] == "户主":
            row["特殊情况"] = "低保、残疾"
        if row["户编号"] == "A05" and row["联系电话"]:
            row["联系电话"] = "13900001111"
        if row["户编号"] == "B02":
            row["网格"], row["地址"] = "第3网格", "阳光花园12号楼101"
    return [*rows, *plain("A06", "阳光花园1号楼103", 姓名="王新")]


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Month 1 printed (book1), month 2 updated (packet and book2)."""
    return two_months(tmp_path_factory.mktemp("months"))


def two_months(root: Path) -> dict[str, Path]:
    """In `root`: month 1's register printed (book1), month 2's updated into book2, its
    change list kept as changes.json."""
    paths = {"root": root,
             "register1": write_csv(root / "register1.csv", first_register()),
             "register2": write_csv(root / "register2.csv", second_register()),
             "book1": root / "book1", "book2": root / "book2"}
    result = invoke("ledger", paths["register1"], "-o", paths["book1"], "--date", FIRST,
                    "--quiet")
    assert result.exit_code == 0, result.output
    result = invoke("update", paths["register2"], "--book", paths["book1"], "-o",
                    paths["book2"], "--date", SECOND, "--format", "json")
    assert result.exit_code == 0, result.output
    (root / "changes.json").write_text(result.stdout, encoding="utf-8")
    return paths


def manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def books(folder: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {ledger["grid"]: ledger for ledger in manifest(folder)["ledgers"]}


def numbers(ledger: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {e["household_id"]: e["number"] for e in ledger["households"]}


# ---- month 1: the first print --------------------------------------------------------------

def test_a_first_print_numbers_each_grid_in_address_order(months: dict[str, Path]) -> None:
    grids = books(months["book1"])
    assert numbers(grids["第3网格"]) == {"A01": "001", "A02": "002", "A03": "003",
                                        "A04": "004", "A05": "005", "A07": "006"}
    assert numbers(grids["第4网格"]) == {"B01": "001", "B02": "002"}
    for ledger in grids.values():
        assert ledger["edition"]["number"] == 1 and ledger["edition"]["date"] == FIRST
    card = pdftotext(months["book1"] / grids["第3网格"]["file"], 3)
    assert "编号 001" in card and "/006" not in card  # the total is on the cover only
    cover = pdftotext(months["book1"] / grids["第3网格"]["file"], 1)
    assert "第 1 版（2026-11-29 起）" in cover and "001–006" in cover
    assert "共 6 户" in pdftotext(months["book1"] / grids["第3网格"]["file"], 2)


def test_the_book_records_flags_as_printed_not_the_subtype(months: dict[str, Path]) -> None:
    entries = {e["household_id"]: e for e in books(months["book2"])["第3网格"]["households"]}
    assert entries["A03"]["flags"] == ["重点人员"] and entries["A03"]["colour"] == "red"
    assert entries["A02"]["flags"] == ["低保", "残疾"]
    assert "社区矫正" not in (months["book2"] / "manifest.json").read_text(encoding="utf-8")


# ---- month 2: the update -------------------------------------------------------------------

def test_the_update_keeps_numbers_puts_newcomers_at_the_back_and_retires_the_rest(
        months: dict[str, Path]) -> None:
    grids = books(months["book2"])
    third = grids["第3网格"]
    assert numbers(third) == {"A01": "001", "A02": "002", "A03": "003", "A05": "005",
                              "A07": "006", "A06": "007", "B02": "008"}  # by address
    assert third["retired"] == [{"number": "004", "household_id": "A04", "since": SECOND}]
    assert grids["第4网格"]["retired"] == [
        {"number": "002", "household_id": "B02", "since": SECOND}]
    assert third["edition"] == {**books(months["book1"])["第3网格"]["edition"],
                                "updated": SECOND,
                                "register": third["edition"]["register"]}


def test_the_change_list_as_data(months: dict[str, Path]) -> None:
    data = json.loads((months["root"] / "changes.json").read_text(encoding="utf-8"))
    grids = {grid["grid"]: grid for grid in data["grids"]}
    third, fourth = grids["恒安社区 第3网格"], grids["恒安社区 第4网格"]
    assert third["added"] == [{"household_id": "A06", "number": "007"},
                              {"household_id": "B02", "number": "008",
                               "from": "恒安社区 第4网格"}]
    assert third["removed"] == [{"household_id": "A04", "number": "004"}]
    assert fourth["removed"] == [{"household_id": "B02", "number": "002",
                                  "to": "恒安社区 第3网格"}]
    changed = {c["household_id"]: c["reasons"] for c in third["changed"]}
    assert changed == {"A02": ["新增贴纸 残疾"], "A03": ["颜色 黄→红", "新增贴纸 重点人员"],
                       "A05": ["电话变更"], "A07": ["颜色 黄→橙"]}  # A01: a birthday only
    assert fourth["added"] == fourth["changed"] == []


def test_the_packet_holds_the_list_the_cards_in_number_order_the_cover_and_index(
        months: dict[str, Path]) -> None:
    packet = months["book2"] / "恒安社区-第3网格-变更.pdf"
    words = pdftotext(packet, 1)
    cells = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(packet), "-"],
                           capture_output=True, text=True, check=True).stdout  # by block
    for expected in ("变更清单", "恒安社区 第3网格", "新增 2", "换卡 4", "抽出 1",
                     "颜色 黄→红", "新增贴纸 残疾", "电话变更", "由恒安社区 第4网格迁入",
                     "已迁出/注销", "6 户 → 7 户", "第 1 版（2026-11-29 起）"):
        assert expected.replace(" ", "") in re.sub(r"\s+", "", cells), expected
    rows = [line.split()[0] for line in words.splitlines()
            if re.match(r"\s*\d{3}\s+[AB]\d\d", line)]
    assert rows == ["002", "003", "004", "005", "006", "007", "008"]  # the binder's order
    cards = [re.search(r"编号 (\d{3})", pdftotext(packet, page)).group(1)  # type: ignore[union-attr]
             for page in range(2, 8)]
    assert cards == ["002", "003", "005", "006", "007", "008"]
    assert "户卡台账" in pdftotext(packet, 8) and "第 1 版" in pdftotext(packet, 8)
    index = pdftotext(packet, 9)
    assert "共 7 户，注销 1 个编号" in index
    retired = next(line for line in index.splitlines() if line.split()[:1] == ["004"])
    assert "A04" in retired and "已迁出/注销 2027-01-05" in retired
    assert page_count(packet) == 9
    assert not (months["book2"] / "恒安社区-第4网格-贴纸.pdf").exists()  # nothing to stick


def test_the_change_list_is_a_page_a_worker_can_read(months: dict[str, Path]) -> None:
    """Checkboxes and colour swatches are drawn, text stays inside the page."""
    packet = months["book2"] / "恒安社区-第3网格-变更.pdf"
    image = render_page(packet, 0, dpi=60)
    colours = {image.getpixel((x, y)) for x in range(image.width) for y in range(image.height)}
    red = (0xD6, 0x28, 0x28)
    assert any(all(abs(a - b) < 12 for a, b in zip(c, red, strict=True)) for c in colours)
    boxes = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(packet), "-"],
                           capture_output=True, text=True, check=True).stdout
    for match in re.finditer(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', boxes):
        assert float(match.group(1)) >= 0 and float(match.group(2)) <= 595.3


def test_the_sticker_sheet_has_only_what_the_changes_need(months: dict[str, Path]) -> None:
    text = pdftotext(months["book2"] / "恒安社区-第3网格-贴纸.pdf")
    tabs = re.findall(r"编号 (\d{3}) ·", text)
    assert sorted(tabs) == ["003", "006", "007", "008"]  # new cards and new colours
    assert "重点人员" in text and "残疾" in text  # A03's and A02's new stickers
    assert "低保" not in text  # A02 has its 低保 sticker already
    assert "A05" not in text and "A01" not in text


def test_the_update_gives_the_book_a_full_ledger_would(months: dict[str, Path],
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "reprinted"
    result = invoke("ledger", months["register2"], "--book", months["book1"], "-o", folder,
                    "--date", SECOND, "--quiet")
    assert result.exit_code == 0, result.output
    assert manifest(folder) == manifest(months["book2"])
    assert "2 new at the back, 1 number(s) retired" in result.output
    ledger = folder / "恒安社区-第3网格.pdf"
    index = pdftotext(ledger, 2)
    assert [line.split()[0] for line in index.splitlines()
            if re.match(r"\s*\d{3}\s", line)] == ["001", "002", "003", "004", "005", "006",
                                                   "007", "008"]
    # the packet's cover and index are the ledger's
    packet = months["book2"] / "恒安社区-第3网格-变更.pdf"
    assert pdftotext(packet, 9) == index


def test_reprint_with_the_book_matches_its_card(months: dict[str, Path],
                                                tmp_path: Path) -> None:
    out = tmp_path / "a06.pdf"
    result = invoke("reprint", months["register2"], "-o", out, "--household", "A06",
                    "--book", months["book2"], "--date", THIRD)
    assert result.exit_code == 0, result.output
    card = pdftotext(out)
    assert "编号 007" in card and "户号 A06" in card
    packet = months["book2"] / "恒安社区-第3网格-变更.pdf"
    [packet_card] = [text for text in (pdftotext(packet, page) for page in range(2, 8))
                     if "户号 A06" in text]

    def shown(text: str) -> str:  # what the card says, but its print date and page
        text = re.sub(r"第 \d+ 页", "", text.replace(THIRD, SECOND))
        return re.sub(r"\s+", " ", text)

    assert shown(card) == shown(packet_card)
    stickers = tmp_path / "a06-labels.pdf"
    result = invoke("stickers", months["register2"], "-o", stickers, "--household", "A06",
                    "--book", months["book2"], "--date", THIRD)
    assert result.exit_code == 0 and "编号 007" in pdftotext(stickers)


def test_a_rerun_changes_nothing_and_says_so(months: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("update", months["register2"], "--book", months["book2"], "-o",
                    tmp_path / "again", "--date", THIRD)
    assert result.exit_code == 0, result.output
    assert "nothing changed since the book" in result.output
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["manifest.json"]
    again = books(tmp_path / "again")
    assert {g: numbers(b) for g, b in again.items()} == \
        {g: numbers(b) for g, b in books(months["book2"]).items()}
    result = invoke("update", months["register2"], "--book", months["book2"], "-o",
                    tmp_path / "zh", "--date", THIRD, lang="zh")
    assert "没有变化" in result.output


# ---- month 3: a new edition, and what is refused --------------------------------------------

def test_renumber_starts_a_new_edition_in_address_order(months: dict[str, Path],
                                                        tmp_path: Path) -> None:
    result = invoke("ledger", months["register2"], "--book", months["book2"], "--renumber",
                    "-o", tmp_path, "--date", THIRD, "--quiet")
    assert result.exit_code == 0, result.output
    third = books(tmp_path)["第3网格"]
    assert numbers(third) == {"A01": "001", "A02": "002", "A06": "003", "A03": "004",
                              "A05": "005", "A07": "006", "B02": "007"}
    assert third["retired"] == [] and third["edition"]["number"] == 2
    assert third["edition"]["date"] == THIRD
    assert "第 2 版（2027-02-05 起）" in pdftotext(tmp_path / third["file"], 1)
    assert "edition 2, numbered in address order" in result.output


def test_a_household_not_in_the_book_is_refused_with_advice(months: dict[str, Path],
                                                            tmp_path: Path) -> None:
    out = tmp_path / "new.pdf"
    result = invoke("reprint", months["register2"], "-o", out, "--household", "A06",
                    "--book", months["book1"], "--date", SECOND)
    assert result.exit_code == 1 and not out.exists()
    assert "A06 is not in the book" in result.output
    assert "cardgen update INPUT --book" in result.output
    result = invoke("reprint", months["register2"], "-o", out, "--household", "A06",
                    "--book", months["book1"], "--date", SECOND, lang="zh")
    assert "A06 还没有台账编号" in result.output
    assert "cardgen update 输入文件 --book" in result.output


def test_one_folder_holds_one_book(months: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "book"
    shutil.copytree(months["book1"], folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = write_csv(tmp_path / "other.csv", household_rows("X1", 社区="幸福社区"))
    result = invoke("ledger", other, "-o", folder, "--date", SECOND)
    assert result.exit_code == 1
    assert "holds another book: 恒安社区 第3网格, 恒安社区 第4网格" in result.output
    assert "恒安社区-第3网格.pdf" in result.output and "--force" in result.output
    # the same grids printed afresh would renumber them
    result = invoke("ledger", months["register2"], "-o", folder, "--date", SECOND)
    assert result.exit_code == 1 and "--book" in result.output
    assert "would change 5 household number(s)" in result.output
    result = invoke("ledger", months["register2"], "-o", folder, "--date", SECOND, lang="zh")
    assert "重新从头打印会改变 5 户的编号" in result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # untouched
    # the same register again is the same book: a rerun is no conflict
    result = invoke("ledger", months["register1"], "-o", folder, "--date", FIRST, "--quiet")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    result = invoke("ledger", other, "-o", folder, "--date", SECOND, "--force", "--quiet")
    assert result.exit_code == 0 and [b["grid"] for b in manifest(folder)["ledgers"]] == \
        ["第3网格"]
    # --force replaced the book: its ledgers are gone, one folder holds one book
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "幸福社区-第3网格.pdf"]


def test_an_update_again_into_its_own_folder_gives_the_same_files(
        months: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "book2"
    shutil.copytree(months["book2"], again)
    result = invoke("update", months["register2"], "--book", months["book1"], "-o", again,
                    "--date", SECOND)
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in again.iterdir()} == \
        {p.name: p.read_bytes() for p in months["book2"].iterdir()}


def test_an_update_writes_beside_the_book_never_over_it(months: dict[str, Path],
                                                       tmp_path: Path) -> None:
    result = invoke("update", months["register2"], "--book", months["book1"], "-o",
                    months["book1"], "--date", SECOND)
    assert result.exit_code == 2 and "give -o a new folder" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"ledgers": [
        {"file": "x.pdf", "group": "幸福社区 第1网格", "households": []}]}))
    result = invoke("update", months["register2"], "--book", months["book1"], "-o", other,
                    "--date", SECOND)
    assert result.exit_code == 1 and "holds another book: 幸福社区 第1网格" in result.output


def test_an_interrupted_update_leaves_both_books_as_they_were(
        months: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cardgen.pipeline.updates as updates
    from cardgen.config import load_config
    from cardgen.data.select import Selection
    from cardgen.pipeline.register import load

    book = tmp_path / "book"
    shutil.copytree(months["book1"], book)
    before = {p.name: p.read_bytes() for p in book.iterdir()}
    real = updates.compose_packet
    calls = []

    def interrupted(*args: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == 2:  # the second grid's packet: the first one is done
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(updates, "compose_packet", interrupted)
    import datetime as dt

    loaded = load(months["register2"], load_config(), dt.date.fromisoformat(SECOND),
                  cache=suite_cache())
    with pytest.raises(KeyboardInterrupt):
        updates.update(loaded, updates.UpdateRequest(book, tmp_path / "new", Selection()))
    assert {p.name: p.read_bytes() for p in book.iterdir()} == before
    assert not (tmp_path / "new").exists()  # no packet, no manifest, no temporary
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_old_manifest_is_read_for_its_numbers_or_refused_with_advice(
        months: dict[str, Path], tmp_path: Path) -> None:
    """This project's first format: numbers NNN/MMM, a hash that covered the number."""
    old = tmp_path / "old"
    old.mkdir()
    legacy = {"ledgers": [
        {"file": "恒安社区-第3网格.pdf", "group": "恒安社区 第3网格", "households": [
            {"household_id": hid, "number": f"{n:03d}/006", "first_page": n + 2,
             "page_count": 1, "colour": "yellow", "hash": "0" * 64}
            for n, hid in enumerate(["A01", "A02", "A03", "A04", "A05", "A07"], 1)]},
        {"file": "恒安社区-第4网格.pdf", "group": "恒安社区 第4网格", "households": [
            {"household_id": hid, "number": f"{n:03d}/002", "first_page": n + 2,
             "page_count": 1, "colour": "yellow", "hash": "0" * 64}
            for n, hid in enumerate(["B01", "B02"], 1)]}]}
    (old / "manifest.json").write_text(json.dumps(legacy, ensure_ascii=False), "utf-8")
    result = invoke("update", months["register2"], "--book", old, "-o", tmp_path / "u",
                    "--date", SECOND)
    assert result.exit_code == 1 and "older cardgen" in result.output
    assert f"cardgen ledger INPUT --book {old} -o {old}" in result.output
    result = invoke("ledger", months["register2"], "--book", old, "-o", old, "--date",
                    SECOND, "--quiet")
    assert result.exit_code == 0, result.output
    assert numbers(books(old)["第3网格"]) == numbers(books(months["book2"])["第3网格"])
    assert manifest(old)["format"] == "cardgen-book/1"
    several = tmp_path / "several"
    several.mkdir()
    legacy["ledgers"][0]["households"] += legacy["ledgers"].pop()["households"]
    (several / "manifest.json").write_text(json.dumps(legacy, ensure_ascii=False), "utf-8")
    result = invoke("ledger", months["register2"], "--book", several, "-o", tmp_path / "n",
                    "--date", SECOND, lang="zh")
    assert result.exit_code == 1 and "另起新版" in result.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--renumber"], 2, "--renumber starts a new edition"),
    (["--book", "missing-folder"], 2, "no such folder"),
])
def test_usage_mistakes(months: dict[str, Path], tmp_path: Path, args: list[str], code: int,
                        message: str) -> None:
    result = invoke("ledger", months["register1"], "-o", tmp_path / "x", *args)
    assert result.exit_code == code and message in result.output
    assert not (tmp_path / "x").exists()


# ---- beyond one machine: grids are independent books -------------------------------------

def test_two_grids_in_two_processes_give_the_books_of_one_run(months: dict[str, Path],
                                                              tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cardgen", "ledger", str(months["register1"]),
               "--date", FIRST, "--quiet", "--jobs", "1"]
    tasks = [subprocess.Popen([*command, "--grid", grid, "-o", str(tmp_path / grid)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              cwd=Path(__file__).parents[2])
             for grid in ("第3网格", "第4网格")]
    for task in tasks:
        output, _ = task.communicate(timeout=300)
        assert task.returncode == 0, output.decode()
    together = books(months["book1"])
    for grid in ("第3网格", "第4网格"):
        [alone] = manifest(tmp_path / grid)["ledgers"]
        assert alone == together[grid]
        assert (tmp_path / grid / alone["file"]).read_bytes() == \
            (months["book1"] / alone["file"]).read_bytes()


def test_a_household_kept_back_by_errors_keeps_its_number(months: dict[str, Path],
                                                          tmp_path: Path) -> None:
    rows = second_register()
    for row in rows:
        if row["户编号"] == "A05":
            row["身份证号"] = "36042619910102009X"  # wrong check digit
    register = write_csv(tmp_path / "typo.csv", rows)
    # like a ledger, an update stops on a household's error: exit 1, nothing written
    result = invoke("update", register, "--book", months["book1"], "-o", tmp_path / "stop",
                    "--date", SECOND)
    assert result.exit_code == 1, result.output
    assert "--skip-invalid" in result.output and "H8 (身份证号)" in result.output
    assert not (tmp_path / "stop").exists()
    result = invoke("update", register, "--book", months["book1"], "-o", tmp_path / "u",
                    "--date", SECOND, "--format", "json", "--skip-invalid")
    assert result.exit_code == 0, result.output
    [third] = [g for g in json.loads(result.stdout)["grids"] if g["grid"].endswith("第3网格")]
    assert third["pending"] == [{"household_id": "A05", "number": "005"}]
    assert "A05" not in {c["household_id"] for c in third["changed"]}
    assert numbers(books(tmp_path / "u")["第3网格"])["A05"] == "005"



def test_a_member_who_joins_is_the_reason_not_every_detail(tmp_path: Path) -> None:
    """A baby born (no phone): the change list says 成员变动 2→3人, not also 成员信息变更
    and 电话变更, which only follow from the new row."""
    first = [*plain("C01", "阳光花园1号楼101")]
    register = write_csv(tmp_path / "m1.csv", first)
    assert invoke("ledger", register, "-o", tmp_path / "book", "--date", FIRST,
                  "--quiet").exit_code == 0
    baby = {**first[1], "姓名": "李小宝", "与户主关系": "子", "身份证号": "", "联系电话": ""}
    register = write_csv(tmp_path / "m2.csv", [*first, baby])
    result = invoke("update", register, "--book", tmp_path / "book", "-o", tmp_path / "u",
                    "--date", SECOND, "--format", "json")
    assert result.exit_code == 0, result.output
    [grid] = json.loads(result.stdout)["grids"]
    assert [c["reasons"] for c in grid["changed"]] == [["成员变动 2→3人"]]


def test_a_card_prints_its_number_not_a_page_that_would_go_stale(months: dict[str, Path]) -> None:
    """The card's footer (docs/templates.md): place and 编号, date and mode, 内部资料 — no
    page number on a card, which an update that takes out a card before it would make wrong
    in the binder; the cover and index pages keep theirs."""
    [ledger] = [p for p in months["book1"].glob("*.pdf") if "第3网格" in p.name]
    index = pdftotext(ledger, 2)
    assert re.search(r"第 ?2 ?页", index), index
    for page in range(3, page_count(ledger) + 1):
        text = pdftotext(ledger, page)
        if "户号" in text:
            assert not re.search(r"第 ?\d+ ?页", text), (page, text)
            assert "编号" in text and "内部资料" in text


def test_an_updates_cover_template_mistakes_and_warnings_are_told(
        months: dict[str, Path], tmp_path: Path) -> None:
    """A mistake in the cover's template is told in Chinese, naming the file and line, and
    nothing is written; what WeasyPrint says about custom.css while it lays out a cover
    frame is told too."""
    from cardgen import resources
    from cardgen.frame.render import ENGINE_WARNINGS

    folder = tmp_path / "templates"
    folder.mkdir()
    text = (resources.TEMPLATES / "cover.html.j2").read_text(encoding="utf-8")
    (folder / "cover.html.j2").write_text(text.replace("<h1>户卡台账</h1>",
                                                       "<h1>{{ doc.title </h1>"),
                                          encoding="utf-8")
    args = ["update", months["register2"], "--book", months["book1"], "--date", SECOND,
            "--templates", folder]
    result = invoke(*args, "-o", tmp_path / "broken", lang="zh")
    assert result.exit_code == 1, result.output
    assert re.search(re.escape(str(folder / "cover.html.j2")) + r" 第 \d+ 行：",
                     result.output)
    assert not (tmp_path / "broken").exists() or not list((tmp_path / "broken").iterdir())

    (folder / "cover.html.j2").unlink()
    (folder / "custom.css").write_text(".cover-title { colr: blue; }\n", encoding="utf-8")
    warm = invoke("reprint", months["register2"], "-o", tmp_path / "cards.pdf", "--grid",
                  "第3网格", "--grid", "第4网格", "--date", SECOND, "--templates",
                  folder)  # its card frames cached; no cover: only the update's renders
    assert warm.exit_code == 0, warm.output
    ENGINE_WARNINGS.messages.clear()
    result = invoke(*args, "-o", tmp_path / "new", lang="zh")
    assert result.exit_code == 0, result.output
    assert f"{folder / 'custom.css'} 第 1 行：这条 CSS 看不懂，已忽略" in result.output
    ENGINE_WARNINGS.messages.clear()


def test_a_months_update_lays_out_nothing_with_weasyprint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10, item 7: the change list is drawn by cardgen and the cover frame is the one
    the ledger left in the cache, so an update needs no WeasyPrint (which alone costs more
    than a cached one-change ledger): no renderer is made."""
    from cardgen.frame.render import Renderer

    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(tmp_path / "cache"))
    register1 = write_csv(tmp_path / "register1.csv", first_register())
    month = second_register()  # but A03 stays as it was: no new flag column on the cover,
    for row in month:  # no new colour of card (a frame the district has cached anyway)
        if row["户编号"] == "A03":
            row["特殊情况"] = ""
    register2 = write_csv(tmp_path / "register2.csv", month)
    assert invoke("ledger", register1, "-o", tmp_path / "book1", "--date", FIRST,
                  "--quiet").exit_code == 0
    made: list[int] = []

    def counted(self: Renderer, *args: object, **kwargs: object) -> None:
        made.append(1)
        raise AssertionError("WeasyPrint was asked for")

    monkeypatch.setattr(Renderer, "__init__", counted)
    result = invoke("update", register2, "--book", tmp_path / "book1", "-o",
                    tmp_path / "book2", "--date", SECOND)
    assert result.exit_code == 0, result.output
    assert made == []
    packet = tmp_path / "book2" / "恒安社区-第3网格-变更.pdf"
    assert "变更清单" in pdftotext(packet, 1)
    text = pdftotext(packet)
    assert "户卡台账" in text and re.search(r"户数\s+7 ?户", text) and SECOND in text
