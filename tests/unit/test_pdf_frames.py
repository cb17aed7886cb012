"""cardgen/pdf/compose.py with frames: an engine's page (here built by pikepdf, as
prepare.py leaves WeasyPrint's: fonts of cardgen's families without their programs) under
data layers — one form per frame, however many pages use it, and one font per family,
holding the glyphs of frames and data layers alike."""

from __future__ import annotations

import io

import pikepdf
import pypdfium2
from fontTools.cffLib import CFFFontSet
from pikepdf import Array, Dictionary, Name

from cardgen.layout.fonts import FontSet
from cardgen.layout.geometry import MM
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.compose import Composer
from cardgen.pdf.subset import tounicode_cmap

CARD = (85.6 * MM, 54.0 * MM)
FRAMED = "户卡"  # the words the frame prints


def frame_pdf(fonts: FontSet) -> bytes:
    """A one-page frame: a band, and FRAMED in a font of family Cardgen Sans (no program),
    in a transparency group blending in DeviceRGB."""
    face = fonts.regular[0]
    glyphs = [face.cmap[ord(char)] for char in FRAMED]
    pdf = pikepdf.new()
    descriptor = Dictionary(Type=Name.FontDescriptor,
                            FontFamily=pikepdf.String("Cardgen Sans"))
    descendant = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType0,
                            FontDescriptor=pdf.make_indirect(descriptor),
                            W=Array([glyphs[0], Array([1000]), glyphs[1], Array([1000])]))
    font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type0, Encoding=Name("/Identity-H"),
        DescendantFonts=Array([pdf.make_indirect(descendant)]),
        ToUnicode=pdf.make_stream(tounicode_cmap(dict(zip(glyphs, FRAMED, strict=True))))))
    pdf.add_blank_page(page_size=CARD)
    page = pdf.pages[0].obj
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    page.Group = Dictionary(S=Name.Transparency, CS=Name.DeviceRGB)
    shown = "".join(f"{glyph:04x}" for glyph in glyphs)
    page.Contents = pdf.make_stream(
        f"0.84 0.16 0.16 rg 0 140 243 13 re f BT /F1 12 Tf 1 0 0 1 10 145 Tm <{shown}> Tj ET"
        .encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def compose(fonts: FontSet, typesetter: Typesetter) -> bytes:
    out = io.BytesIO()
    composer = Composer(out, CARD, fonts.by_family())
    composer.add_frames({"red": frame_pdf(fonts)})
    for name in ("张秀英", "李明"):
        canvas = Canvas(54.0, composer.log)
        with canvas.element("P"):
            canvas.text(typesetter.line(name), 5, 30, 9)
        composer.add_data_page(canvas.content(), frame="red")
    composer.finish("t", "2026-11-29")
    composer.close()
    return out.getvalue()


def test_a_frame_is_one_form_under_every_page_that_uses_it(fonts: FontSet,
                                                           typesetter: Typesetter) -> None:
    data = compose(fonts, typesetter)
    pdf = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
    forms = {page.Resources.XObject.CgFrame.objgen for page in pdf.pages}
    assert len(forms) == 1 and len(pdf.pages) == 2
    form = pdf.pages[0].Resources.XObject.CgFrame
    assert form.Subtype == "/Form" and "/Group" not in form  # no RGB blending on the plate
    assert b"0 140 243 13 re f" in form.read_bytes()
    under = pdf.pages[0].Contents[0].read_bytes()
    assert under == b"/Div <</MCID 0>> BDC q /CgFrame Do Q EMC\n"  # the frame first
    document = pypdfium2.PdfDocument(data)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert FRAMED in text and "张秀英" in text


def test_a_frames_font_of_cardgens_family_becomes_the_documents_one_font(
        fonts: FontSet, typesetter: Typesetter) -> None:
    pdf = pikepdf.open(io.BytesIO(compose(fonts, typesetter)), attempt_recovery=False)
    type0 = [obj for obj in pdf.objects if isinstance(obj, Dictionary)
             and obj.get("/Subtype") == "/Type0"]
    assert len(type0) == 1  # the frame's font and the data layer's: one
    form_font = pdf.pages[0].Resources.XObject.CgFrame.Resources.Font.F1
    assert form_font.objgen == type0[0].objgen
    program = type0[0].DescendantFonts[0].FontDescriptor.FontFile3.read_bytes()
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(program), None)
    face = fonts.regular[0]
    cids = {0 if name == ".notdef" else int(name[3:]) for name in cff.topDictIndex[0].charset}
    assert cids == {0, *(face.cmap[ord(c)] for c in FRAMED + "张秀英李明")}
