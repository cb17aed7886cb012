"""Compose the output PDF, written as it goes: card frames and covers as Form XObjects
under each page's data layer, crop marks in registration colour, cards imposed on sheets
when asked, and each of cardgen's fonts embedded once, at the end, with exactly the glyphs
every page used.

Memory does not grow with the document: a page is on disk once it is added; only the
object offsets, the glyph sets and the frames stay in memory.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import re
import zlib
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from cardgen.cache import Cache
from cardgen.cache import key as cache_key
from cardgen.config import Imposition
from cardgen.layout.fonts import Face, resource_name
from cardgen.layout.geometry import MM
from cardgen.pdf.canvas import GlyphLog
from cardgen.pdf.subset import (
    CID_CFF,
    TRUETYPE,
    cached_subset,
    read_tounicode,
    read_widths,
    tounicode_cmap,
    widths_array,
)
from cardgen.pdf.writer import (
    FLATE_LEVEL,
    FORM,
    Box,
    Claim,
    Step,
    Writer,
    box,
    name,
    number,
    read_text,
    record_page,
    replay_page,
    text,
)

SLUG = 10.0  # mm around the bleed for crop marks, when marks are asked for
GUIDE = (5.0, 10.0)  # mm from an imposed sheet's edge: cut guides, where printers print

# The XMP metadata of a file but a PDF/A one: the title a viewer shows (PDF/UA wants it here
# too) and the PDF/UA-1 identification, beside what the document information says.
XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdfuaid:part>1</pdfuaid:part>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:language><rdf:Bag><rdf:li>zh-CN</rdf:li></rdf:Bag></dc:language>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <xmp:CreatorTool>cardgen</xmp:CreatorTool>
   <pdf:Producer>{producer}</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
PRODUCER = "cardgen (WeasyPrint, HarfBuzz)"
# A PDF/A-2b file's XMP stays unfiltered (PDF/A-2 6.6.2.1; page-validation's
# PDFA2B-METADATA-FILTER-001), so it says only what PDF/A-2b and PDF/UA-1 ask for, compactly
# (simple properties as attributes, no indentation): the PDF/A and PDF/UA identifications,
# the extension schema that PDF/A asks for pdfuaid (not one of its predefined schemas), and
# dc:title. The dates, creator and producer are in the document information dictionary,
# which PDF/A-2, unlike PDF/A-1, does not ask the XMP to repeat (veraPDF's PDF/A-2 rules
# have no such test); the language is the catalog's /Lang. In the 12-person G01-0004's
# reprint: 1,348 bytes, where the XMP above with the identification and schema was 2,051.
PDFA_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"'
    ' xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"'
    ' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"'
    ' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"'
    ' pdfaid:part="2" pdfaid:conformance="B" pdfuaid:part="1">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>'
    '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
    '<pdfaSchema:schema>PDF/UA identification</pdfaSchema:schema>'
    '<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>'
    '<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>'
    '<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">'
    '<pdfaProperty:name>part</pdfaProperty:name>'
    '<pdfaProperty:valueType>Integer</pdfaProperty:valueType>'
    '<pdfaProperty:category>internal</pdfaProperty:category>'
    '<pdfaProperty:description>Part of ISO 14289 followed</pdfaProperty:description>'
    '</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas>'
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')

# Registration colour: marks print on every plate of a print shop's separations; the
# alternate space is what a composite printer (an office laser) shows. PDF/A with an sRGB
# output intent admits no DeviceCMYK, so there the alternate is DeviceGray.
REGISTRATION = {
    "cmyk": b"[/Separation /All /DeviceCMYK <</FunctionType 2 /Domain [0 1] /C0 [0 0 0 0] "
            b"/C1 [1 1 1 1] /N 1>>]",
    "gray": b"[/Separation /All /DeviceGray <</FunctionType 2 /Domain [0 1] /C0 [1] "
            b"/C1 [0] /N 1>>]",
}
MARK_INK = b"/CgRegistration CS 1 SCN"

# The print shop variant: an output intent naming the printing condition, by its
# identifier in the ICC's registry of characterisations (no profile is embedded).
PRESS_INTENT = (b"<</Type /OutputIntent /S /GTS_PDFX /OutputConditionIdentifier (FOGRA39) "
                b"/RegistryName (http://www.color.org) /OutputCondition (Offset printing, "
                b"coated paper, ISO 12647-2:2004) /Info (Coated FOGRA39 "
                b"(ISO 12647-2:2004))>>")


def page_boxes(size: tuple[float, float], bleed: float, slug: float) -> dict[str, Box]:
    """TrimBox is the card; BleedBox adds the bleed; MediaBox adds room for the marks."""
    width, height = size

    def around(out: float) -> Box:
        return (-out, -out, width + out, height + out)

    return {"/MediaBox": around(bleed + slug), "/CropBox": around(bleed + slug),
            "/BleedBox": around(bleed), "/TrimBox": around(0.0)}


Segment = tuple[float, float, float, float]


def crop_marks(trims: list[Box], bleed: float, slug: float, media: Box) -> list[Segment]:
    """Crop marks at each trim's corners, in the line of its edges, from just outside the
    bleed to just inside the media; a mark that would cross a card's bleed (a neighbour's,
    on an imposed sheet) is left out: the one in line with it on the sheet's edge shows
    the same cut."""
    start, end = bleed + 1.5 * MM, bleed + slug - 1 * MM
    bleeds = [(x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed) for x0, y0, x1, y1 in trims]
    marks = []
    for x0, y0, x1, y1 in trims:
        for x, y, out_x, out_y in ((x0, y0, -1, -1), (x1, y0, 1, -1), (x0, y1, -1, 1),
                                   (x1, y1, 1, 1)):
            for mark in ((x + out_x * start, y, x + out_x * end, y),
                         (x, y + out_y * start, x, y + out_y * end)):
                if (not any(_crosses(mark, other) for other in bleeds)
                        and _inside(mark, media)):
                    marks.append(mark)
    return marks


def _crosses(mark: Segment, area: Box) -> bool:
    left, right = sorted((mark[0], mark[2]))
    bottom, top = sorted((mark[1], mark[3]))
    return left < area[2] and right > area[0] and bottom < area[3] and top > area[1]


def _inside(mark: Segment, area: Box) -> bool:
    return (min(mark[0], mark[2]) >= area[0] and max(mark[0], mark[2]) <= area[2]
            and min(mark[1], mark[3]) >= area[1] and max(mark[1], mark[3]) <= area[3])


def mark_content(marks: list[Segment], width: float) -> bytes:
    """Marks as lines in registration colour."""
    lines = " ".join(f"{x0:.3f} {y0:.3f} m {x1:.3f} {y1:.3f} l S" for x0, y0, x1, y1 in marks)
    return (f"/Artifact BMC q {width:.2f} w ".encode() + MARK_INK + b" " + lines.encode()
            + b" Q EMC\n")


# A page's structure, read from the comment lines the canvas writes (cardgen/pdf/canvas.py):
# an element is (role, alternate description, kids), a kid an element or an MCID (0: the
# frame's content, drawn by the frame's own content stream). A role `TD:n` is a cell n
# columns wide.
Element = tuple[str, str, list[Any]]
# A comment line is found by the newline before it (read_structure puts one before the
# first line): every alternative then starts with a character, which the regex engine skips
# to, where `^` made it try every byte (an update's 36 pages: 18 -> 12 ms, session 6).
STRUCTURE = re.compile(
    rb"\n%(?:<([\w:]+)(?: (<[0-9a-fA-F]*>|\([^)]*\)))?|(>)|(F))(?=\n|\Z)|/MCID (\d+)>>")
COMMENTS = re.compile(rb"^%.*\n?", re.MULTILINE)
# a comment line after the first, without its newline: searched for by its two first bytes,
# which COMMENTS's "^" keeps the regular expression engine from doing
_LATER_COMMENT = re.compile(rb"\n%[^\n]*")


def uncommented(content: bytes) -> bytes:
    """COMMENTS.sub(b"", content), in half its time: each comment line taken out with its
    newline (a last line's newline before it stays). The comments ahead are cut off; each
    later one goes with the newline before it, and the newline that comes last then is put
    back. (The regular expression took 6 % of the instructions a worker spends drawing and
    preparing a card, callgrind, session 8.)"""
    while content[:1] == b"%":
        end = content.find(b"\n")
        content = b"" if end < 0 else content[end + 1:]
    last = content.rfind(b"\n")
    kept = _LATER_COMMENT.sub(b"", content)
    return kept + b"\n" if last >= 0 and content[last + 1:last + 2] == b"%" else kept


def read_structure(content: bytes) -> tuple[bytes, list[Any], bool]:
    """The content without its structure comments, the page's kids (elements and MCIDs in
    reading order), and whether the frame's place was given."""
    top: list[Any] = []
    stack: list[list[Any]] = [top]
    framed = False
    # findall's tuples (b"" for a group not taken), not match objects: an update's 36
    # index and change pages read in 32 ms, not 45 (session 6)
    for role, alt, end, frame, mcid in STRUCTURE.findall(b"\n" + content):
        if role:
            kids: list[Any] = []
            title = read_text(alt) if alt else ""
            stack[-1].append((role.decode(), title, kids))
            stack.append(kids)
        elif end:
            stack.pop()
        elif frame:
            stack[-1].append(0)
            framed = True
        else:
            stack[-1].append(int(mcid))
    if len(stack) != 1:
        raise ValueError("a structure element was opened and never closed")
    return COMMENTS.sub(b"", content) if top or framed else content, top, framed


# A page's structure as the composer writes it on an unimposed page (`compile_structure`):
# - steps: a step >= 0 reserves the number of element `step`, ~step writes element `step`;
#   elements are counted in the order their numbers are reserved, the page's Sect first
#   (written last);
# - the elements but the Sect: their objects as templates in the order they are written,
#   joined by newlines (in none of them: text() escapes them, roles are words), what fills
#   their %d in turn (an element, or PAGE) and how many fill each;
# - the Sect's template, what fills it (an element, PAGE or DOCUMENT) and the parent tree
#   entry's (by MCID: its element's number or null), without and with the frame's MCID 0
#   put first (a page over a frame whose place the canvas did not give), or None for a
#   page with no structure.
# The same objects, in the same order, as Composer._tag writes from the kids: compiled where
# the page is drawn (a worker, or once for the cache), it spares the main process the walk,
# 10 % of its py-spy samples in a 1,000-card ledger from the cache (session 5).
PAGE, DOCUMENT = -1, -2
TemplateRefs = tuple[bytes, tuple[int, ...]]
# (the Sect's template, what fills it, the parent tree entry's)
SectVariant = tuple[bytes, tuple[int, ...], TemplateRefs] | None
Compiled = tuple[list[int], bytes, tuple[int, ...], tuple[int, ...],
                 tuple[SectVariant, SectVariant]]


def compile_structure(kids: list[Any]) -> Compiled:
    """The page's structure (read_structure's kids) compiled for Composer._tag."""
    steps: list[int] = [0]
    elements: list[TemplateRefs] = [(b"", ())]

    def literal(value: bytes) -> bytes:
        return value.replace(b"%", b"%%")

    def held(index: int, kids: list[Any], owners: dict[int, int],
             ) -> tuple[list[bytes], list[int]]:
        """An element's kids as its /K parts (their %d) and what fills them, its child
        elements compiled on the way."""
        parts, refs = [], []
        for kid in kids:
            if isinstance(kid, int):
                owners[kid] = index
                parts.append(b"%d" % kid)
            elif not kid[2]:  # an empty cell: in its parent, no object of its own
                parts.append(b"<</S /%s /P %%d 0 R>>" % literal(kid[0].encode()))
                refs.append(index)
            else:
                child = len(elements)
                elements.append((b"", ()))
                steps.append(child)
                role, alt, grandkids = kid
                parts_below, refs_below = held(child, grandkids, owners)
                elements[child] = element(role, alt, parts_below, refs_below, index,
                                          any(isinstance(k, int) for k in grandkids))
                steps.append(~child)
                parts.append(b"%d 0 R")
                refs.append(child)
        return parts, refs

    def element(role: str, alt: str, parts: list[bytes], refs: list[int], parent: int,
                on: bool) -> TemplateRefs:
        described = b" /Alt %s" % literal(text(alt)) if alt else b""
        role, _, span = role.partition(":")
        table = (b" /A <</O /Table /Scope /Column>>" if role == "TH" else
                 b" /A <</O /Table /ColSpan %s>>" % literal(span.encode()) if span else b"")
        kept = (b"" if not parts else b" /K " + parts[0] if len(parts) == 1
                else b" /K [" + b" ".join(parts) + b"]")
        template = b"<</S /%s /P %%d 0 R%s%s%s%s>>" % (
            literal(role.encode()), b" /Pg %d 0 R" if on else b"", kept, described, table)
        return template, (parent, *((PAGE,) if on else ()), *refs)

    def variant(parts: list[bytes], refs: list[int], on: bool,
                owners: dict[int, int]) -> SectVariant:
        if not parts:
            return None
        mcids = range(max(owners, default=-1) + 1)
        return (*element("Sect", "", parts, refs, DOCUMENT, on),
                (b" ".join(b"%d 0 R" if mcid in owners else b"null" for mcid in mcids),
                 tuple(owners[mcid] for mcid in mcids if mcid in owners)))

    owners: dict[int, int] = {}
    parts, refs = held(0, kids, owners)
    plain = variant(parts, refs, any(isinstance(kid, int) for kid in kids), owners)
    # the frame's MCID 0 first (Composer.add_prepared_page) changes only the Sect and the
    # parent tree entry
    framed = variant([b"0", *parts], refs, True, {**owners, 0: 0})
    steps.append(~0)
    written = [elements[~step] for step in steps if step < -1]  # in order, but the Sect
    templates = [template for template, _ in written]
    if any(b"\n" in template for template in templates):
        raise ValueError("a structure element's object holds a newline")
    return (steps, b"\n".join(templates), tuple(ref for _, refs in written for ref in refs),
            tuple(len(refs) for _, refs in written), (plain, framed))


# A page's content as the composer takes it without reading it again: the content without
# its structure comments, zlib-compressed (b"" when nothing is left), its kids and whether
# the frame's place was given (read_structure's), and its structure compiled
# (compile_structure). Made where the page is drawn (a worker, or the cache), so the main
# process neither reads nor compresses a card's content again.
Prepared = tuple[bytes, list[Any], bool, Compiled]


def prepare_content(content: bytes,
                    structure: tuple[list[Any], bool, Hashable] | None = None,
                    compiled: Compiled | None = None) -> Prepared:
    """A drawn page's content as `Composer.add_prepared_page` takes it; `structure`: its
    kids, framing and shape as the canvas kept them (Canvas.structure), not read again;
    `compiled`: compile_structure of those kids, when the caller has it. Pages of one shape
    have the same structure, compiled once (`_COMPILED`)."""
    if structure is None:
        raw, kids, framed = read_structure(content)
        compiled = compile_structure(kids)
    else:
        kids, framed, shape = structure
        raw = uncommented(content) if kids or framed else content
        if compiled is None:
            compiled = _COMPILED.get(shape)
            if compiled is None:
                if len(_COMPILED) >= COMPILED_KEPT:
                    _COMPILED.clear()
                compiled = _COMPILED[shape] = compile_structure(kids)
    return (zlib.compress(raw, FLATE_LEVEL) if raw else b"", kids, framed, compiled)


# Structures compiled, by their shape (Canvas.structure): 1,000 cards' pages have some 110
# shapes, and compiling each page's took 0.16 ms of a worker's 1.1 ms a card (session 7).
# Bounded: a process drawing one ledger after another does not keep them all.
COMPILED_KEPT = 1024
_COMPILED: dict[Hashable, Compiled] = {}


@dataclass(frozen=True)
class SheetPlan:
    """An imposed sheet: its size, where each card's trimmed page goes (bottom-left corner,
    points), the boxes, and its marks (crop marks with --marks, else cut guides)."""

    size: tuple[float, float]
    places: list[tuple[float, float]]
    boxes: dict[str, Box]
    marks: list[Segment]


def plan_sheet(imposition: Imposition, card: tuple[float, float], bleed: float,
               marks: bool) -> SheetPlan:
    """Cards on an imposed sheet.

    Without marks, the cards sit where the imposition puts them, and short cut guides go
    on every cut between cards, GUIDE mm in from the sheet's edges: a printer's margin
    hides anything nearer. With marks (or bleed, which needs marks to find the trim), the
    sheet grows: each card keeps its bleed on every side, so cards move apart by twice the
    bleed, and a slug of SLUG mm around them carries each card's crop marks. An a4-2up
    sheet with 3 mm of bleed is then 297 + 4 × 3 + 2 × 10 = 329 mm by 210 + 2 × 3 + 2 × 10
    = 236 mm (an SRA3 sheet holds it); the cards are never scaled."""
    width, height = card
    columns = sorted({x for x, _ in imposition.slots})
    rows = sorted({y for _, y in imposition.slots})
    grow = marks or bleed > 0
    slug = SLUG * MM if grow else 0.0
    sheet_w = imposition.sheet[0] * MM + 2 * slug + 2 * len(columns) * bleed
    sheet_h = imposition.sheet[1] * MM + 2 * slug + 2 * len(rows) * bleed
    places = []
    for x, y in imposition.slots:
        left = slug + x * MM + (2 * columns.index(x) + 1) * bleed
        top = slug + y * MM + (2 * rows.index(y) + 1) * bleed
        places.append((round(left, 3), round(sheet_h - top - height, 3)))
    trims = [(x, y, x + width, y + height) for x, y in places]
    media = (0.0, 0.0, round(sheet_w, 3), round(sheet_h, 3))
    if not grow:
        return SheetPlan((sheet_w, sheet_h), places,
                         {"/MediaBox": media, "/BleedBox": media, "/TrimBox": media},
                         cut_guides(trims, media))
    trim = (min(t[0] for t in trims), min(t[1] for t in trims), max(t[2] for t in trims),
            max(t[3] for t in trims))
    bled = (trim[0] - bleed, trim[1] - bleed, trim[2] + bleed, trim[3] + bleed)
    return SheetPlan((sheet_w, sheet_h), places,
                     {"/MediaBox": media, "/BleedBox": bled, "/TrimBox": trim},
                     crop_marks(trims, bleed, slug, media))


# An affine map as PDF writes it (`a b c d e f cm`): (x, y) -> (a x + c y + e, b x + d y + f)
Matrix = tuple[float, float, float, float, float, float]


def turned_over(size: tuple[float, float]) -> Matrix:
    """Where a point of a page of `size` is seen from its back, once the sheet is turned
    over on its long edge (long-edge binding, as every duplex print of cardgen's is): a
    portrait page turns like a book's, left and right swap; a landscape one (an a4-2up
    sheet) turns like a calendar's, top and bottom swap."""
    width, height = size
    if width > height:
        return (1, 0, 0, -1, 0, height)
    return (-1, 0, 0, 1, width, 0)


def then(first: Matrix, second: Matrix) -> Matrix:
    """`first`, then `second` (PDF's order: first × second)."""
    a1, b1, c1, d1, e1, f1 = first
    a2, b2, c2, d2, e2, f2 = second
    return (a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, c1 * a2 + d1 * c2, c1 * b2 + d1 * d2,
            e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2)


def _apply(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


@dataclass(frozen=True)
class BackSheet:
    """The back of an imposed sheet printed duplex: how each slot's back page is placed
    (a matrix from the card page to the sheet), the boxes and the marks, all where the
    front's are once the sheet is turned over."""

    matrices: list[Matrix]
    boxes: dict[str, Box]
    marks: list[Segment]


def plan_back(sheet: SheetPlan, card: tuple[float, float]) -> BackSheet:
    """The back of `sheet`: each card's back page exactly behind its front.

    A card's back page is made for the card turned over on its own long edge (its tab
    mirrored, cardgen/frame/render.py); the sheet turns over on its long edge
    (`turned_over`). So a back page goes through the card's turn (back to the front's
    side), to its slot, then through the sheet's turn: on an a4-2up sheet (landscape, A5
    cards upright) that is half a turn in its own slot, as the calendar-like turn of the
    sheet and the book-like turn of the cut card differ by half a turn. Crop marks, cut
    guides and boxes are the front's, turned over: in register."""
    sheet_turn, card_turn = turned_over(sheet.size), turned_over(card)
    matrices = [then(then(card_turn, (1, 0, 0, 1, x, y)), sheet_turn)
                for x, y in sheet.places]
    marks = [(*_apply(sheet_turn, x0, y0), *_apply(sheet_turn, x1, y1))
             for x0, y0, x1, y1 in sheet.marks]
    boxes = {}
    for key, (x0, y0, x1, y1) in sheet.boxes.items():
        (u0, v0), (u1, v1) = _apply(sheet_turn, x0, y0), _apply(sheet_turn, x1, y1)
        boxes[key] = (round(min(u0, u1), 3) + 0.0, round(min(v0, v1), 3) + 0.0,
                      round(max(u0, u1), 3) + 0.0, round(max(v0, v1), 3) + 0.0)
    return BackSheet(matrices, boxes, marks)


def cut_guides(trims: list[Box], media: Box) -> list[Segment]:
    """Short lines on each cut that is not the paper's own edge, GUIDE mm in from the
    sheet's edges."""
    near, far = GUIDE[0] * MM, GUIDE[1] * MM
    edge = 2 * MM  # a cut this close to the paper's edge needs no guide
    # to a thousandth of a point, as the places are: one card's right edge and the next
    # one's left are one cut, though their sums differ in the last bit
    xs = sorted({round(x, 3) for t in trims for x in (t[0], t[2])})
    ys = sorted({round(y, 3) for t in trims for y in (t[1], t[3])})
    guides = []
    for x in xs:
        if edge < x < media[2] - edge:
            guides += [(x, near, x, far), (x, media[3] - near, x, media[3] - far)]
    for y in ys:
        if edge < y < media[3] - edge:
            guides += [(near, y, far, y), (media[2] - near, y, media[2] - far, y)]
    return guides


def shared_texts(families: list[dict[int, str]]) -> dict[int, str] | None:
    """One ToUnicode mapping for all the fonts, when no code shows one text in a font and
    another in the next: Noto Sans CJK's weights number their glyphs alike, so the bold
    font's codes are the regular's. One CMap, not one a font, makes the largest one-card
    reprint 0.5 KB smaller (1,285 bytes, not 1,756: 36 of the bold font's 67 glyphs are
    the regular's too, and one CMap header goes). A reader looks up only the codes a font
    shows, so the others' entries change nothing for it."""
    merged: dict[int, str] = {}
    for glyphs in families:
        for code, shown in glyphs.items():
            if not shown:
                continue
            if merged.setdefault(code, shown) != shown:
                return None
    return merged


def embed_font(writer: Writer, font: int, face: Face, glyphs: dict[int, str],
               cache: Cache | None, tounicode: int | None = None) -> None:
    """Object `font`: a Type0 font of `face` subset to `glyphs` (glyph -> its text), with
    the ToUnicode CMap `tounicode` (one of its own if None).

    A code in the content streams is the glyph id in the full font; the subset keeps it
    valid (cardgen/pdf/subset.py): as the CID of a bare CID-keyed CFF, through a
    /CIDToGIDMap for TrueType, or as a kept glyph id."""
    scale = 1000 / face.units
    used = set(glyphs) | {0}
    subset = cached_subset(face.path, used, cache)
    digest = hashlib.sha256(",".join(map(str, sorted(used))).encode()).digest()
    base = name("".join(chr(ord("A") + byte % 26) for byte in digest[:6]) + "+"
                + face.family.replace(" ", "-"))
    left, bottom, right, top = (round(v * scale) for v in face.bbox)
    if subset.kind == TRUETYPE:
        program_object = writer.new_stream(b"", subset.program)
        program_key, cid_type = b"/FontFile2", b"CIDFontType2"
        gid_map = b" /CIDToGIDMap %d 0 R" % writer.new_stream(b"", subset.cid_to_gid_map())
    else:
        program_object = writer.new_stream(
            b" /Subtype /CIDFontType0C" if subset.kind == CID_CFF else b" /Subtype /OpenType",
            subset.program)
        program_key, cid_type, gid_map = b"/FontFile3", b"CIDFontType0", b""
    descriptor = writer.new(
        b"<</Type /FontDescriptor /FontName %s /FontFamily %s /Flags 4 /FontBBox %s "
        b"/ItalicAngle %s /Ascent %d /Descent %d /CapHeight %d /StemV 80 %s %d 0 R>>" % (
            base, text(face.family), box((left, bottom, right, top)),
            number(face.italic_angle), round(face.ascent * scale),
            -round(face.descent * scale), round(face.cap_height * scale),
            program_key, program_object))
    widths = {glyph: round(face.advances[glyph] * scale, 3) for glyph in sorted(used)
              if glyph < len(face.advances)}
    # the width most glyphs have (a CJK font's em) is the default; /W lists the others
    default = Counter(widths.values()).most_common(1)[0][0]
    others = {glyph: width for glyph, width in widths.items() if width != default}
    descendant = writer.new(
        b"<</Type /Font /Subtype /%s /BaseFont %s /CIDSystemInfo <</Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0>> /FontDescriptor %d 0 R /DW %s /W %s%s>>" % (
            cid_type, base, descriptor, number(default), widths_array(others), gid_map))
    if tounicode is None:
        tounicode = writer.new_stream(b"", tounicode_cmap(glyphs))
    writer.object(font, b"<</Type /Font /Subtype /Type0 /BaseFont %s /Encoding /Identity-H "
                        b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R>>"
                  % (base, descendant, tounicode))


def metadata_entry(writer: Writer, title: str, date: str, pdfa: bool) -> bytes:
    """The catalog's XMP metadata: XMP, matching the document information, compressed; in
    a PDF/A file PDFA_XMP, which readers must find unfiltered."""
    # xml.sax.saxutils.escape's three replacements: importing it (and urllib, http, email
    # with it) took 14 ms of a 0.45 s one-card reprint (python -X importtime, session 6)
    escaped = title.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    xmp = (PDFA_XMP.format(title=escaped) if pdfa else
           XMP.format(title=escaped, date=f"{date}T00:00:00Z", producer=PRODUCER))
    metadata = writer.new_stream(b" /Type /Metadata /Subtype /XML", xmp.encode(),
                                 compress=not pdfa)
    return b" /Metadata %d 0 R" % metadata


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile: LittleCMS's own (through Pillow), 588 bytes, where WeasyPrint's
    sRGB2014.icc is 3,024 (2.2 KB more in a PDF/A file, compressed). It is a version 4
    display profile, as PDF/A-2 admits, with sRGB's primaries, white point and parametric
    tone curve; its creation date, which LittleCMS sets to the clock, is fixed so that the
    same document gives the same bytes."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = b"".join(n.to_bytes(2, "big") for n in (2026, 12, 7, 0, 0, 0))
    return bytes(profile)


def pdfa_entries(writer: Writer) -> bytes:
    """PDF/A-2b's catalog entry but the metadata: an sRGB output intent."""
    icc = writer.new_stream(b" /N 3", srgb_profile())
    intent = writer.new(
        b"<</Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile %d 0 R "
        b"/OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1)>>" % icc)
    return b" /OutputIntents [%d 0 R]" % intent


FRAME_STEPS = 1  # the format of frame_steps' entries, in their names


def frame_steps(data: bytes, faces: Mapping[str, Face], cache: Cache | None) -> list[Step]:
    """How a frame (a one-page PDF, prepared) is copied into a composer's file
    (writer.record_page), from the cache, or read with pikepdf and kept there: named by
    the frame's bytes and the families whose fonts it claims."""
    name = cache_key("frame steps", FRAME_STEPS, hashlib.sha256(data).digest(), sorted(faces))
    stored = cache.get("frame-steps", name) if cache is not None else None
    if stored is not None:
        with contextlib.suppress(ValueError, EOFError, TypeError):
            steps = marshal.loads(stored)
            if isinstance(steps, list) and steps and steps[-1][0] == FORM:
                return steps
    steps = record_page(data, partial(_font_claim, faces))
    if cache is not None:
        cache.put("frame-steps", name, marshal.dumps(steps))
    return steps


def _font_claim(faces: Mapping[str, Face], obj: Any) -> Claim | None:
    """A frame's font (a pikepdf object) of one of cardgen's families: the family, the
    texts its glyphs show and the glyphs it has widths for."""
    from cardgen.pdf.prepare import font_family

    family = font_family(obj)
    if family is None or family not in faces:
        return None
    texts = [(glyph, shown) for glyph, shown in
             read_tounicode(obj.ToUnicode.read_bytes()).items() if shown]
    widths = obj.DescendantFonts[0].get("/W")
    return family, texts, list(read_widths(list(widths) if widths is not None else []))


class Composer:
    """Builds one output document page by page, straight into `out`.

    `faces` are the fonts cardgen draws with (by family): any font of those families, in
    the data layer or in a frame or cover made by WeasyPrint (prepared by
    cardgen/pdf/prepare.py, so that its codes are the faces' glyph ids), becomes one font
    per family in the output, embedded at the end with the union of the glyphs used.
    Fonts of other families (a user template's own) are copied as they are.
    """

    def __init__(self, out: IO[bytes], page_size: tuple[float, float],
                 faces: Mapping[str, Face], cache: Cache | None = None, bleed: float = 0.0,
                 marks: bool = False, imposition: Imposition | None = None,
                 duplex: bool = False, smallest: bool = False, large: bool = False) -> None:
        self.writer = Writer(out, smallest, cache, large)
        self.log = GlyphLog()
        self.page_size = page_size
        self.faces = faces
        self.cache = cache
        self.imposition = imposition
        self.bleed = bleed * MM
        self.sheet = (plan_sheet(imposition, page_size, self.bleed, marks)
                      if imposition is not None else None)
        # duplex on imposed sheets: odd pages go on a sheet's front, even ones (their
        # backs) on the sheet after it, turned over (plan_back)
        self.back = (plan_back(self.sheet, page_size)
                     if self.sheet is not None and duplex else None)
        slug = SLUG * MM if marks and imposition is None else 0.0
        self.boxes = page_boxes(page_size, self.bleed, slug)
        # every page's boxes, written out once (each page's own took 5 % of a 1,000-card
        # ledger's main process when its cards came from the cache: py-spy, session 5)
        self._box_entries = b"".join(b" %s %s" % (key.encode(), box(value))
                                     for key, value in self.boxes.items())
        self.card_pages = 0
        self._pages = self.writer.reserve()
        self._fonts = self.writer.reserve()  # one /Font table for every data page
        # the marks' colour space, written at the end (it depends on the PDF variant)
        self._registration = self.writer.reserve() if marks or imposition else None
        self._family_fonts: dict[str, int] = {}  # family -> its Type0 font's object
        self._glyphs: dict[str, dict[int, str]] = {}  # family -> glyph -> the text it shows
        self._frame_steps: dict[Hashable, list[Step]] = {}  # frame_steps: how to copy each
        self._frames: dict[Hashable, int] = {}
        self._resources: dict[Hashable, int] = {}
        self._kids: list[int] = []
        # where the next page goes among _kids and its section among _sections (in_front):
        # None, after the rest
        self._front: tuple[int, int] | None = None
        self._slots: list[int] = []  # card forms waiting for their sheet (imposition)
        # the frame is MCID 0 of every page it is under: a figure on a card (the tab and
        # the colour band, described), the words of a cover
        self._draw_frame = self.writer.new_stream(
            b"", b"/Div <</MCID 0>> BDC q /CgFrame Do Q EMC\n", compress=False)
        self._tree = self.writer.reserve()  # the StructTreeRoot
        self._document = self.writer.reserve()  # its one kid, the Document element
        self._sections: list[int] = []  # the Document's kids: a Sect per card page
        self._parents: list[bytes] = []  # the parent tree: per page (or form), by MCID
        self._sheet_page: int | None = None  # the imposed sheet being filled
        self._back_slots: list[int] = []  # its back's forms, by slot (duplex)
        self._back_page: int | None = None  # its back (duplex)
        self._marks = None
        if marks and imposition is None:
            trim = self.boxes["/TrimBox"]
            self._marks = self.writer.new_stream(b"", mark_content(
                crop_marks([trim], self.bleed, slug, self.boxes["/MediaBox"]), 0.25))

    # ---- input ----------------------------------------------------------------------

    def add_frames(self, frames: Mapping[Any, bytes]) -> None:
        """Frames (one-page PDFs, prepared) by key; each is written once, when first used."""
        for key, data in frames.items():
            if key not in self._frame_steps:
                self._frame_steps[key] = frame_steps(data, self.faces, self.cache)

    def add_data_page(self, content: bytes, frame: Hashable | None = None,
                      compressed: bool = False) -> None:
        """A page drawn by cardgen: the frame (if any) below, the data layer above.

        `content` is the data layer's operators, zlib-compressed already if `compressed`."""
        original = zlib.decompress(content) if compressed else content
        self.add_prepared_page(prepare_content(original), frame)

    def add_prepared_page(self, prepared: Prepared, frame: Hashable | None = None) -> None:
        """A page drawn by cardgen whose content `prepare_content` has read (the same page
        as `add_data_page` of that content)."""
        resources = b"%d 0 R" % self._page_resources(frame)
        data, kids, framed, compiled = prepared
        frame_first = frame is not None and not framed
        if frame_first:
            kids = [0, *kids]  # the frame's words first (a cover's)
        if self.imposition is not None:
            under = (b"/Div <</MCID 0>> BDC q /CgFrame Do Q EMC\n" if frame is not None
                     else b"")
            self._place(resources, under + (zlib.decompress(data) if data else b""), kids)
            return
        contents = [] if frame is None else [self._draw_frame]
        if data:
            contents.append(self.writer.stream(self.writer.reserve(),
                                               b" /Filter /FlateDecode", data))
        page = self.writer.reserve()
        self._page(resources, contents, page, self._tag_compiled(compiled, frame_first, page))

    @property
    def page_count(self) -> int:
        """Card pages added so far (an imposed sheet carries several)."""
        return self.card_pages

    @property
    def pages_written(self) -> int:
        """The output's pages so far (imposed: its sheets, a duplex sheet's back one)."""
        return len(self._kids)

    # ---- pages ----------------------------------------------------------------------

    def _page(self, resources: bytes, contents: list[int], page: int,
              parents: int | None) -> None:
        """A page of the output, the card's size (with bleed and marks when asked)."""
        self.card_pages += 1
        if self._marks is not None:
            contents = [*contents, self._marks]
        tagged = b"" if parents is None else b" /StructParents %d /Tabs /S" % parents
        self._kid(self.writer.object(page,
            b"<</Type /Page /Parent %d 0 R /Resources %s /Contents [%s]%s%s>>" % (
                self._pages, resources, b" ".join(b"%d 0 R" % n for n in contents),
                self._box_entries, tagged)))

    def in_front(self) -> None:
        """The pages added from now on go before those added so far, in the order they are
        added (and their structure before theirs): a large ledger writes its cards while
        the workers draw its index, then its cover and index (pipeline/ledgers.py). Not
        on imposed sheets, whose cards fill them in order."""
        assert self.imposition is None
        self._front = (0, 0)

    def _kid(self, page: int) -> None:
        if self._front is None:
            self._kids.append(page)
        else:
            at, section = self._front
            self._kids.insert(at, page)
            self._front = (at + 1, section)

    def _section(self, section: int) -> None:
        if self._front is None:
            self._sections.append(section)
        else:
            at, place = self._front
            self._sections.insert(place, section)
            self._front = (at, place + 1)

    def _place(self, resources: bytes, content: bytes, kids: list[Any]) -> None:
        """A card page as a form, put on the current imposed sheet; its structure's
        marked content is the form's (MCRs with /Stm)."""
        assert self.imposition is not None
        self.card_pages += 1
        back = self.back is not None and self.card_pages % 2 == 0
        if self._sheet_page is None:
            self._sheet_page = self.writer.reserve()
        if back and self._back_page is None:
            self._back_page = self.writer.reserve()
        sheet_page = self._back_page if back else self._sheet_page
        assert sheet_page is not None
        form = self.writer.reserve()
        parents = self._tag(kids, sheet_page, form)
        tagged = b"" if parents is None else b" /StructParents %d" % parents
        (self._back_slots if back else self._slots).append(self.writer.flate_stream(
            form, b" /Type /XObject /Subtype /Form /BBox %s /Resources %s%s" % (
                box(self.boxes["/MediaBox"]), resources, tagged), content))
        filled = self._back_slots if self.back is not None else self._slots
        if len(filled) == len(self.imposition.slots):
            self._sheet()

    def _tag(self, kids: list[Any], page: int, form: int | None = None) -> int | None:
        """A page's structure (a Sect under the Document) written, and its parent tree
        entry: the key the page (or, imposed, its form) gets as /StructParents (none for
        a page with nothing on it)."""
        if not kids:
            return None
        owner: dict[int, int] = {}  # MCID -> its element

        def write(number: int, role: str, alt: str, kids: list[Any], parent: int) -> None:
            parts = []
            for kid in kids:
                if isinstance(kid, int):
                    owner[kid] = number
                    parts.append(b"%d" % kid if form is None else
                                 b"<</Type /MCR /Stm %d 0 R /MCID %d>>" % (form, kid))
                elif not kid[2]:  # an empty cell: in its parent, no object of its own
                    parts.append(b"<</S /%s /P %d 0 R>>" % (kid[0].encode(), number))
                else:
                    child = self.writer.reserve()
                    kid_role, kid_alt, grandkids = kid
                    write(child, kid_role, kid_alt, grandkids, number)
                    parts.append(b"%d 0 R" % child)
            described = b" /Alt %s" % text(alt) if alt else b""
            role, _, span = role.partition(":")
            table = (b" /A <</O /Table /Scope /Column>>" if role == "TH" else
                     b" /A <</O /Table /ColSpan %s>>" % span.encode() if span else b"")
            # the page only where content is (MCIDs); one kid without an array; none, none
            on = b" /Pg %d 0 R" % page if any(isinstance(kid, int) for kid in kids) else b""
            held = (b"" if not parts else b" /K " + parts[0] if len(parts) == 1
                    else b" /K [" + b" ".join(parts) + b"]")
            self.writer.object(number, b"<</S /%s /P %d 0 R%s%s%s%s>>" % (
                role.encode(), parent, on, held, described, table))

        section = self.writer.reserve()
        write(section, "Sect", "", kids, self._document)
        self._section(section)
        key = len(self._parents)
        self._parents.append(b"%d [%s]" % (key, b" ".join(
            b"%d 0 R" % owner[mcid] if mcid in owner else b"null"
            for mcid in range(max(owner, default=-1) + 1))))
        return key

    def _tag_compiled(self, compiled: Compiled, frame_first: bool, page: int) -> int | None:
        """`_tag` of an unimposed page from its compiled structure (compile_structure):
        the same objects, numbers and parent tree entry."""
        steps, joined, fills, counts, variants = compiled
        found = variants[frame_first]
        if found is None:
            return None
        sect, sect_fills, (parents, owners) = found
        writer = self.writer
        count = len(counts) + 1  # the elements, the Sect's with them
        if page == writer.count and writer.room() >= count:
            # all at once: its elements take the numbers after the page's, one after the
            # other, and no object stream closes among them (one by one, they took 0.07 s
            # of a 1,000-card ledger's 0.8 s: wall-clock timers, session 6)
            first = writer.reserve_many(count)  # element i is object first + i
            bodies = (joined % tuple([first + ref for ref in fills])).split(b"\n") if counts \
                else []  # PAGE is first - 1: the page
            bodies.append(sect % tuple([self._document if ref == DOCUMENT else first + ref
                                        for ref in sect_fills]))
            writer.objects([first + ~step for step in steps if step < 0], bodies)
            self._section(first)
            key = len(self._parents)
            self._parents.append(b"%d [%s]" % (key, parents % tuple([first + o
                                                                      for o in owners])))
            return key
        templates = joined.split(b"\n") if counts else []
        numbers = [0] * count + [self._document, page]  # DOCUMENT -2, PAGE -1
        reserve, write = writer.reserve, writer.object
        element = at = 0  # the next element written but the Sect, its first fill
        for step in steps:
            if step >= 0:
                numbers[step] = reserve()
            elif step == ~0:
                write(numbers[0], sect % tuple([numbers[ref] for ref in sect_fills]))
            else:
                refs = fills[at:at + counts[element]]
                write(numbers[~step], templates[element] % tuple([numbers[ref]
                                                                  for ref in refs]))
                at += counts[element]
                element += 1
        self._section(numbers[0])
        key = len(self._parents)
        self._parents.append(b"%d [%s]" % (key, parents % tuple([numbers[o] for o in owners])))
        return key

    def _sheet(self) -> None:
        """The imposed sheet of the cards placed so far, each clipped to its bleed box;
        printed duplex, its back after it (blank where a card has no back page)."""
        assert self.sheet is not None
        assert self._sheet_page is not None
        self._write_sheet(self._sheet_page, self._slots,
                          [(1, 0, 0, 1, x, y) for x, y in self.sheet.places],
                          self.sheet.boxes, self.sheet.marks)
        if self.back is not None:
            if self._back_page is None:  # the last card's back: blank
                self._back_page = self.writer.reserve()
            self._write_sheet(self._back_page, self._back_slots, self.back.matrices,
                              self.back.boxes, self.back.marks)
        self._slots, self._back_slots = [], []
        self._sheet_page = self._back_page = None

    def _write_sheet(self, page: int, forms: list[int], matrices: list[Matrix],
                     sheet_boxes: dict[str, Box], marks: list[Segment]) -> None:
        """One side of an imposed sheet: each form through its matrix, clipped to the
        card's bleed box, then the marks."""
        left, bottom, right, top = self.boxes["/BleedBox"]
        ops, names = [], []
        for index, (matrix, form) in enumerate(zip(matrices, forms, strict=False)):
            ops.append(b"q %s cm %s %s %s %s re W n /Card%d Do Q" % (
                b" ".join(number(value if isinstance(value, int) else round(value, 3) + 0.0)
                          for value in matrix),
                number(round(left, 3)), number(round(bottom, 3)),
                number(round(right - left, 3)), number(round(top - bottom, 3)), index + 1))
            names.append(b"/Card%d %d 0 R" % (index + 1, form))
        ops.append(mark_content(marks, 0.25))
        content = self.writer.new_stream(b"", b"\n".join(ops))
        boxes = b"".join(b" %s %s" % (key.encode(), box(value))
                         for key, value in sheet_boxes.items())
        assert self._registration is not None
        self._kids.append(self.writer.object(page,
            b"<</Type /Page /Parent %d 0 R%s /Resources <</XObject <<%s>> /ColorSpace "
            b"<</CgRegistration %d 0 R>>>> /Contents %d 0 R /Tabs /S>>"
            % (self._pages, boxes, b" ".join(names), self._registration, content)))

    def _page_resources(self, frame: Hashable | None) -> int:
        """One resource dictionary per frame, shared by its pages."""
        found = self._resources.get(frame)
        if found is None:
            xobject = b""
            if frame is not None:
                xobject = b" /XObject <</CgFrame %d 0 R>>" % self._frame(frame)
            if self._registration is not None:
                xobject += b" /ColorSpace <</CgRegistration %d 0 R>>" % self._registration
            found = self._resources[frame] = self.writer.new(
                b"<</Font %d 0 R%s>>" % (self._fonts, xobject))
        return found

    def _frame(self, key: Hashable) -> int:
        """The frame's page as a form XObject, its bounding box the whole media box (the
        tab paints into the bleed). The page's transparency group (WeasyPrint's: isolated,
        DeviceRGB) is left behind: on a form it would blend the whole frame in RGB, and a
        print shop's separation would turn its grey text into four-colour black."""
        found = self._frames.get(key)
        if found is None:
            found = self._frames[key] = replay_page(self.writer, self._frame_steps[key],
                                                    self._take_font)
        return found

    # ---- fonts ------------------------------------------------------------------------

    def _take_font(self, family: str, texts: list[tuple[int, str]], glyphs: list[int]) -> int:
        """A copied frame's font of one of cardgen's families (frame_steps): its glyphs
        join the family's, and the family's font stands in for it."""
        used = self._glyphs.setdefault(family, {})
        for glyph, shown in texts:
            used.setdefault(glyph, shown)
        for glyph in glyphs:
            used.setdefault(glyph, "")
        return self._family_font(family)

    def _family_font(self, family: str) -> int:
        if family not in self._family_fonts:
            self._family_fonts[family] = self.writer.reserve()
            self._glyphs.setdefault(family, {})
        return self._family_fonts[family]

    # ---- the end ----------------------------------------------------------------------

    def finish(self, title: str, date: str, variant: str | None = None) -> None:
        """Fonts, page tree, document information, catalog and cross-references."""
        if self._slots:
            self._sheet()
        for face, glyphs in self.log.glyphs.items():  # what cardgen drew itself
            self._family_font(face.family)
            used = self._glyphs[face.family]
            for glyph, shown in glyphs.items():
                if shown or glyph not in used:
                    used[glyph] = shown
        writer = self.writer
        writer.object(self._fonts, b"<<" + b"".join(
            b"%s %d 0 R " % (resource_name(self.faces[family]).encode(), font)
            for family, font in self._family_fonts.items()) + b">>")
        texts = shared_texts([self._glyphs[family] for family in self._family_fonts])
        shared = None if texts is None else writer.new_stream(b"", tounicode_cmap(texts))
        for family, font in self._family_fonts.items():
            embed_font(writer, font, self.faces[family], self._glyphs[family], self.cache,
                       shared)
        if self._registration is not None:
            writer.object(self._registration,
                          REGISTRATION["gray" if variant == "pdf/a-2b" else "cmyk"])
        writer.object(self._pages, b"<</Type /Pages /Count %d /Kids [%s]>>" % (
            len(self._kids), b" ".join(b"%d 0 R" % kid for kid in self._kids)))
        stamp = f"D:{date.replace('-', '')}000000Z".encode()
        trapped = b" /Trapped /False" if variant == "press" else b""
        info = writer.new(b"<</Title %s /Creator (cardgen) /Producer %s /CreationDate (%s)"
                          b" /ModDate (%s)%s>>" % (text(title), text(PRODUCER), stamp, stamp,
                                                   trapped))
        extra = metadata_entry(writer, title, date, variant == "pdf/a-2b")
        if variant == "pdf/a-2b":
            extra += pdfa_entries(writer)
        elif variant == "press":
            extra += b" /OutputIntents [%d 0 R]" % writer.new(PRESS_INTENT)
        # DisplayDocTitle: a viewer's title bar shows the Title, not the file name (PDF/UA)
        writer.object(self._document, b"<</S /Document /P %d 0 R /K [%s]>>" % (
            self._tree, b" ".join(b"%d 0 R" % n for n in self._sections)))
        writer.object(self._tree, b"<</Type /StructTreeRoot /K %d 0 R /ParentTree <</Nums [%s]>>"
                                  b" /ParentTreeNextKey %d>>" % (
                                      self._document, b" ".join(self._parents),
                                      len(self._parents)))
        # tagged (PDF/UA): the structure tree above, /Marked in MarkInfo
        root = writer.new(b"<</Type /Catalog /Pages %d 0 R /Lang (zh-CN)"
                          b" /ViewerPreferences <</DisplayDocTitle true>> /MarkInfo <</Marked"
                          b" true>> /StructTreeRoot %d 0 R%s>>"
                          % (self._pages, self._tree, extra))
        writer.finish(root, info)

    def close(self) -> None:
        self.writer.close()
