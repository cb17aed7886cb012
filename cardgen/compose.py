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
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pikepdf
from pikepdf import Dictionary

from cardgen.cache import Cache
from cardgen.canvas import GlyphLog
from cardgen.config import Imposition
from cardgen.fonts import Face, resource_name
from cardgen.subset import cached_subset, read_tounicode, read_widths, tounicode_cmap, widths_array

SLUG = 10.0  # mm around the bleed for crop marks, when marks are asked for
MM = 72 / 25.4
CUT_MARK = 4.0  # mm, on imposed sheets
Box = tuple[float, float, float, float]

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

    def box(out: float) -> Box:
        return (-out, -out, width + out, height + out)

    return {"/MediaBox": box(bleed + slug), "/CropBox": box(bleed + slug),
            "/BleedBox": box(bleed), "/TrimBox": box(0.0)}


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


def _number(value: float | int | Decimal) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    text = format(Decimal(value).quantize(Decimal("0.000001")).normalize(), "f")
    return text.encode()


def _box(box: Box) -> bytes:
    return b"[" + b" ".join(_number(round(v, 3)) for v in box) + b"]"


class Writer:
    """A PDF file written object by object; the cross-reference table comes last."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.offsets: dict[int, int] = {}
        self.count = 0
        self.position = 0
        self.digest = hashlib.sha256()
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.position += len(data)

    def reserve(self) -> int:
        self.count += 1
        return self.count

    def object(self, number: int, body: bytes) -> int:
        self.offsets[number] = self.position
        self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        return number

    def stream(self, number: int, entries: bytes, data: bytes) -> int:
        self.offsets[number] = self.position
        self._write(b"%d 0 obj\n<<%s /Length %d>>\nstream\n" % (number, entries, len(data)))
        self._write(data)
        self._write(b"\nendstream\nendobj\n")
        return number

    def new(self, body: bytes) -> int:
        return self.object(self.reserve(), body)

    def new_stream(self, entries: bytes, data: bytes, compress: bool = True) -> int:
        if compress:
            return self.stream(self.reserve(), entries + b" /Filter /FlateDecode",
                               zlib.compress(data, 6))
        return self.stream(self.reserve(), entries, data)

    def finish(self, root: int, info: int) -> None:
        identity = self.digest.hexdigest()[:32].encode()
        start = self.position
        rows = [b"xref\n0 %d\n0000000000 65535 f \n" % (self.count + 1)]
        rows += [b"%010d 00000 n \n" % self.offsets[n] for n in range(1, self.count + 1)]
        self._write(b"".join(rows))
        self._write(b"trailer\n<</Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>]>>\n"
                    b"startxref\n%d\n%%%%EOF\n" % (self.count + 1, root, info, identity,
                                                   identity, start))


class Composer:
    """Builds one output document page by page, straight into `out`.

    `faces` are the fonts cardgen draws with (by family): any font of those families, in
    the data layer or in a frame or cover made by WeasyPrint, becomes one font per family
    in the output, embedded at the end with the union of the glyphs used.
    """

    def __init__(self, out: IO[bytes], page_size: tuple[float, float],
                 font_files: dict[str, Path], faces: Mapping[str, Face],
                 cache: Cache | None = None, bleed: float = 0.0, marks: bool = False,
                 imposition: Imposition | None = None) -> None:
        self.writer = Writer(out)
        self.log = GlyphLog()
        self.page_size = page_size
        self.font_files = font_files
        self.faces = faces
        self.cache = cache
        self.imposition = imposition
        self.boxes = page_boxes(page_size, bleed * MM,
                                SLUG * MM if marks and not imposition else 0.0)
        self.pages_object = self.writer.reserve()
        self.fonts_object = self.writer.reserve()  # one /Font table for every data page
        self.family_fonts: dict[str, int] = {}  # family -> its Type0 font's object
        self.glyphs: dict[str, dict[int, str]] = {}  # family -> glyph -> text it shows
        self.frames: dict[Hashable, int] = {}
        self.frame_pages: dict[Hashable, tuple[pikepdf.Pdf, Any]] = {}
        self._resources: dict[Hashable, int] = {}
        self._foreign: dict[tuple[int, tuple[int, int]], int] = {}
        self._sources: list[pikepdf.Pdf] = []
        self._kids: list[int] = []
        self._slots: list[int] = []  # card forms waiting for their sheet (imposition)
        self.card_pages = 0
        self._draw_frame = self.writer.new_stream(b"", b"q /CgFrame Do Q\n", compress=False)
        self._marks = (self.writer.new_stream(b"", crop_marks(page_size, bleed * MM, SLUG * MM))
                       if marks and not imposition else None)

    # ---- input ----------------------------------------------------------------------

    def add_frames(self, frames: Mapping[Any, bytes]) -> None:
        """Frames (one-page PDFs) by key; each is written once, when first used."""
        for key, data in frames.items():
            if key in self.frame_pages:
                continue
            source = pikepdf.open(io.BytesIO(data))
            self._sources.append(source)
            self.frame_pages[key] = (source, source.pages[0].obj)

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
        source = pikepdf.open(io.BytesIO(data))
        self._sources.append(source)
        found = source.pages[page].obj
        resources = self._ref_or_direct(source, found.get("/Resources", Dictionary()))
        streams = self._content_streams(found)
        if self.imposition is not None:
            self._place(resources, b"\n".join(stream.read_bytes() for stream in streams))
            return
        self._page(resources, [self._ref(source, stream) for stream in streams])

    # ---- pages ----------------------------------------------------------------------

    def _page(self, resources: bytes, contents: list[int]) -> None:
        """A page of the output, the card's size (with bleed and marks when asked)."""
        self.card_pages += 1
        if self._marks is not None:
            contents = [*contents, self._marks]
        boxes = b"".join(b" %s %s" % (name.encode(), _box(box))
                         for name, box in self.boxes.items())
        self._kids.append(self.writer.new(
            b"<</Type /Page /Parent %d 0 R /Resources %s /Contents [%s]%s>>"
            % (self.pages_object, resources, b" ".join(b"%d 0 R" % n for n in contents),
               boxes)))

    def _place(self, resources: bytes, content: bytes) -> None:
        """A card page as a form, put on the current imposed sheet."""
        assert self.imposition is not None
        self.card_pages += 1
        self._slots.append(self.writer.new_stream(
            b" /Type /XObject /Subtype /Form /BBox %s /Resources %s"
            % (_box(self.boxes["/MediaBox"]), resources), content))
        if len(self._slots) == len(self.imposition.slots):
            self._sheet()

    def _sheet(self) -> None:
        assert self.imposition is not None
        width, height = self.page_size
        sheet_w, sheet_h = self.imposition.sheet[0] * MM, self.imposition.sheet[1] * MM
        ops, names = [], []
        for index, ((x, y), form) in enumerate(zip(self.imposition.slots, self._slots,
                                                   strict=False)):
            left, bottom = x * MM, sheet_h - y * MM - height
            ops.append(b"q %s %s %s %s re W n 1 0 0 1 %s %s cm /Card%d Do Q" % (
                _number(round(left, 3)), _number(round(bottom, 3)), _number(round(width, 3)),
                _number(round(height, 3)), _number(round(left, 3)), _number(round(bottom, 3)),
                index + 1))
            names.append(b"/Card%d %d 0 R" % (index + 1, form))
        ops.append(cut_marks(self.imposition, (width, height)))
        content = self.writer.new_stream(b"", b"\n".join(ops))
        box = _box((0.0, 0.0, sheet_w, sheet_h))
        self._kids.append(self.writer.new(
            b"<</Type /Page /Parent %d 0 R /MediaBox %s /TrimBox %s /Resources "
            b"<</XObject <<%s>>>> /Contents %d 0 R>>"
            % (self.pages_object, box, box, b" ".join(names), content)))
        self._slots = []

    def _page_resources(self, frame: Hashable | None) -> int:
        """One resource dictionary per frame, shared by its pages."""
        found = self._resources.get(frame)
        if found is None:
            xobject = b""
            if frame is not None:
                xobject = b" /XObject <</CgFrame %d 0 R>>" % self._frame(frame)
            found = self._resources[frame] = self.writer.new(
                b"<</Font %d 0 R%s>>" % (self.fonts_object, xobject))
        return found

    def _frame(self, key: Hashable) -> int:
        """The frame's page as a form XObject, its bounding box the whole media box (the
        tab paints into the bleed)."""
        found = self.frames.get(key)
        if found is None:
            source, obj = self.frame_pages[key]
            data = b"".join(stream.read_bytes() for stream in self._content_streams(obj))
            resources = self._ref_or_direct(source, obj.get("/Resources", Dictionary()))
            group = b""
            if "/Group" in obj:
                group = b" /Group " + self._serial(source, obj.Group)
            found = self.frames[key] = self.writer.new_stream(
                b" /Type /XObject /Subtype /Form /BBox %s /Resources %s%s"
                % (self._serial(source, obj.MediaBox), resources, group), data)
        return found

    @staticmethod
    def _content_streams(page: Any) -> list[Any]:
        contents = page.get("/Contents")
        if contents is None:
            return []
        return list(contents) if isinstance(contents, pikepdf.Array) else [contents]

    def _contents(self, source: pikepdf.Pdf, page: Any) -> bytes:
        refs = [b"%d 0 R" % self._ref(source, stream) for stream in self._content_streams(page)]
        return b"[" + b" ".join(refs) + b"]"

    # ---- copying other PDFs' objects ------------------------------------------------

    def _ref_or_direct(self, source: pikepdf.Pdf, value: Any) -> bytes:
        if isinstance(value, pikepdf.Object) and value.is_indirect:
            return b"%d 0 R" % self._ref(source, value)
        return self._serial(source, value)

    def _ref(self, source: pikepdf.Pdf, obj: Any) -> int:
        """Our object number for another PDF's indirect object (written when first met);
        fonts of cardgen's families become cardgen's own fonts."""
        memo = (id(source), obj.objgen)
        found = self._foreign.get(memo)
        if found is not None:
            return found
        family = self._family_of(obj)
        if family is not None:
            found = self._foreign[memo] = self._take_font(obj, family)
            return found
        number = self._foreign[memo] = self.writer.reserve()
        if isinstance(obj, pikepdf.Stream):
            entries = b"".join(b" " + pikepdf.Name(name).unparse() + b" "
                               + self._serial(source, value)
                               for name, value in obj.stream_dict.items() if name != "/Length")
            self.writer.stream(number, entries, obj.read_raw_bytes())
        else:
            self.writer.object(number, self._serial(source, obj, top=True))
        return number

    def _serial(self, source: pikepdf.Pdf, value: Any, top: bool = False) -> bytes:
        if isinstance(value, pikepdf.Object) and value.is_indirect and not top:
            return b"%d 0 R" % self._ref(source, value)
        if isinstance(value, pikepdf.Dictionary):
            family = self._family_of(value)
            if family is not None:  # a direct font of ours
                return b"%d 0 R" % self._take_font(value, family)
            return b"<<" + b"".join(
                pikepdf.Name(name).unparse() + b" " + self._serial(source, item) + b" "
                for name, item in value.items() if name not in ("/Parent", "/Annots")) + b">>"
        if isinstance(value, pikepdf.Array):
            return b"[" + b" ".join(self._serial(source, item) for item in value) + b"]"
        if value is None:
            return b"null"
        if isinstance(value, (bool, int, float, Decimal)):
            return _number(value)
        return bytes(value.unparse())

    @staticmethod
    def _family_of(obj: Any) -> str | None:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Subtype") != "/Type0":
            return None
        try:
            family = str(obj.DescendantFonts[0].FontDescriptor.get("/FontFamily", ""))
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
        return family if family and obj.get("/Encoding") == "/Identity-H" else None

    def _take_font(self, font: Any, family: str) -> int:
        """Another PDF's font of one of cardgen's families: its glyphs join the family's."""
        if family not in self.faces:
            raise ValueError(f"font family {family!r} drawn but not configured")
        used = self.glyphs.setdefault(family, {})
        for glyph, text in read_tounicode(font.ToUnicode.read_bytes()).items():
            if text:
                used.setdefault(glyph, text)
        widths = font.DescendantFonts[0].get("/W")
        for glyph in read_widths(list(widths) if widths is not None else []):
            used.setdefault(glyph, "")
        return self._family_font(family)

    def _family_font(self, family: str) -> int:
        if family not in self.family_fonts:
            self.family_fonts[family] = self.writer.reserve()
            self.glyphs.setdefault(family, {})
        return self.family_fonts[family]

    # ---- the end ----------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        """Card pages added so far (an imposed sheet carries several)."""
        return self.card_pages

    def finish(self, title: str, date: str, variant: str | None = None) -> None:
        """Fonts, page tree, document information, catalog and cross-references."""
        if self._slots:
            self._sheet()
        for face, glyphs in self.log.glyphs.items():
            self._family_font(face.family)
            used = self.glyphs[face.family]
            for glyph, text in glyphs.items():
                if text or glyph not in used:
                    used[glyph] = text or used.get(glyph, "")
        table = b"".join(b"%s %d 0 R " % (resource_name(self.faces[family]).encode(), number)
                         for family, number in self.family_fonts.items())
        self.writer.object(self.fonts_object, b"<<" + table + b">>")
        for family, number in self.family_fonts.items():
            self._write_font(number, family, self.glyphs[family])
        writer = self.writer
        writer.object(self.pages_object, b"<</Type /Pages /Count %d /Kids [%s]>>" % (
            len(self._kids), b" ".join(b"%d 0 R" % kid for kid in self._kids)))
        stamp = f"D:{date.replace('-', '')}000000Z".encode()
        info = writer.new(b"<</Title %s /Creator (cardgen) /Producer (%s) /CreationDate (%s)"
                          b" /ModDate (%s)>>" % (pikepdf.String(title).unparse(),
                                                 PRODUCER.encode(), stamp, stamp))
        extra = b""
        if variant == "pdf/a-2b":
            extra = self._pdfa(title, date)
        root = writer.new(b"<</Type /Catalog /Pages %d 0 R /Lang (zh-CN)%s>>"
                          % (self.pages_object, extra))
        writer.finish(root, info)

    def _write_font(self, number: int, family: str, glyphs: dict[int, str]) -> None:
        face = self.faces[family]
        scale = 1000 / face.units
        used = set(glyphs) | {0}
        program = cached_subset(face.path, used, self.cache)
        tag = "".join(chr(ord("A") + byte % 26)
                      for byte in hashlib.sha256(",".join(map(str, sorted(used))).encode())
                      .digest()[:6])
        name = pikepdf.Name("/" + tag + "+" + family.replace(" ", "-")).unparse()
        writer = self.writer
        cff = program[:4] == b"OTTO"
        file_key = b"/FontFile3" if cff else b"/FontFile2"
        file_obj = writer.new_stream(b" /Subtype /OpenType" if cff else b"", program)
        descriptor = writer.new(
            b"<</Type /FontDescriptor /FontName %s /FontFamily %s /Flags 4 /FontBBox %s "
            b"/ItalicAngle %s /Ascent %d /Descent %d /CapHeight %d /StemV 80 %s %d 0 R>>" % (
                name, pikepdf.String(family).unparse(),
                _box(tuple(round(v * scale) for v in face.bbox)),  # type: ignore[arg-type]
                _number(face.italic_angle), round(face.ascent * scale),
                -round(face.descent * scale), round(face.cap_height * scale), file_key,
                file_obj))
        widths = {glyph: round(face.advances[glyph] * scale, 3) for glyph in sorted(used)
                  if glyph < len(face.advances)}
        descendant = writer.new(
            b"<</Type /Font /Subtype /%s /BaseFont %s /CIDSystemInfo <</Registry (Adobe) "
            b"/Ordering (Identity) /Supplement 0>> /FontDescriptor %d 0 R /W %s%s>>" % (
                b"CIDFontType0" if cff else b"CIDFontType2", name, descriptor,
                widths_array(widths), b"" if cff else b" /CIDToGIDMap /Identity"))
        tounicode = writer.new_stream(b"", tounicode_cmap(glyphs))
        writer.object(number, b"<</Type /Font /Subtype /Type0 /BaseFont %s /Encoding "
                              b"/Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R>>"
                      % (name, descendant, tounicode))

    def _pdfa(self, title: str, date: str) -> bytes:
        """PDF/A-2b: XMP matching the document information, and an sRGB output intent."""
        from importlib.util import find_spec
        from xml.sax.saxutils import escape

        spec = find_spec("weasyprint")
        assert spec is not None and spec.origin is not None
        profile = (Path(spec.origin).parent / "pdf" / "sRGB2014.icc").read_bytes()
        icc = self.writer.new_stream(b" /N 3", profile)
        xmp = XMP.format(title=escape(title), date=f"{date}T00:00:00Z",
                         producer=PRODUCER).encode()
        metadata = self.writer.new_stream(b" /Type /Metadata /Subtype /XML", xmp,
                                          compress=False)
        intent = self.writer.new(
            b"<</Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile %d 0 R "
            b"/OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1)>>" % icc)
        return b" /Metadata %d 0 R /OutputIntents [%d 0 R]" % (metadata, intent)

    def close(self) -> None:
        for source in self._sources:
            source.close()
