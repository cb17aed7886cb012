"""cardgen/pdf/draw.py's pieces that need no frame: names summarised to fit, a line made
smaller to fit its width (or wrapped), and a cover's values into their places."""

from __future__ import annotations

import pikepdf
import pytest

from cardgen.config import load_config
from cardgen.layout.geometry import MM, PT, Box, Places
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas, GlyphLog
from cardgen.pdf.compose import read_structure
from cardgen.pdf.draw import Pen, draw_cover, summarise


def shown(canvas: Canvas) -> list[tuple[float, float, float, str]]:
    """Each text drawn: its size (pt), x and y (pt), and its text (from the glyph log)."""
    raw, _, _ = read_structure(canvas.content())
    to_text = {glyph: char for glyphs in canvas.log.glyphs.values()
               for glyph, char in glyphs.items()}
    found = []
    size = 0.0
    with pikepdf.new() as pdf:
        for instruction in pikepdf.parse_content_stream(pikepdf.Stream(pdf, raw)):
            op, args = str(instruction.operator), list(instruction.operands)
            if op == "Tf":
                size = float(args[1])
            elif op == "Tm":
                x, y = float(args[4]), float(args[5])
            elif op == "Tj":
                codes = bytes(args[0])
                text = "".join(to_text[int.from_bytes(codes[i:i + 2], "big")]
                               for i in range(0, len(codes), 2))
                found.append((size, x, y, text))
    return found


def test_names_are_summarised_never_cut() -> None:
    names = ["张秀英", "李明", "王芳", "赵强"]

    def fits(text: str) -> bool:
        return len(text) <= 9

    more = load_config().card.words["more_names"]  # 等{n}人

    assert summarise(names[:2], fits, more) == "张秀英、李明"
    assert summarise(names, fits, more) == "张秀英、李明等4人"
    assert summarise(names, lambda text: False, more) == "张秀英等4人"  # at least the first
    assert summarise(["欧阳秀英"], lambda text: False, more) == "欧阳秀英"
    assert summarise([], fits, more) == ""
    assert summarise(names, lambda text: len(text) <= 11, more=" +{n}",
                     separator=", ") == "张秀英, 李明 +4"


def test_a_line_too_wide_is_made_smaller_down_to_its_smallest(
        typesetter: Typesetter) -> None:
    canvas = Canvas(54, GlyphLog())
    pen = Pen(canvas, typesetter, 0.0, 0.0, 1.2)
    text = "阳光花园2号楼1单元302"
    natural = typesetter.width(text, False) * 10 * PT  # mm at 10 pt
    pen.fitted(text, 0, 0, 10, natural)  # fits as it is
    pen.fitted(text, 0, 10, 10, natural * 0.8)  # made smaller: 8 pt
    pen.fitted(text, 0, 20, 10, natural * 0.3)  # under 60 %: 6 pt, wrapped
    first, second, *wrapped = shown(canvas)
    assert first[0] == pytest.approx(10)
    assert second[0] == pytest.approx(8, abs=0.01) and second[3] == text
    assert len(wrapped) >= 2 and all(w[0] == pytest.approx(6) for w in wrapped)
    assert "".join(w[3] for w in wrapped) == text  # wrapped, nothing lost


def test_a_pens_least_size_wins_over_making_smaller(typesetter: Typesetter) -> None:
    canvas = Canvas(54, GlyphLog())
    pen = Pen(canvas, typesetter, 0.0, 0.0, 1.2, least=9)
    text = "阳光花园2号楼"
    natural = typesetter.width(text, False) * 10 * PT
    pen.fitted(text, 0, 0, 10, natural * 0.8)  # 8 pt would fit; 9 pt is the least,
    drawn = shown(canvas)  # and at 9 pt it is wrapped rather than cut
    assert len(drawn) == 2 and all(size == pytest.approx(9) for size, *_ in drawn)
    assert "".join(text for *_, text in drawn) == text


def test_right_and_centred_lines_end_and_centre_in_their_width(
        typesetter: Typesetter) -> None:
    canvas = Canvas(54, GlyphLog())
    pen = Pen(canvas, typesetter, 10.0, 5.0, 1.2)  # a content box at (10, 5) mm
    width = typesetter.width("编号", False) * 9 * PT
    pen.text("编号", 0, 0, 9, 40, align="right")
    pen.text("编号", 0, 10, 9, 40, align="center")
    pen.text("编号", 0, 20, 9, 40)
    right, centre, left = shown(canvas)
    assert right[1] == pytest.approx((10 + 40 - width) * MM, abs=0.01)
    assert centre[1] == pytest.approx((10 + (40 - width) / 2) * MM, abs=0.01)
    assert left[1] == pytest.approx(10 * MM, abs=0.01)
    assert centre[2] - left[2] == pytest.approx(10 * MM, abs=0.01)  # 10 mm lower


def test_a_cover_prints_each_value_in_its_place_and_skips_what_it_lacks(
        typesetter: Typesetter) -> None:
    canvas = Canvas(297, GlyphLog())
    places = Places({"cover-count": Box(20, 100, 50, 10), "cover-date": Box(20, 120, 50, 10)},
                    size=(210, 297))
    styles = {"cover-count": (12.0, True, "#D62828", "left"),
              "cover-date": (9.0, False, "#000000", "center")}
    draw_cover(canvas, {"cover-count": "43户", "cover-date": "2026-11-29",
                        "cover-numbers": "001–043"}, places, styles, typesetter, 1.2, 6.0)
    drawn = shown(canvas)
    assert [text for *_, text in drawn] == ["43户", "2026-11-29"]
    assert [size for size, *_ in drawn] == pytest.approx([12, 9])
    content = canvas.content().decode()
    assert "0.84 0.16 0.16 rg" in content and "0.00 g" in content  # the places' colours
    count, date = drawn  # inside their boxes (PDF's y runs up from the page's foot)
    assert count[1] == pytest.approx(20 * MM, abs=0.01)
    assert (297 - 110) * MM < count[2] < (297 - 100) * MM
    assert (297 - 130) * MM < date[2] < (297 - 120) * MM
    date_width = typesetter.width("2026-11-29", False) * 9 * PT
    assert date[1] == pytest.approx((20 + (50 - date_width) / 2) * MM, abs=0.03)
