"""cardgen/pdf/prepare.py: an engine's page made ready to compose — each code checked
against the full font by its outline and renumbered to the glyph id, greys as DeviceGray,
numbers shortened, the font program dropped — on a PDF built here, not by WeasyPrint."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from cardgen.errors import RenderRefused
from cardgen.layout.fonts import load_face
from cardgen.pdf.prepare import _renumber_text, _short, font_family, prepare_pages
from cardgen.pdf.subset import subset_font, tounicode_cmap

CONTENT = (b"BT /F1 12 Tf 1 0 0 1 10.123456 20 Tm <0001> Tj ET\n"
           b"0.600000 0.600000 0.600000 rg 0 0 10.123456 10 re f\n"
           b"0.2 0.4 0.6 RG 0.5 0.5 0.5 RG")


def engine_page(font: Path, shows: str, family: str = "Squares") -> bytes:
    """A page as an engine writes it: glyph C of `font` embedded as code 1 of a subset
    (the engine's own numbering), its ToUnicode saying code 1 shows `shows`."""
    program = subset_font(font, {3}).program  # [.notdef, C]: C is glyph 1 here
    pdf = pikepdf.new()
    descriptor = Dictionary(Type=Name.FontDescriptor, FontFamily=pikepdf.String(family),
                            FontFile2=pdf.make_stream(program))
    descendant = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType2,
                            FontDescriptor=pdf.make_indirect(descriptor),
                            W=Array([1, Array([530])]))
    font_dict = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type0, Encoding=Name("/Identity-H"),
        DescendantFonts=Array([pdf.make_indirect(descendant)]),
        ToUnicode=pdf.make_stream(tounicode_cmap({1: shows}))))
    pdf.add_blank_page()
    page = pdf.pages[0].obj
    page.Resources = Dictionary(Font=Dictionary(F1=font_dict))
    page.Contents = pdf.make_stream(CONTENT)
    page.Group = Dictionary(S=Name.Transparency, CS=Name.DeviceRGB, I=True)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_codes_are_renumbered_to_the_full_fonts_glyphs_and_the_program_dropped(
        squares: Path) -> None:
    path = squares
    prepared = prepare_pages(engine_page(path, "C"), {"Squares": load_face(path, "Squares")})
    with pikepdf.open(io.BytesIO(prepared)) as pdf:
        page = pdf.pages[0]
        content = b"".join(s.read_bytes() for s in (
            page.Contents if isinstance(page.Contents, Array) else [page.Contents]))
        font = page.Resources.Font.F1
        descendant = font.DescendantFonts[0]
        assert b"<0003> Tj" in content  # C is glyph 3 of the full font
        assert list(descendant.W) == [3, [530]]
        assert b"<0003> <0043>" in font.ToUnicode.read_bytes()
        assert "/FontFile2" not in descendant.FontDescriptor  # embedded again, once, later
        assert "/CS" not in page.Group and page.Group.S == "/Transparency"
    assert b"0.6 g" in content and b" rg" not in content  # a grey on the black plate
    assert b"0.5 G" in content and b"0.2 0.4 0.6 RG" in content  # a colour stays RGB
    assert b"10.123 " in content and b"10.123456" not in content


def test_a_glyph_that_is_no_glyph_of_the_font_file_refuses_the_render(squares: Path) -> None:
    """The engine's code 1 draws C's outline but says it shows A: no glyph of the full
    font is both, so nothing would print the right character."""
    path = squares
    with pytest.raises(RenderRefused, match=r"glyph 1 of Squares \(“A”\) is no glyph of "
                                            r"the font file; nothing was written") as refused:
        prepare_pages(engine_page(path, "A"), {"Squares": load_face(path, "Squares")})
    assert refused.value.code == "font.glyph_mismatch"


def test_fonts_of_other_families_are_kept_as_they_are(squares: Path) -> None:
    path = squares
    page = engine_page(path, "A", family="A Template's Own")
    prepared = prepare_pages(page, {"Squares": load_face(path, "Squares")})
    with pikepdf.open(io.BytesIO(prepared)) as pdf:
        font = pdf.pages[0].Resources.Font.F1
        assert font_family(font) == "A Template's Own"
        assert "/FontFile2" in font.DescendantFonts[0].FontDescriptor
        content = pdf.pages[0].Contents.read_bytes()
        assert b"<0001> Tj" in content


def test_a_font_the_engine_embedded_in_another_form_is_refused(squares: Path) -> None:
    path = squares
    with pikepdf.open(io.BytesIO(engine_page(path, "C"))) as pdf:
        descriptor = pdf.pages[0].Resources.Font.F1.DescendantFonts[0].FontDescriptor
        del descriptor["/FontFile2"]
        out = io.BytesIO()
        pdf.save(out)
    with pytest.raises(RenderRefused, match=r"embedded the font Squares in a form cardgen "
                                            r"cannot check \(none\)") as refused:
        prepare_pages(out.getvalue(), {"Squares": load_face(path, "Squares")})
    assert refused.value.code == "font.unchecked"


def test_a_paths_points_keep_two_decimals_and_colours_and_matrices_three() -> None:
    """A path's points are CSS pixels (0.01 px is 0.0075 pt); a colour keeps the third
    decimal that tells the palette's 8-bit values apart."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].Contents = pdf.make_stream(
        b"0.941176 0.549019 0 rg 1 0 0 1 5.123456 0 cm 10.123456 20.987654 m "
        b"30.5 40.004 l 1.2345 2.3456 3.4567 4.5678 5.6789 6.7891 c "
        b"1.111111 2.222222 3.333333 4.444444 re f")
    out = io.BytesIO()
    pdf.save(out)
    with pikepdf.open(io.BytesIO(prepare_pages(out.getvalue(), {}))) as prepared:
        ops = [[*map(str, instruction.operands), str(instruction.operator)]
               for instruction in pikepdf.parse_content_stream(prepared.pages[0])]
    assert ops == [["0.941", "0.549", "0", "rg"], ["1", "0", "0", "1", "5.123", "0", "cm"],
                   ["10.12", "20.99", "m"], ["30.5", "40", "l"],
                   ["1.23", "2.35", "3.46", "4.57", "5.68", "6.79", "c"],
                   ["1.11", "2.22", "3.33", "4.44", "re"], ["f"]]


def test_numbers_keep_three_decimals_and_text_codes_map_two_bytes_at_a_time() -> None:
    assert _short(Decimal("10.123456")) == Decimal("10.123")
    assert _short(Decimal("-0.0004")) == Decimal(0)
    assert _short(Decimal("2.5")) == Decimal("2.5") and _short(7) == 7
    renumbered = _renumber_text(Array([pikepdf.String(b"\x00\x01\x00\x02"), -250,
                                       pikepdf.String(b"\x00\x05")]), {1: 3, 5: 0x1234})
    assert [bytes(v) if isinstance(v, pikepdf.String) else int(v) for v in renumbered] == \
        [b"\x00\x03\x00\x02", -250, b"\x12\x34"]


def test_only_a_type0_identity_font_has_a_family() -> None:
    descriptor = Dictionary(FontFamily=pikepdf.String("Cardgen Sans"))
    font = Dictionary(Subtype=Name.Type0, Encoding=Name("/Identity-H"),
                      DescendantFonts=Array([Dictionary(FontDescriptor=descriptor)]))
    assert font_family(font) == "Cardgen Sans"
    font.Encoding = Name("/WinAnsiEncoding")
    assert font_family(font) is None
    assert font_family(Dictionary(Subtype=Name.Type1)) is None
    assert font_family(Dictionary(Subtype=Name.Type0, Encoding=Name("/Identity-H"))) is None
