"""A print shop's preflight (shared/PREFLIGHT.md), run on every kind of output cardgen makes:
boxes, fonts, colour operators, ink, sizes, structure, file size, the trim's free border.

Each output is made once for the module; each check is a test per output kind, with the
command anyone can run to repeat it.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image

from cardgen.cli.commands import cli
from tests.conftest import DATE, household_rows, write_csv

MM = 72 / 25.4

# Minimum sizes, measured on the content streams (issue 14 item 4): no text under 6 pt, the
# book number at least 7 pt and dark, no rule under 0.5 pt, and every grey rule at least
# 35 % grey (a grey level of 0.65 or darker) so that a laser or a photocopy keeps it.
MIN_TEXT_PT = 6.0
MIN_NUMBER_PT = 7.0
DARK = 0.2  # the book number's grey level at most (0 is black)
MIN_RULE_PT = 0.5
MAX_RULE_GREY = 0.65


@dataclass(frozen=True)
class Kind:
    """One kind of output: the command's arguments, and what preflight expects of it."""

    name: str
    args: tuple[str, ...]
    bleed_mm: float = 0.0
    max_bytes: int = 40_000
    # text-only windows (left, top, right, bottom in mm of the page as printed, from the
    # media box's top-left) that must print on the black plate alone
    text_windows: tuple[tuple[int, tuple[float, float, float, float]], ...] = ()
    ledger: bool = False
    imposed: bool = False
    marks: bool = False


# below the household block and left of the tabs: the members table, and the ruled strip
# with the footer (between them, the visit line is ruled in the card's colour)
A4_TABLE, A4_STRIP = (12.0, 125.0, 170.0, 214.0), (12.0, 233.0, 170.0, 290.0)


Window = tuple[float, float, float, float]


def _windows(page: int, x: float = 0.0, y: float = 0.0,
             scale: float = 1.0) -> tuple[tuple[int, Window], ...]:
    """The text windows of a card on `page`, its trim's top-left at (x, y) mm from the
    page's TrimBox, scaled."""
    found = []
    for left, top, right, bottom in (A4_TABLE, A4_STRIP):
        found.append((page, (left * scale + x, top * scale + y, right * scale + x,
                             bottom * scale + y)))
    return tuple(found)


KINDS = [
    Kind("reprint", ("reprint", "--household", "H1"), text_windows=_windows(1)),
    Kind("emergency", ("reprint", "--household", "H2", "--emergency"),
         text_windows=_windows(1)),
    Kind("a4-bleed", ("reprint", "--household", "H2", "--bleed", "3"), bleed_mm=3,
         text_windows=_windows(1)),
    Kind("a5", ("reprint", "--household", "H1", "--paper", "A5"),
         text_windows=_windows(1, scale=0.72)),
    Kind("a5-emergency", ("reprint", "--household", "H3", "--paper", "A5", "--emergency"),
         text_windows=_windows(1, scale=0.72)),
    Kind("a5-bleed-marks", ("reprint", "--household", "H1", "--paper", "A5", "--bleed", "3",
                            "--marks"), bleed_mm=3,
         text_windows=_windows(1, scale=0.72)),
    Kind("16k", ("reprint", "--household", "H2", "--paper", "16K"),
         text_windows=_windows(1, scale=0.88)),
    Kind("16k-emergency", ("reprint", "--household", "H1", "--paper", "16K", "--emergency"),
         text_windows=_windows(1, scale=0.88)),
    Kind("a4-2up", ("reprint", "--impose", "a4-2up"), max_bytes=60_000, imposed=True,
         text_windows=(*_windows(1, 0.5, 0, 0.72), *_windows(1, 148.5, 0, 0.72))),
    Kind("a4-2up-marks", ("reprint", "--impose", "a4-2up", "--marks"), max_bytes=60_000,
         imposed=True, marks=True,
         text_windows=(*_windows(1, scale=0.72), *_windows(1, 148, 0, 0.72))),
    Kind("duplex-ledger", ("ledger", "--duplex"), max_bytes=90_000, ledger=True,
         text_windows=(*_windows(5), *_windows(7))),
    Kind("a5-duplex-ledger", ("ledger", "--duplex", "--paper", "A5", "--emergency"),
         max_bytes=90_000, ledger=True, text_windows=_windows(5, scale=0.72)),
    Kind("pdf-a-2b", ("reprint", "--household", "H1", "--pdf-variant", "pdf/a-2b"),
         max_bytes=45_000, text_windows=_windows(1)),
    Kind("press", ("reprint", "--household", "H3", "--pdf-variant", "press", "--bleed", "3",
                   "--marks"), bleed_mm=3, text_windows=_windows(1)),
    Kind("stickers", ("stickers",), max_bytes=60_000),
    Kind("stickers-2x7", ("stickers", "--sheet", "a4-2x7"), max_bytes=60_000),
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("preflight")
    source = write_csv(folder / "households.csv", [
        *household_rows("H1", 地址="阳光花园1号楼"),
        *household_rows("H2", 地址="阳光花园2号楼", 特殊情况="残疾、党员"),
        *household_rows("H3", 地址="阳光花园3号楼", 特殊情况="", 房屋状态="出租")])
    made = {}
    for kind in KINDS:
        out = folder / (kind.name if kind.ledger else f"{kind.name}.pdf")
        result = CliRunner().invoke(cli, [*kind.args, str(source), "-o", str(out),
                                          "--date", DATE, "--quiet"] if kind.ledger else
                                    [*kind.args, str(source), "-o", str(out), "--date", DATE],
                                    catch_exceptions=False)
        assert result.exit_code == 0, (kind.name, result.output)
        made[kind.name] = next(out.glob("*.pdf")) if kind.ledger else out
    return made


def each_kind(kinds: list[Kind] = KINDS) -> Any:
    return pytest.mark.parametrize("kind", kinds, ids=[kind.name for kind in kinds])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


# ---- structure -------------------------------------------------------------------------

@each_kind()
def test_qpdf_and_strict_ghostscript_find_nothing(kind: Kind, outputs: dict[str, Path]) -> None:
    path = str(outputs[kind.name])
    checked = _run("qpdf", "--check", path)
    assert checked.returncode == 0 and "No syntax or stream encoding errors" in checked.stdout
    strict = _run("gs", "-q", "-dNOPAUSE", "-dBATCH", "-dPDFSTOPONERROR",
                  "-dPDFSTOPONWARNING", "-sDEVICE=nullpage", path)
    assert (strict.returncode, strict.stdout, strict.stderr) == (0, "", "")


# ---- boxes -----------------------------------------------------------------------------

def page_boxes(path: Path) -> list[dict[str, tuple[float, ...]]]:
    """`pdfinfo -box` of every page: box name -> (left, bottom, right, top) in points."""
    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(path)).stdout)[1])  # type: ignore[index]
    listing = _run("pdfinfo", "-box", "-f", "1", "-l", str(pages), str(path)).stdout
    found: list[dict[str, tuple[float, ...]]] = [{} for _ in range(pages)]
    for number, name, values in re.findall(r"Page\s+(\d+) (\w+Box):\s+([-\d. ]+)", listing):
        found[int(number) - 1][name] = tuple(float(v) for v in values.split())
    return found


def _within(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return (inner[0] >= outer[0] - 0.01 and inner[1] >= outer[1] - 0.01
            and inner[2] <= outer[2] + 0.01 and inner[3] <= outer[3] + 0.01)


@each_kind()
def test_trim_within_bleed_within_media_and_the_bleed_asked_for(
        kind: Kind, outputs: dict[str, Path]) -> None:
    for boxes in page_boxes(outputs[kind.name]):
        trim, bleed, media = boxes["TrimBox"], boxes["BleedBox"], boxes["MediaBox"]
        assert _within(trim, bleed) and _within(bleed, media), boxes
        margins = [trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2],
                   bleed[3] - trim[3]]
        assert all(abs(m - kind.bleed_mm * MM) < 0.01 for m in margins), margins


# ---- fonts -----------------------------------------------------------------------------

@each_kind()
def test_fonts_embedded_subset_with_tounicode_once_per_file(
        kind: Kind, outputs: dict[str, Path]) -> None:
    listing = _run("pdffonts", str(outputs[kind.name])).stdout.splitlines()[2:]
    assert listing
    names = []
    for line in listing:
        name, *_, emb, sub, uni, _object, _generation = line.split()
        assert (emb, sub, uni) == ("yes", "yes", "yes"), line
        names.append(name.split("+", 1)[1])
    assert sorted(names) == sorted(set(names)), names  # each font once


# ---- colour ----------------------------------------------------------------------------

@each_kind()
def test_greys_and_black_are_device_gray(kind: Kind, outputs: dict[str, Path]) -> None:
    """`qpdf --qdf --object-streams=disable f.pdf - | grep -aE ' (rg|RG)$'`: no grey RGB."""
    qdf = subprocess.run(["qpdf", "--qdf", "--object-streams=disable",
                          str(outputs[kind.name]), "-"], capture_output=True,
                         check=True).stdout.decode("latin-1")
    greys = [match[0] for match in re.finditer(
        r"(?<![\w.])([\d.]+) ([\d.]+) ([\d.]+) (rg|RG)\b", qdf)
        if float(match[1]) == float(match[2]) == float(match[3])]
    assert greys == []
    assert re.search(r"(?<![\w.])[\d.]+ g\b", qdf)


def ink_coverage(path: Path, windows: tuple[tuple[int, Window], ...],
                 folder: Path) -> list[list[float]]:
    """C, M, Y, K coverage of windows of pages (mm from a page's TrimBox's top-left corner),
    by Ghostscript's inkcov device on copies of the pages cropped to each window (one file a
    window; one Ghostscript for them all, which reads them in turn: a line each)."""
    cropped = []
    for index, (page, window) in enumerate(windows):
        cropped.append(folder / f"{path.stem}-{page}-window-{index}.pdf")
        with pikepdf.open(path) as pdf:
            left, _, _, top = (float(v) for v in pdf.pages[page - 1].TrimBox)
            box = [left + window[0] * MM, top - window[3] * MM, left + window[2] * MM,
                   top - window[1] * MM]
            target = pdf.pages[page - 1]
            target.MediaBox = target.CropBox = pikepdf.Array(box)
            for name in ("/TrimBox", "/BleedBox"):
                if name in target.obj:
                    del target.obj[name]
            del pdf.pages[page:]
            del pdf.pages[:page - 1]
            pdf.save(cropped[-1])
    result = subprocess.run(["gs", "-q", "-o", "-", "-sDEVICE=inkcov", *map(str, cropped)],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert len(lines) == len(windows), result.stdout
    return [[float(value) for value in line.split()[:4]] for line in lines]


@each_kind([kind for kind in KINDS if kind.text_windows])  # a label carries its colour
def test_text_prints_on_the_black_plate_alone(kind: Kind, outputs: dict[str, Path],
                                              tmp_path: Path) -> None:
    """`gs -o - -sDEVICE=inkcov`, on windows of each card's text."""
    coverages = ink_coverage(outputs[kind.name], kind.text_windows, tmp_path)
    for (page, window), (cyan, magenta, yellow, black) in zip(kind.text_windows, coverages,
                                                              strict=True):
        assert (cyan, magenta, yellow) == (0, 0, 0), (page, window)
        assert black > 0.005, (page, window)  # the window does hold text and rules


# ---- sizes -----------------------------------------------------------------------------

@dataclass
class Sizes:
    """What a page's content draws, in points as printed (through every matrix and form):
    each text run (size, grey level or None for a colour, its text) and each rule (width,
    grey level or None). A rule is a stroke (but marks, which are in registration colour),
    or a fill that WeasyPrint makes of a border: a thin rectangle, or a box less the box
    inside it."""

    text: list[tuple[float, float | None, str]] = field(default_factory=list)
    rules: list[tuple[float, float | None]] = field(default_factory=list)


Matrix = tuple[float, float, float, float, float, float]


def _multiply(a: Matrix, b: Matrix) -> Matrix:
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def _scale(m: Matrix) -> float:
    return math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))


def _grey(operands: list[Any]) -> float | None:
    values = [float(v) for v in operands]
    if len(values) == 1:
        return values[0]
    if len(values) == 3 and values[0] == values[1] == values[2]:
        return values[0]
    return None


def _decoder(resources: Any) -> dict[str, dict[int, str]]:
    """Font resource name -> glyph code -> the text it shows (its ToUnicode)."""
    from cardgen.pdf.subset import read_tounicode

    fonts = resources.get("/Font", {})
    return {str(name): read_tounicode(font.ToUnicode.read_bytes())
            for name, font in fonts.items() if "/ToUnicode" in font}


def _shown(operands: list[Any], codes: dict[int, str]) -> str:
    raw = b"".join(bytes(item) for item in (operands[0] if isinstance(
        operands[0], pikepdf.Array) else operands) if isinstance(item, pikepdf.String))
    return "".join(codes.get(int.from_bytes(raw[i:i + 2], "big"), "")
                   for i in range(0, len(raw) - 1, 2))


def _rule_of(subpaths: list[list[tuple[float, float]]], scale: float) -> float | None:
    """The width of a border drawn as a fill, or None for a shape that is no rule."""
    boxes = [(min(x for x, _ in sp), min(y for _, y in sp), max(x for x, _ in sp),
              max(y for _, y in sp)) for sp in subpaths if sp]
    if len(boxes) == 1:
        thin = min(boxes[0][2] - boxes[0][0], boxes[0][3] - boxes[0][1]) * scale
        return thin if 0 < thin < 3 else None
    if len(boxes) == 2:
        (a0, b0, a1, b1), (c0, d0, c1, d1) = boxes
        sides = [c0 - a0, d0 - b0, a1 - c1, b1 - d1]
        if all(side >= -0.01 for side in sides):
            widths = [side * scale for side in sides if side > 0.01]
            return min(widths) if widths and min(widths) < 3 else None
    return None


def measure(holder: Any, resources: Any, ctm: Matrix, sizes: Sizes) -> None:
    """Walk a content stream: text sizes and greys at each text-showing operator, rule
    widths and greys at each stroke and border fill."""
    stack: list[tuple[Matrix, float, bool, float | None, float | None]] = []
    width, registration = 1.0, False
    fill: float | None = 0.0
    stroke: float | None = 0.0
    text_matrix: Matrix = (1, 0, 0, 1, 0, 0)
    font_size, font = 0.0, ""
    codes = _decoder(resources)
    path: list[list[tuple[float, float]]] = []
    for instruction in pikepdf.parse_content_stream(holder):
        op, operands = str(instruction.operator), list(instruction.operands)
        if op == "q":
            stack.append((ctm, width, registration, fill, stroke))
        elif op == "Q":
            ctm, width, registration, fill, stroke = stack.pop()
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)  # type: ignore[arg-type]
        elif op == "w":
            width = float(operands[0])
        elif op == "CS":
            registration = str(operands[0]) == "/CgRegistration"
        elif op in ("G", "RG", "K"):
            registration, stroke = False, _grey(operands) if op != "K" else None
        elif op in ("g", "rg", "k"):
            fill = _grey(operands) if op != "k" else None
        elif op == "cs":
            fill = None
        elif op == "BT":
            text_matrix = (1, 0, 0, 1, 0, 0)
        elif op == "Tm":
            text_matrix = tuple(float(v) for v in operands)  # type: ignore[assignment]
        elif op == "Tf":
            font, font_size = str(operands[0]), float(operands[1])
        elif op in ("Tj", "TJ", "'", '"'):
            sizes.text.append((font_size * _scale(_multiply(text_matrix, ctm)), fill,
                               _shown(operands, codes.get(font, {}))))
        elif op == "re":
            x, y, w, h = (float(v) for v in operands)
            path.append([(x, y), (x + w, y + h)])
        elif op == "m":
            path.append([(float(operands[0]), float(operands[1]))])
        elif op in ("l", "c", "v", "y"):
            if path:
                path[-1].extend((float(operands[i]), float(operands[i + 1]))
                                for i in range(0, len(operands), 2))
        elif op in ("S", "s", "B", "B*", "b", "b*") and not registration:
            sizes.rules.append((width * _scale(ctm), stroke))
            path = []
        elif op in ("f", "F", "f*"):
            rule = _rule_of(path, _scale(ctm))
            if rule is not None:
                sizes.rules.append((rule, fill))
            path = []
        elif op == "n":
            path = []
        elif op == "Do":
            form = resources.XObject[str(operands[0])]
            if form.get("/Subtype") == "/Form":
                matrix = tuple(float(v) for v in form.get("/Matrix", [1, 0, 0, 1, 0, 0]))
                measure(form, form.get("/Resources", resources),
                        _multiply(matrix, ctm), sizes)  # type: ignore[arg-type]


def page_sizes(path: Path) -> Iterator[Sizes]:
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            sizes = Sizes()
            measure(page, page.Resources, (1, 0, 0, 1, 0, 0), sizes)
            yield sizes


@each_kind()
def test_no_text_or_rule_under_the_minimum(kind: Kind, outputs: dict[str, Path]) -> None:
    for number, sizes in enumerate(page_sizes(outputs[kind.name]), 1):
        if sizes.text:
            smallest = min(sizes.text)
            assert smallest[0] >= MIN_TEXT_PT, (number, smallest)
        if sizes.rules:
            assert min(width for width, _ in sizes.rules) >= MIN_RULE_PT, (number, min(
                sizes.rules))


@each_kind()
def test_rules_are_dark_enough_to_survive_a_photocopy(kind: Kind,
                                                      outputs: dict[str, Path]) -> None:
    """Every grey rule is at least 35 % grey (white, the paper's colour, is no ink)."""
    for number, sizes in enumerate(page_sizes(outputs[kind.name]), 1):
        light = [(width, grey) for width, grey in sizes.rules
                 if grey is not None and MAX_RULE_GREY < grey < 0.99]
        assert light == [], (number, light)


def test_a_config_cannot_print_rules_thinner_or_lighter_than_the_minimum(
        tmp_path: Path) -> None:
    """[card.lines] a hairline in 7 % grey prints 0.5 pt wide and 35 % grey, as a laser
    or a photocopy keeps it."""
    config = tmp_path / "light.toml"
    config.write_text('[card.lines]\nfact = { width = 0.05, colour = "#EEEEEE" }\n'
                      'chip = { width = 0.05, colour = "#F4F4F4", radius = 2 }\n',
                      encoding="utf-8")
    source = write_csv(tmp_path / "r.csv", household_rows("H1"))
    out = tmp_path / "card.pdf"
    result = CliRunner().invoke(cli, ["reprint", str(source), "-o", str(out), "--household",
                                      "H1", "--date", DATE, "--config", str(config)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [sizes] = page_sizes(out)
    assert min(width for width, _ in sizes.rules) >= MIN_RULE_PT, min(sizes.rules)
    light = [(width, grey) for width, grey in sizes.rules
             if grey is not None and MAX_RULE_GREY < grey < 0.99]
    assert light == []


BOOK_NUMBER = re.compile(r"编号 ?\d{3,4}")


@each_kind()
def test_the_book_number_is_7_pt_and_dark(kind: Kind, outputs: dict[str, Path]) -> None:
    """Every printed book number (编号 NNN) is 7 pt or more; each card page has one in
    black or near it (its footer; the band's stands on the colour)."""
    pages = list(page_sizes(outputs[kind.name]))
    numbered = 0
    for number, sizes in enumerate(pages, 1):
        found = [(size, grey) for size, grey, text in sizes.text if BOOK_NUMBER.search(text)]
        assert all(size >= MIN_NUMBER_PT for size, _ in found), (number, found)
        if found:
            numbered += 1
            if not kind.name.startswith("stickers"):
                assert any(grey is not None and grey <= DARK for _, grey in found), (
                    number, found)
    assert numbered, "no book number found"


# ---- the trim's border -----------------------------------------------------------------

def dark_near_trim(image: Image.Image, trim_mm: tuple[float, float, float, float], dpi: int,
                   border_mm: float, edges: str = "ltrb", allowed: tuple[str, ...] = (),
                   exempt: tuple[tuple[float, float, float, float], ...] = ()
                   ) -> list[tuple[int, int]]:
    """Pixels darker than light grey in the outer `border_mm` inside the trim (left, top,
    right, bottom of the trim in mm from the image's top-left), on the `edges` named
    (l, t, r, b), but for the `allowed` colours (the tab's, as #RRGGBB within 8 levels)
    and the `exempt` areas (mm, likewise: an imposed sheet's cut guides)."""
    px = dpi / 25.4
    left, top, right, bottom = (round(v * px) for v in trim_mm)
    border = round(border_mm * px)
    areas = {"l": (left, top, left + border, bottom), "r": (right - border, top, right, bottom),
             "t": (left, top, right, top + border), "b": (left, bottom - border, right, bottom)}
    colours = [tuple(int(hex_[i:i + 2], 16) for i in (1, 3, 5)) for hex_ in allowed]
    spared = [tuple(round(v * px) for v in area) for area in exempt]
    rgb = image.convert("RGB")
    found = []
    for edge in edges:
        x0, y0, x1, y1 = areas[edge]
        for x in range(max(x0, 0), min(x1, rgb.width)):
            for y in range(max(y0, 0), min(y1, rgb.height)):
                pixel = rgb.getpixel((x, y))
                assert isinstance(pixel, tuple)
                if sum(pixel) / 3 < 200 and not any(
                        all(abs(p - c) <= 8 for p, c in zip(pixel, colour, strict=True))
                        for colour in colours) and not any(
                        a <= x <= c and b <= y <= d for a, b, c, d in spared):
                    found.append((x, y))
    return found


def render_crisp(path: Path, index: int, dpi: int) -> Image.Image:
    """A page as pixels, its paths drawn without anti-aliasing (so the tab's edge is its
    colour or white, nothing in between)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        return document[index].render(scale=dpi / 72, no_smoothpath=True).to_pil().convert(
            "RGB")
    finally:
        document.close()


Area = tuple[float, float, float, float]


def card_trims(kind: Kind, path: Path) -> list[tuple[list[Area], list[Area]]]:
    """Per page: each card's trim (mm from the rendered page's top-left: the media box's),
    and the areas to spare (cut guides on an imposed sheet without marks)."""
    from cardgen.config import load_config
    from cardgen.pdf.compose import plan_sheet

    found = []
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            media = [float(v) for v in page.MediaBox]
            trims = [tuple(float(v) for v in page.TrimBox)]
            spare: list[Area] = []
            if kind.imposed:
                plan = plan_sheet(load_config().papers.impositions["a4-2up"], (148 * MM, 210 * MM),
                                  kind.bleed_mm * MM, kind.marks)
                trims = [(x, y, x + 148 * MM, y + 210 * MM) for x, y in plan.places]
                # cut guides lie on the cut between the cards, a crop mark on the line of
                # a neighbour's edge: spared, as far as their line reaches
                reach = 0.3 if kind.marks else 1.0
                spare = [((min(x0, x1) - media[0]) / MM - reach,
                          (media[3] - max(y0, y1)) / MM - reach,
                          (max(x0, x1) - media[0]) / MM + reach,
                          (media[3] - min(y0, y1)) / MM + reach)
                         for x0, y0, x1, y1 in plan.marks]
            found.append(([((x0 - media[0]) / MM, (media[3] - y1) / MM, (x1 - media[0]) / MM,
                            (media[3] - y0) / MM) for x0, y0, x1, y1 in trims], spare))
    return found


TAB_COLOURS = ("#D62828", "#F08C00", "#F2C500", "#1E6FD9", "#2E9E4F")


@each_kind([kind for kind in KINDS if not kind.name.startswith("stickers")])
def test_nothing_but_the_tabs_colour_near_the_trim(kind: Kind,
                                                   outputs: dict[str, Path]) -> None:
    """The safe zone on the raster, every page: in the outer 2.5 mm inside each card's
    trim nothing dark but a tab's own colour (its character, ring and pattern sit 3 mm or
    more inside the trim, the character clear of an office printer's 5 mm)."""
    path = outputs[kind.name]
    for index, (trims, spare) in enumerate(card_trims(kind, path)):
        image = render_crisp(path, index, 100)
        for trim in trims:
            dark = dark_near_trim(image, trim, 100, 2.5, allowed=TAB_COLOURS, exempt=tuple(spare))
            assert dark == [], (index + 1, trim, dark[:5], len(dark))


def test_the_tab_character_sits_clear_of_an_office_printers_margin(
        outputs: dict[str, Path]) -> None:
    """The tab's ring and character (black) sit clear of the outer 5 mm an office printer
    does not print, on the tab's own edge (right in routine, top in emergency); its colour
    and pattern may reach in."""
    for name, edge in (("reprint", "r"), ("emergency", "t"), ("a5", "r"),
                       ("a5-emergency", "t"), ("16k", "r")):
        image = render_crisp(outputs[name], 0, 150)
        width, height = image.size
        band = round(5 * 150 / 25.4)
        area = ((width - band, 0, width, height) if edge == "r" else (0, 0, width, band))
        black = [(x, y) for x in range(area[0], area[2]) for y in range(area[1], area[3])
                 if max(image.getpixel((x, y))) < 90]  # type: ignore[arg-type]
        assert black == [], (name, black[:5])
        ring = [(x, y) for x in range(area[0] - band, area[0]) for y in range(height)
                if max(image.getpixel((x, y))) < 90] if edge == "r" else [
                (x, y) for x in range(width) for y in range(band, 2 * band)
                if max(image.getpixel((x, y))) < 90]  # type: ignore[arg-type]
        assert ring, name  # the ring is there, just inside


def test_label_ink_keeps_inside_the_die_cut_and_off_the_sheet_edge(
        outputs: dict[str, Path]) -> None:
    """Each label's content sits its sheet's safe margin inside the die-cut, and no ink
    comes within the sheet's edge margin (3 mm) of the paper's edge."""
    from cardgen.config import load_config

    config = load_config()
    for kind, name in (("stickers", "a4-3x8"), ("stickers-2x7", "a4-2x7")):
        sheet = config.stickers.sheets[name]
        image = render_crisp(outputs[kind], 0, 100)
        px = 100 / 25.4
        ink = {(x, y) for x in range(image.width) for y in range(image.height)
               if min(image.getpixel((x, y))) < 245}  # type: ignore[type-var]
        assert ink
        edge = sheet.edge * px - 1
        assert not [p for p in ink if p[0] < edge or p[1] < edge or p[0] > image.width - edge
                    or p[1] > image.height - edge], kind
        for position in range(sheet.labels):
            x, y = sheet.corner(position)
            cx, cy, cw, ch = sheet.content(position)
            label = (x * px, y * px, (x + sheet.label[0]) * px, (y + sheet.label[1]) * px)
            inner = (cx * px - 1, cy * px - 1, (cx + cw) * px + 1, (cy + ch) * px + 1)
            outside = [p for p in ink if label[0] <= p[0] < label[2] and label[1] <= p[1] < label[3]
                       and not (inner[0] <= p[0] <= inner[2] and inner[1] <= p[1] <= inner[3])]
            assert outside == [], (kind, position, outside[:5])


# ---- file size -------------------------------------------------------------------------

@each_kind()
def test_file_size(kind: Kind, outputs: dict[str, Path]) -> None:
    assert outputs[kind.name].stat().st_size <= kind.max_bytes, outputs[kind.name].stat()


def test_a_1000_household_ledger_takes_at_most_2_5_kb_a_card(tmp_path: Path) -> None:
    """Issue 14's budget. Its cards drawn once, here (--jobs 1: the same bytes as worker
    processes draw, tests/book/test_ledger.py's test_worker_processes_make_the_same_bytes;
    and as a rerun from the cache, tests/print/test_cache.py's
    test_rerun_uses_the_cache_and_gives_the_same_bytes)."""
    from cardgen.samplegen import generate, to_csv

    source = tmp_path / "households.csv"
    source.write_text(to_csv(list(generate(1000, seed=3, grids=1))), encoding="utf-8")
    result = CliRunner().invoke(cli, ["ledger", str(source), "-o", str(tmp_path / "book"),
                                      "--date", DATE, "--quiet", "--jobs", "1"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [pdf] = (tmp_path / "book").glob("*.pdf")
    assert pdf.stat().st_size <= 1000 * 2_500, pdf.stat().st_size


# the largest of each kind a user can ask for: emergency mode on A5 cards imposed two to an A4
# sheet, with crop marks and the widest bleed, is the largest file of every variant
LARGEST = ("--emergency", "--paper", "A5", "--impose", "a4-2up", "--marks", "--bleed", "10")


@pytest.mark.parametrize("options", [
    (), ("--emergency",), LARGEST, ("--pdf-variant", "pdf/a-2b"),
    ("--pdf-variant", "pdf/a-2b", *LARGEST), ("--pdf-variant", "press", *LARGEST),
], ids=["routine", "emergency", "largest", "pdf-a-2b", "pdf-a-2b-largest", "press-largest"])
def test_the_largest_sample_reprint_stays_small(tmp_path: Path, options: tuple[str, ...]) -> None:
    """The bundled register's largest one-card reprint (G01-0004, 12 members: 237 glyphs of
    two fonts) within issue 14's and 24's 40 KB, in every variant and on every paper. The
    object and cross-reference streams and three-decimal frames took it from 47.6 KB to
    44.8 KB; tagging (issue 24: 152 structure elements, their parent tree, marked content)
    and the XMP metadata PDF/UA asks for put 3.2 KB back, 48.0 KB; one Font DICT a subset
    (0.24 KB), zlib level 9 (0.13 KB) and one ToUnicode CMap for both fonts (0.55 KB) made
    it 47.1 KB, 32.5 KB of it outlines. The outlines' points on a grid of 8 font units
    (cardgen/pdf/subset.py's OUTLINE_GRID: 0.03 pt of 8 pt text at most) take them to
    24.3 KB, and the frame's path points two decimals of a pixel 0.3 KB more: 38.6 KB
    (emergency mode: 39.3 KB; LARGEST 39.9 KB). --pdf-variant pdf/a-2b was 40.6 KB (LARGEST
    41.9 KB) with its 2 KB of unfiltered XMP and its sRGB profile: its XMP down to what PDF/A
    and PDF/UA ask for (1.3 KB) and a variant's streams compressed by libdeflate (1.3 KB
    less) make it 38.6 KB (LARGEST 39.9 KB; press 38.7 KB, was 40.0 KB). The PDF/A files
    pass page-validation as PDF/A-2b and PDF/UA-1, imposed and with marks too."""
    samples = Path(__file__).parents[2] / "samples" / "households.csv"
    out = tmp_path / "card.pdf"
    result = CliRunner().invoke(cli, ["reprint", str(samples), "-o", str(out), "--household",
                                      "G01-0004", "--date", "2026-11-30", *options],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.stat().st_size <= 40_000, out.stat().st_size
    if "pdf/a-2b" in options:
        import page

        for profile in ("2b", "ua1"):
            report = page.validate_pdf(str(out), profile=profile)
            assert {(f.rule_id, f.message) for f in report.failures} == set(), profile


@each_kind()
def test_the_fonts_share_one_tounicode_cmap(kind: Kind, outputs: dict[str, Path]) -> None:
    """Regular and bold number their glyphs alike, so one CMap serves both fonts (0.5 KB
    of a one-card reprint); every glyph a font embeds is in it."""
    import io

    from fontTools.cffLib import CFFFontSet

    from cardgen.pdf.subset import read_tounicode

    with pikepdf.open(outputs[kind.name]) as pdf:
        fonts = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                 and o.get("/Subtype") == "/Type0"]
        assert fonts
        assert len({font.ToUnicode.objgen for font in fonts}) == 1
        texts = read_tounicode(fonts[0].ToUnicode.read_bytes())
        for font in fonts:
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(
                font.DescendantFonts[0].FontDescriptor.FontFile3.read_bytes()), None)
            shown = {int(glyph.removeprefix("cid")) for glyph in cff[cff.fontNames[0]].charset[1:]}
            assert shown and shown <= set(texts), shown - set(texts)


def test_fonts_whose_codes_disagree_keep_their_own_cmaps() -> None:
    from cardgen.pdf.compose import shared_texts

    assert shared_texts([{5: "户", 7: "", 9: "号"}, {5: "户", 11: "卡", 7: "x"}]) == {
        5: "户", 9: "号", 11: "卡", 7: "x"}
    assert shared_texts([{5: "户"}, {5: "号"}]) is None


# ---- PDF/A-2b by a real validator, and what a viewer shows ---------------------------------

def test_pdf_a_2b_passes_page_validation(outputs: dict[str, Path]) -> None:
    """`python -c "import page; print(page.validate_pdf('f.pdf', profile='2b').failures)"`:
    every rule, the glyph-width one too (PDFA2B-TRUETYPE-GLYPH-WIDTH-001: page-validation 0.11
    reads every CID-keyed CFF glyph's width with the first Font DICT's nominalWidthX, so it
    failed while the subsets kept Noto's Font DICTs; one Font DICT reads the same either way)."""
    import page

    report = page.validate_pdf(str(outputs["pdf-a-2b"]), profile="2b")
    failed = {(f.rule_id, f.message) for f in report.failures}
    assert failed == set(), failed
    assert report.rules.total > 100  # it did check


def test_the_output_intent_is_a_small_srgb_profile(outputs: dict[str, Path]) -> None:
    """The PDF/A output intent's profile is sRGB as WeasyPrint's sRGB2014.icc is (every
    colour of a ramp and the palette converts to itself), in under 1 KB, not 3 KB."""
    import io
    from importlib.util import find_spec

    from PIL import Image, ImageCms

    with pikepdf.open(outputs["pdf-a-2b"]) as pdf:
        [intent] = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        ours = intent.DestOutputProfile.read_bytes()
    assert len(ours) < 1000, len(ours)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(ours))
    assert (profile.profile.device_class, profile.profile.xcolor_space) == ("mntr", "RGB ")
    spec = find_spec("weasyprint")
    assert spec is not None and spec.origin is not None
    reference = ImageCms.ImageCmsProfile(str(Path(spec.origin).parent / "pdf" / "sRGB2014.icc"))
    colours = [(v, v, v) for v in range(256)] + [(v, 255 - v, v * 7 % 256) for v in range(256)]
    colours += [(0xE5, 0x39, 0x35), (0xF0, 0x8C, 0x00), (0xF9, 0xD7, 0x1C), (0x1E, 0x6F, 0xD9)]
    ramp = Image.new("RGB", (len(colours), 1))
    ramp.putdata(colours)
    for intent_number in (0, 1):  # perceptual, relative colorimetric
        moved = ImageCms.applyTransform(ramp, ImageCms.buildTransform(
            profile, reference, "RGB", "RGB", renderingIntent=intent_number))
        assert moved is not None and list(moved.get_flattened_data()) == colours


def test_the_widths_agree_with_the_cff_per_font_dict(outputs: dict[str, Path]) -> None:
    """Every embedded glyph's /W width is the width its charstring gives with its own Font
    DICT's nominalWidthX (fontTools), and each subset has one Font DICT (so a reader that
    takes the first Font DICT's, as page-validation 0.11 does, reads the same)."""
    import io

    from fontTools.cffLib import CFFFontSet
    from fontTools.pens.basePen import NullPen

    checked = 0
    with pikepdf.open(outputs["pdf-a-2b"]) as pdf:
        for font in (o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                     and o.get("/Subtype") == "/CIDFontType0"):
            widths: dict[int, float] = {}
            w = list(font.get("/W", []))
            while w:
                first, rest = int(w[0]), w[1]
                if isinstance(rest, pikepdf.Array):
                    widths.update({first + i: float(v) for i, v in enumerate(rest)})
                    w = w[2:]
                else:
                    widths.update({c: float(w[2]) for c in range(first, int(rest) + 1)})
                    w = w[3:]
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(font.FontDescriptor.FontFile3.read_bytes()), None)
            top = cff[cff.fontNames[0]]
            assert len(top.FDArray) == 1
            for glyph in top.charset[1:]:
                charstring = top.CharStrings[glyph]
                charstring.draw(NullPen())  # sets .width from its FD's Private DICT
                cid = int(glyph.removeprefix("cid"))
                assert charstring.width == widths.get(cid, float(font.get("/DW", 1000))), cid
                checked += 1
    assert checked > 10


@each_kind()
def test_a_viewer_shows_the_title(kind: Kind, outputs: dict[str, Path]) -> None:
    with pikepdf.open(outputs[kind.name]) as pdf:
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.docinfo.Title)


def test_a_stream_whose_data_ends_in_cr_keeps_its_length(tmp_path: Path) -> None:
    """Data ending in CR (compressed data does, one stream in 256) is followed by CR LF:
    LF alone would read as one CR LF end-of-line, and /Length as a byte too many."""
    import io

    from cardgen.pdf.writer import Writer

    out = io.BytesIO()
    writer = Writer(out)
    writer.new_stream(b"", b"q Q\r", compress=False)
    assert b"stream\nq Q\r\r\nendstream" in out.getvalue()
    out = io.BytesIO()
    Writer(out).new_stream(b"", b"q Q", compress=False)
    assert b"stream\nq Q\nendstream" in out.getvalue()


def test_a_variant_compresses_smaller_and_reads_the_same() -> None:
    """A variant's writer (`smallest`) compresses what it writes, and Flate data that comes
    compressed already (a prepared frame), by libdeflate: fewer bytes, the same content."""
    import io
    import zlib

    from cardgen.pdf.writer import Writer

    content = b"".join(b"BT /F1 8 Tf %d 700 Td <00%02x> Tj ET\n" % (n, n % 200)
                       for n in range(600))
    made = {}
    for smallest in (False, True):
        out = io.BytesIO()
        writer = Writer(out, smallest)
        page = writer.new_stream(b"", content)
        frame = writer.stream(writer.reserve(), b" /Filter /FlateDecode",
                              zlib.compress(content, 9))
        pages = writer.reserve()
        kid = writer.new(b"<</Type /Page /Parent %d 0 R /MediaBox [0 0 9 9] /Contents "
                         b"[%d 0 R %d 0 R]>>" % (pages, page, frame))
        writer.object(pages, b"<</Type /Pages /Count 1 /Kids [%d 0 R]>>" % kid)
        writer.finish(writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages),
                      writer.new(b"<</Title (x)>>"))
        with pikepdf.open(io.BytesIO(out.getvalue())) as pdf:
            streams = list(pdf.pages[0].Contents)
            assert [s.read_bytes() for s in streams] == [content, content]
            made[smallest] = [len(s.read_raw_bytes()) for s in streams]
    assert all(small < default for small, default in zip(made[True], made[False], strict=True))


def test_the_pdf_a_xmp_says_what_is_asked_in_little(outputs: dict[str, Path]) -> None:
    """The PDF/A file's XMP, which stays unfiltered, holds the PDF/A-2b and PDF/UA-1
    identifications (as another XMP reader, pikepdf's, reads it; test_print checks the
    title) in under 1.4 KB (it was 2.05 KB, indented, with the document information's
    dates)."""
    with pikepdf.open(outputs["pdf-a-2b"]) as pdf:
        metadata = pdf.Root.Metadata
        assert "/Filter" not in metadata
        assert len(metadata.read_bytes()) < 1_400, len(metadata.read_bytes())
        xmp = pdf.open_metadata()
        assert (xmp.pdfa_status, xmp["pdfuaid:part"]) == ("2B", "1")


# ---- tagged PDF: what a screen reader gets, and PDF/UA-1 by the same validator -----------

@each_kind()
def test_pdf_ua_1_passes_page_validation(kind: Kind, outputs: dict[str, Path]) -> None:
    """`python -c "import page; print(page.validate_pdf('f.pdf', profile='ua1').failures)"`:
    a structure tree, every mark tagged or an artifact, XMP with the title and pdfuaid."""
    import page

    report = page.validate_pdf(str(outputs[kind.name]), profile="ua1")
    failed = {(f.rule_id, f.message) for f in report.failures}
    assert failed == set(), failed
    assert report.rules.total > 20  # it did check


def _kids(element: Any) -> list[Any]:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _roles(element: Any) -> list[Any]:
    """An element's kids: their roles, MCIDs as they are."""
    return [kid if isinstance(kid, int) else str(kid.S) for kid in _kids(element)]


def _texts_by_mcid(pdf: pikepdf.Pdf, page: Any) -> dict[int, str]:
    """Each marked-content sequence's text on a page (by the fonts' ToUnicode maps)."""
    from cardgen.pdf.subset import read_tounicode

    fonts = {name: read_tounicode(font.ToUnicode.read_bytes())
             for name, font in page.Resources.Font.items()}
    texts: dict[int, str] = {}
    mcid, font = None, None
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "BDC" and isinstance(operands[1], pikepdf.Dictionary):
            mcid = int(operands[1].get("/MCID", -1))
        elif op == "EMC":
            mcid = None
        elif op == "Tf":
            font = fonts[str(operands[0])]
        elif op == "Tj" and mcid is not None and font is not None:
            data = bytes(operands[0])
            texts[mcid] = texts.get(mcid, "") + "".join(
                font.get(int.from_bytes(data[i:i + 2], "big"), "?")
                for i in range(0, len(data), 2))
    return texts


def _read(element: Any, texts: dict[int, str]) -> str:
    """An element's text, its kids in order."""
    return "".join(texts.get(kid, "") if isinstance(kid, int) else _read(kid, texts)
                   for kid in _kids(element))


def test_a_card_is_tagged_in_the_order_a_person_reads_it(outputs: dict[str, Path]) -> None:
    """Who (H1), the colour (a figure: the tab and the band, described), why, the stickers,
    the household, the members (a table: a row a member, a cell a column), the visits, the
    footer."""
    with pikepdf.open(outputs["reprint"]) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        [section] = _kids(pdf.Root.StructTreeRoot.K)
        texts = _texts_by_mcid(pdf, pdf.pages[0])
        parts = _kids(section)
        assert _roles(section) == [
            "/H1", "/Figure", "/P", "/Sect", "/Sect", "/Table", "/P", "/P"]
        heading, figure, reasons, stickers, household, members, visit, foot = parts
        assert _read(heading, texts).startswith("户号 H1")
        assert str(figure.Alt) == "橙色户卡（及时关注户）：顶部色带和右侧色标都是橙色"
        assert _kids(figure) == [0]  # the frame, drawn under the page
        assert _read(reasons, texts).startswith("依据")
        assert "低保" in _read(stickers, texts)
        assert "阳光花园1号楼" in _read(household, texts)
        rows = _kids(members)
        assert [len(_kids(row)) for row in rows] == [10, 10]
        assert [_read(_kids(row)[1], texts) for row in rows] == ["张秀英", "李明"]
        assert "走访频次" in _read(visit, texts)
        assert "打印" in _read(foot, texts)
        # every MCID of the page has its element in the parent tree, and reads once
        tree = pdf.Root.StructTreeRoot.ParentTree.Nums
        owners = list(tree[1])
        assert len(owners) == max(texts) + 1
        assert all(owner is not None for owner in owners)


def test_the_index_is_a_table_with_a_header_row(outputs: dict[str, Path]) -> None:
    with pikepdf.open(outputs["duplex-ledger"]) as pdf:
        sections = _kids(pdf.Root.StructTreeRoot.K)
        index = next(section for section in sections if _roles(section)[:2] == ["/H1", "/Table"])
        heading, table = _kids(index)[:2]
        page = next(page for page in pdf.pages if page.objgen == heading.Pg.objgen)
        texts = _texts_by_mcid(pdf, page)
        assert _read(heading, texts).startswith("目录")
        head, *rows = _kids(table)
        assert {str(cell.S) for cell in _kids(head)} == {"/TH"}
        assert all(str(cell.A.Scope) == "/Column" for cell in _kids(head))
        assert len(rows) == 3
        assert [_read(_kids(row)[1], texts) for row in rows] == ["H1", "H2", "H3"]
