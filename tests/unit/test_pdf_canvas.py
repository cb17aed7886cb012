"""cardgen/pdf/canvas.py: the operators a data layer draws, read back as a PDF reader parses
them, and the structure comments the composer turns into the tag tree."""

from __future__ import annotations

from typing import Any

import pikepdf
import pytest

from cardgen.layout.geometry import MM
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas, GlyphLog, fill_colour, stroke_colour
from cardgen.pdf.compose import compile_structure, prepare_content, read_structure

RED = (1.0, 0.0, 0.0)
GREY = (0.6, 0.6, 0.6)


def operators(canvas: Canvas) -> list[tuple[str, list[Any]]]:
    """The content's operators and operands, as a PDF reader parses them."""
    raw, _, _ = read_structure(canvas.content())
    with pikepdf.new() as pdf:  # the stream's owner must outlive the parse
        return [(str(i.operator), list(i.operands))
                for i in pikepdf.parse_content_stream(pikepdf.Stream(pdf, raw))]


def test_greys_are_devicegray_and_colours_rgb() -> None:
    assert fill_colour(GREY) == "0.60 g" and stroke_colour(GREY) == "0.60 G"
    assert fill_colour(RED) == "1.00 0.00 0.00 rg"
    assert stroke_colour(RED) == "1.00 0.00 0.00 RG"


def test_a_line_of_text_sits_at_its_place_measured_from_the_top_left(
        typesetter: Typesetter) -> None:
    canvas = Canvas(54.0, GlyphLog())
    line = typesetter.line("张秀英")
    canvas.text(line, 5.0, 10.0, 9.0)
    ops = operators(canvas)
    [(_, matrix)] = [op for op in ops if op[0] == "Tm"]
    assert [float(v) for v in matrix] == pytest.approx(
        [1, 0, 0, 1, 5 * MM, (54 - 10) * MM], abs=0.01)
    [(_, [shown])] = [op for op in ops if op[0] == "Tj"]
    face = line.runs[0].face
    assert bytes(shown) == b"".join(face.cmap[ord(c)].to_bytes(2, "big") for c in "张秀英")
    [(_, [font, size])] = [op for op in ops if op[0] == "Tf"]
    assert font == "/CgCardgen-Sans" and float(size) == 9.0


def test_the_log_keeps_each_glyph_with_the_text_it_shows(typesetter: Typesetter) -> None:
    log = GlyphLog()
    canvas = Canvas(54.0, log)
    canvas.text(typesetter.line("李明"), 0, 5, 9)
    canvas.text(typesetter.line("明天"), 0, 10, 9)
    [(face, glyphs)] = log.glyphs.items()
    assert sorted(glyphs.values()) == ["天", "明", "李"]
    assert log.names[face] == "/CgCardgen-Sans"
    log.note(face, (7, 8), "ﬁ")  # a ligature: glyphs without one text each
    assert glyphs[7] == glyphs[8] == ""


def test_texts_of_one_element_share_a_marked_sequence_others_get_their_own(
        typesetter: Typesetter) -> None:
    canvas = Canvas(54.0, GlyphLog())
    line = typesetter.line("户主")
    with canvas.element("P"):
        canvas.text(line, 0, 5, 9)
        canvas.text(line, 0, 10, 9)
    with canvas.element("H1"):
        canvas.text(line, 0, 15, 9)
    canvas.text(line, 0, 20, 9)  # outside any element: a span
    marked = [(op, args) for op, args in operators(canvas) if op in ("BDC", "EMC")]
    assert [(op, str(args[0]) if args else None, args[1].MCID if op == "BDC" else None)
            for op, args in marked] == [
        ("BDC", "/P", 1), ("EMC", None, None), ("BDC", "/H1", 2), ("EMC", None, None),
        ("BDC", "/Span", 3), ("EMC", None, None)]
    _, kids, framed = read_structure(canvas.content())
    assert kids == [("P", "", [1]), ("H1", "", [2]), 3] and not framed


def test_the_structure_travels_as_comments_with_alt_text_and_the_frames_place(
        typesetter: Typesetter) -> None:
    canvas = Canvas(54.0, GlyphLog())
    with canvas.element("Sect"), canvas.element("Figure", "红 重点关注户"):
        canvas.frame()
    with canvas.element("Table"), canvas.element("TR"), canvas.element("TD:3"):
        canvas.text(typesetter.line("备注"), 0, 5, 9)
    raw, kids, framed = read_structure(canvas.content())
    assert framed
    assert kids == [("Sect", "", [("Figure", "红 重点关注户", [0])]),
                    ("Table", "", [("TR", "", [("TD:3", "", [1])])])]
    assert b"%" not in raw  # the comments are left out of the file


def test_decoration_is_one_artifact_and_an_unpainted_rectangle_draws_nothing() -> None:
    canvas = Canvas(54.0, GlyphLog())
    canvas.rect(1, 1, 10, 5)  # neither fill nor stroke
    assert canvas.content() == b""
    canvas.rect(1, 1, 10, 5, fill=RED)
    canvas.rect(1, 1, 10, 5, stroke=GREY, line=0.5, dash=(1, 1))
    canvas.hline(0, 85, 20, GREY, 0.2)
    content = canvas.content().decode()
    assert content.count("/Artifact BMC") == 1 and content.count("EMC") == 1
    ops = operators(canvas)
    names = [op for op, _ in ops]
    assert names.count("re") == 2 and "f" in names and "S" in names and "d" in names
    [(_, rect)] = [op for op in ops if op[0] == "re"][:1]
    assert [float(v) for v in rect] == pytest.approx(
        [1 * MM, (54 - 6) * MM, 10 * MM, 5 * MM], abs=0.01)
    [(_, width), *_] = [op for op in ops if op[0] == "w"]
    assert float(width[0]) == pytest.approx(0.5 * MM, abs=0.01)


def test_a_rounded_rectangle_keeps_its_corners_inside_its_box() -> None:
    canvas = Canvas(54.0, GlyphLog())
    canvas.rect(10, 10, 20, 8, fill=RED, radius=50)  # a radius larger than the box
    points = [float(v) for op, args in operators(canvas) if op in ("m", "l", "c")
              for v in args]
    xs, ys = points[0::2], points[1::2]
    assert min(xs) == pytest.approx(10 * MM, abs=0.01)
    assert max(xs) == pytest.approx(30 * MM, abs=0.01)
    assert min(ys) == pytest.approx((54 - 18) * MM, abs=0.01)
    assert max(ys) == pytest.approx((54 - 10) * MM, abs=0.01)


def test_a_pattern_is_clipped_to_its_box() -> None:
    canvas = Canvas(54.0, GlyphLog())
    canvas.pattern(5, 5, 10, 10, "hatch", (0.0, 0.0, 0.0))
    ops = operators(canvas)
    names = [op for op, _ in ops]
    clip = names.index("W")
    assert names[clip - 1] == "re" and names[clip + 1] == "n"
    assert names.count("S") > 3  # the tile's lines, repeated
    empty = Canvas(54.0, GlyphLog())
    empty.pattern(5, 5, 10, 10, "plain", (0.0, 0.0, 0.0))  # plain: no marks
    assert empty.content() == b""


@pytest.mark.parametrize("alt", ["红色 户卡", "plain words", ""])
def test_the_structure_kept_as_drawn_is_the_one_read_back(typesetter: Typesetter,
                                                          alt: str) -> None:
    """Canvas.structure spares compose.read_structure: it must give what that reads from
    the content (or None, and read_structure reads it)."""
    canvas = Canvas(54.0, GlyphLog())
    with canvas.element("Sect"):
        with canvas.element("Figure", alt):
            canvas.frame()
        canvas.text(typesetter.line("张秀英"), 0, 5, 9)
        with canvas.element("Table"), canvas.element("TR"), canvas.element("TD:3"):
            canvas.text(typesetter.line("李明"), 0, 10, 9)
            canvas.text(typesetter.line("明天"), 0, 15, 9)
        with canvas.element("TD"):
            pass
    canvas.hline(0, 10, 20, GREY, 0.2)
    content = canvas.content()
    _, kids, framed = read_structure(content)
    kept = canvas.structure()
    assert kept is not None and kept[:2] == (kids, framed)
    for role, odd_alt in (("Not-a-role", ""), ("Figure", "a (bracketed) word")):
        odd = Canvas(54.0, GlyphLog())  # comments read_structure does not read as elements
        odd.open(role, odd_alt)
        odd.close()
        assert odd.structure() is None


def test_pages_of_one_shape_share_a_compiled_structure_and_no_others_do(
        typesetter: Typesetter) -> None:
    """prepare_content compiles a structure once for every page of its shape (the key
    Canvas.structure gives): each page's compiled structure must be the one its own kids
    compile to, whatever pages of other shapes (another MCID, element, alt text or frame's
    place) came before it."""
    def page(members: int, texts: int, alt: str, framed: bool, filled: bool,
             word: str) -> Canvas:
        canvas = Canvas(54.0, GlyphLog())
        with canvas.element("Sect"):
            with canvas.element("Figure", alt):
                if framed:
                    canvas.frame()
            canvas.text(typesetter.line(word), 0, 5, 9)
            with canvas.element("Table"):
                for _ in range(members):
                    with canvas.element("TR"), canvas.element("TD"):
                        canvas.text(typesetter.line(word), 0, 10, 9)
                        for _ in range(texts - 1):  # a marked sequence of its own
                            with canvas.element("P"):
                                canvas.text(typesetter.line(word), 0, 15, 9)
                    with canvas.element("TD:2"):
                        if filled:  # an MCID more, the same elements
                            canvas.text(typesetter.line(word), 0, 20, 9)
        return canvas

    pages = [page(members, texts, alt, framed, filled, word)
             for members in (1, 2) for texts in (1, 2) for alt in ("甲", "乙")
             for framed in (True, False) for filled in (True, False)
             for word in ("张秀英", "李明")]
    shapes = set()
    for canvas in pages:
        kept = canvas.structure()
        assert kept is not None
        kids, framed, shape = kept
        shapes.add(shape)
        assert prepare_content(canvas.content(), kept)[3] == compile_structure(kids)
        assert prepare_content(canvas.content())[1:] == (kids, framed, compile_structure(kids))
    assert len(shapes) == len(pages) // 2  # the words drawn shape nothing


def test_a_run_notes_what_the_log_noted_glyph_by_glyph(typesetter: Typesetter) -> None:
    """Run.shows (made once with the run) notes what GlyphLog.note notes from the glyphs
    and the text: the first character a glyph shows, none for glyphs that are not one a
    character (a ligature)."""
    from cardgen.layout.typeset import Run, _Glyph, _make_run

    face = typesetter.fonts.regular[0]
    runs = [_make_run([_Glyph(char, face, glyph, 0.5, f"{glyph:04x}")
                       for char, glyph in (("甲", 5), ("乙", 6), ("丙", 5))]),
            Run(face, (7, 8), "ﬁ", 1.0), typesetter.line("张秀英、张秀").runs[0]]
    assert runs[0].shows == {5: "甲", 6: "乙"} and runs[1].shows == {7: "", 8: ""}
    for run in runs:
        by_glyph, by_run = GlyphLog(), GlyphLog()
        by_glyph.name(face)
        by_glyph.note(face, run.glyphs, run.text)
        by_run.note_run(run)
        assert list(by_run.glyphs[face].items()) == list(by_glyph.glyphs[face].items())


def test_an_element_opened_twice_writes_one_string_so_shapes_compare_by_identity() -> None:
    """Canvas.open writes the same "%<Role" string each time (interned), so two pages of
    one shape have shapes whose parts are the same objects: compose.prepare_content's look-up
    of a compiled structure then hashes and compares no characters."""
    shapes = []
    for _ in range(2):
        canvas = Canvas(100, GlyphLog())
        with canvas.element("Table"), canvas.element("TR"), canvas.element("TD"):
            pass
        structure = canvas.structure()
        assert structure is not None
        shapes.append(structure[2])
    first, second = shapes
    assert first == second
    opened = [(a, b) for a, b in zip(first, second, strict=True) if a.startswith("%<")]
    assert len(opened) == 3 and all(a is b for a, b in opened)
    # with an alternate description, the text differs: a string of its own each time
    canvas = Canvas(100, GlyphLog())
    with canvas.element("Figure", "甲"):
        pass
    assert canvas.structure() is not None


def test_comments_are_taken_out_as_the_regular_expression_takes_them_out() -> None:
    """compose.uncommented (prepare_content's, faster) is COMMENTS.sub(b"", …) exactly:
    comment lines first, last, alone, one after another, empty lines, a "%" inside a line."""
    import random

    from cardgen.pdf.compose import COMMENTS, uncommented

    cases = [b"", b"%", b"%a", b"%a\n", b"\n%", b"a\n%b", b"%a\nb", b"a\n%b\nc", b"a\n",
             b"\n%x\n\n%y", b"%%\n%\n", b"a%b\n%c\r\n", b"x\n\n", b"\n\n%a\n%b\n"]
    draw = random.Random(26)
    for _ in range(5000):
        cases.append(b"".join(draw.choice([b"%", b"\n", b"a", b" ", b"\r", b"%<TD"])
                              for _ in range(draw.randint(0, 14))))
    for content in cases:
        assert uncommented(content) == COMMENTS.sub(b"", content), content
