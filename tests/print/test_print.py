"""Print production as a print shop checks it: boxes, bleed, marks, sheets, labels, PDF/A,
previews, and the user's own templates."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from click.testing import Result
from PIL import Image, ImageChops

from cardgen.config import load_config
from tests.conftest import (
    DATE,
    close_colour,
    dominant_colour,
    household_rows,
    page_count,
    pdftotext,
    render_page,
    suite_cache,
    write_csv,
)

Run = Callable[..., Result]
MM = 72 / 25.4


def boxes(path: Path) -> dict[str, list[float]]:
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0].obj
        return {name: [round(float(v) / MM, 1) for v in page[f"/{name}"]]
                for name in ("MediaBox", "BleedBox", "TrimBox") if f"/{name}" in page}


@pytest.fixture
def three(tmp_path: Path) -> Path:
    rows = [*household_rows("H1", 地址="阳光花园1号楼"),
            *household_rows("H2", 地址="阳光花园2号楼", 特殊情况="残疾、党员"),
            *household_rows("H3", 地址="阳光花园3号楼", 特殊情况="特困")]
    return write_csv(tmp_path / "three.csv", rows)


def test_a5_trim_box(run: Run, three: Path, tmp_path: Path) -> None:
    out = tmp_path / "a5.pdf"
    assert run("reprint", three, "-o", out, "--paper", "A5", "--date", DATE).exit_code == 0
    assert boxes(out)["TrimBox"] == [0, 0, 148, 210]


def test_bleed_boxes_and_the_tab_reaching_into_the_bleed(run: Run, three: Path,
                                                         tmp_path: Path) -> None:
    plain, bled = tmp_path / "plain.pdf", tmp_path / "bleed.pdf"
    run("reprint", three, "-o", plain, "--household", "H1", "--date", DATE)
    assert run("reprint", three, "-o", bled, "--household", "H1", "--bleed", "3",
               "--date", DATE).exit_code == 0
    found = boxes(bled)
    assert found["TrimBox"] == [0, 0, 210, 297]
    assert found["BleedBox"] == found["MediaBox"] == [-3, -3, 213, 300]
    image = render_page(bled, dpi=100)  # the whole media box: 3 mm of bleed on each side
    orange = load_config().palette["orange"].hex
    tab_top = 3 + 40 + 36  # bleed + the orange tab's place on the trimmed card
    assert close_colour(dominant_colour(image, (214.5, tab_top + 3, 216, tab_top + 27), 100),
                        orange)  # past the trim edge
    assert dominant_colour(image, (214.5, 200, 216, 290), 100) == "#FFFFFF"
    assert dominant_colour(image, (0, 0, 216, 2), 100) == "#FFFFFF"  # no band in the bleed
    # the data layer sits where it sits without bleed
    trimmed = image.crop((round(3 / 25.4 * 100), round(3 / 25.4 * 100),
                          round(213 / 25.4 * 100), round(300 / 25.4 * 100)))
    reference = render_page(plain, dpi=100).resize(trimmed.size)
    difference = sum(abs(a - b) for a, b in zip(trimmed.convert("L").tobytes(),
                                                reference.convert("L").tobytes(),
                                                strict=True)) / (trimmed.width * trimmed.height)
    assert difference < 3, difference


def test_crop_marks_in_a_slug_outside_the_bleed(run: Run, three: Path, tmp_path: Path) -> None:
    out = tmp_path / "marks.pdf"
    assert run("reprint", three, "-o", out, "--household", "H1", "--bleed", "3", "--marks",
               "--date", DATE).exit_code == 0
    found = boxes(out)
    assert found["MediaBox"] == [-13, -13, 223, 310] and found["TrimBox"] == [0, 0, 210, 297]
    image = render_page(out, dpi=150).convert("L")
    px = 150 / 25.4
    # a horizontal mark left of the top-left trim corner, in the slug (media 13 mm wide)
    for x in (3, 5, 7):
        column = [image.getpixel((round(x * px), round(13 * px) + dy)) for dy in (-1, 0, 1)]
        assert min(column) < 200, column
    assert image.getpixel((round(5 * px), round(30 * px))) > 250  # nothing else out there


def test_a4_2up_halves_the_sheets(run: Run, three: Path, tmp_path: Path) -> None:
    cards, sheets = tmp_path / "cards.pdf", tmp_path / "sheets.pdf"
    run("reprint", three, "-o", cards, "--paper", "A5", "--date", DATE)
    result = run("reprint", three, "-o", sheets, "--impose", "a4-2up", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert page_count(cards) == 3 and page_count(sheets) == 2
    assert boxes(sheets)["MediaBox"] == [0, 0, 297, 210]
    first = pdftotext(sheets, 1)
    assert "户号 H1" in first and "户号 H2" in first and "户号 H3" not in first
    subprocess.run(["qpdf", "--check", str(sheets)], check=True, capture_output=True)


def test_imposed_ledger_manifest_counts_sheets(run: Run, three: Path, tmp_path: Path) -> None:
    out = tmp_path / "book"
    assert run("ledger", three, "-o", out, "--impose", "a4-2up", "--date", DATE,
               "--quiet").exit_code == 0
    [ledger] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["ledgers"]
    pdf = out / ledger["file"]
    assert page_count(pdf) == 3  # cover + index, then 3 cards: 5 pages on 3 sheets
    for entry in ledger["households"]:
        assert f"户号 {entry['household_id']}" in pdftotext(pdf, entry["first_page"])


@pytest.mark.parametrize(("extra", "message"), [
    (("--impose", "a3-8up"), "a4-2up"),
    (("--impose", "a4-2up", "--paper", "A4"), "leave out --paper"),
])
def test_impossible_print_options_are_usage_errors(run: Run, three: Path, tmp_path: Path,
                                                   extra: tuple[str, ...], message: str) -> None:
    result = run("reprint", three, "-o", tmp_path / "x.pdf", *extra)
    assert result.exit_code == 2 and message in result.output


def test_an_imposition_that_does_not_fit_names_the_setting(run: Run, three: Path,
                                                          tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[impositions.tight]\nsheet = [297, 210]\ncard_paper = "A5"\n'
                      'slots = [[0, 0], [160, 0]]\n', encoding="utf-8")
    result = run("reprint", three, "-o", tmp_path / "x.pdf", "--config", config)
    assert result.exit_code == 2
    assert str(config) in result.output and "impositions.tight.slots[2]" in result.output


def test_sticker_sheet_with_tab_labels_and_flag_stickers(run: Run, three: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"
    result = run("stickers", three, "-o", out, "--date", DATE)
    assert result.exit_code == 0, result.output
    text = pdftotext(out)
    for expected in ("户号 H1", "户号 H2", "户号 H3", "低保", "残疾", "党员", "三无（特困）",
                     "张秀英", "橙", "编号 001"):
        assert expected in text, expected
    # H1: tab + 低保; H2: tab + 低保 残疾 党员 (the second member has none); H3: tab + 三无
    assert page_count(out) == 1
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    assert "Cardgen-Sans" in fonts


def test_skip_starts_on_a_partly_used_sheet(run: Run, three: Path, tmp_path: Path) -> None:
    out = tmp_path / "skip.pdf"
    assert run("stickers", three, "-o", out, "--skip", "4", "--date", DATE).exit_code == 0
    image = render_page(out, dpi=40)
    sheet = load_config().stickers.sheets["a4-3x8"]
    for position in range(4):  # used labels stay blank
        x, y = sheet.corner(position)
        assert dominant_colour(image, (x + 2, y + 2, x + 68, y + 35), 40) == "#FFFFFF"
    x, y = sheet.corner(4)
    assert dominant_colour(image, (x + 2, y + 2, x + 20, y + 35), 40) != "#FFFFFF"
    result = run("stickers", three, "-o", out, "--skip", "24")
    assert result.exit_code == 2 and "24 labels" in result.output


def test_a_label_sheet_file_with_wrong_numbers_names_file_and_field(
        run: Run, three: Path, tmp_path: Path) -> None:
    geometry = tmp_path / "my-labels.toml"
    geometry.write_text("page = [210, 297]\nlabel = [70, 37]\npitch = [70, 37]\n"
                        "margin = [0, 0]\ncolumns = 3\nrows = 9\n", encoding="utf-8")
    result = run("stickers", three, "-o", tmp_path / "x.pdf", "--sheet", geometry)
    assert result.exit_code == 2
    assert str(geometry) in result.output and "setting rows " in result.output
    geometry.write_text(geometry.read_text().replace("rows = 9", "rows = 8"))
    assert run("stickers", three, "-o", tmp_path / "x.pdf", "--sheet", geometry,
               "--date", DATE).exit_code == 0
    assert run("stickers", three, "-o", tmp_path / "x.pdf", "--sheet", "nope").exit_code == 2


def test_preview_png(run: Run, three: Path, tmp_path: Path) -> None:
    out = tmp_path / "card.png"
    result = run("preview", three, "--household", "H2", "-o", out, "--dpi", "60",
                 "--date", DATE)
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    width, height = image.size
    assert abs(width - 210 / 25.4 * 60) <= 1 and abs(height - 297 / 25.4 * 60) <= 1
    orange = load_config().palette["orange"].hex
    assert close_colour(dominant_colour(image.convert("RGB"), (208, 82, 210, 102), 60), orange)
    emergency = tmp_path / "em.png"
    run("preview", three, "--household", "H2", "-o", emergency, "--dpi", "60", "--emergency")
    moved = Image.open(emergency).convert("RGB")  # the tab on top (34 mm further per colour)
    assert close_colour(dominant_colour(moved, (60, 0, 80, 2), 60), orange)
    assert dominant_colour(moved, (208, 82, 210, 102), 60) == "#FFFFFF"


def test_pdfa_2b_metadata_and_reproducible(run: Run, three: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    for out in (first, second):
        assert run("reprint", three, "-o", out, "--pdf-variant", "pdf/a-2b",
                   "--date", DATE).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    with pikepdf.open(first) as pdf:
        assert str(pdf.Root.Lang) == "zh-CN"
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == str(pdf.docinfo["/Title"])
        assert pdf.pdf_version >= "1.7"
    subprocess.run(["qpdf", "--check", str(first)], check=True, capture_output=True)


def test_init_writes_a_working_starter(run: Run, three: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    result = run("init", folder)
    assert result.exit_code == 0
    config = folder / "cardgen.toml"
    assert "# The five colours" in config.read_text(encoding="utf-8")
    assert sorted(p.name for p in (folder / "templates").iterdir()) == [
        "cover.css.j2", "cover.html.j2", "frame.css.j2", "frame.html.j2", "kit.css.j2",
        "mingbai.html.j2", "roster.html.j2"]
    out = tmp_path / "x.pdf"
    assert run("reprint", three, "-o", out, "--config", config, "--templates",
               folder / "templates", "--date", DATE).exit_code == 0
    again = run("init", folder)
    assert again.exit_code == 2 and "--force" in again.output
    assert run("init", folder, "--force").exit_code == 0


def _own_templates(tmp_path: Path, change: Callable[[str], str]) -> Path:
    from cardgen.resources import TEMPLATES

    folder = tmp_path / "tpl"
    folder.mkdir()
    source = (TEMPLATES / "frame.html.j2").read_text(encoding="utf-8")
    (folder / "frame.html.j2").write_text(change(source), encoding="utf-8")
    return folder


def test_a_user_template_overrides_the_bundled_one(run: Run, three: Path,
                                                   tmp_path: Path) -> None:
    folder = _own_templates(tmp_path, lambda t: t.replace(
        "五色户卡 · 全员人口信息登记卡", "九原区 · 五色户卡"))
    out = tmp_path / "own.pdf"
    assert run("reprint", three, "-o", out, "--templates", folder, "--household", "H1",
               "--date", DATE).exit_code == 0
    text = pdftotext(out)
    assert "九原区 · 五色户卡" in text and "全员人口信息登记卡" not in text


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace("<body>", "<body>\n{{ no_such_thing.field }}"), "frame.html.j2, line"),
    (lambda t: t.replace("<body>", "<body>{% if %}"), "frame.html.j2, line"),
    (lambda t: t.replace("<body>", "<body>{{ ''.__class__.__mro__[1].__subclasses__() }}"),
     "frame.html.j2"),
    (lambda t: t.replace("<body>", '<body><img src="file:///etc/passwd">'), "may not load"),
    (lambda t: t.replace("<body>", '<body><img src="http://127.0.0.1:9/x.png">'),
     "may not load"),
])
def test_bad_or_hostile_user_templates_are_refused(run: Run, three: Path, tmp_path: Path,
                                                   change: Callable[[str], str],
                                                   expected: str) -> None:
    folder = _own_templates(tmp_path, change)
    out = tmp_path / "x.pdf"
    result = run("reprint", three, "-o", out, "--templates", folder, "--no-cache")
    assert result.exit_code == 1, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert not out.exists()


def _own_cover(tmp_path: Path, change: Callable[[str], str], css: str = "") -> Path:
    from cardgen.resources import TEMPLATES

    folder = tmp_path / "cover-tpl"
    folder.mkdir()
    source = (TEMPLATES / "cover.html.j2").read_text(encoding="utf-8")
    (folder / "cover.html.j2").write_text(change(source), encoding="utf-8")
    if css:
        (folder / "custom.css").write_text(css, encoding="utf-8")
    return folder


def test_an_office_cover_gets_its_counts_in_its_own_type(run: Run, three: Path,
                                                          tmp_path: Path) -> None:
    """The cover is a frame: an office's own words stay, and the counts cardgen draws take
    the size, weight, colour and alignment the template gives their places."""
    folder = _own_cover(tmp_path, lambda t: t.replace("<h1>户卡台账</h1>",
                                                      "<h1>九原区户卡台账</h1>"),
                        ".legend .count { color: #D62828; }\n"
                        ".cover-facts #cover-households { font-size: 20pt; }\n")
    out = tmp_path / "own"
    result = run("ledger", three, "-o", out, "--templates", folder, "--date", DATE,
                 "--quiet", "--no-cache")
    assert result.exit_code == 0, result.output
    [ledger] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["ledgers"]
    pdf = out / ledger["file"]
    cover = pdftotext(pdf, 1)
    assert "九原区户卡台账" in cover and re.search(r"\b3 ?户", cover) and DATE in cover
    from tests.card.test_fit import words

    page = words(pdf)[0]
    households = next(w for w in page if w.text.startswith("3"))  # 户数 3 户, at 20 pt
    date = next(w for w in page if w.text == DATE)  # 打印日期, as the template sets it
    assert households.bottom - households.top > 1.8 * (date.bottom - date.top)
    image = render_page(pdf, 0, dpi=100)
    red = [(x, y) for x in range(image.width // 2, image.width)
           for y in range(image.height // 3, image.height * 3 // 4)
           if close_colour("#{:02X}{:02X}{:02X}".format(*image.getpixel((x, y))), "#D62828",
                           40)]
    assert red and min(x for x, _ in red) > image.width * 0.75  # the counts, right-aligned


@pytest.mark.parametrize(("place", "named"), [('id="count-{{ row.key }}"', "count-"),
                                               ('id="cover-community"', "“cover-community”")],
                         ids=["a count", "the grid's words"])
def test_a_cover_without_a_place_is_refused(run: Run, three: Path, tmp_path: Path,
                                            place: str, named: str) -> None:
    """A custom cover lacking a place cardgen fills (a count, or one of the grid's words
    since cardgen draws them) is refused naming the file and the id; nothing is written."""
    folder = _own_cover(tmp_path, lambda t: t.replace(place, ""))
    out = tmp_path / "own"
    result = run("ledger", three, "-o", out, "--templates", folder, "--date", DATE,
                 "--no-cache")
    assert result.exit_code == 1, result.output
    assert "cover.html.j2" in result.output and named in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not list(out.glob("*.pdf"))


def test_an_older_cover_writing_the_grids_title_is_told_its_place(run: Run, three: Path,
                                                                  tmp_path: Path) -> None:
    """Covers made before cardgen drew the grid's words wrote {{ ledger.title }}: refused,
    naming the line and the place that takes it now (docs/templates.md)."""
    folder = _own_cover(tmp_path, lambda t: t.replace(
        '<div class="group place" id="cover-title">&nbsp;</div>',
        '<div class="group">{{ ledger.title }}</div>'))
    out = tmp_path / "own"
    result = run("ledger", three, "-o", out, "--templates", folder, "--date", DATE,
                 "--no-cache")
    assert result.exit_code == 1, result.output
    assert re.search(r"cover\.html\.j2, line \d+: “title” is no longer given", result.output)
    assert "“cover-title”" in result.output and "Traceback" not in result.output
    assert not out.exists() or not list(out.glob("*.pdf"))


def test_a_user_template_may_use_files_beside_it(run: Run, three: Path,
                                                 tmp_path: Path) -> None:
    folder = _own_templates(tmp_path, lambda t: t.replace(
        '<div class="content">', '<div class="content"><img src="logo.png" '
        'style="position:absolute;left:150mm;top:60mm;width:20mm">', 1))
    Image.new("RGB", (40, 40), (10, 120, 200)).save(folder / "logo.png")
    out = tmp_path / "logo.pdf"
    result = run("reprint", three, "-o", out, "--templates", folder, "--household", "H1",
                 "--no-cache", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert b"/Subtype /Image" in out.read_bytes() or b"/Image" in out.read_bytes()


def test_a_user_template_may_bring_its_own_font(run: Run, three: Path, tmp_path: Path) -> None:
    own = Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf")  # fonts-hanazono (setup.sh)
    folder = _own_templates(tmp_path, lambda t: t.replace(
        '<div class="content">', '<style>@font-face { font-family: OwnSerif; src: '
        'url(own.ttf) }</style><div class="content"><div style="position: absolute; '
        'left: 120mm; top: 30mm; font-family: OwnSerif">恒安社区网格办</div>', 1))
    shutil.copy(own, folder / "own.ttf")
    out = tmp_path / "own.pdf"
    result = run("reprint", three, "-o", out, "--templates", folder, "--household", "H1",
                 "--no-cache", "--date", DATE)
    assert result.exit_code == 0, result.output
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True,
                           check=True).stdout
    assert "OwnSerif" in fonts and fonts.count("Cardgen-Sans") == 2
    assert "恒安社区网格办" in pdftotext(out)


def test_what_the_engine_says_about_a_user_template_is_shown(run: Run, three: Path,
                                                            tmp_path: Path) -> None:
    folder = _own_templates(tmp_path, lambda t: t.replace(
        '<div class="content">', '<div class="content" style="colr: red">', 1))
    result = run("reprint", three, "-o", tmp_path / "x.pdf", "--templates", folder,
                 "--household", "H1", "--no-cache", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "warning: your templates:" in result.output and "colr" in result.output


def test_stickers_take_no_templates(run: Run, three: Path, tmp_path: Path) -> None:
    result = run("stickers", three, "-o", tmp_path / "s.pdf", "--templates", tmp_path)
    assert result.exit_code == 2 and "--templates" in result.output


def test_a_custom_paper_size_from_the_config(run: Run, three: Path, tmp_path: Path) -> None:
    config = tmp_path / "b5.toml"
    config.write_text("[paper.sizes.B5]\nwidth = 176\nheight = 250\nscale = 0.84\n",
                      encoding="utf-8")
    out = tmp_path / "b5.pdf"
    result = run("reprint", three, "-o", out, "--paper", "B5", "--config", config,
                 "--date", DATE)
    assert result.exit_code == 0, result.output
    assert boxes(out)["TrimBox"] == [0, 0, 176, 250]
    assert "户号 H1" in pdftotext(out) and page_count(out) == 3
    result = run("reprint", three, "-o", out, "--paper", "B6", "--config", config)
    assert result.exit_code == 2 and "B5" in result.output


# ---- fonts: renumbered subsets that still draw the right glyphs -------------------------

def _with_full_fonts(path: Path, out: Path) -> Path:
    """The PDF with each of cardgen's embedded subsets replaced by the whole font file,
    where a code is the glyph id by definition: the reference rendering."""
    from cardgen.layout.fonts import font_files

    files = font_files(load_config())
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                obj.FontFile3 = pdf.make_stream(files[str(obj.FontFamily)].read_bytes(),
                                                Subtype=pikepdf.Name.OpenType)
        pdf.save(out)
    return out


Contour = list[tuple[str, tuple[float, ...]]]


def _outline(draw: Callable[[Any], None], grid: int = 1) -> list[Contour]:
    """A glyph's contours as segments, its points on `grid`: the closing line drawn, lines
    of no length left out and a straight run of horizontal or vertical lines as one (how
    an outline is written changes nothing drawn)."""
    from fontTools.pens.recordingPen import RecordingPen

    pen = RecordingPen()
    draw(pen)
    contours: list[Contour] = []
    start: tuple[float, ...] = ()
    now: tuple[float, ...] = ()
    for op, points in pen.value:
        values = tuple(float(grid * round(v / grid)) for point in points for v in point)
        if op == "closePath":
            op, values = "lineTo", start
        if op == "moveTo":
            start = values
            contours.append([])
        elif op == "lineTo" and values == now:
            continue
        elif op == "lineTo" and contours[-1] and contours[-1][-1][0] == "lineTo":
            before = (contours[-1][-2][1] if len(contours[-1]) > 1 else start)[-2:]
            if any(before[axis] == now[axis] == values[axis] for axis in (0, 1)):
                contours[-1][-1] = ("lineTo", values)
                now = values
                continue
        contours[-1].append((op, values))
        now = values[-2:]
    return contours


def _greys(path: Path, tmp_path: Path) -> list[Image.Image]:
    """The first page as Ghostscript and poppler render it (grey, 100 dpi)."""
    gs, poppler = tmp_path / f"{path.stem}-gs.png", tmp_path / f"{path.stem}-poppler"
    subprocess.run(["gs", "-q", "-sDEVICE=pnggray", "-r100", "-dLastPage=1", "-o", str(gs),
                    str(path)], check=True)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", "-png", "-singlefile", str(path),
                    str(poppler)], check=True)
    return [Image.open(gs).convert("L"), Image.open(f"{poppler}.png").convert("L")]


def test_fonts_are_small_renumbered_subsets_that_draw_the_right_glyphs(
        run: Run, three: Path, tmp_path: Path) -> None:
    import io

    import uharfbuzz as hb
    from fontTools.cffLib import CFFFontSet

    from cardgen.layout.fonts import font_files
    from cardgen.pdf.subset import OUTLINE_GRID, read_tounicode, read_widths

    out = tmp_path / "one.pdf"
    assert run("reprint", three, "-o", out, "--household", "H2", "--date", DATE).exit_code == 0
    assert out.stat().st_size <= 40_000, out.stat().st_size
    files = font_files(load_config())
    with pikepdf.open(out) as pdf:
        fonts = [obj for obj in pdf.objects if isinstance(obj, pikepdf.Dictionary)
                 and obj.get("/Subtype") == "/Type0"]
        assert len(fonts) == 2
        for parent in fonts:
            font = parent.DescendantFonts[0]
            # a bare CID-keyed CFF: a reader finds a code's glyph by its CID, and every
            # code shows the outline of the glyph with that id in the full font
            program = font.FontDescriptor.FontFile3
            assert program.Subtype == "/CIDFontType0C" and len(program.read_bytes()) < 30_000
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(program.read_bytes()), None)
            top = cff.topDictIndex[0]
            by_cid = {int(name[3:]): name for name in top.charset if name.startswith("cid")}
            whole = hb.Font(hb.Face(hb.Blob(files[str(font.FontDescriptor.FontFamily)]
                                            .read_bytes())))
            # the codes it shows: its glyphs, each with its width and text (the ToUnicode
            # CMap, shared by both weights, holds the other weight's codes too)
            codes = sorted(by_cid)
            assert set(read_widths(list(font.W))) - {0} <= set(codes)
            assert set(codes) <= set(read_tounicode(parent.ToUnicode.read_bytes()))
            assert len(codes) > 20
            for code in codes:  # its points on the grid of OUTLINE_GRID font units
                assert _outline(top.CharStrings[by_cid[code]].draw) == _outline(
                    lambda pen, code=code, whole=whole: whole.draw_glyph_with_pen(code, pen),
                    OUTLINE_GRID), code
    # and two renderers draw it as with the whole fonts embedded but for the letters' edges
    # (the grid moves a point by 4 units at most: 0.06 pixel of 10 pt text at 100 dpi):
    # poppler's anti-aliased greys by less than a quarter, Ghostscript's black or white
    # pixels (no anti-aliasing) at under 3 % of the ink
    wholes = _greys(_with_full_fonts(out, tmp_path / "full.pdf"), tmp_path)
    gs, poppler = (ImageChops.difference(subset, whole).histogram() for subset, whole in
                   zip(_greys(out, tmp_path), wholes, strict=True))
    assert sum(poppler[64:]) == 0, max(i for i, n in enumerate(poppler) if n)
    ink = sum(wholes[0].histogram()[:128])
    assert sum(gs[64:]) < 0.03 * ink, (sum(gs[64:]), ink)


def test_a_missing_or_broken_font_file_is_refused(tmp_path: Path) -> None:
    from cardgen.errors import RenderRefused
    from cardgen.pdf.subset import open_face, subset_font

    with pytest.raises(RenderRefused) as missing:
        subset_font(tmp_path / "gone.otf", {1, 2})
    assert missing.value.code == "font.unreadable" and "gone.otf" in str(missing.value)
    broken = tmp_path / "broken.otf"
    broken.write_bytes(b"OTTO not really a font")
    with pytest.raises(RenderRefused) as not_a_font:
        open_face(broken)
    assert not_a_font.value.code == "font.unreadable"


def test_a_truetype_font_subset_is_renumbered_with_a_cid_to_gid_map() -> None:
    from cardgen.pdf.subset import TRUETYPE, subset_font

    hanazono = Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf")  # setup.sh
    subset = subset_font(hanazono, {5, 900, 3000})
    assert subset.kind == TRUETYPE and len(subset.program) < 50_000
    assert subset.new_glyphs == {0: 0, 5: 1, 900: 2, 3000: 3}
    table = subset.cid_to_gid_map()
    assert len(table) == 2 * 3001 and table[2 * 900:2 * 901] == b"\x00\x02"


def _engine_renumbered(data: bytes, swap_texts: bool = False) -> bytes:
    """A frame as an engine that renumbers its subsets would write it: each font an
    OpenType subset with new glyph ids, the content streams showing the new ids. With
    `swap_texts`, two glyphs' ToUnicode texts are swapped (a font that lies)."""
    import io

    import uharfbuzz as hb

    from cardgen.pdf.subset import read_tounicode, read_widths, tounicode_cmap

    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        maps = {}
        for name, font in page.Resources.Font.items():
            descendant = font.DescendantFonts[0]
            widths = read_widths(list(descendant.W))
            request = hb.SubsetInput()
            for glyph in widths:
                request.glyph_set.add(glyph)
            request.flags = hb.SubsetFlags.NO_LAYOUT_CLOSURE
            program = descendant.FontDescriptor.FontFile3
            plan = hb.SubsetPlan(hb.Face(hb.Blob(program.read_bytes())), request)
            new = dict(plan.old_to_new_glyph_mapping.items())
            program.write(bytes(plan.execute().blob.data))
            items: list[Any] = []
            for old in sorted(widths):
                items += [new[old], [widths[old]]]
            descendant.W = pikepdf.Array(items)
            texts = {new[old]: text for old, text in
                     read_tounicode(font.ToUnicode.read_bytes()).items()}
            if swap_texts:
                first, second = sorted(texts)[3:5]
                texts[first], texts[second] = texts[second], texts[first]
            font.ToUnicode.write(tounicode_cmap(texts))
            maps[name] = new
        ops, current = [], {}
        for instruction in pikepdf.parse_content_stream(page):
            operands, operator = list(instruction.operands), instruction.operator
            if str(operator) == "Tf":
                current = maps.get(str(operands[0]), {})
            if str(operator) == "TJ":
                operands = [pikepdf.Array([
                    pikepdf.String(b"".join(
                        current[int.from_bytes(bytes(item)[i:i + 2], "big")].to_bytes(2, "big")
                        for i in range(0, len(bytes(item)), 2)))
                    if isinstance(item, pikepdf.String) else item for item in operands[0]])]
            ops.append((operands, operator))
        page.contents_coalesce()
        page.Contents.write(pikepdf.unparse_content_stream(ops))
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def _shown_codes(data: bytes) -> list[bytes]:
    import io

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [bytes(item) for instruction in pikepdf.parse_content_stream(pdf.pages[0])
                if str(instruction.operator) == "TJ"
                for item in instruction.operands[0] if isinstance(item, pikepdf.String)]


def test_an_engine_that_renumbers_its_glyphs_is_read_back_glyph_by_glyph() -> None:
    from cardgen.errors import RenderRefused
    from cardgen.frame.render import Frame, Renderer
    from cardgen.layout.fonts import font_set
    from cardgen.pdf.prepare import prepare_pages

    config = load_config()
    faces = font_set(config).by_family()
    original, _places = Renderer(config).frame_pdf(Frame("orange", rows=10))
    renumbered = _engine_renumbered(original)
    assert _shown_codes(renumbered) != _shown_codes(original)
    assert _shown_codes(prepare_pages(renumbered, faces)) == _shown_codes(
        prepare_pages(original, faces))
    with pytest.raises(RenderRefused) as lying:
        prepare_pages(_engine_renumbered(original, swap_texts=True), faces)
    assert lying.value.code == "font.glyph_mismatch"


# ---- imposed sheets: marks, bleed, cut guides -----------------------------------------

def _dark(image: Image.Image, x_mm: float, y_mm: float, dpi: int) -> bool:
    """Whether a 3 x 3 pixel spot around a point (mm from the top-left) has ink."""
    px = dpi / 25.4
    x, y = round(x_mm * px), round(y_mm * px)
    return min(image.getpixel((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)) < 160


def test_2up_with_marks_and_bleed_grows_the_sheet_and_marks_every_card(
        run: Run, three: Path, tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.pdf", tmp_path / "marked.pdf"
    for out, extra in ((plain, ()), (marked, ("--bleed", "3", "--marks"))):
        result = run("reprint", three, "-o", out, "--household", "H1", "--household", "H2",
                     "--impose", "a4-2up", "--date", DATE, *extra)
        assert result.exit_code == 0, result.output
    # 297 + 2 x 10 mm of slug + 2 cards x 2 x 3 mm of bleed; 210 + 20 + 6
    found = boxes(marked)
    assert found["MediaBox"] == [0, 0, 329, 236]
    assert found["TrimBox"] == [13.5, 13, 315.5, 223]  # the two cards' trims, 6 mm apart
    assert found["BleedBox"] == [10.5, 10, 318.5, 226]
    assert boxes(plain)["MediaBox"] == [0, 0, 297, 210]
    dpi = 150
    image = render_page(marked, dpi=dpi).convert("L")
    # crop marks in the slug, in line with each card's trim edges, not inside any bleed
    for x in (13.5, 161.5, 167.5, 315.5):
        assert _dark(image, x, 5, dpi) and _dark(image, x, 231, dpi), x
    for y in (13, 223):
        assert _dark(image, 5, y, dpi) and _dark(image, 324, y, dpi), y
    assert not _dark(image, 164.5, 5, dpi)  # the gap between the cards' marks
    assert not _dark(image, 164.5, 226.5, dpi)  # no mark reaches into the bleed
    # the first card's (orange) tab bleeds past its right trim (161.5 mm) into the gap
    orange = load_config().palette["orange"].hex
    tab = 10 + 3 + (40 + 36) * 0.72  # slug + bleed + the orange tab's place on A5
    colour_image = render_page(marked, dpi=dpi)
    assert close_colour(dominant_colour(colour_image, (162, tab + 4, 164, tab + 16), dpi),
                        orange)
    assert dominant_colour(colour_image, (162, 150, 164, 200), dpi) == "#FFFFFF"
    with pikepdf.open(marked) as pdf:
        space = pdf.pages[0].Resources.ColorSpace.CgRegistration
        assert space[0] == "/Separation" and space[1] == "/All"
    assert "户号 H1" in pdftotext(marked) and "户号 H2" in pdftotext(marked)


def test_2up_cut_guides_sit_where_an_office_printer_prints(run: Run, three: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    assert run("reprint", three, "-o", out, "--household", "H1", "--household", "H2",
               "--impose", "a4-2up", "--date", DATE).exit_code == 0
    dpi = 150
    image = render_page(out, dpi=dpi).convert("L")
    for y in (6, 9, 201, 204):  # on the cut between the cards, 5 to 10 mm in
        assert _dark(image, 148.5, y, dpi), y
    for y in (1, 3, 207, 209):  # nothing in the border a printer cannot print
        assert not _dark(image, 148.5, y, dpi), y


def test_a_name_keyed_cff_font_keeps_its_glyph_ids() -> None:
    """No CID map exists for a name-keyed CFF font: its subset keeps glyph ids instead."""
    import uharfbuzz as hb

    from cardgen.pdf.subset import OPENTYPE_CFF, subset_font

    nimbus = Path("/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf")  # setup.sh
    subset = subset_font(nimbus, {36, 70})
    assert subset.kind == OPENTYPE_CFF and subset.program[:4] == b"OTTO"
    assert hb.Face(hb.Blob(subset.program)).glyph_count == 71


def test_previews_of_one_register_number_it_once(three: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk draws card after card from the register it keeps: a first print's numbers
    are worked out once (each of them sorted every grid), and again when the file changed."""
    import datetime as dt

    from cardgen.book import numbers as numbering
    from cardgen.pipeline import register
    from cardgen.pipeline.cards import preview

    loaded = register.load(three, load_config(), dt.date.fromisoformat(DATE),
                           cache=suite_cache())
    calls: list[int] = []
    counted = numbering.number_books

    def count(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return counted(*args, **kwargs)

    monkeypatch.setattr(register, "number_books", count)
    for household in ("H1", "H2", "H3"):
        preview(loaded, household, tmp_path / f"{household}.png", 30)
    assert len(calls) == 1
    assert abs(Image.open(tmp_path / "H3.png").size[0] - 210 / 25.4 * 30) <= 1
    three.write_text(three.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    preview(loaded, "H1", tmp_path / "again.png", 30)
    assert len(calls) == 2


def test_previews_with_a_book_check_it_once(run: Run, three: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With --book (the desk's), the register is checked against the book once, and again
    when the book's record is written anew; the numbers are the book's."""
    import datetime as dt

    from cardgen.data.select import Selection
    from cardgen.pipeline import register
    from cardgen.pipeline.cards import reprint

    book = tmp_path / "book"
    assert run("ledger", three, "-o", book, "--date", DATE).exit_code == 0
    loaded = register.load(three, load_config(), dt.date.fromisoformat(DATE),
                           cache=suite_cache())
    calls: list[Path | None] = []
    opened = register.open_book

    def count(loaded: Any, folder: Path | None, *args: Any, **kwargs: Any) -> Any:
        calls.append(folder)
        return opened(loaded, folder, *args, **kwargs)

    monkeypatch.setattr(register, "open_book", count)
    for household in ("H1", "H3"):
        reprint(loaded, Selection(households=(household,)), tmp_path / f"{household}.pdf",
                book=book)
    assert calls == [book]
    assert "003" in pdftotext(tmp_path / "H3.pdf")
    manifest = book / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b"\n")  # the record written anew
    reprint(loaded, Selection(households=("H2",)), tmp_path / "again.pdf", book=book)
    assert calls == [book, book]
