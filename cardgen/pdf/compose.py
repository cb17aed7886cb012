"""Compose the output PDF, written as it goes: card frames as Form XObjects under each
page's data layer, covers copied in, cards imposed on sheets when asked, and each of
cardgen's fonts embedded once, at the end, with exactly the glyphs every page used.

Memory does not grow with the document: a page is on disk once it is added; only the
object offsets, the glyph sets and the frames stay in memory.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import pikepdf
from pikepdf import Dictionary

from cardgen.cache import Cache
from cardgen.config import Imposition
from cardgen.layout.fonts import Face, resource_name
from cardgen.layout.geometry import MM
from cardgen.pdf.canvas import GlyphLog
from cardgen.pdf.subset import (
    cached_subset,
    read_tounicode,
    read_widths,
    tounicode_cmap,
    widths_array,
)
from cardgen.pdf.writer import Box, Copier, Writer, box, content_streams, name, number, text

SLUG = 10.0  # mm around the bleed for crop marks, when marks are asked for
CUT_MARK = 4.0  # mm, on imposed sheets

XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
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


def page_boxes(size: tuple[float, float], bleed: float, slug: float) -> dict[str, Box]:
    """TrimBox is the card; BleedBox adds the bleed; MediaBox adds room for the marks."""
    width, height = size

    def around(out: float) -> Box:
        return (-out, -out, width + out, height + out)

    return {"/MediaBox": around(bleed + slug), "/CropBox": around(bleed + slug),
            "/BleedBox": around(bleed), "/TrimBox": around(0.0)}


def crop_marks(size: tuple[float, float], bleed: float, slug: float) -> bytes:
    """Crop marks in black at the trim's corners, outside the bleed."""
    width, height = size
    start, end = bleed + 1.5 * MM, bleed + slug - 1 * MM
    lines = []
    for x, y in ((0.0, 0.0), (width, 0.0), (0.0, height), (width, height)):
        out_x = -1 if x == 0 else 1
        out_y = -1 if y == 0 else 1
        lines.append(f"{x + out_x * start:.2f} {y:.2f} m {x + out_x * end:.2f} {y:.2f} l S")
        lines.append(f"{x:.2f} {y + out_y * start:.2f} m {x:.2f} {y + out_y * end:.2f} l S")
    return ("q 0.25 w 0 G " + " ".join(lines) + " Q\n").encode()


def cut_marks(imposition: Imposition, card: tuple[float, float]) -> bytes:
    """Short lines at an imposed sheet's edges where a cut goes between or beside cards."""
    sheet_w, sheet_h = imposition.sheet[0] * MM, imposition.sheet[1] * MM
    xs: set[float] = set()
    ys: set[float] = set()
    for x, y in imposition.slots:
        xs.update((round(x * MM, 3), round(x * MM + card[0], 3)))
        ys.update((round(sheet_h - y * MM, 3), round(sheet_h - y * MM - card[1], 3)))
    length, edge = CUT_MARK * MM, 2 * MM  # a cut at the paper's own edge needs no mark
    lines = []
    for x in sorted(xs):
        if edge < x < sheet_w - edge:
            lines.append(f"{x:.3f} 0 m {x:.3f} {length:.3f} l S")
            lines.append(f"{x:.3f} {sheet_h:.3f} m {x:.3f} {sheet_h - length:.3f} l S")
    for y in sorted(ys):
        if edge < y < sheet_h - edge:
            lines.append(f"0 {y:.3f} m {length:.3f} {y:.3f} l S")
            lines.append(f"{sheet_w:.3f} {y:.3f} m {sheet_w - length:.3f} {y:.3f} l S")
    return ("q 0.3 w 0 G " + " ".join(lines) + " Q\n").encode()


def strip_font_programs(data: bytes, families: Iterable[str]) -> bytes:
    """The PDF without the programs of cardgen's own fonts (a frame: 8 KB, not 220 KB):
    those are embedded again, once, when pages are composed. Other fonts (a user
    template's own) are kept."""
    ours = set(families)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if (isinstance(obj, Dictionary) and obj.get("/Type") == "/FontDescriptor"
                    and str(obj.get("/FontFamily", "")) in ours):
                for program in ("/FontFile", "/FontFile2", "/FontFile3", "/CIDSet"):
                    if program in obj:
                        del obj[program]
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def font_family(obj: Any) -> str | None:
    """The /FontFamily of a Type0 Identity-H font (as WeasyPrint and cardgen write them)."""
    if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Subtype") != "/Type0":
        return None
    try:
        family = str(obj.DescendantFonts[0].FontDescriptor.get("/FontFamily", ""))
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    return family if family and obj.get("/Encoding") == "/Identity-H" else None


def embed_font(writer: Writer, font: int, face: Face, glyphs: dict[int, str],
               cache: Cache | None) -> None:
    """Object `font`: a Type0 font of `face` subset to `glyphs` (glyph -> its text)."""
    scale = 1000 / face.units
    used = set(glyphs) | {0}
    program = cached_subset(face.path, used, cache)
    digest = hashlib.sha256(",".join(map(str, sorted(used))).encode()).digest()
    base = name("".join(chr(ord("A") + byte % 26) for byte in digest[:6]) + "+"
                + face.family.replace(" ", "-"))
    cff = program[:4] == b"OTTO"
    left, bottom, right, top = (round(v * scale) for v in face.bbox)
    program_object = writer.new_stream(b" /Subtype /OpenType" if cff else b"", program)
    descriptor = writer.new(
        b"<</Type /FontDescriptor /FontName %s /FontFamily %s /Flags 4 /FontBBox %s "
        b"/ItalicAngle %s /Ascent %d /Descent %d /CapHeight %d /StemV 80 %s %d 0 R>>" % (
            base, text(face.family), box((left, bottom, right, top)),
            number(face.italic_angle), round(face.ascent * scale),
            -round(face.descent * scale), round(face.cap_height * scale),
            b"/FontFile3" if cff else b"/FontFile2", program_object))
    widths = {glyph: round(face.advances[glyph] * scale, 3) for glyph in sorted(used)
              if glyph < len(face.advances)}
    descendant = writer.new(
        b"<</Type /Font /Subtype /%s /BaseFont %s /CIDSystemInfo <</Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0>> /FontDescriptor %d 0 R /W %s%s>>" % (
            b"CIDFontType0" if cff else b"CIDFontType2", base, descriptor,
            widths_array(widths), b"" if cff else b" /CIDToGIDMap /Identity"))
    tounicode = writer.new_stream(b"", tounicode_cmap(glyphs))
    writer.object(font, b"<</Type /Font /Subtype /Type0 /BaseFont %s /Encoding /Identity-H "
                        b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R>>"
                  % (base, descendant, tounicode))


def pdfa_entries(writer: Writer, title: str, date: str) -> bytes:
    """PDF/A-2b's catalog entries: XMP matching the document information, and an sRGB
    output intent (the profile WeasyPrint ships)."""
    from importlib.util import find_spec
    from xml.sax.saxutils import escape

    spec = find_spec("weasyprint")
    assert spec is not None and spec.origin is not None
    profile = (Path(spec.origin).parent / "pdf" / "sRGB2014.icc").read_bytes()
    icc = writer.new_stream(b" /N 3", profile)
    xmp = XMP.format(title=escape(title), date=f"{date}T00:00:00Z", producer=PRODUCER)
    metadata = writer.new_stream(b" /Type /Metadata /Subtype /XML", xmp.encode(),
                                 compress=False)
    intent = writer.new(
        b"<</Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile %d 0 R "
        b"/OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1)>>" % icc)
    return b" /Metadata %d 0 R /OutputIntents [%d 0 R]" % (metadata, intent)


class Composer:
    """Builds one output document page by page, straight into `out`.

    `faces` are the fonts cardgen draws with (by family): any font of those families, in
    the data layer or in a frame or cover made by WeasyPrint, becomes one font per family
    in the output, embedded at the end with the union of the glyphs used. Fonts of other
    families (a user template's own) are copied as they are.
    """

    def __init__(self, out: IO[bytes], page_size: tuple[float, float],
                 faces: Mapping[str, Face], cache: Cache | None = None, bleed: float = 0.0,
                 marks: bool = False, imposition: Imposition | None = None) -> None:
        self.writer = Writer(out)
        self.copier = Copier(self.writer, self._claim_font)
        self.log = GlyphLog()
        self.page_size = page_size
        self.faces = faces
        self.cache = cache
        self.imposition = imposition
        self.boxes = page_boxes(page_size, bleed * MM,
                                SLUG * MM if marks and not imposition else 0.0)
        self.card_pages = 0
        self._pages = self.writer.reserve()
        self._fonts = self.writer.reserve()  # one /Font table for every data page
        self._family_fonts: dict[str, int] = {}  # family -> its Type0 font's object
        self._glyphs: dict[str, dict[int, str]] = {}  # family -> glyph -> the text it shows
        self._frame_pages: dict[Hashable, tuple[pikepdf.Pdf, Any]] = {}
        self._frames: dict[Hashable, int] = {}
        self._resources: dict[Hashable, int] = {}
        self._kids: list[int] = []
        self._slots: list[int] = []  # card forms waiting for their sheet (imposition)
        self._draw_frame = self.writer.new_stream(b"", b"q /CgFrame Do Q\n", compress=False)
        self._marks = (self.writer.new_stream(b"", crop_marks(page_size, bleed * MM, SLUG * MM))
                       if marks and not imposition else None)

    # ---- input ----------------------------------------------------------------------

    def add_frames(self, frames: Mapping[Any, bytes]) -> None:
        """Frames (one-page PDFs) by key; each is written once, when first used."""
        for key, data in frames.items():
            if key not in self._frame_pages:
                source = self.copier.open(data)
                self._frame_pages[key] = (source, source.pages[0].obj)

    def add_data_page(self, content: bytes, frame: Hashable | None = None,
                      compressed: bool = False) -> None:
        """A page drawn by cardgen: the frame (if any) below, the data layer above.

        `content` is the data layer's operators, zlib-compressed already if `compressed`."""
        data = content if compressed else zlib.compress(content, 6)
        resources = b"%d 0 R" % self._page_resources(frame)
        if self.imposition is not None:
            under = b"q /CgFrame Do Q\n" if frame is not None else b""
            self._place(resources, under + zlib.decompress(data))
            return
        stream = self.writer.stream(self.writer.reserve(), b" /Filter /FlateDecode", data)
        self._page(resources, [stream] if frame is None else [self._draw_frame, stream])

    def add_pdf(self, data: bytes, page: int = 0) -> None:
        """One page of another PDF (a ledger cover made by WeasyPrint), as it is."""
        source = self.copier.open(data)
        found = source.pages[page].obj
        resources = self.copier.ref_or_direct(source, found.get("/Resources", Dictionary()))
        streams = content_streams(found)
        if self.imposition is not None:
            self._place(resources, b"\n".join(stream.read_bytes() for stream in streams))
            return
        self._page(resources, [self.copier.ref(source, stream) for stream in streams])

    @property
    def page_count(self) -> int:
        """Card pages added so far (an imposed sheet carries several)."""
        return self.card_pages

    # ---- pages ----------------------------------------------------------------------

    def _page(self, resources: bytes, contents: list[int]) -> None:
        """A page of the output, the card's size (with bleed and marks when asked)."""
        self.card_pages += 1
        if self._marks is not None:
            contents = [*contents, self._marks]
        boxes = b"".join(b" %s %s" % (key.encode(), box(value))
                         for key, value in self.boxes.items())
        self._kids.append(self.writer.new(
            b"<</Type /Page /Parent %d 0 R /Resources %s /Contents [%s]%s>>"
            % (self._pages, resources, b" ".join(b"%d 0 R" % n for n in contents), boxes)))

    def _place(self, resources: bytes, content: bytes) -> None:
        """A card page as a form, put on the current imposed sheet."""
        assert self.imposition is not None
        self.card_pages += 1
        self._slots.append(self.writer.new_stream(
            b" /Type /XObject /Subtype /Form /BBox %s /Resources %s"
            % (box(self.boxes["/MediaBox"]), resources), content))
        if len(self._slots) == len(self.imposition.slots):
            self._sheet()

    def _sheet(self) -> None:
        """The imposed sheet of the cards placed so far, each clipped to its slot."""
        assert self.imposition is not None
        width, height = self.page_size
        sheet_w, sheet_h = self.imposition.sheet[0] * MM, self.imposition.sheet[1] * MM
        ops, names = [], []
        for index, ((x, y), form) in enumerate(zip(self.imposition.slots, self._slots,
                                                   strict=False)):
            place = (x * MM, sheet_h - y * MM - height)
            left, bottom = (number(round(v, 3)) for v in place)
            ops.append(b"q %s %s %s %s re W n 1 0 0 1 %s %s cm /Card%d Do Q" % (
                left, bottom, number(round(width, 3)), number(round(height, 3)), left, bottom,
                index + 1))
            names.append(b"/Card%d %d 0 R" % (index + 1, form))
        ops.append(cut_marks(self.imposition, (width, height)))
        content = self.writer.new_stream(b"", b"\n".join(ops))
        paper = box((0.0, 0.0, sheet_w, sheet_h))
        self._kids.append(self.writer.new(
            b"<</Type /Page /Parent %d 0 R /MediaBox %s /TrimBox %s /Resources "
            b"<</XObject <<%s>>>> /Contents %d 0 R>>"
            % (self._pages, paper, paper, b" ".join(names), content)))
        self._slots = []

    def _page_resources(self, frame: Hashable | None) -> int:
        """One resource dictionary per frame, shared by its pages."""
        found = self._resources.get(frame)
        if found is None:
            xobject = b""
            if frame is not None:
                xobject = b" /XObject <</CgFrame %d 0 R>>" % self._frame(frame)
            found = self._resources[frame] = self.writer.new(
                b"<</Font %d 0 R%s>>" % (self._fonts, xobject))
        return found

    def _frame(self, key: Hashable) -> int:
        """The frame's page as a form XObject, its bounding box the whole media box (the
        tab paints into the bleed)."""
        found = self._frames.get(key)
        if found is None:
            source, page = self._frame_pages[key]
            data = b"".join(stream.read_bytes() for stream in content_streams(page))
            resources = self.copier.ref_or_direct(source, page.get("/Resources", Dictionary()))
            group = b""
            if "/Group" in page:
                group = b" /Group " + self.copier.serial(source, page.Group)
            found = self._frames[key] = self.writer.new_stream(
                b" /Type /XObject /Subtype /Form /BBox %s /Resources %s%s"
                % (self.copier.serial(source, page.MediaBox), resources, group), data)
        return found

    # ---- fonts ------------------------------------------------------------------------

    def _claim_font(self, obj: Any) -> int | None:
        """A copied PDF's font of one of cardgen's families: its glyphs join the family's
        and the family's font stands in for it."""
        family = font_family(obj)
        if family is None or family not in self.faces:
            return None
        used = self._glyphs.setdefault(family, {})
        for glyph, shown in read_tounicode(obj.ToUnicode.read_bytes()).items():
            if shown:
                used.setdefault(glyph, shown)
        widths = obj.DescendantFonts[0].get("/W")
        for glyph in read_widths(list(widths) if widths is not None else []):
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
        for family, font in self._family_fonts.items():
            embed_font(writer, font, self.faces[family], self._glyphs[family], self.cache)
        writer.object(self._pages, b"<</Type /Pages /Count %d /Kids [%s]>>" % (
            len(self._kids), b" ".join(b"%d 0 R" % kid for kid in self._kids)))
        stamp = f"D:{date.replace('-', '')}000000Z".encode()
        info = writer.new(b"<</Title %s /Creator (cardgen) /Producer %s /CreationDate (%s)"
                          b" /ModDate (%s)>>" % (text(title), text(PRODUCER), stamp, stamp))
        extra = pdfa_entries(writer, title, date) if variant == "pdf/a-2b" else b""
        root = writer.new(b"<</Type /Catalog /Pages %d 0 R /Lang (zh-CN)%s>>"
                          % (self._pages, extra))
        writer.finish(root, info)

    def close(self) -> None:
        self.copier.close()
