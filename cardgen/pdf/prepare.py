"""WeasyPrint's pages (card frames, ledger covers) made ready to compose.

The composer merges every font of cardgen's families into one subset per document, and
reads each code in a content stream as the glyph id in the full font. That is how
WeasyPrint 70 writes them (its subsets keep glyph ids), but it is WeasyPrint's own
business: so each font is checked here against the full font, glyph by glyph, by drawing
the outline WeasyPrint embedded and the one the code names, and where they differ the
code is looked up again by its text and rewritten in the content streams. A glyph that
cannot be matched refuses the render rather than printing a wrong character.

Greys and black written as RGB (`0.6 0.6 0.6 rg`) become DeviceGray (`0.6 g`), numbers
keep three decimals, not six, and a path's points two (a frame's content stream compresses
to a fifth less; it is flated once, for the cache, and the composer copies those bytes),
and transparency groups lose their DeviceRGB blending space, so a print shop keeps them on
the black plate. Then the programs of cardgen's fonts are dropped: the composer embeds
them again, once per document.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pikepdf
from pikepdf import Dictionary, Name, Operator

from cardgen.errors import RenderRefused
from cardgen.i18n import _
from cardgen.layout.fonts import Face
from cardgen.pdf.subset import (
    open_face,
    read_tounicode,
    read_widths,
    tounicode_cmap,
)
from cardgen.pdf.writer import deflate_once

_TEXT_SHOWING = {"Tj", "TJ", "'", '"'}


def font_family(obj: Any) -> str | None:
    """The /FontFamily of a Type0 Identity-H font (as WeasyPrint and cardgen write them)."""
    if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Subtype") != "/Type0":
        return None
    try:
        family = str(obj.DescendantFonts[0].FontDescriptor.get("/FontFamily", ""))
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    return family if family and obj.get("/Encoding") == "/Identity-H" else None


def prepare_pages(data: bytes, faces: Mapping[str, Face]) -> bytes:
    """The PDF with codes as the faces' glyph ids, greys as DeviceGray and the programs of
    the faces' fonts removed (a frame: 8 KB, not 220 KB). Other fonts (a user template's
    own) are kept as they are."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        codes: dict[tuple[int, int], dict[int, int]] = {}  # font -> code -> glyph id
        ours = []
        for obj in pdf.objects:
            family = font_family(obj)
            if family is not None and family in faces:
                ours.append(obj)
                mapping = glyph_ids(obj, faces[family])
                if any(code != glyph for code, glyph in mapping.items()):
                    codes[obj.objgen] = mapping
        seen: set[tuple[int, int]] = set()
        for page in pdf.pages:
            _rewrite(page.obj, page.obj.get("/Resources", Dictionary()), codes, seen)
        for font in ours:
            if font.objgen in codes:
                _renumber_tables(font, codes[font.objgen])
            descriptor = font.DescendantFonts[0].FontDescriptor
            for program in ("/FontFile", "/FontFile2", "/FontFile3", "/CIDSet"):
                if program in descriptor:
                    del descriptor[program]
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


# ---- glyphs -------------------------------------------------------------------------

def glyph_ids(font: Any, face: Face) -> dict[int, int]:
    """Each code the font shows -> the glyph id in `face` whose outline it embeds."""
    import uharfbuzz as hb

    descendant = font.DescendantFonts[0]
    descriptor = descendant.FontDescriptor
    program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
    subtype = program.get("/Subtype") if program is not None else None
    if program is None or subtype not in (None, "/OpenType"):
        raise RenderRefused(_("the engine embedded the font {family} in a form cardgen cannot "
                              "check ({form}); nothing was written").format(
                                  family=face.family, form=subtype or "none"),
                            code="font.unchecked")
    embedded = hb.Font(hb.Face(hb.Blob(program.read_bytes())))
    full = hb.Font(open_face(face.path))
    texts = read_tounicode(font.ToUnicode.read_bytes()) if "/ToUnicode" in font else {}
    widths = read_widths(list(descendant.get("/W", pikepdf.Array())))
    to_glyph = _cid_to_gid(descendant)
    mapping = {}
    for code in sorted(set(texts) | set(widths)):
        drawn = _outline(embedded, to_glyph(code))
        candidates = [code]
        for char in texts.get(code, "")[:1]:
            nominal = full.get_nominal_glyph(ord(char))
            if nominal is not None:
                candidates.append(nominal)
        found = next((glyph for glyph in candidates
                      if glyph < len(face.advances) and _outline(full, glyph) == drawn), None)
        if found is None:
            raise RenderRefused(_("the engine's glyph {code} of {family} (“{text}”) is no "
                                  "glyph of the font file; nothing was written").format(
                                      code=code, family=face.family,
                                      text=texts.get(code, "")), code="font.glyph_mismatch")
        mapping[code] = found
    return mapping


def _cid_to_gid(descendant: Any) -> Any:
    """How the PDF reader finds a code's glyph in the embedded OpenType or TrueType
    program: its /CIDToGIDMap, else the code itself."""
    table = descendant.get("/CIDToGIDMap")
    if isinstance(table, pikepdf.Stream):
        data = table.read_bytes()
        return lambda code: int.from_bytes(data[2 * code:2 * code + 2], "big")
    return lambda code: code


def _outline(font: Any, glyph: int) -> tuple[Any, ...]:
    from fontTools.pens.recordingPen import RecordingPen

    pen = RecordingPen()
    font.draw_glyph_with_pen(glyph, pen)
    return tuple(pen.value)


def _renumber_tables(font: Any, mapping: dict[int, int]) -> None:
    """The font's widths and ToUnicode keyed by the new codes."""
    descendant = font.DescendantFonts[0]
    widths = read_widths(list(descendant.get("/W", pikepdf.Array())))
    new_widths = {mapping.get(code, code): width for code, width in widths.items()}
    items: list[Any] = []
    for code in sorted(new_widths):
        if items and items[-2] + len(items[-1]) == code:
            items[-1].append(new_widths[code])
        else:
            items += [code, [new_widths[code]]]
    descendant.W = pikepdf.Array(items)
    if "/ToUnicode" in font:
        texts = read_tounicode(font.ToUnicode.read_bytes())
        font.ToUnicode.write(tounicode_cmap({mapping.get(code, code): text
                                             for code, text in texts.items()}))


# ---- content streams ------------------------------------------------------------------

def _rewrite(holder: Any, resources: Any, codes: dict[tuple[int, int], dict[int, int]],
             seen: set[tuple[int, int]]) -> None:
    """A page's, form's or pattern's content with greys as DeviceGray and text codes
    renumbered; then the forms and patterns it uses, each once."""
    group = holder.get("/Group")
    if isinstance(group, Dictionary) and "/CS" in group:
        # WeasyPrint's groups blend in DeviceRGB: a print shop's separation would then
        # turn every grey in them into four-colour black; without /CS, a group blends in
        # the colour space of what it is drawn on
        del group["/CS"]
    if isinstance(holder, pikepdf.Stream) or "/Contents" in holder:
        fonts = resources.get("/Font", Dictionary())
        current: dict[int, int] | None = None
        ops: list[tuple[list[Any], Operator]] = []
        for instruction in pikepdf.parse_content_stream(holder):
            operands, operator = list(instruction.operands), instruction.operator
            op = str(operator)
            if op in ("rg", "RG") and len(set(map(float, operands))) == 1:
                operands, operator = [operands[0]], Operator("g" if op == "rg" else "G")
            elif op == "Tf":
                font = fonts.get(str(operands[0]))
                current = codes.get(font.objgen) if font is not None else None
            elif op in _TEXT_SHOWING and current is not None:
                operands = [*operands[:-1], _renumber_text(operands[-1], current)]
            if op in _PATH:
                operands = [_short(value, _PATH_PLACES) for value in operands]
            elif op not in _TEXT_SHOWING:
                operands = [_short(value) for value in operands]
            ops.append((operands, operator))
        content = deflate_once(pikepdf.unparse_content_stream(ops))
        if isinstance(holder, pikepdf.Stream):
            holder.write(content, filter=Name.FlateDecode)
        else:
            pikepdf.Page(holder).contents_coalesce()
            holder.Contents.write(content, filter=Name.FlateDecode)
    for kind in ("/XObject", "/Pattern"):
        for item in resources.get(kind, Dictionary()).values():
            if (not isinstance(item, pikepdf.Stream) or item.objgen in seen
                    or item.get("/Subtype", Name.Form) != Name.Form):
                continue
            seen.add(item.objgen)
            _rewrite(item, item.get("/Resources", resources), codes, seen)


_PLACES = Decimal("0.001")
# a path's points (WeasyPrint's, in CSS pixels: 0.01 px is 0.0075 pt) to two decimals: the
# largest one-card reprint's frame compresses to 4,836 bytes, not 5,172 (colours, matrices
# and text positions keep three)
_PATH = {"m", "l", "c", "v", "y", "re"}
_PATH_PLACES = Decimal("0.01")


def _short(value: Any, places: Decimal = _PLACES) -> Any:
    """A number to three decimals, or `places` (WeasyPrint writes six: 0.001 px is
    0.00075 pt, far under any printer's dot), so that a frame's content stream compresses
    to less."""
    exponent = places.as_tuple().exponent
    if isinstance(value, Decimal) and value.as_tuple().exponent < exponent:  # type: ignore[operator]
        short = value.quantize(places).normalize()
        return Decimal(0) if short.is_zero() else short
    return value


def _renumber_text(value: Any, mapping: dict[int, int]) -> Any:
    """A text operand (a string, or a TJ array of strings and numbers) with each two-byte
    code replaced by its glyph id."""
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_renumber_text(item, mapping) for item in value])
    if not isinstance(value, pikepdf.String):
        return value
    raw = bytes(value)
    return pikepdf.String(b"".join(
        mapping.get(int.from_bytes(raw[i:i + 2], "big"),
                    int.from_bytes(raw[i:i + 2], "big")).to_bytes(2, "big")
        for i in range(0, len(raw) - 1, 2)))
