"""Bound ledgers: one PDF per grid, cover counts, index, manifest pages, emergency batches."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardgen.cli.commands import cli
from cardgen.config import load_config
from cardgen.pipeline.register import load
from cardgen.samplegen import generate, to_csv
from tests.conftest import (
    DATE,
    TODAY,
    WRONG_CHECK_ID,
    close_colour,
    dominant_colour,
    household_rows,
    page_count,
    pdftotext,
    render_page,
    write_csv,
)

Run = Callable[..., Result]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 invented households over 3 grids, every colour among them."""
    folder = tmp_path_factory.mktemp("district")
    path = folder / "district.csv"
    path.write_text(to_csv(list(generate(40, seed=11, grids=3))), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def books(district: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("books")
    result = invoke("ledger", district, "-o", out, "--date", DATE, "--jobs", "2")
    return out, result


def manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_one_pdf_per_grid_named_from_community_and_grid(books: tuple[Path, Result]) -> None:
    folder, result = books
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folder.glob("*.pdf"))
    assert names == ["和平社区-第1网格.pdf", "和平社区-第2网格.pdf", "和平社区-第3网格.pdf"]
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert re.search(r"ledgers: 3, cards: 40, pages: \d+", result.output)


def test_manifest_has_the_contract_shape_and_true_pages(books: tuple[Path, Result]) -> None:
    folder, _ = books
    data = manifest(folder)
    assert set(data) == {"format", "ledgers"} and data["format"] == "cardgen-book/1"
    seen = 0
    for ledger in data["ledgers"]:
        assert {"file", "group", "edition", "households", "retired"} <= set(ledger)
        assert ledger["edition"]["number"] == 1 and ledger["edition"]["date"] == DATE
        assert re.fullmatch(r"[0-9a-f]{64}", ledger["edition"]["register"])
        assert ledger["retired"] == [] and ledger["total"] == len(ledger["households"])
        pdf = folder / ledger["file"]
        pages = page_count(pdf)
        for entry in ledger["households"]:
            assert {"household_id", "number", "first_page", "page_count", "colour", "flags",
                    "hash"} <= set(entry)
            assert re.fullmatch(r"\d{3}", entry["number"])
            assert re.fullmatch(r"[0-9a-f]{64}", entry["hash"])
            first = entry["first_page"]
            assert first >= 1 and first + entry["page_count"] - 1 <= pages
            text = pdftotext(pdf, first)
            assert f"户号 {entry['household_id']}" in text
            assert f"编号 {entry['number']}" in text
            assert "/" not in text.split(f"编号 {entry['number']}")[1][:3]  # no total
            seen += 1
    assert seen == 40


def test_cover_counts_match_the_data(books: tuple[Path, Result], district: Path) -> None:
    folder, _ = books
    loaded = load(district, load_config(), TODAY)
    for ledger in manifest(folder)["ledgers"]:
        colours = Counter(entry["colour"] for entry in ledger["households"])
        cover = pdftotext(folder / ledger["file"], 1)
        assert "户卡台账" in cover and "常态" in cover
        for key, colour in loaded.config.palette.items():
            line = next(line for line in cover.splitlines() if f"{colour.char}色 · " in line)
            assert re.search(rf"\b{colours[key]}\s*户$", line.rstrip()), line
        households = len(ledger["households"])
        assert f"{households} 户" in cover


def test_cards_stand_in_natural_address_order(books: tuple[Path, Result]) -> None:
    folder, _ = books
    for ledger in manifest(folder)["ledgers"]:
        numbers = [entry["number"] for entry in ledger["households"]]
        assert numbers == sorted(numbers)
        firsts = [entry["first_page"] for entry in ledger["households"]]
        assert firsts == sorted(firsts)


def test_index_lists_every_household_with_its_page(books: tuple[Path, Result]) -> None:
    folder, _ = books
    ledger = manifest(folder)["ledgers"][0]
    index = pdftotext(folder / ledger["file"], 2)
    for entry in ledger["households"]:
        row = next(line for line in index.splitlines() if entry["household_id"] in line)
        assert row.split()[0] == entry["number"]
        assert row.split()[-1] == str(entry["first_page"])


def test_reprint_carries_the_book_number(books: tuple[Path, Result], district: Path,
                                         tmp_path: Path) -> None:
    folder, _ = books
    entry = manifest(folder)["ledgers"][1]["households"][5]
    out = tmp_path / "loose.pdf"
    result = invoke("reprint", district, "-o", out, "--household", entry["household_id"],
                    "--date", DATE)
    assert result.exit_code == 0
    assert f"编号 {entry['number']}" in pdftotext(out)


def test_rerun_is_byte_identical_whatever_the_jobs(district: Path, books: tuple[Path, Result],
                                                   tmp_path: Path) -> None:
    folder, _ = books
    result = invoke("ledger", district, "-o", tmp_path, "--date", DATE, "--jobs", "1")
    assert result.exit_code == 0
    for pdf in folder.glob("*.pdf"):
        assert (tmp_path / pdf.name).read_bytes() == pdf.read_bytes(), pdf.name
    assert (tmp_path / "manifest.json").read_bytes() == (folder / "manifest.json").read_bytes()


def test_emergency_batch_of_red_and_orange(district: Path, tmp_path: Path) -> None:
    result = invoke("ledger", district, "-o", tmp_path, "--emergency", "--colour", "red",
                    "--colour", "orange", "--by", "all", "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    [pdf] = list(tmp_path.glob("*.pdf"))
    assert pdf.name == "全部-应急.pdf"
    loaded = load(district, load_config(), TODAY)
    expected = {hid for hid, c in loaded.categories.items() if c.key in ("red", "orange")}
    books = manifest(tmp_path)["ledgers"]  # one book per grid, all in the one PDF
    assert {b["file"] for b in books} == {pdf.name} and len(books) == 3
    assert {b["selection"] for b in books} == {"颜色 红、橙"}
    entries = [e for b in books for e in b["households"]]
    assert {e["household_id"] for e in entries} == expected
    assert "应急" in pdftotext(pdf, 1)
    entry = entries[0]
    image = render_page(pdf, entry["first_page"] - 1, dpi=80)
    colour = loaded.config.palette[entry["colour"]]
    assert dominant_colour(image, (208, 20, 210, 280), 80) == "#FFFFFF"  # not on the right
    top_strip = dominant_colour(image, _emergency_tab_x(colour.order), 80)
    assert close_colour(top_strip, colour.hex)
    # numbers are the book's (the grid's address order), not the emergency ledger's own
    assert {e["household_id"]: e["number"] for e in entries} == \
        {hid: loaded.numbers[hid] for hid in expected}
    assert sorted(e["number"] for e in entries) != [f"{n:03d}" for n in range(1, len(entries) + 1)]


def _emergency_tab_x(order: int) -> tuple[float, float, float, float]:
    left = 15 + 8 + order * 34
    return left + 2, 0, left + 28, 2


def test_unknown_selection_is_usage_error(district: Path, tmp_path: Path) -> None:
    result = invoke("ledger", district, "-o", tmp_path, "--colour", "pink")
    assert result.exit_code == 2 and "red, orange, yellow, blue, green" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def with_errors(tmp_path: Path) -> Path:
    rows = [*household_rows("H1"), *household_rows("H2", 地址="阳光花园10号楼"),
            {**household_rows("H3", 地址="阳光花园3号楼")[0], "身份证号": WRONG_CHECK_ID}]
    return write_csv(tmp_path / "errs.csv", rows)


def test_errors_stop_the_ledger_and_nothing_is_written(with_errors: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("ledger", with_errors, "-o", out, "--date", DATE)
    assert result.exit_code == 1
    assert "--skip-invalid" in result.output and "check digit" in result.output
    assert not out.exists()  # not even an empty folder


def test_skip_invalid_prints_the_rest_and_lists_the_skipped(with_errors: Path,
                                                            tmp_path: Path) -> None:
    result = invoke("ledger", with_errors, "-o", tmp_path / "out", "--skip-invalid",
                    "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "skipped 1 household" in result.output
    [ledger] = manifest(tmp_path / "out")["ledgers"]
    assert [e["household_id"] for e in ledger["households"]] == ["H1", "H2"]  # 2号楼, 10号楼
    # H3 (3号楼) keeps its place in the book, waiting for its card
    assert ledger["unprinted"] == [{"household_id": "H3", "number": "002"}]
    assert [e["number"] for e in ledger["households"]] == ["001", "003"]
    cover = pdftotext(tmp_path / "out" / ledger["file"], 1)
    assert "未打印" in cover and "H3" in cover


def test_duplex_starts_every_card_on_a_right_hand_page(tmp_path: Path) -> None:
    long = [{**household_rows("L1")[0], "姓名": f"成员{i:02d}", "身份证号": "",
             "与户主关系": "户主" if i == 0 else "子"} for i in range(30)]
    rows = [*household_rows("A1", 地址="1号楼"), *[{**r, "地址": "2号楼"} for r in long],
            *household_rows("C1", 地址="3号楼")]
    source = write_csv(tmp_path / "duplex.csv", rows)
    result = invoke("ledger", source, "-o", tmp_path / "out", "--duplex", "--date", DATE)
    assert result.exit_code == 0, result.output
    [ledger] = manifest(tmp_path / "out")["ledgers"]
    pdf = tmp_path / "out" / ledger["file"]
    entries = {e["household_id"]: e for e in ledger["households"]}
    assert [e["first_page"] % 2 for e in entries.values()] == [1, 1, 1]
    assert entries["L1"]["page_count"] == 2
    # a one-page card's back is its visit log; a two-page card's is its 续页
    assert entries["L1"]["first_page"] == entries["A1"]["first_page"] + 2
    assert entries["C1"]["first_page"] == entries["L1"]["first_page"] + 2
    back = render_page(pdf, entries["L1"]["first_page"], dpi=80)  # L1's second page
    orange = load_config().palette["orange"].hex  # 低保 makes L1 orange: tab at 76-106 mm
    assert close_colour(dominant_colour(back, (0, 78, 2, 104), 80), orange)  # on the left
    assert dominant_colour(back, (208, 78, 210, 104), 80) == "#FFFFFF"
    assert page_count(pdf) == entries["C1"]["first_page"] + 1  # C1's visit log ends it
    assert "走访记录" in pdftotext(pdf, entries["L1"]["first_page"] - 1)
    assert "走访记录" in pdftotext(pdf, page_count(pdf))
    assert "走访记录" not in pdftotext(pdf, entries["L1"]["first_page"] + 1)


def test_each_font_is_embedded_once_per_ledger(books: tuple[Path, Result]) -> None:
    """Chunks rendered apart share one font subset each after merging (not one per chunk)."""
    import subprocess

    folder, _ = books
    for pdf in folder.glob("*.pdf"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                               check=True).stdout.splitlines()[2:]
        assert len(fonts) == 2, fonts  # Regular and Bold
        subprocess.run(["qpdf", "--check", str(pdf)], check=True, capture_output=True)


def test_worker_processes_make_the_same_bytes(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough cards for the spawn pool: --jobs 2 builds and draws in workers, --jobs 1 in
    this process. Each starts from a cache without any card (no model, no drawn page), its
    frames those the suite has laid out (or the first run lays out): what is compared is
    the cards, drawn twice. The index pages too: the workers draw them (none here) with
    --jobs 2, this process with --jobs 1."""
    import os
    import shutil

    from cardgen.pipeline import ledgers
    from cardgen.printing.run import PARALLEL_FROM, IndexPage, PrintRun

    drawn_here: list[int] = []
    index_page_data = ledgers.index_page_data

    def counted(index: IndexPage, printing: PrintRun) -> bytes:
        drawn_here.append(index.page)
        return index_page_data(index, printing)

    monkeypatch.setattr(ledgers, "index_page_data", counted)

    cache = tmp_path / "cache"
    suite = Path(os.environ["CARDGEN_CACHE_DIR"])
    for kind in ("frames", "metrics"):
        if (suite / kind).is_dir():
            shutil.copytree(suite / kind, cache / kind)
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(cache))
    source = tmp_path / "big.csv"
    source.write_text(to_csv(list(generate(PARALLEL_FROM + 20, seed=4, grids=1))),
                      encoding="utf-8")
    outputs, here = [], []
    for jobs in ("2", "1"):
        for kind in ("cards", "ledger-pages"):
            shutil.rmtree(cache / kind, ignore_errors=True)
        drawn_here.clear()
        out = tmp_path / f"jobs-{jobs}"
        result = invoke("ledger", source, "-o", out, "--date", DATE, "--jobs", jobs,
                        "--quiet")
        assert result.exit_code == 0, result.output
        [pdf] = list(out.glob("*.pdf"))
        outputs.append((pdf.read_bytes(), (out / "manifest.json").read_bytes()))
        here.append(len(drawn_here))
    assert outputs[0] == outputs[1]
    assert here[0] == 0 and here[1] >= 4, here  # 320 households: about 8 index pages


def test_a_grid_whose_every_household_is_skipped_is_named(tmp_path: Path) -> None:
    rows = [*household_rows("H1"),
            {**household_rows("B1", 网格="第9网格")[0], "身份证号": WRONG_CHECK_ID}]
    source = write_csv(tmp_path / "orphan.csv", rows)
    result = invoke("ledger", source, "-o", tmp_path / "out", "--skip-invalid", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert [e["group"] for e in manifest(tmp_path / "out")["ledgers"]] == ["恒安社区 第3网格"]
    assert "no ledger for 恒安社区 第9网格" in result.output and "(B1)" in result.output


def test_the_cover_names_the_red_category_not_the_selected_subtype(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "red.csv", household_rows("R1", 特殊情况="社区矫正"))
    out = tmp_path / "out"
    result = invoke("ledger", source, "-o", out, "--flag", "社区矫正", "--date", DATE)
    assert result.exit_code == 0, result.output
    [ledger] = manifest(out)["ledgers"]
    text = pdftotext(out / ledger["file"])
    assert "特殊情况 重点人员" in text
    assert "社区矫正" not in text


def test_free_text_flags_fold_into_one_cover_column(tmp_path: Path) -> None:
    rows = [*household_rows("H1", 特殊情况="低保、党员")]
    rows += [household_rows(f"F{i:03d}", 特殊情况=f"自定义标签{i}",
                            地址=f"阳光花园{i}号楼")[0] for i in range(60)]
    source = write_csv(tmp_path / "flags.csv", rows)
    out = tmp_path / "out"
    result = invoke("ledger", source, "-o", out, "--date", DATE)
    assert result.exit_code == 0, result.output
    [ledger] = manifest(out)["ledgers"]
    cover = pdftotext(out / ledger["file"], 1)
    # the flags' row: 其他 is the last column, its people and households below it
    assert sum("其他 60 项" in line for line in cover.splitlines()) == 1
    lines = cover.splitlines()
    below = lines[lines.index(next(line for line in lines if "其他 60 项" in line)) + 1:]
    people, homes = (line.split() for line in below if line.strip()[:1].isdigit())
    assert people[-2:] == ["60", "人"] and homes[-2:] == ["60", "户"], (people, homes)
    assert "党员" in cover and "自定义标签" not in cover


def test_the_last_ledger_lets_its_workers_go_before_it_is_finished(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle workers held 2 x 86 MiB while a 20,000-card book was finished (its peak): the
    last ledger of a run closes them once its cards need them no more, an earlier one
    keeps them for the next ledger's cards."""
    from cardgen.pdf.compose import Composer
    from cardgen.pipeline.ledgers import LedgerWorkers as Workers

    events: list[str] = []
    finish, close = Composer.finish, Workers.close

    def finishing(self: Composer, *args: object, **kwargs: object) -> None:
        events.append("finish")
        finish(self, *args, **kwargs)  # type: ignore[arg-type]

    def closing(self: Workers) -> None:
        events.append("close")
        close(self)

    monkeypatch.setattr(Composer, "finish", finishing)
    monkeypatch.setattr(Workers, "close", closing)
    source = write_csv(tmp_path / "two.csv", [*household_rows("H1"),
                                              *household_rows("H2", 网格="第4网格")])
    result = invoke("ledger", source, "-o", tmp_path / "out", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert events == ["finish", "close", "finish", "close"]  # the last close: the run's end


def test_a_ledger_keeps_no_sort_key_of_its_households(district: Path, tmp_path: Path) -> None:
    """natural_key's cache held every address's and household number's sort key for the
    whole run (9 MiB of a 10,000-household book): it is emptied once they are sorted."""
    from cardgen.book.ledger import natural_key

    result = invoke("ledger", district, "-o", tmp_path / "out", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert natural_key.cache_info().currsize <= 3  # the grids' names, sorted since


def reading_order(pdf: Path) -> list[int]:
    """The pages (by index) of the Document's sections, in the structure tree's order."""
    import pikepdf

    def page_of(element: pikepdf.Dictionary) -> tuple[int, int] | None:
        if "/Pg" in element:
            return element.Pg.objgen  # type: ignore[no-any-return]
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and (found := page_of(kid)) is not None:
                return found
        return None

    with pikepdf.open(pdf) as document:
        pages = {page.objgen: index for index, page in enumerate(document.pages)}
        sections = document.Root.StructTreeRoot.K.K
        return [pages[found] for section in sections if (found := page_of(section))]


def test_a_large_book_is_the_same_book_with_its_objects_compressed_faster(
        district: Path, books: tuple[Path, Result], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A ledger of ledgers.LARGE_BOOK pages or more (a 1,000-household grid's) has its
    object streams compressed by libdeflate (pdf/writer.deflate_large: faster and smaller),
    and is otherwise the same book: the same text, pages and record. The district's books
    are small (their bytes as before)."""
    import pikepdf

    from cardgen.pdf import writer as writer_module
    from cardgen.pipeline import ledgers

    small_out, _ = books
    monkeypatch.setattr(ledgers, "LARGE_BOOK", 1)
    out = tmp_path / "large"
    result = invoke("ledger", district, "-o", out, "--date", DATE, "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert manifest(out) == manifest(small_out)
    for pdf in sorted(out.glob("*.pdf")):
        small = small_out / pdf.name
        assert pdf.read_bytes() != small.read_bytes()
        assert pdftotext(pdf) == pdftotext(small) and page_count(pdf) == page_count(small)
        # its cards written first, its cover and index put in front of them (in_front):
        # pages, and the structure a screen reader follows, in the book's order
        assert reading_order(pdf) == list(range(page_count(pdf)))
        assert written_order(pdf) == "cards first"
        with pikepdf.open(pdf) as opened, pikepdf.open(small) as before:
            for document, compress in ((opened, writer_module.deflate_large),
                                       (before, writer_module.deflate_default)):
                packs = [obj for obj in document.objects if isinstance(obj, pikepdf.Stream)
                         and obj.get("/Type") == "/ObjStm"]
                assert packs and all(compress(obj.read_bytes()) == obj.read_raw_bytes()
                                     for obj in packs)


    # a book of ledgers.FRONT_BELOW pages or more is written in its order (its workers let
    # go before its cards are composed): the same book
    monkeypatch.setattr(ledgers, "FRONT_BELOW", 1)
    result = invoke("ledger", district, "-o", tmp_path / "largest", "--date", DATE,
                    "--jobs", "2")
    assert result.exit_code == 0, result.output
    for pdf in sorted((tmp_path / "largest").glob("*.pdf")):
        assert pdftotext(pdf) == pdftotext(out / pdf.name)
        assert reading_order(pdf) == list(range(page_count(pdf)))
        assert written_order(pdf) == "cover first"


def written_order(pdf: Path) -> str:
    """Whether the cover page's object comes before the last card's in the file."""
    import pikepdf

    with pikepdf.open(pdf) as document:
        cover, last = document.pages[0].objgen[0], document.pages[-1].objgen[0]
    return "cover first" if cover < last else "cards first"


def test_a_large_registers_workers_start_before_it_is_read_and_print_the_same_books(
        district: Path, books: tuple[Path, Result], with_errors: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A register of ledgers.EARLY_FROM bytes or more (some 4,500 households) starts its
    workers as the command starts, before it is read, and they make its cards: the same
    books. A register refused for its errors leaves none of them behind."""
    import multiprocessing

    from cardgen.pipeline import ledgers, register
    from cardgen.printing import run, workers

    events: list[str] = []
    read, start, hand = register.read_records, workers.Workers.start, workers.Workers.map

    def reading(*args: object, **kwargs: object) -> object:
        events.append("read")
        return read(*args, **kwargs)  # type: ignore[arg-type]

    def starting(self: workers.Workers) -> None:
        events.append("start")
        start(self)

    def handing(self: workers.Workers, function: object, items: object,
                size: int = 0) -> object:
        events.append("handed")
        return hand(self, function, items, size)  # type: ignore[arg-type]

    monkeypatch.setattr(register, "read_records", reading)
    monkeypatch.setattr(workers.Workers, "start", starting)
    monkeypatch.setattr(workers.Workers, "map", handing)
    monkeypatch.setattr(ledgers, "EARLY_FROM", 1)
    monkeypatch.setattr(run, "PARALLEL_FROM", 1)  # the district's 40 cards by the workers
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(tmp_path / "cache"))  # none of them there
    small_out, _ = books
    out = tmp_path / "early"
    result = invoke("ledger", district, "-o", out, "--date", DATE, "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert events[:2] == ["start", "read"] and "handed" in events
    assert manifest(out) == manifest(small_out)
    for pdf in sorted(small_out.glob("*.pdf")):
        assert (out / pdf.name).read_bytes() == pdf.read_bytes()
    assert not multiprocessing.active_children()
    events.clear()
    result = invoke("ledger", with_errors, "-o", tmp_path / "refused", "--date", DATE,
                    "--jobs", "2")
    assert result.exit_code == 1 and events == ["start", "read"]
    assert not multiprocessing.active_children() and not (tmp_path / "refused").exists()
