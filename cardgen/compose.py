"""Compose a PDF: card frames as Form XObjects under each page's data layer, other pages
(covers) copied in, and each font embedded once with exactly the glyphs drawn."""

from __future__ import annotations

import io
import zlib
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name

from cardgen.cache import Cache
from cardgen.canvas import GlyphLog
from cardgen.fonts import Face
from cardgen.subset import consolidate_fonts, tounicode_stream, widths_array

SLUG = 10.0  # mm around the bleed for crop marks, when marks are asked for
MM = 72 / 25.4


def page_boxes(size: tuple[float, float], bleed: float, slug: float) -> dict[str, Array]:
    """TrimBox is the card; BleedBox adds the bleed; MediaBox adds room for the marks."""
    width, height = size

    def box(out: float) -> Array:
        return Array([round(v, 3) for v in (-out, -out, width + out, height + out)])

    return {"/MediaBox": box(bleed + slug), "/CropBox": box(bleed + slug),
            "/BleedBox": box(bleed), "/TrimBox": box(0.0)}


def crop_marks(size: tuple[float, float], bleed: float, slug: float) -> bytes:
    """Crop marks in registration black at the trim's corners, outside the bleed."""
    width, height = size
    start, end = bleed + 1.5 * MM, bleed + slug - 1 * MM
    lines = []
    for x, y in ((0.0, 0.0), (width, 0.0), (0.0, height), (width, height)):
        out_x = -1 if x == 0 else 1
        out_y = -1 if y == 0 else 1
        lines.append(f"{x + out_x * start:.2f} {y:.2f} m {x + out_x * end:.2f} {y:.2f} l S")
        lines.append(f"{x:.2f} {y + out_y * start:.2f} m {x:.2f} {y + out_y * end:.2f} l S")
    return ("q 0.25 w 0 G " + " ".join(lines) + " Q\n").encode()


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
   <pdf:Producer>cardgen (WeasyPrint, pikepdf, HarfBuzz)</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def make_pdfa_2b(pdf: pikepdf.Pdf, title: str, date: str) -> None:
    """XMP metadata that matches the document information, and an sRGB output intent."""
    from importlib.util import find_spec
    from xml.sax.saxutils import escape

    spec = find_spec("weasyprint")
    assert spec is not None and spec.origin is not None
    profile = (Path(spec.origin).parent / "pdf" / "sRGB2014.icc").read_bytes()
    icc = pdf.make_stream(profile, N=3)
    pdf.Root.OutputIntents = Array([Dictionary(
        Type=Name.OutputIntent, S=Name.GTS_PDFA1, DestOutputProfile=icc,
        OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
        Info=pikepdf.String("sRGB IEC61966-2.1"))])
    xmp = XMP.format(title=escape(title), date=f"{date}T00:00:00Z").encode()
    pdf.Root.Metadata = pdf.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)


def _as_list(contents: Any) -> list[Any]:
    return list(contents) if isinstance(contents, Array) else [contents]


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


def split_pages(data: bytes) -> list[bytes]:
    """Each page of a PDF as a PDF of its own."""
    parts = []
    with pikepdf.open(io.BytesIO(data)) as source:
        for page in source.pages:
            single = pikepdf.new()
            single.pages.append(page)
            single.remove_unreferenced_resources()  # WeasyPrint shares one set for all pages
            out = io.BytesIO()
            single.save(out, deterministic_id=True, compress_streams=True)
            single.close()
            parts.append(out.getvalue())
    return parts


class Composer:
    """Builds one output document page by page, then embeds the fonts and saves it.

    Pages are collected and set as the page tree's /Kids at the end: pikepdf's page list
    grows in quadratic time (8,000 appends: 1.8 s), the /Kids array in linear time.
    """

    def __init__(self, page_size: tuple[float, float], font_files: dict[str, Path],
                 cache: Cache | None = None, bleed: float = 0.0, marks: bool = False) -> None:
        self.pdf = pikepdf.new()
        self.cache = cache
        self.log = GlyphLog()
        self.page_size = page_size  # points, trimmed size
        self.font_files = font_files
        self.frames: dict[Hashable, Any] = {}
        self.boxes = page_boxes(page_size, bleed * MM, SLUG * MM if marks else 0.0)
        self._marks = (self.pdf.make_stream(crop_marks(page_size, bleed * MM, SLUG * MM))
                       if marks else None)
        self._sources: list[pikepdf.Pdf] = []
        self._fonts = self.pdf.make_indirect(Dictionary())
        self._draw_frame = self.pdf.make_stream(b"q /CgFrame Do Q\n")
        self._resources: dict[Hashable, Any] = {}
        self._kids: list[Any] = []

    def add_frames(self, frames: Mapping[Any, bytes]) -> None:
        """Each frame (a one-page PDF) as a form XObject, known by its key."""
        for key, data in frames.items():
            source = pikepdf.open(io.BytesIO(data))
            self._sources.append(source)
            page = source.pages[0]
            form = page.as_form_xobject()
            form.BBox = page.obj.MediaBox  # qpdf uses the trim box: the tab's bleed is outside
            self.frames[key] = self.pdf.copy_foreign(form)

    def add_data_page(self, content: bytes, frame: Hashable | None = None,
                      compressed: bool = False) -> None:
        """A page drawn by cardgen: the frame (if any) below, the data layer above.

        `content` is the data layer's operators, zlib-compressed already if `compressed`.
        """
        data = self.pdf.make_stream(content if compressed else zlib.compress(content, 6),
                                    Filter=Name.FlateDecode)
        contents: Any = data if frame is None else Array([self._draw_frame, data])
        page = Dictionary(Type=Name.Page, Resources=self._page_resources(frame),
                          Contents=contents)
        self._kids.append(self.pdf.make_indirect(page))

    def _page_resources(self, frame: Hashable | None) -> Any:
        """One resource dictionary per frame, shared by its pages."""
        found = self._resources.get(frame)
        if found is None:
            found = Dictionary(Font=self._fonts)
            if frame is not None:
                found.XObject = Dictionary(CgFrame=self.frames[frame])
            found = self._resources[frame] = self.pdf.make_indirect(found)
        return found

    def add_pdf(self, data: bytes, page: int | None = None) -> None:
        """Every page (or one page) of another PDF, such as a cover made by WeasyPrint."""
        source = pikepdf.open(io.BytesIO(data))
        self._sources.append(source)
        pages = list(source.pages) if page is None else [source.pages[page]]
        for found in pages:
            self._kids.append(self.pdf.copy_foreign(found.obj))

    @property
    def page_count(self) -> int:
        return len(self._kids)

    def save(self, out: Path | io.BytesIO, title: str, date: str,
             variant: str | None = None) -> None:
        tree = self.pdf.Root.Pages
        for kid in self._kids:
            kid.Parent = tree
            for box, value in self.boxes.items():
                kid[box] = value
            if self._marks is not None:
                kid.Contents = Array([*_as_list(kid.Contents), self._marks])
        tree.Kids = Array(self._kids)
        tree.Count = len(self._kids)
        for face, glyphs in self.log.glyphs.items():
            self._fonts[Name(self.log.names[face])] = self._font(face, glyphs)
        consolidate_fonts(self.pdf, self.font_files, self.cache)
        stamp = f"D:{date.replace('-', '')}000000Z"
        self.pdf.docinfo["/Title"] = pikepdf.String(title)
        self.pdf.docinfo["/Creator"] = pikepdf.String("cardgen")
        self.pdf.docinfo["/Producer"] = pikepdf.String("cardgen (WeasyPrint, pikepdf, HarfBuzz)")
        self.pdf.docinfo["/CreationDate"] = pikepdf.String(stamp)
        self.pdf.docinfo["/ModDate"] = pikepdf.String(stamp)
        self.pdf.Root.Lang = pikepdf.String("zh-CN")
        if variant == "pdf/a-2b":
            make_pdfa_2b(self.pdf, title, date)
        # OpenType font programs (FontFile3 /OpenType) need PDF 1.6 or later
        self.pdf.save(out, deterministic_id=True, compress_streams=True, min_version="1.7",
                      object_stream_mode=pikepdf.ObjectStreamMode.generate)

    def close(self) -> None:
        for source in self._sources:
            source.close()
        self.pdf.close()

    def _font(self, face: Face, glyphs: dict[int, str]) -> Any:
        """A Type0 font for the drawn glyphs; its program is embedded by consolidation."""
        scale = 1000 / face.units
        widths = {glyph: round(face.advances[glyph] * scale, 3) for glyph in glyphs}
        base = Name("/" + face.family.replace(" ", "-"))
        descriptor = self.pdf.make_indirect(Dictionary(
            Type=Name.FontDescriptor, FontName=base, FontFamily=pikepdf.String(face.family),
            Flags=4, FontBBox=Array([round(v * scale) for v in face.bbox]),
            ItalicAngle=face.italic_angle, Ascent=round(face.ascent * scale),
            Descent=-round(face.descent * scale), CapHeight=round(face.cap_height * scale),
            StemV=80))
        descendant = Dictionary(
            Type=Name.Font, Subtype=Name.CIDFontType0 if face.cff else Name.CIDFontType2,
            BaseFont=base, FontDescriptor=descriptor, W=widths_array(widths),
            CIDSystemInfo=Dictionary(Registry=pikepdf.String("Adobe"),
                                     Ordering=pikepdf.String("Identity"), Supplement=0))
        if not face.cff:
            descendant.CIDToGIDMap = Name.Identity
        font = Dictionary(Type=Name.Font, Subtype=Name.Type0, BaseFont=base,
                          Encoding=Name("/Identity-H"),
                          DescendantFonts=Array([self.pdf.make_indirect(descendant)]))
        font.ToUnicode = self.pdf.make_indirect(tounicode_stream(self.pdf, glyphs))
        return self.pdf.make_indirect(font)

