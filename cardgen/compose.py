"""Compose a PDF: card frames as Form XObjects under each page's data layer, other pages
(covers) copied in, and each font embedded once with exactly the glyphs drawn."""

from __future__ import annotations

import io
import zlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name

from cardgen.cache import Cache
from cardgen.canvas import GlyphLog
from cardgen.fonts import Face
from cardgen.subset import consolidate_fonts, tounicode_stream, widths_array


class Composer:
    """Builds one output document page by page, then embeds the fonts and saves it.

    Pages are collected and set as the page tree's /Kids at the end: pikepdf's page list
    grows in quadratic time (8,000 appends: 1.8 s), the /Kids array in linear time.
    """

    def __init__(self, page_size: tuple[float, float], font_files: dict[str, Path],
                 cache: Cache | None = None) -> None:
        self.pdf = pikepdf.new()
        self.cache = cache
        self.log = GlyphLog()
        self.page_size = page_size  # points, trimmed size
        self.font_files = font_files
        self.frames: dict[Hashable, Any] = {}
        self.boxes: dict[str, Array] = {}
        self._sources: list[pikepdf.Pdf] = []
        self._fonts = self.pdf.make_indirect(Dictionary())
        self._draw_frame = self.pdf.make_stream(b"q /CgFrame Do Q\n")
        self._resources: dict[Hashable, Any] = {}
        self._kids: list[Any] = []

    def add_frames(self, data: bytes, keys: list[Hashable]) -> None:
        """One frame per page of `data` (a PDF), known by the matching key."""
        source = pikepdf.open(io.BytesIO(data))
        self._sources.append(source)
        for key, page in zip(keys, source.pages, strict=True):
            self.frames[key] = self.pdf.copy_foreign(page.as_form_xobject())
            if not self.boxes:
                for box in ("/MediaBox", "/TrimBox", "/BleedBox"):
                    if box in page.obj:
                        self.boxes[box] = Array([float(v) for v in page.obj[box]])

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
        for box, value in (self.boxes or {"/MediaBox": Array([0, 0, *self.page_size])}).items():
            page[box] = value
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

    def save(self, out: Path | io.BytesIO, title: str, date: str) -> None:
        tree = self.pdf.Root.Pages
        for kid in self._kids:
            kid.Parent = tree
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
        self.pdf.save(out, deterministic_id=True, compress_streams=True,
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

