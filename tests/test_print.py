"""Print production as a print shop checks it: boxes, bleed, marks, sheets, labels, PDF/A,
previews, and the user's own templates."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from click.testing import Result
from PIL import Image

from cardgen.config import load_config
from tests.conftest import (
    DATE,
    close_colour,
    dominant_colour,
    household_rows,
    page_count,
    pdftotext,
    render_page,
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
    (("--impose", "a4-2up", "--bleed", "3"), "leave out --bleed"),
])
def test_impossible_print_options_are_usage_errors(run: Run, three: Path, tmp_path: Path,
                                                   extra: tuple[str, ...], message: str) -> None:
    result = run("reprint", three, "-o", tmp_path / "x.pdf", *extra)
    assert result.exit_code == 2 and message in result.output
    result = run("ledger", three, "-o", tmp_path / "book", "--impose", "a4-2up", "--duplex")
    assert result.exit_code == 2 and "--duplex" in result.output


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
    sheet = load_config().sheets["a4-3x8"]
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
    assert str(geometry) in result.output and "'rows'" in result.output
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
    assert Image.open(emergency).tobytes() != image.tobytes()


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
        "changes.css.j2", "changes.html.j2", "cover.css.j2", "cover.html.j2", "frame.css.j2",
        "frame.html.j2"]
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
