"""Font subsets and the tables that describe them in a PDF.

A document embeds each of cardgen's fonts once, subset to the union of the glyphs its
pages use. Every content stream — cardgen's data layers and the WeasyPrint pages prepared
by `cardgen/pdf/prepare.py` — shows a glyph by the code that is its glyph id in the full
font, and the subset keeps those codes valid while renumbering the glyphs (HarfBuzz's
subsetter, through uharfbuzz):

- a CID-keyed CFF font (Noto Sans CJK): the subset's charset keeps each glyph's CID, which
  is its code, so the bare CFF table is embedded (FontFile3 /CIDFontType0C, where a PDF
  reader finds a glyph by its CID), its glyphs under one Font DICT (`one_font_dict`);
- a TrueType font: a /CIDToGIDMap takes each code to the glyph's new number;
- a name-keyed CFF font, where neither works: glyph ids are kept (RETAIN_GIDS), as
  WeasyPrint does, at the cost of a larger file.

Renumbering is what makes a one-card PDF small: a retain-gids subset of Noto Sans CJK
still carries an entry for each of its 65,535 glyphs (measured: 255 KB of a 272 KB card).
What is left of a card's size is mostly outlines; a CID-keyed subset's points are put on a
grid of OUTLINE_GRID font units (below), its hints dropped and its subroutines expanded
(both compress better: measured on the largest one-card reprint, hints would add 5.9 KB and
kept subroutines 1.3 KB).
"""

from __future__ import annotations

import io
import marshal
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from cardgen.cache import Cache, file_identity, key
from cardgen.errors import RenderRefused
from cardgen.i18n import _

# the tables WeasyPrint 70 drops when it subsets (weasyprint/pdf/fonts.py); without the
# layout tables, the subset holds exactly the glyphs asked for
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
            b"PCLT", b"SVG ")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")

CID_CFF, TRUETYPE, OPENTYPE_CFF = "cid-cff", "truetype", "opentype-cff"
# Every point of an embedded CID-keyed outline is moved to the nearest multiple of this many
# font units (of 1,000 an em): at most 4 units, 0.03 pt of 8 pt text, a tenth of a 300-dpi
# printer's dot. Outlines' last digits are noise to zlib; on the grid, the largest one-card
# reprint's two font programs compress from 32.5 KB to 24.3 KB (47.1 KB -> 38.9 KB a file).
# Measured on that card at 300 dpi, black and white (Ghostscript pngmono): the grid changes
# 11,064 of its pixels, where moving the whole card by a tenth of a dot (0.024 pt) changes
# 23,087; at 1,200 dpi the letters look the same. A grid of 4 units: 42.4 KB; 2: 45.4 KB.
OUTLINE_GRID = 8


@dataclass(frozen=True)
class Subset:
    """A font program to embed and how a PDF finds a code's glyph in it.

    `kind` is CID_CFF (a bare CFF table; code = CID), TRUETYPE (`new_glyphs` maps each
    code, the glyph id in the full font, to its glyph in the subset) or OPENTYPE_CFF
    (an OpenType font with glyph ids kept; code = glyph id)."""

    kind: str
    program: bytes
    new_glyphs: dict[int, int]

    def cid_to_gid_map(self) -> bytes:
        """The /CIDToGIDMap stream of a TrueType subset: two bytes per code."""
        table = bytearray(2 * (max(self.new_glyphs) + 1))
        for code, glyph in self.new_glyphs.items():
            table[2 * code:2 * code + 2] = glyph.to_bytes(2, "big")
        return bytes(table)


@cache
def open_face(path: Path) -> Any:
    """The font file as a HarfBuzz face; a file that is missing or no font is refused."""
    import uharfbuzz as hb

    try:
        with path.open("rb"):  # says why it cannot be read; HarfBuzz only that it cannot
            pass
        blob = hb.Blob.from_file_path(path)  # mapped, not read: 16 MB a font
    except (OSError, hb.HarfBuzzError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise RenderRefused(_("the font file {path} cannot be read: {reason}").format(
            path=path, reason=reason or exc), code="font.unreadable") from None
    face = hb.Face(blob)
    if face.glyph_count == 0:
        raise RenderRefused(_("{path} is not a font file cardgen can use").format(path=path),
                            code="font.unreadable")
    return face


def _cid_keyed(cff: bytes) -> bool:
    """Whether a CFF table's font is CID-keyed (its top dict has a ROS)."""
    from fontTools.cffLib import CFFFontSet

    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(cff), None)
    return hasattr(fonts.topDictIndex[0], "ROS")


# the arguments a charstring's first operator takes, when it has no hints (NO_HINTING); one
# more before it is the glyph's width (CFF Type 2 charstrings, Technical Note #5177 §3.1)
_FIRST_ARGUMENTS = {"rmoveto": 2, "hmoveto": 1, "vmoveto": 1, "endchar": 0}


def one_font_dict(cff: bytes, grid: int = 1,
                  on_grid: dict[str, list[Any]] | None = None) -> bytes:
    """A CID-keyed CFF subset with its glyphs under one Font DICT, widths re-encoded, and
    its outlines' points on a `grid` of font units (`_on_grid`) when grid > 1.

    Noto Sans CJK keeps its glyphs in up to 19 Font DICTs, each with a Private DICT whose
    defaultWidthX and nominalWidthX code the charstrings' widths (all the hinting dropped
    leaves in them). One Font DICT, whose default width is the width most glyphs have,
    makes a one-card subset 0.2 KB smaller (its FDSelect, Font DICT names and Private
    DICTs go) and lets a PDF/A validator that reads every width with the first Font DICT
    (page-validation 0.11, PDFA2B-TRUETYPE-GLYPH-WIDTH-001) read them right. The widths
    are untouched. A font whose charstrings still hold hints or subroutines is returned
    as it is.

    `on_grid` holds outlines already on the grid by glyph name (a CID-keyed subset names
    a glyph by its CID, its id in the whole font): they are taken from it, and the others
    put in it (see cached_subset)."""
    from fontTools.cffLib import CFFFontSet, FDSelect
    from fontTools.ttLib import TTFont

    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(cff), None)
    top = fonts.topDictIndex[0]
    font_dicts = list(top.FDArray)
    if len(font_dicts) < 2 or len(fonts.GlobalSubrs) or any(
            getattr(d.Private, "Subrs", None) for d in font_dicts):
        return cff
    charstrings = top.CharStrings
    outlines: dict[str, tuple[float, list[Any]]] = {}  # glyph -> width, its charstring
    for glyph in top.charset:
        charstring = charstrings[glyph]
        charstring.decompile()
        program = list(charstring.program)
        first = next((i for i, token in enumerate(program) if isinstance(token, str)), None)
        if first is None or program[first] not in _FIRST_ARGUMENTS:
            return cff
        private = charstring.private
        if first > _FIRST_ARGUMENTS[program[first]]:
            width = program[0] + getattr(private, "nominalWidthX", 0)
            program = program[1:]
        else:
            width = getattr(private, "defaultWidthX", 0)
        outlines[glyph] = (width, program)
    counted = Counter(width for width, _ in outlines.values())
    default = counted.most_common(1)[0][0]
    others = sorted(width for width, _ in outlines.values() if width != default)
    nominal = others[len(others) // 2] if others else 0  # the shortest numbers around it
    kept = font_dicts[0]
    kept.FontName = fonts.fontNames[0]
    kept.Private.rawDict = {}
    kept.Private.defaultWidthX = default
    kept.Private.nominalWidthX = nominal
    top.FDArray.items = [kept]
    top.FDSelect = FDSelect(format=3)
    top.FDSelect.gidArray = [0] * len(outlines)
    for glyph, (width, program) in outlines.items():
        charstring = charstrings[glyph]
        if grid > 1:
            found = on_grid.get(glyph) if on_grid is not None else None
            if found is None:
                found = _on_grid(charstring, grid, kept.Private)
                if on_grid is not None:
                    on_grid[glyph] = found
            program = list(found)
        charstring.program = program if width == default else [width - nominal, *program]
        charstring.private = kept.Private
        charstring.bytecode = None
    out = io.BytesIO()
    fonts.compile(out, TTFont(recalcBBoxes=False))
    return out.getvalue()


def _on_grid(charstring: Any, grid: int, private: Any) -> list[Any]:
    """The glyph's outline (no width) with every point moved to the nearest multiple of
    `grid` font units, as a charstring program (fontTools writes its operators anew)."""
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    recorded = RecordingPen()
    charstring.draw(recorded)
    pen = T2CharStringPen(None, None)
    for operator, points in recorded.value:
        getattr(pen, operator)(*((grid * round(x / grid), grid * round(y / grid))
                                 for x, y in points))
    program: list[Any] = pen.getCharString(private=private).program
    return program


def subset_font(path: Path, glyphs: set[int],
                on_grid: dict[str, list[Any]] | None = None) -> Subset:
    """The font reduced to `glyphs` (glyph ids of the full font), renumbered where a PDF
    can still find each glyph by its old id (see the module's docstring); a CID-keyed
    font's outlines already on the grid are taken from `on_grid` (one_font_dict)."""
    import uharfbuzz as hb

    face = open_face(path)
    flags = (hb.SubsetFlags.DESUBROUTINIZE | hb.SubsetFlags.NO_HINTING
             | hb.SubsetFlags.NO_LAYOUT_CLOSURE)
    request = hb.SubsetInput()
    for glyph in sorted(glyphs | {0}):
        request.glyph_set.add(glyph)
    for tag in _DROPPED:
        request.drop_table_tag_set.add(int.from_bytes(tag, "big"))
    request.flags = flags
    plan = hb.SubsetPlan(face, request)
    result = plan.execute()
    if result is None:
        raise RenderRefused(_("HarfBuzz could not subset the font {path}").format(path=path),
                            code="font.subset")
    tags = set(result.table_tags)
    if "CFF " in tags:
        cff = bytes(result.reference_table("CFF ").data)
        if _cid_keyed(cff):
            return Subset(CID_CFF, one_font_dict(cff, OUTLINE_GRID, on_grid), {})
        request.flags = flags | hb.SubsetFlags.RETAIN_GIDS  # name-keyed CFF: ids kept
        retained = hb.subset(face, request)
        return Subset(OPENTYPE_CFF, bytes(retained.blob.data), {})
    mapping = dict(plan.old_to_new_glyph_mapping.items())
    return Subset(TRUETYPE, bytes(result.blob.data),
                  {old: mapping[old] for old in sorted(glyphs | {0}) if old in mapping})


def cached_subset(path: Path, glyphs: set[int], cache: Cache | None) -> Subset:
    """The subset of `glyphs` from the cache, or made and put there. Made, a CID-keyed
    font's outlines are put on the grid only for glyphs no subset of the font had before:
    the cache keeps those it did (one entry a font file, which grows). (Each glyph's took
    0.3 ms, a third of the subset of a month's update, which a ledger had mostly put on
    the grid already: py-spy, session 5.)"""
    name = key("subset", 4, OUTLINE_GRID, file_identity(path), sorted(glyphs))
    data = cache.get("subsets", name) if cache else None
    if data is not None:
        kind, program, new_glyphs = marshal.loads(data)
        return Subset(kind, program, new_glyphs)
    outlines = key("grid-outlines", OUTLINE_GRID, file_identity(path))
    stored = cache.get("subsets", outlines) if cache else None
    on_grid: dict[str, list[Any]] = marshal.loads(stored) if stored is not None else {}
    known = len(on_grid)
    subset = subset_font(path, glyphs, on_grid)
    if cache:
        cache.put("subsets", name, marshal.dumps((subset.kind, subset.program,
                                                  subset.new_glyphs)))
        if len(on_grid) > known:
            cache.put("subsets", outlines, marshal.dumps(on_grid))
    return subset


def read_tounicode(data: bytes) -> dict[int, str]:
    """Glyph id -> text from a ToUnicode CMap as WeasyPrint and cardgen write them
    (bfchar entries; a bfrange is read as its first glyph only, which is all they use)."""
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for glyph, text in _BFCHAR.findall(block):
            mapping[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    return mapping


def tounicode_cmap(mapping: dict[int, str]) -> bytes:
    """A ToUnicode CMap: glyph id -> the text it shows (glyphs without text are left out)."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted((glyph, text) for glyph, text in mapping.items() if text)
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines += [f"<{g:04x}> <{t.encode('utf-16-be').hex()}>".encode() for g, t in batch]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


def read_widths(widths: list[Any]) -> dict[int, float]:
    """Glyph id -> width from a CIDFont /W array (`start [w ...]` and `first last w`)."""
    out: dict[int, float] = {}
    position = 0
    while position < len(widths):
        start = int(widths[position])
        following = widths[position + 1]
        if isinstance(following, (int, float, Decimal)):  # first last w
            for glyph in range(start, int(following) + 1):
                out[glyph] = float(widths[position + 2])
            position += 3
        else:  # start [w w …]
            for offset, value in enumerate(following):
                out[start + offset] = float(value)
            position += 2
    return out


def widths_array(widths: dict[int, float]) -> bytes:
    """A CIDFont /W array, written: runs of consecutive glyph ids and their widths."""
    parts: list[bytes] = []
    run: list[str] = []
    previous = None
    for glyph in sorted(widths):
        if previous is None or glyph != previous + 1:
            if run:
                parts.append(b"[" + " ".join(run).encode() + b"]")
            run = []
            parts.append(str(glyph).encode())
        value = round(widths[glyph], 3)
        run.append(f"{value:.3f}".rstrip("0").rstrip("."))
        previous = glyph
    if run:
        parts.append(b"[" + " ".join(run).encode() + b"]")
    return b"[" + b" ".join(parts) + b"]"
