"""The card as a grid worker and a photocopier see it (issue 14, layout): long minority
names whole in every place they print, the visit log on a duplex card's back, a long note
printed in full, rules that survive a black-and-white copy, label sheets as data."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from PIL import Image, ImageFilter

from cardgen.config import load_config
from cardgen.errors import ConfigError
from tests.card.test_fit import Word, assert_no_overlaps, words
from tests.conftest import (
    DATE,
    HEADER,
    household_rows,
    page_count,
    pdftotext,
    render_page,
    write_csv,
)

Run = Callable[..., Result]

# real names of the 维吾尔, 蒙古 and 哈萨克 kind, and one a little past them
NAMES = ("巴特尔·那仁格日勒", "古丽娜尔·吐尔逊", "阿卜杜热合曼·阿卜杜克热木",
         "买买提江·艾合买提江·吐尔洪", "努尔兰·哈布德里达·叶尔肯别克")


def register(folder: Path, notes: str = "") -> Path:
    """Household N1 of long names (its head 巴特尔·那仁格日勒, 低保 and 残疾 among them),
    household H2 with a short one; the grid worker a minority name too."""
    rows = []
    for index, name in enumerate(NAMES):
        base = household_rows("N1", 特殊情况="低保" if index % 2 else "残疾")[0]
        rows.append({**base, "姓名": name, "身份证号": "", "联系电话": "",
                     "与户主关系": "户主" if index == 0 else "子", "网格员": NAMES[1],
                     "备注": notes if index == 1 else ""})
    rows += [{**row, "网格员": NAMES[1]} for row in household_rows("H2", 地址="阳光花园5号楼")]
    return write_csv(folder / "names.csv", rows, header=[*HEADER, "网格员", "备注"])


def name_pieces(page: list[Word], name: str) -> list[str]:
    """The pieces of `name` a page prints (a line of it, or a part; a line of a list of
    names is read name by name)."""
    return [piece for w in page for piece in w.text.split("、")
            if len(piece) > 1 and piece in name and "·" in name]


def name_units(name: str) -> list[str]:
    """A name's parts, each with the "·" after it."""
    return re.findall(r"[^·]+·?", name)


def assert_whole_parts(page: list[Word], name: str) -> None:
    """Wherever `name` is printed on more than one line, each line holds whole parts."""
    units = name_units(name)
    runs = {"".join(units[i:j]).strip() for i in range(len(units))
            for j in range(i + 1, len(units) + 1)}
    pieces = name_pieces(page, name)
    for piece in pieces:
        assert piece in runs, (name, piece)
    # and never cut: every line that starts a name has the line that ends it
    starts = [p for p in pieces if name.startswith(p) and p != name]
    ends = [p for p in pieces if name.endswith(p) and p != name]
    assert len(starts) == len(ends), (name, pieces)


@pytest.mark.parametrize("paper", ["A4", "A5", "16K"])
def test_names_break_only_between_their_parts_in_the_members_table(
        run: Run, tmp_path: Path, paper: str) -> None:
    out = tmp_path / "card.pdf"
    result = run("reprint", register(tmp_path), "-o", out, "--household", "N1", "--paper",
                 paper, "--date", DATE)
    assert result.exit_code == 0, result.output
    [page] = words(out)
    for name in NAMES:
        assert name_pieces(page, name), name
        assert_whole_parts(page, name)
    # the name column's room: the two common long names take one line each
    assert "巴特尔·那仁格日勒" in [w.text for w in page]
    assert "古丽娜尔·吐尔逊" in [w.text for w in page]
    assert_no_overlaps(page)


def a5_book(run: Run, tmp_path: Path, name: str) -> Path:
    """The long names' register, and its ledger on A5 in `tmp_path / name`."""
    source = register(tmp_path)
    result = run("ledger", source, "-o", tmp_path / name, "--paper", "A5", "--date", DATE,
                 "--quiet")
    assert result.exit_code == 0, result.output
    return source


def test_names_break_only_between_their_parts_in_the_index_stickers_and_cover(
        run: Run, tmp_path: Path) -> None:
    source = a5_book(run, tmp_path, "book")
    [ledger] = (tmp_path / "book").glob("*.pdf")
    cover, index, *_ = words(ledger)
    assert_whole_parts(cover, NAMES[1])  # the grid worker
    assert NAMES[1] in pdftotext(ledger, 1).replace("\n", "").replace(" ", "")
    assert_whole_parts(index, NAMES[0])  # the head
    stickers = tmp_path / "stickers.pdf"
    result = run("stickers", source, "-o", stickers, "--date", DATE)
    assert result.exit_code == 0, result.output
    for page in words(stickers):
        for name in NAMES:
            assert_whole_parts(page, name)


def test_names_break_only_between_their_parts_in_the_change_list(
        run: Run, tmp_path: Path) -> None:
    source = a5_book(run, tmp_path, "book1")
    text = source.read_text(encoding="utf-8").replace("阳光花园2号楼1单元302",
                                                      "阳光花园2号楼1单元302室")
    source.write_text(text, encoding="utf-8")
    result = run("update", source, "--book", tmp_path / "book1", "-o", tmp_path / "book2",
                 "--date", DATE)
    assert result.exit_code == 0, result.output
    packets = [p for p in (tmp_path / "book2").glob("*.pdf") if "变更" in p.name]
    assert packets
    first = words(packets[0])[0]
    assert name_pieces(first, NAMES[0]), [w.text for w in first]
    assert_whole_parts(first, NAMES[0])
    assert_whole_parts(first, NAMES[1])


def test_a_one_page_cards_back_is_its_visit_log(run: Run, tmp_path: Path) -> None:
    """Duplex: the back of a one-page card is its 走访记录, ruled under the household's 户号,
    book number and visit frequency; [duplex] verso = "blank" keeps it empty."""
    source = write_csv(tmp_path / "r.csv", [*household_rows("H1"), *household_rows(
        "H2", 地址="阳光花园5号楼", 特殊情况="")])
    result = run("ledger", source, "-o", tmp_path / "book", "--duplex", "--date", DATE,
                 "--quiet")
    assert result.exit_code == 0, result.output
    [ledger] = (tmp_path / "book").glob("*.pdf")
    # cover, its back, index, a blank before the first card, H1, its log, H2, its log
    assert page_count(ledger) == 8
    for page, household, number, visit in ((6, "H1", "001", "每月入户走访"),
                                           (8, "H2", "002", "每季度走访")):
        text = pdftotext(ledger, page)
        flat = text.replace(" ", "")
        for word in ("走访记录", "日期", "走访情况", "签名", f"户号{household}", f"编号{number}",
                     "走访频次", visit):
            assert word in flat, (page, word, text)
        image = render_page(ledger, page - 1, dpi=100, grey=True).convert("L")
        # ruled for handwriting: many rows of rules down the page
        column = round(100 / 25.4 * 100)
        dark = [y for y in range(image.height) if image.getpixel((column, y)) < 220]
        rules = [y for y in dark if y - 1 not in dark]
        assert len(rules) >= 15, rules
    config = tmp_path / "blank.toml"
    config.write_text('[duplex]\nverso = "blank"\n', encoding="utf-8")
    result = run("ledger", source, "-o", tmp_path / "plain", "--duplex", "--date", DATE,
                 "--quiet", "--config", config)
    assert result.exit_code == 0, result.output
    [plain] = (tmp_path / "plain").glob("*.pdf")
    assert page_count(plain) == 7  # no page after the last card: the printer leaves it
    assert pdftotext(plain, 6).strip() == ""


@pytest.mark.parametrize("length", [1000, 2000])
def test_a_long_note_prints_in_full(run: Run, tmp_path: Path, length: int) -> None:
    """Within the hostile-input limit (2,000 characters) a note is never cut: on A5 it
    continues on the next pages, where the member's number and name head it; the members
    after it and the ruled rows stay right."""
    note = "".join(f"第{i:03d}次：腿脚不便，需每周上门探望并协助购药。"
                   for i in range(120))[:length]
    out = tmp_path / "card.pdf"
    result = run("reprint", register(tmp_path, notes=note), "-o", out, "--household", "N1",
                 "--paper", "A5", "--date", DATE)
    assert result.exit_code == 0, result.output
    pages = words(out)
    assert len(pages) >= 2
    printed = ""
    for page in pages:
        table = [w for w in page if w.top > next(w.bottom for w in page if w.text == "序")]
        visit = next(w for w in page if w.text == "走访频次")
        mine = [w for w in table if len(w.text.removeprefix("备注：")) > 3
                and w.text.removeprefix("备注：") in note]
        assert all(w.bottom <= visit.top for w in mine)
        notes = [w.text.removeprefix("备注：") for w in mine]
        printed += "".join(notes)
        assert_no_overlaps(page)
    assert printed == note
    assert "…" not in pdftotext(out)
    everything = pdftotext(out).replace(" ", "")
    for name in NAMES[2:]:  # the members after the long note
        assert name.split("·")[0] in everything


def horizontal_rules(image: Image.Image, threshold: int, length: int) -> set[int]:
    """Rows of pixels holding a run darker than `threshold` at least `length` long."""
    data = image.point(lambda value: 0 if value < threshold else 255).tobytes()
    needle = b"\x00" * length
    return {y for y in range(image.height)
            if needle in data[y * image.width:(y + 1) * image.width]}


def thin(rows: set[int], most: int) -> set[int]:
    """The rows of bands at most `most` rows thick: rules, not filled areas."""
    kept: set[int] = set()
    for y in sorted(rows):
        if y - 1 in rows:
            continue
        band = {y}
        while max(band) + 1 in rows:
            band.add(max(band) + 1)
        if len(band) <= most:
            kept |= band
    return kept


@pytest.mark.parametrize("paper", ["A5", "A4"])
def test_a_black_and_white_copy_keeps_every_rule(run: Run, tmp_path: Path, paper: str) -> None:
    """A photocopier (300 dpi) drops what is lighter than about 20 % grey: every rule the
    card prints (the members table's rows and columns, the notes strip, the visit log)
    is still there on a grayscale raster thresholded at that."""
    source = write_csv(tmp_path / "r.csv", household_rows("H1"))
    out = tmp_path / "book"
    result = run("ledger", source, "-o", out, "--duplex", "--paper", paper, "--date", DATE,
                 "--quiet")
    assert result.exit_code == 0, result.output
    [ledger] = out.glob("*.pdf")
    dpi = 300
    for page in (5, 6):  # the card and its visit log
        colour = render_page(ledger, page - 1, dpi=dpi)
        image = colour.convert("L")  # its greys (the colour band and tab are no rules)
        image.paste(255, mask=colour.convert("HSV").getchannel("S").point(
            lambda value: 255 if value > 40 else 0).filter(ImageFilter.MaxFilter(5)))
        for turned, length in ((image, 30), (image.transpose(Image.Transpose.ROTATE_90), 20)):
            long = round(length / 25.4 * dpi)  # rows, then columns
            ink = thin(horizontal_rules(turned, 250, long), round(dpi / 25.4))  # ≤ 1 mm
            copy = horizontal_rules(turned, 204, long)
            lost = {y for y in ink if not {y - 2, y - 1, y, y + 1, y + 2} & copy}
            assert len(ink) >= 3  # rules are there to lose
            assert lost == set(), (page, length, sorted(lost))


def test_a_label_sheet_states_its_safe_margin(tmp_path: Path) -> None:
    from cardgen.config import load_sheet_file

    config = load_config()
    assert (config.stickers.sheets["a4-3x8"].safe, config.stickers.sheets["a4-3x8"].edge) == (2, 3)
    sheet = config.stickers.sheets["a4-3x8"]
    x, y, width, height = sheet.content(0)  # the top-left label: on the sheet's edge
    assert (x, y) == (3, 3) and width == pytest.approx(65) and height == pytest.approx(32.5)
    wide = tmp_path / "wide.toml"
    wide.write_text("page = [210, 297]\nlabel = [70, 37]\npitch = [70, 37]\nmargin = [0, 0]\n"
                    "columns = 3\nrows = 8\nsafe = 14\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="safe"):
        load_sheet_file(wide)
    edge = tmp_path / "edge.toml"
    edge.write_text("page = [210, 297]\nlabel = [70, 37]\npitch = [70, 37]\nmargin = [0, 0]\n"
                    "columns = 3\nrows = 8\nedge = 0\nsafe = 1\n", encoding="utf-8")
    assert load_sheet_file(edge).content(0) == (1, 1, 68, 35)


HEADS = ("阿卜杜热合曼·买买提明", "巴特尔·那仁格日勒", "古丽娜尔·吐尔逊")
FLAG_WORDS = ("低保", "残疾", "空巢", "独居", "电话变更")


@pytest.mark.parametrize("options", [(), ("--impose", "a4-2up", "--marks", "--bleed", "3")],
                         ids=["A5", "2-up"])
def test_the_a5_index_keeps_names_and_flag_words_whole(
        run: Run, tmp_path: Path, options: tuple[str, ...]) -> None:
    """The A5 index's 户主 column holds the longest part of a real name (阿卜杜热合曼·) on
    a line, and its flags (and the members table's) break between flags, never inside one
    (空巢、独 / 居)."""
    rows = []
    for index, (head, flags) in enumerate(zip(HEADS, ("低保、残疾", "空巢、独居、残疾", "电话变更"),
                                              strict=True)):
        first, *rest = household_rows(f"N{index}", 地址=f"阳光花园{index + 2}号楼",
                                      特殊情况=flags)
        rows += [{**first, "姓名": head}, *rest]
    source = write_csv(tmp_path / "r.csv", rows)
    result = run("ledger", source, "-o", tmp_path / "book", "--paper", "A5", "--date", DATE,
                 "--quiet", *options)
    assert result.exit_code == 0, result.output
    [ledger] = (tmp_path / "book").glob("*.pdf")
    pages = words(ledger)
    index = next(page for page in pages if any(w.text == "户主" for w in page))
    for head in HEADS:
        assert name_pieces(index, head), head
        assert_whole_parts(index, head)
    assert "阿卜杜热合曼·" in [w.text for w in index]
    for page in pages:
        for word in page:
            for piece in word.text.split("、"):
                assert not any(piece and piece in flag and piece != flag for flag in FLAG_WORDS), (
                    word.text, [w.text for w in page])


def test_a_sticker_sheets_lines_keep_clear_of_each_other(run: Run, tmp_path: Path) -> None:
    """The big flag word (低保), the 户号 line and the names under it: no word's box runs
    into the next line's (font boxes reach below a line, so this is a tighter 1 pt)."""
    samples = Path(__file__).resolve().parents[2] / "samples" / "households.csv"
    out = tmp_path / "stickers.pdf"
    result = run("stickers", samples, "-o", out, "--date", DATE)
    assert result.exit_code == 0, result.output
    for page in words(out):
        assert_no_overlaps(page, tolerance=1.5)
