"""The printed card, checked as a reader sees it: text, pages, fonts and the tab's pixels."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cardgen.config import Config
from cardgen.frame.render import ENGINE_WARNINGS
from tests.conftest import (
    DATE,
    FEMALE_ID,
    HEADER,
    VALID_ID,
    close_colour,
    dominant_colour,
    household_rows,
    page_count,
    pdftotext,
    render_page,
    write_csv,
)

Run = Callable[..., Result]
DPI = 80


def five_colours(path: Path) -> Path:
    """One household of each colour, in the order red orange yellow blue green."""
    rows = [
        household_rows("R1", 特殊情况="社区矫正")[0],
        *household_rows("O1"),
        {**household_rows("Y1", 特殊情况="")[0], "身份证号": ""},
        {**household_rows("B1", 房屋状态="出租", 特殊情况="")[0], "身份证号": ""},
        {"户编号": "G1", "社区": "恒安社区", "网格": "第3网格", "地址": "阳光花园9号楼",
         "房屋状态": "空置"},
    ]
    return write_csv(path, rows)


@pytest.fixture
def one_household(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "one.csv", household_rows())


def reprint(run: Run, source: Path, out: Path, *extra: str) -> Result:
    return run("reprint", source, "-o", out, "--date", DATE, *extra)


def tab_box(config: Config, colour: str, emergency: bool) -> tuple[float, float, float, float]:
    """Where the bundled template puts a colour's tab on A4 (left, top, right, bottom; mm):
    30 × 12 mm, staggered 36 mm apart from 40 mm down the right edge, or 34 mm apart from
    8 mm right of the left margin (15 mm) along the top."""
    order = config.palette[colour].order
    if emergency:
        left = 15 + 8 + order * 34
        return left, 0, left + 30, 12
    top = 40 + order * 36
    return 210 - 12, top, 210, top + 30


def test_one_card_shows_the_household_masked(run: Run, one_household: Path,
                                             tmp_path: Path) -> None:
    out = tmp_path / "card.pdf"
    heard = len(ENGINE_WARNINGS.messages)  # what other tests' templates made it say
    result = reprint(run, one_household, out, "--household", "H001")
    assert result.exit_code == 0, result.output
    assert page_count(out) == 1
    text = pdftotext(out)
    for expected in ("户号 H001", "张秀英", "李明", "**************0071", "**************002X",
                     "橙色", "及时关注户", "依据：张秀英 低保", "每月入户走访", "编号 001", "常态",
                     "临时工作标注", "走访日期", "内部资料 注意保密", "阳光花园2号楼1单元302",
                     "低保", "大病", "残疾", "三无"):
        assert expected in text, expected
    assert VALID_ID not in text and FEMALE_ID not in text
    assert " 35 " in text  # age on the reference date, not the birth date
    assert "1991-01-01" not in text
    assert ENGINE_WARNINGS.messages[heard:] == []


def test_routine_tab_bleeds_off_the_right_edge_in_its_colour(
        run: Run, one_household: Path, tmp_path: Path, config: Config) -> None:
    out = tmp_path / "card.pdf"
    reprint(run, one_household, out)
    image = render_page(out, dpi=DPI)
    _left, top, right, bottom = tab_box(config, "orange", emergency=False)
    edge = (right - 2, top + 2, right, bottom - 2)
    assert close_colour(dominant_colour(image, edge, DPI), config.palette["orange"].hex)
    assert dominant_colour(image, (0, 0, 210, 3), DPI) == "#FFFFFF"


def test_emergency_tab_moves_to_the_top_edge(run: Run, one_household: Path, tmp_path: Path,
                                             config: Config) -> None:
    out = tmp_path / "card.pdf"
    result = reprint(run, one_household, out, "--emergency")
    assert result.exit_code == 0
    image = render_page(out, dpi=DPI)
    left, _top, right, _bottom = tab_box(config, "orange", emergency=True)
    assert close_colour(dominant_colour(image, (left + 2, 0, right - 2, 2), DPI),
                        config.palette["orange"].hex)
    assert dominant_colour(image, (207, 0, 210, 297), DPI) == "#FFFFFF"
    assert "应急" in pdftotext(out)


@pytest.mark.parametrize("emergency", [False, True])
def test_only_the_tab_touches_the_trim_edge(run: Run, tmp_path: Path, config: Config,
                                            emergency: bool) -> None:
    out = tmp_path / "five.pdf"
    extra = ("--emergency",) if emergency else ()
    assert reprint(run, five_colours(tmp_path / "five.csv"), out, *extra).exit_code == 0
    order = ["red", "orange", "yellow", "blue", "green"]
    for index, colour in enumerate(order):
        image = render_page(out, index, dpi=DPI)
        left, top, right, bottom = (round(v / 25.4 * DPI)
                                    for v in tab_box(config, colour, emergency))
        width, height = image.size
        border = [(x, y) for x in range(width) for y in (0, height - 1)] + \
                 [(x, y) for y in range(height) for x in (0, width - 1)]
        for x, y in border:
            if image.getpixel((x, y)) != (255, 255, 255):
                assert left - 1 <= x <= right and top - 1 <= y <= bottom, (colour, x, y)


def test_each_colour_prints_its_exact_hex_and_character(run: Run, tmp_path: Path,
                                                        config: Config) -> None:
    out = tmp_path / "five.pdf"
    assert reprint(run, five_colours(tmp_path / "five.csv"), out).exit_code == 0
    for index, colour in enumerate(["red", "orange", "yellow", "blue", "green"]):
        image = render_page(out, index, dpi=DPI)
        _left, top, right, bottom = tab_box(config, colour, emergency=False)
        found = dominant_colour(image, (right - 2, top + 2, right, bottom - 2), DPI)
        assert close_colour(found, config.palette[colour].hex, tolerance=3), (colour, found)
        text = pdftotext(out, index + 1)
        assert text.count(config.palette[colour].char) >= 3  # tab, badge and category name


def test_colours_stay_apart_in_black_and_white(run: Run, tmp_path: Path,
                                               config: Config) -> None:
    """Red and blue print as nearly the same grey: the tab patterns must tell them apart."""
    out = tmp_path / "five.pdf"
    reprint(run, five_colours(tmp_path / "five.csv"), out)
    tabs = {}
    for index, colour in enumerate(["red", "orange", "yellow", "blue", "green"]):
        image = render_page(out, index, dpi=100, grey=True).convert("L")
        left, top, right, bottom = (round(v / 25.4 * 100)
                                    for v in tab_box(config, colour, emergency=False))
        tabs[colour] = image.crop((left, top, right, top + (bottom - top) // 3))
    for a, b in itertools.combinations(tabs, 2):
        pixels = list(zip(tabs[a].tobytes(), tabs[b].tobytes(), strict=False))
        difference = sum(abs(p - q) for p, q in pixels) / len(pixels)
        assert difference > 8, (a, b, difference)


def test_twelve_members_fit_one_page_and_forty_continue(run: Run, tmp_path: Path) -> None:
    twelve = [{**household_rows("BIG")[0], "姓名": f"成员{i:02d}", "身份证号": "",
               "与户主关系": "户主" if i == 0 else "子"} for i in range(12)]
    forty = [{**row, "户编号": "HUGE", "姓名": f"人{i:02d}·阿不都"} for i, row in
             enumerate(twelve * 3 + twelve[:4])]
    source = write_csv(tmp_path / "big.csv", twelve + forty)
    out = tmp_path / "big.pdf"
    assert reprint(run, source, out, "--household", "BIG").exit_code == 0
    assert page_count(out) == 1
    assert reprint(run, source, out, "--household", "HUGE").exit_code == 0
    pages = page_count(out)
    assert pages >= 2
    text = pdftotext(out)
    for i in range(40):
        assert f"人{i:02d}·阿不都" in text
    last = pdftotext(out, pages)
    assert f"续页 {pages}/{pages}" in last and "户号 HUGE" in last


def test_vacant_dwelling_card(run: Run, tmp_path: Path, config: Config) -> None:
    vacant = {"户编号": "V1", "地址": "阳光花园1号楼", "房屋状态": "空置"}
    source = write_csv(tmp_path / "v.csv", [vacant])
    out = tmp_path / "v.pdf"
    assert reprint(run, source, out).exit_code == 0
    text = pdftotext(out)
    assert "空置房屋" in text and "绿色" in text and "房主" in text and "成员 0 人" in text


def test_minority_name_keeps_its_middle_dot(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "m.csv", [household_rows(姓名="阿依古丽·吐尔逊")[0]])
    out = tmp_path / "m.pdf"
    reprint(run, source, out)
    assert "阿依古丽·吐尔逊" in pdftotext(out)


def test_fonts_are_ours_embedded_and_the_pdf_is_sound(run: Run, one_household: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "card.pdf"
    reprint(run, one_household, out)
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts, "no fonts listed"
    for line in fonts:
        assert "Cardgen-Sans" in line, line
        assert " yes yes yes " in line, line  # embedded, subset, ToUnicode
    subprocess.run(["qpdf", "--check", str(out)], check=True, capture_output=True)


def test_same_input_and_date_give_identical_bytes(run: Run, one_household: Path,
                                                  tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.pdf", tmp_path / "b.pdf", tmp_path / "c.pdf"
    reprint(run, one_household, first)
    reprint(run, one_household, second)
    assert first.read_bytes() == second.read_bytes()
    run("reprint", one_household, "-o", other, "--date", "2026-12-01")
    assert first.read_bytes() != other.read_bytes()


def test_metadata_and_file_hold_no_personal_data(run: Run, one_household: Path,
                                                 tmp_path: Path) -> None:
    import pikepdf

    out = tmp_path / "card.pdf"
    reprint(run, one_household, out, "--household", "H001")
    with pikepdf.open(out) as pdf:
        info = {str(k): str(v) for k, v in pdf.docinfo.items()}
    assert info["/Title"] == "五色户卡 H001"
    blob = " ".join(info.values())
    assert "张秀英" not in blob and "0071" not in blob


def test_markup_and_template_syntax_in_data_print_literally(run: Run, tmp_path: Path) -> None:
    hostile = '<b>王</b>{{ 7+7 }}{% if 1 %}x{% endif %}'
    address = '</td><img src="file:///etc/passwd"><style>*{color:red}</style>'
    source = write_csv(tmp_path / "h.csv", [household_rows(姓名=hostile, 地址=address)[0]])
    out = tmp_path / "h.pdf"
    assert reprint(run, source, out).exit_code == 0
    text = pdftotext(out)
    assert "{{ 7+7 }}" in text and "<b>王</b>" in text and "{% if 1 %}" in text
    assert "<img" in text and "file:///etc/passwd" in text
    assert b"/Subtype /Image" not in out.read_bytes()


def test_style_injection_in_the_colour_column_is_refused(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "c.csv",
                       [household_rows(户卡颜色="red; background:url(http://127.0.0.1:9/x)")[0]])
    result = reprint(run, source, tmp_path / "c.pdf")
    assert result.exit_code == 1
    assert "no colour" in result.output
    assert not (tmp_path / "c.pdf").exists()


def test_character_beyond_the_font_stops_with_its_code_point(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rare.csv", [household_rows(姓名="王\U0002A6A5")[0]])
    out = tmp_path / "rare.pdf"
    result = reprint(run, source, out)
    assert result.exit_code == 1
    assert "U+2A6A5" in result.output and "H001" in result.output and "name" in result.output
    assert not out.exists()
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".rare*")) == []


def test_a_combining_mark_no_font_has_stops_too(run: Run, tmp_path: Path) -> None:
    """The typesetter draws a glyph per character: a mark the fonts lack would be a box."""
    source = write_csv(tmp_path / "mark.csv",
                       [household_rows(地址="Mu\u0308llerstraße 3")[0]])
    out = tmp_path / "mark.pdf"
    result = reprint(run, source, out)
    assert result.exit_code == 1
    assert "U+0308 (COMBINING DIAERESIS)" in result.output and "address" in result.output
    assert not out.exists()


def test_fallback_font_prints_the_rare_character(run: Run, tmp_path: Path) -> None:
    font = Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf")
    config = tmp_path / "cardgen.toml"
    config.write_text(f'[fonts]\nfallback = ["{font}"]\n', encoding="utf-8")
    source = write_csv(tmp_path / "rare.csv", [household_rows(姓名="王\U0002A6A5")[0]])
    out = tmp_path / "rare.pdf"
    result = reprint(run, source, out, "--config", config)
    assert result.exit_code == 0, result.output
    assert "王\U0002A6A5" in pdftotext(out)
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    assert "Cardgen-Fallback-1" in fonts
    assert not [m for m in ENGINE_WARNINGS.messages if "notdef" in m]


def test_a5_paper_gives_a5_pages(run: Run, one_household: Path, tmp_path: Path) -> None:
    import pikepdf

    out = tmp_path / "a5.pdf"
    assert reprint(run, one_household, out, "--paper", "A5").exit_code == 0
    with pikepdf.open(out) as pdf:
        box = [float(v) for v in pdf.pages[0].mediabox]
    assert abs(box[2] - 148 / 25.4 * 72) < 1 and abs(box[3] - 210 / 25.4 * 72) < 1
    assert "户号 H001" in pdftotext(out)


def test_header_only_hid_column_still_renders(run: Run, tmp_path: Path) -> None:
    """Household fields on the first row only, as registers often have them."""
    rows = household_rows()
    rows[1] = {k: v for k, v in rows[1].items() if k in ("户编号", "姓名", "与户主关系")}
    source = write_csv(tmp_path / "first-row.csv", rows, header=HEADER)
    out = tmp_path / "f.pdf"
    assert reprint(run, source, out).exit_code == 0
    assert "李明" in pdftotext(out)


def test_the_shipped_font_metrics_belong_to_the_shipped_fonts() -> None:
    """fonts/*.metrics (read on a first run instead of parsing the fonts) are current."""
    import marshal

    from cardgen import resources
    from cardgen.layout.fonts import REGULAR_FAMILY, _read_face, metrics_data, shipped_metrics

    for font in (resources.REGULAR_FONT, resources.BOLD_FONT):
        shipped = shipped_metrics(font)
        assert shipped is not None, f"stale {font.with_suffix('.metrics')}: run " \
            "python tools/extract_fonts.py --metrics"
        assert marshal.loads(shipped) == marshal.loads(metrics_data(_read_face(font,
                                                                              REGULAR_FAMILY)))


def test_tekun_fills_the_sanwu_slot_and_is_said_once(run: Run, tmp_path: Path) -> None:
    """特困 fills the 三无 slot (labelled so: layout/printed.py) and gets no chip besides (issue 24:
    a flag is said once)."""
    source = write_csv(tmp_path / "t.csv", household_rows("T1", 特殊情况="特困"))
    out = tmp_path / "t.pdf"
    assert reprint(run, source, out).exit_code == 0
    text = pdftotext(out)
    assert "三无（特困）" in text
    # the colour's reason in the band, the sticker's label, the member's row; no chip
    assert text.count("特困") == 3, text


def test_words_on_a_band_are_white_only_where_they_meet_wcag_aa(config: Config) -> None:
    """White 8 pt (A5: 6 pt) words need 4.5:1 on their band, else they are black."""
    from cardgen.layout.colours import AA_CONTRAST, contrast, ink_for

    inks = {key: ink_for(colour.hex) for key, colour in config.palette.items()}
    assert inks == {"red": "#FFFFFF", "orange": "#000000", "yellow": "#000000",
                    "blue": "#FFFFFF", "green": "#000000"}
    for key, colour in config.palette.items():
        assert contrast(colour.hex, inks[key]) >= AA_CONTRAST, key
    # mid colours (white 4.5–4.9:1, or under it): white only where it reaches 4.5:1
    for hex_colour in ("#767676", "#808080", "#2F80ED", "#E03131"):
        ink = ink_for(hex_colour)
        assert ink == "#000000" or contrast(hex_colour, ink) >= AA_CONTRAST, hex_colour


@pytest.mark.parametrize("paper", ["A4", "A5"])
def test_the_longest_residence_word_takes_one_line(run: Run, tmp_path: Path,
                                                    paper: str) -> None:
    """未落户 (people living here with no registered 户口, GB/T 31000) is the longest word
    the 居住 column prints: it fits on its member's line, not 未落 over a ruled row with 户
    alone in the next, which reads as a member of its own."""
    source = write_csv(tmp_path / "h.csv", household_rows(居住状态="未落户人员"))
    out = tmp_path / "h.pdf"
    assert reprint(run, source, out, "--paper", paper).exit_code == 0
    lines = [line for line in pdftotext(out).splitlines() if line.startswith("1 ")]
    assert len(lines) == 1 and "未落户" in lines[0].split(), lines
