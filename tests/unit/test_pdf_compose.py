"""cardgen/pdf/compose.py: documents composed from data layers alone (no WeasyPrint),
read back by pikepdf (objects, boxes, structure) and pdfium (the text a reader extracts)."""

from __future__ import annotations

import io
import re

import pikepdf
import pypdfium2
import pytest
from fontTools.cffLib import CFFFontSet

from cardgen.config import load_config
from cardgen.layout.fonts import FontSet
from cardgen.layout.geometry import MM
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.compose import (
    SLUG,
    Composer,
    compile_structure,
    crop_marks,
    page_boxes,
    plan_sheet,
    read_structure,
)
from cardgen.pdf.writer import Writer

CARD = (85.6 * MM, 54.0 * MM)
TEXTS = ("张秀英 户主", "阳光花园2号楼")


def compose(fonts: FontSet, typesetter: Typesetter, texts: tuple[str, ...] = TEXTS,
            variant: str | None = None, **options: object) -> bytes:
    """One page per text, each text a paragraph, through a Composer."""
    out = io.BytesIO()
    size = options.pop("size", CARD)
    composer = Composer(out, size, fonts.by_family(), **options)  # type: ignore[arg-type]
    for value in texts:
        canvas = Canvas(size[1] / MM, composer.log)  # type: ignore[index]
        with canvas.element("P"):
            canvas.text(typesetter.line(value), 5, 10, 9)
        canvas.rect(2, 2, 10, 10, fill=(0.84, 0.16, 0.16))
        composer.add_data_page(canvas.content())
    composer.finish("恒安社区 第3网格", "2026-11-29", variant)
    composer.close()
    return out.getvalue()


@pytest.fixture(scope="module")
def plain(fonts: FontSet, typesetter: Typesetter) -> bytes:
    return compose(fonts, typesetter)


def strict(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data), attempt_recovery=False)


def test_the_text_a_reader_extracts_is_the_text_drawn(plain: bytes) -> None:
    document = pypdfium2.PdfDocument(plain)
    try:
        assert [document[i].get_textpage().get_text_range() for i in range(len(document))] \
            == list(TEXTS)
    finally:
        document.close()


def test_each_family_is_embedded_once_with_exactly_the_glyphs_drawn(
        plain: bytes, fonts: FontSet) -> None:
    pdf = strict(plain)
    used = {page.Resources.Font.objgen for page in pdf.pages}
    assert len(used) == 1  # one font table for every page
    [font] = [f for f in pdf.objects if isinstance(f, pikepdf.Dictionary)
              and f.get("/Subtype") == "/Type0"]
    assert re.fullmatch(r"/[A-Z]{6}\+Cardgen-Sans", str(font.BaseFont))
    program = font.DescendantFonts[0].FontDescriptor.FontFile3
    assert program.Subtype == "/CIDFontType0C"
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(program.read_bytes()), None)
    face = fonts.regular[0]
    drawn = {face.cmap[ord(c)] for text in TEXTS for c in text}
    cids = {0 if name == ".notdef" else int(name[3:]) for name in cff.topDictIndex[0].charset}
    assert cids == drawn | {0}  # kept by their CIDs, which are the codes drawn


def test_pages_have_the_cards_boxes_and_the_document_its_title(plain: bytes) -> None:
    pdf = strict(plain)
    assert len(pdf.pages) == 2
    for page in pdf.pages:
        assert [float(v) for v in page.TrimBox] == pytest.approx([0, 0, *CARD], abs=0.001)
        assert page.MediaBox == page.TrimBox == page.BleedBox
    assert pdf.docinfo.Title == "恒安社区 第3网格"
    assert str(pdf.docinfo.CreationDate) == "D:20261129000000Z"
    with pdf.open_metadata() as xmp:
        assert xmp["dc:title"] == "恒安社区 第3网格"
        assert xmp["pdfuaid:part"] == "1"
    assert pdf.Root.Lang == "zh-CN"
    marked = pdf.Root.MarkInfo.Marked
    assert isinstance(marked, bool) and marked


def test_the_structure_tree_finds_each_pages_paragraph(plain: bytes) -> None:
    pdf = strict(plain)
    tree = pdf.Root.StructTreeRoot
    document = tree.K
    assert document.S == "/Document" and len(document.K) == 2
    nums = list(tree.ParentTree.Nums)
    for index, (page, section) in enumerate(zip(pdf.pages, document.K, strict=True)):
        assert section.S == "/Sect"
        paragraph = section.K
        assert paragraph.S == "/P" and paragraph.K == 1 and paragraph.Pg.objgen == page.objgen
        assert page.StructParents == index
        assert nums[2 * index] == index
        assert [e.objgen if e is not None else None for e in nums[2 * index + 1]] == \
            [None, paragraph.objgen]  # MCID 0 is the frame's; these pages have none
    assert tree.ParentTreeNextKey == 2


def test_the_same_pages_give_the_same_bytes(plain: bytes, fonts: FontSet,
                                            typesetter: Typesetter) -> None:
    assert compose(fonts, typesetter) == plain
    assert compose(fonts, typesetter, ("张秀英 户主", "阳光花园3号楼")) != plain


def test_crop_marks_stand_outside_the_bleed_in_registration_colour(
        fonts: FontSet, typesetter: Typesetter) -> None:
    bleed = 3.0
    data = compose(fonts, typesetter, TEXTS[:1], bleed=bleed, marks=True)
    pdf = strict(data)
    [page] = pdf.pages
    out = (bleed + SLUG) * MM
    assert [float(v) for v in page.MediaBox] == pytest.approx(
        [-out, -out, CARD[0] + out, CARD[1] + out], abs=0.001)
    assert [float(v) for v in page.BleedBox] == pytest.approx(
        [-bleed * MM, -bleed * MM, CARD[0] + bleed * MM, CARD[1] + bleed * MM], abs=0.001)
    registration = page.Resources.ColorSpace.CgRegistration
    assert list(registration)[:3] == ["/Separation", "/All", "/DeviceCMYK"]
    marks = page.Contents[-1].read_bytes()
    assert marks.startswith(b"/Artifact BMC") and b"/CgRegistration CS 1 SCN" in marks
    assert marks.count(b" l S") == 8  # two at each corner


def test_a_pdfa_file_has_its_intent_plain_metadata_and_grey_registration(
        fonts: FontSet, typesetter: Typesetter) -> None:
    pdf = strict(compose(fonts, typesetter, TEXTS[:1], variant="pdf/a-2b", marks=True))
    metadata = pdf.Root.Metadata
    assert "/Filter" not in metadata
    assert pdf.open_metadata()["pdfaid:part"] == "2"
    [intent] = pdf.Root.OutputIntents
    assert intent.S == "/GTS_PDFA1" and intent.DestOutputProfile.N == 3
    registration = pdf.pages[0].Resources.ColorSpace.CgRegistration
    assert registration[2] == "/DeviceGray"  # PDF/A with an sRGB intent admits no CMYK


def test_a_press_file_names_its_printing_condition(fonts: FontSet,
                                                   typesetter: Typesetter) -> None:
    pdf = strict(compose(fonts, typesetter, TEXTS[:1], variant="press"))
    [intent] = pdf.Root.OutputIntents
    assert intent.S == "/GTS_PDFX" and intent.OutputConditionIdentifier == "FOGRA39"
    assert pdf.docinfo.Trapped == "/False"
    assert "/Filter" in pdf.Root.Metadata  # compressed where PDF/A does not forbid it


def test_imposed_cards_are_forms_two_to_a_sheet(fonts: FontSet,
                                                typesetter: Typesetter) -> None:
    imposition = load_config().papers.impositions["a4-2up"]
    a5 = (148.0 * MM, 210.0 * MM)
    data = compose(fonts, typesetter, ("一", "二", "三"), size=a5, imposition=imposition)
    pdf = strict(data)
    assert len(pdf.pages) == 2  # three cards: a full sheet and a half one
    first, second = pdf.pages
    assert [float(v) for v in first.MediaBox] == pytest.approx([0, 0, 297 * MM, 210 * MM],
                                                               abs=0.001)
    assert sorted(first.Resources.XObject.keys()) == ["/Card1", "/Card2"]
    assert sorted(second.Resources.XObject.keys()) == ["/Card1"]
    form = first.Resources.XObject.Card1
    assert form.Subtype == "/Form" and "/StructParents" in form
    content = first.Contents.read_bytes()
    assert b"/Card1 Do" in content and b"/Card2 Do" in content
    document = pypdfium2.PdfDocument(data)
    try:
        assert document[0].get_textpage().get_text_range().split() == ["一", "二"]
    finally:
        document.close()


def test_an_a4_2up_sheet_with_bleed_grows_to_keep_each_cards_bleed() -> None:
    """The sum in plan_sheet's docstring: 297 + 4 × 3 + 2 × 10 by 210 + 2 × 3 + 2 × 10."""
    imposition = load_config().papers.impositions["a4-2up"]
    bleed = 3 * MM
    plan = plan_sheet(imposition, (148 * MM, 210 * MM), bleed, marks=True)
    assert plan.size[0] / MM == pytest.approx(329) and plan.size[1] / MM == pytest.approx(236)
    (x1, _), (x2, _) = plan.places
    assert (x2 - x1) / MM == pytest.approx(148.0 + 2 * 3)  # apart by twice the bleed
    bleeds = [(x - bleed, y - bleed, x + 148 * MM + bleed, y + 210 * MM + bleed)
              for x, y in plan.places]
    for x0, y0, xe, ye in plan.marks:  # no mark crosses a card's bleed
        for left, bottom, right, top in bleeds:
            assert not (min(x0, xe) < right and max(x0, xe) > left
                        and min(y0, ye) < top and max(y0, ye) > bottom)
    plain = plan_sheet(imposition, (148 * MM, 210 * MM), 0.0, marks=False)
    assert plain.size == pytest.approx((297 * MM, 210 * MM))
    # without marks, cut guides: only on the cut between the cards (the others are within
    # 2 mm of the paper's edge), 5 to 10 mm in from the sheet's top and bottom, once (one
    # card's right edge and the next one's left are one cut)
    cut = 148.5 * MM
    assert [tuple(round(v / MM, 3) for v in guide) for guide in plain.marks] == [
        (round(cut / MM, 3), 5.0, round(cut / MM, 3), 10.0),
        (round(cut / MM, 3), 205.0, round(cut / MM, 3), 200.0)]


def test_crop_marks_of_one_card_are_two_per_corner_inside_the_media() -> None:
    boxes = page_boxes(CARD, 3 * MM, SLUG * MM)
    marks = crop_marks([boxes["/TrimBox"]], 3 * MM, SLUG * MM, boxes["/MediaBox"])
    assert len(marks) == 8
    left, bottom, right, top = boxes["/MediaBox"]
    for x0, y0, x1, y1 in marks:
        assert left <= min(x0, x1) and max(x0, x1) <= right
        assert bottom <= min(y0, y1) and max(y0, y1) <= top
        assert x0 == x1 or y0 == y1  # in line with an edge


def test_a_structure_element_left_open_is_refused() -> None:
    with pytest.raises(ValueError, match="opened and never closed"):
        read_structure(b"%<P\n/P <</MCID 1>> BDC\nEMC")
    content = b"q 0 0 1 1 re f Q"
    assert read_structure(content) == (content, [], False)  # nothing tagged: as it is


# a page's structure as the canvas gives it: a table with a header, a cell two columns
# wide, an empty cell, a figure described (its words with a "%"), MCIDs at every level
KIDS = [("Table", "", [("TR", "", [("TH", "", [1]), ("TD:2", "", [2, 3]), ("TD", "", [])]),
                       ("TR", "", [("TD", "", [4])])]),
        ("Figure", "红色 50% 重点人员", [5]), 6]


@pytest.mark.parametrize("kids", [KIDS, [0, *KIDS], [], [("P", "", [1])]])
@pytest.mark.parametrize("frame_first", [False, True])
@pytest.mark.parametrize("per_stream", [3, 25])
def test_a_compiled_structure_writes_what_the_kids_write(
        kids: list[object], frame_first: bool, per_stream: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # compiled where the page is drawn, written by the main process: the same objects,
    # numbers and parent tree as written from the kids, an object stream filling midway
    # (a page's objects one by one) or between pages (all at once, Writer.objects)
    monkeypatch.setattr("cardgen.pdf.writer.OBJECTS_PER_STREAM", per_stream)
    batches: list[int] = []
    whole = Writer.objects

    def objects(self: Writer, numbers: list[int], bodies: list[bytes]) -> None:
        batches.append(len(numbers))
        whole(self, numbers, bodies)

    monkeypatch.setattr(Writer, "objects", objects)
    written = []
    for compiled in (False, True):
        out = io.BytesIO()
        composer = Composer(out, CARD, {})
        for number in range(8):
            page = composer.writer.reserve()
            if number == 5:  # a page whose number is not the one just before its elements'
                composer.writer.new(b"<</Other true>>")
            if compiled:
                composer._tag_compiled(compile_structure(kids), frame_first, page)
            else:
                composer._tag([0, *kids] if frame_first else kids, page)
            composer.writer.object(page, b"<</Type /Page>>")
        composer.finish("t", "2026-11-29")
        written.append(out.getvalue())
    assert written[0] == written[1]
    with pikepdf.open(io.BytesIO(written[1])) as pdf:
        alts = [str(o.Alt) for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                and "/Alt" in o]
    assert alts == (["红色 50% 重点人员"] * 8 if len(kids) > 2 else [])
    if per_stream > 3 and len(kids) > 2:  # pages written at once, and one by one
        assert 0 < len(batches) < 8
