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


# glyph name -> (its width, its charstring's bytes without the width) as `one_font_dict` writes
# them on the grid: a glyph's outline in a desubroutinised, unhinted subset is the same in
# every subset of one font file, so the outlines of one subset serve the next (`cached_subset`)
Outlines = dict[str, tuple[float, bytes]]


def one_font_dict(cff: bytes, grid: int = 1, outlines: Outlines | None = None) -> bytes:
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

    `outlines` (with a grid) gives the glyphs on the grid that earlier subsets of the font
    wrote, and takes those this one writes: putting points on the grid and writing the
    charstrings again is most of a one-card PDF's time (0.15 s of 0.2 s for 190 glyphs,
    measured), and a glyph given is used as it is, byte for byte."""
    from fontTools.cffLib import CFFFontSet, FDSelect
    from fontTools.misc.psCharStrings import T2CharString
    from fontTools.ttLib import TTFont

    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(cff), None)
    top = fonts.topDictIndex[0]
    font_dicts = list(top.FDArray)
    if len(font_dicts) < 2 or len(fonts.GlobalSubrs) or any(
            getattr(d.Private, "Subrs", None) for d in font_dicts):
        return cff
    charstrings = top.CharStrings
    known = outlines if outlines is not None and grid > 1 else {}
    widths: dict[str, float] = {}  # glyph -> its width
    programs: dict[str, list[Any]] = {}  # glyph -> its charstring without the width
    for glyph in top.charset:
        charstring = charstrings[glyph]  # read now: its Font DICT is about to go
        if glyph in known:
            widths[glyph] = known[glyph][0]
            continue
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
        widths[glyph], programs[glyph] = width, program
    counted = Counter(widths.values())
    default = counted.most_common(1)[0][0]
    others = sorted(width for width in widths.values() if width != default)
    nominal = others[len(others) // 2] if others else 0  # the shortest numbers around it
    kept = font_dicts[0]
    kept.FontName = fonts.fontNames[0]
    kept.Private.rawDict = {}
    kept.Private.defaultWidthX = default
    kept.Private.nominalWidthX = nominal
    top.FDArray.items = [kept]
    top.FDSelect = FDSelect(format=3)
    top.FDSelect.gidArray = [0] * len(widths)
    for glyph, width in widths.items():
        charstring = charstrings[glyph]
        charstring.private = kept.Private
        if glyph in known:
            body = known[glyph][1]
        else:
            program = programs[glyph]
            if grid > 1:
                program = _on_grid(charstring, grid, kept.Private)
            body = _compiled(T2CharString, program)
            if outlines is not None and grid > 1:
                outlines[glyph] = (width, body)
        # a charstring's bytes are its tokens' bytes one after another: the width's, then
        # the outline's (fontTools' T2CharString.compile)
        width_bytes = b"" if width == default else \
            _compiled(T2CharString, [width - nominal, "endchar"])[:-1]
        charstring.setBytecode(width_bytes + body)
    out = io.BytesIO()
    fonts.compile(out, TTFont(recalcBBoxes=False))
    return out.getvalue()


def _compiled(charstring_class: Any, program: list[Any]) -> bytes:
    """A Type 2 charstring program as bytes."""
    charstring = charstring_class(program=program)
    charstring.compile()
    return bytes(charstring.bytecode)


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


def subset_font(path: Path, glyphs: set[int], outlines: Outlines | None = None) -> Subset:
    """The font reduced to `glyphs` (glyph ids of the full font), renumbered where a PDF
    can still find each glyph by its old id (see the module's docstring); `outlines`: the
    font's glyphs on the grid, as `one_font_dict` takes them."""
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
            return Subset(CID_CFF, one_font_dict(cff, OUTLINE_GRID, outlines), {})
        request.flags = flags | hb.SubsetFlags.RETAIN_GIDS  # name-keyed CFF: ids kept
        retained = hb.subset(face, request)
        return Subset(OPENTYPE_CFF, bytes(retained.blob.data), {})
    mapping = dict(plan.old_to_new_glyph_mapping.items())
    return Subset(TRUETYPE, bytes(result.blob.data),
                  {old: mapping[old] for old in sorted(glyphs | {0}) if old in mapping})


def cached_subset(path: Path, glyphs: set[int], cache: Cache | None) -> Subset:
    name = key("subset", 4, OUTLINE_GRID, file_identity(path), sorted(glyphs))
    data = cache.get("subsets", name) if cache else None
    if data is not None:
        kind, program, new_glyphs = marshal.loads(data)
        return Subset(kind, program, new_glyphs)
    # the font's glyphs as earlier subsets (or `cardgen prepare`) put them on the grid
    outlines: Outlines = _kept(cache, outlines_name(path)) or {}
    if cache and cache.enabled:
        _KEPT[(str(cache.folder), outlines_name(path))] = outlines
    known = len(outlines)
    skeleton: Skeleton | None = _kept(cache, skeleton_name(path))
    program = written_subset(path, glyphs, outlines, skeleton) if skeleton else None
    # some glyphs' outlines not known yet: those `cardgen prepare` put on the grid among
    # the rarer characters taken, the rest alone put on the grid (a small subset), then the
    # whole written from the outlines, rather than subset and written all anew: a
    # 1,000-household register of invented names whose outlines lacked 30 of its 435
    # regular glyphs took 0.07-0.10 s for that subset, 0.004 s once they are known
    # (session 7)
    if program is None and skeleton and _from_rarer(cache, path, glyphs, outlines):
        program = written_subset(path, glyphs, outlines, skeleton)
    if program is None and skeleton and _add_outlines(path, glyphs, outlines):
        program = written_subset(path, glyphs, outlines, skeleton)
    if program is not None:
        subset = Subset(CID_CFF, program, {})
    else:
        subset = subset_font(path, glyphs, outlines)
        skeleton = skeleton_of(path, glyphs, subset, outlines) if cache and not skeleton \
            else None
        if skeleton is not None and cache is not None:
            cache.put("outlines", skeleton_name(path), marshal.dumps(skeleton))
            if cache.enabled:
                _KEPT[(str(cache.folder), skeleton_name(path))] = skeleton
    if cache:
        cache.put("subsets", name, marshal.dumps((subset.kind, subset.program,
                                                  subset.new_glyphs)))
        if len(outlines) > known:
            cache.put("outlines", outlines_name(path), marshal.dumps(outlines))
    return subset


def _outline_name(cid_of: Any, glyph: int) -> str:
    """The name of a glyph's entry among a CID-keyed font's `Outlines`."""
    return ".notdef" if glyph == 0 else f"cid{cid_of(glyph):05d}"


def _from_rarer(cache: Cache | None, path: Path, glyphs: set[int], outlines: Outlines) -> bool:
    """Put the glyphs of `glyphs` that `outlines` lacks and that `cardgen prepare` put on the
    grid among the rarer characters (`more_outlines_name`) into `outlines`; whether it put
    any. Only those: the outlines a run keeps in the user's cache stay the common ones and
    what its registers used, read by every first card (4.6 ms a font for GB 2312's level
    one, session 11)."""
    font = font_cids(path)
    if font is None:
        return False
    name = more_outlines_name(path)
    rarer: Outlines | None = _kept(cache, name)
    if rarer is None and cache and cache.enabled:
        _KEPT[(str(cache.folder), name)] = rarer = {}  # none there: not looked for again
    if not rarer:
        return False
    found = {name: rarer[name] for name in (_outline_name(font[0], glyph) for glyph in glyphs)
             if name not in outlines and name in rarer}
    outlines.update(found)
    return bool(found)


def _add_outlines(path: Path, glyphs: set[int], outlines: Outlines) -> bool:
    """Put the glyphs of `glyphs` that `outlines` lacks on the grid, into `outlines`
    (`subset_font` of those alone, with a glyph of another Font DICT when they share one:
    `one_font_dict` rewrites only a subset of two or more); whether it did."""
    font = font_cids(path)
    if font is None:
        return False
    cid_of, font_dict_of = font
    missing = {glyph for glyph in glyphs | {0} if _outline_name(cid_of, glyph) not in outlines}
    if not missing:
        return False
    dicts = {font_dict_of(glyph) for glyph in missing | {0}}
    if len(dicts) < 2:
        missing |= {next((glyph for glyph in sorted(glyphs)
                          if font_dict_of(glyph) not in dicts), 0)}
    known = len(outlines)
    subset_font(path, missing, outlines)
    return len(outlines) > known


def _kept(cache: Cache | None, name: str) -> Any:
    """The "outlines" entry `name` of `cache` (marshalled), read once a process."""
    found = _KEPT.get((str(cache.folder) if cache else "", name))
    if found is None and cache:
        stored = cache.get("outlines", name)
        found = marshal.loads(stored) if stored is not None else None
        if found is not None and cache.enabled:
            _KEPT[(str(cache.folder), name)] = found
    return found


# (cache folder, outlines_name or skeleton_name) -> the outlines (or skeleton) read from that
# cache, kept by a process that makes one PDF after another (the desk's workers): reading
# 1.7 MB of outlines again for each card took 15 ms a font
_KEPT: dict[tuple[str, str], Any] = {}


def outlines_name(path: Path) -> str:
    """The cache's name for the outlines of the font file at `path` (`Outlines`)."""
    return key("outlines", 1, OUTLINE_GRID, file_identity(path))


def more_outlines_name(path: Path) -> str:
    """The cache's name for the outlines of the rarer characters' glyphs of the font file at
    `path` that `cardgen prepare` put on the grid (`prepare_outlines`, `_from_rarer`)."""
    return key("outlines-rarer", 1, OUTLINE_GRID, file_identity(path))


def prepare_outlines(path: Path, glyphs: set[int], cache: Cache,
                     rarer: set[int] | None = None) -> tuple[int, int]:
    """Put `glyphs` of the font at `path` on the grid into `cache` (`cardgen prepare`), and
    apart from them those of `rarer` that `glyphs` has not: how many each holds, (0, 0) for a
    font whose subsets are not put on the grid."""
    outlines: Outlines = {}
    subset = subset_font(path, glyphs, outlines)
    if not outlines:
        return 0, 0
    cache.put("outlines", outlines_name(path), marshal.dumps(outlines))
    skeleton = skeleton_of(path, glyphs, subset, outlines)
    if skeleton is not None:
        cache.put("outlines", skeleton_name(path), marshal.dumps(skeleton))
    more: Outlines = {}
    extra = (rarer or set()) - glyphs
    if extra:
        subset_font(path, extra, more)
        more = {name: outline for name, outline in more.items() if name not in outlines}
        cache.put("outlines", more_outlines_name(path), marshal.dumps(more))
    return len(outlines), len(more)


# ---- a CID-keyed subset written from the outlines, without HarfBuzz and fontTools ----------
#
# When every glyph a document uses is among the font's outlines on the grid (`cardgen
# prepare` puts a few thousand common characters' there), the subset `subset_font` would
# make is written here, byte for byte as fontTools writes it (CFFFontSet.compile): what is
# the same in every subset of one font (the name, the Top DICT's entries but the four
# offsets, the strings, the Font DICT's name: the `skeleton`) is taken from a subset made
# the long way, and checked by writing that subset again. Measured on a one-card reprint
# of a 1,000-household register after `cardgen demo`: importing fontTools and uharfbuzz
# and subsetting took 60 ms of 0.45 s (python -X importtime, perf_counter, session 6).

# the Top DICT's offsets, in fontTools' order, and the Font DICT's Private
_CHARSET, _FDSELECT, _FDARRAY, _CHARSTRINGS, _PRIVATE = (
    b"\x0f", b"\x0c\x25", b"\x0c\x24", b"\x11", b"\x12")
_OFFSETS = (_CHARSET, _FDSELECT, _FDARRAY, _CHARSTRINGS)
# what one CID-keyed subset has of every other: the Name INDEX, the Top DICT without its
# offsets, the String INDEX, the global subroutines' INDEX, the Font DICT without Private
Skeleton = tuple[bytes, bytes, bytes, bytes, bytes]


def skeleton_name(path: Path) -> str:
    """The cache's name for the skeleton of the font file at `path`'s subsets."""
    return key("cff-skeleton", 1, OUTLINE_GRID, file_identity(path))


def _card16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def _off_size(largest: int) -> int:
    return 1 if largest < 0x100 else 2 if largest < 0x10000 else 3 if largest < 0x1000000 else 4


def _index(items: list[bytes]) -> bytes:
    """A CFF INDEX of `items`, as fontTools writes one."""
    if not items:
        return b"\0\0"
    offsets = [1]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    size = _off_size(offsets[-1])
    return (_card16(len(items)) + bytes((size,))
            + b"".join(offset.to_bytes(size, "big") for offset in offsets) + b"".join(items))


def _dict_int(value: int) -> bytes:
    """An integer operand of a DICT (fontTools' encodeIntCFF)."""
    if -107 <= value <= 107:
        return bytes((value + 139,))
    if 108 <= value <= 1131:
        value -= 108
        return bytes(((value >> 8) + 247, value & 0xFF))
    if -1131 <= value <= -108:
        value = -value - 108
        return bytes(((value >> 8) + 251, value & 0xFF))
    if -32768 <= value <= 32767:
        return b"\x1c" + value.to_bytes(2, "big", signed=True)
    return b"\x1d" + value.to_bytes(4, "big", signed=True)


def _width_bytes(value: int) -> bytes | None:
    """A charstring's width operand (fontTools' encodeIntT2); None beyond 16 bits."""
    return _dict_int(value) if -32768 <= value <= 32767 else None


def _charset(cids: list[int]) -> bytes:
    """The charset of glyphs with these CIDs (.notdef's left out), in the shorter of
    format 0 and format 1 or 2, format 0 when equal (fontTools' CharsetCompiler)."""
    format0 = b"\0" + b"".join(_card16(cid) for cid in cids)
    ranges: list[tuple[int, int]] = []
    for cid in cids:
        if ranges and ranges[-1][0] + ranges[-1][1] + 1 == cid:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + 1)
        else:
            ranges.append((cid, 0))
    wide = any(left > 255 for _first, left in ranges)
    ranged = bytes((2 if wide else 1,)) + b"".join(
        _card16(first) + (_card16(left) if wide else bytes((left,))) for first, left in ranges)
    return ranged if len(ranged) < len(format0) else format0


def _write_cff(skeleton: Skeleton, cids: list[int], charstrings: list[bytes],
               private: bytes) -> bytes:
    """A one-Font-DICT CID-keyed CFF, laid out as fontTools' CFFWriter lays it out: the
    offsets are worked out again until no position moves, starting from zeros."""
    names, top_fixed, strings, global_subrs, font_fixed = skeleton
    charset = _charset(cids)
    fd_select = b"\x03" + _card16(1) + _card16(0) + b"\0" + _card16(len(charstrings))
    charstrings_index = _index(charstrings)
    offsets = dict.fromkeys(_OFFSETS, 0)
    private_size = private_at = 0

    def top() -> bytes:
        return top_fixed + b"".join(_dict_int(offsets[op]) + op for op in _OFFSETS)

    def font_dict() -> bytes:
        return font_fixed + _dict_int(private_size) + _dict_int(private_at) + _PRIVATE

    last: list[int] = []
    while True:
        # header (3 bytes), its offset size, names, Top DICT INDEX, strings, subroutines
        at = 4 + len(names) + len(_index([top()])) + len(strings) + len(global_subrs)
        positions = [at]
        for op, part in ((_CHARSET, charset), (_FDSELECT, fd_select),
                         (_CHARSTRINGS, charstrings_index)):
            offsets[op] = at
            at += len(part)
            positions.append(at)
        offsets[_FDARRAY] = at
        at += len(_index([font_dict()]))
        private_size, private_at = len(private), at
        positions += [at, at + len(private)]
        if positions == last:
            break
        last = positions
    return b"".join((b"\x01\x00\x04", bytes((_off_size(last[-1]),)), names,
                     _index([top()]), strings, global_subrs, charset, fd_select,
                     charstrings_index, _index([font_dict()]), private))


def written_subset(path: Path, glyphs: set[int], outlines: Outlines,
                   skeleton: Skeleton) -> bytes | None:
    """The CID-keyed subset of the font at `path` to `glyphs`, as `subset_font` makes it,
    written from `outlines` and the font's `skeleton`; None when a glyph is not among the
    outlines or the subset is not one `one_font_dict` rewrites (its glyphs under one Font
    DICT of the font's, a width beyond a small integer)."""
    font = font_cids(path)
    if font is None:
        return None
    cid_of, font_dict_of = font
    chosen = sorted(glyphs | {0})
    if len({font_dict_of(glyph) for glyph in chosen}) < 2:
        return None
    cids = [cid_of(glyph) for glyph in chosen]
    names = [".notdef" if glyph == 0 else f"cid{cid:05d}"
             for glyph, cid in zip(chosen, cids, strict=True)]
    if any(name not in outlines for name in names):
        return None
    widths = [outlines[name][0] for name in names]
    if any(type(width) is not int for width in widths):
        return None
    default = Counter(widths).most_common(1)[0][0]
    others = sorted(width for width in widths if width != default)
    nominal = others[len(others) // 2] if others else 0
    charstrings = []
    for name, width in zip(names, widths, strict=True):
        prefix = b"" if width == default else _width_bytes(int(width - nominal))
        if prefix is None:
            return None
        charstrings.append(prefix + outlines[name][1])
    private = b"".join(_dict_int(int(value)) + op for value, op in
                       ((default, b"\x14"), (nominal, b"\x15")) if value != 0)
    return _write_cff(skeleton, cids[1:], charstrings, private)


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


def _dict_entries(data: bytes) -> list[tuple[bytes, int]]:
    """A DICT's entries: (operator, where its operands start), in order."""
    entries = []
    start = position = 0
    while position < len(data):
        b0 = data[position]
        if b0 <= 21:
            size = 2 if b0 == 12 else 1
            entries.append((data[position:position + size], start))
            position = start = position + size
        elif b0 == 28:
            position += 3
        elif b0 == 29:
            position += 5
        elif b0 == 30:  # a real number: nibbles up to one that is 0xf
            position += 1
            while position < len(data) and 0xF not in (data[position] >> 4,
                                                       data[position] & 0xF):
                position += 1
            position += 1
        else:
            position += 1 if b0 <= 246 else 2
    return entries


def _read_index(data: bytes, at: int) -> tuple[list[bytes], int]:
    """The items of the INDEX at `at`, and where it ends."""
    count = int.from_bytes(data[at:at + 2], "big")
    if count == 0:
        return [], at + 2
    size = data[at + 2]
    starts = [int.from_bytes(data[at + 3 + i * size:at + 3 + (i + 1) * size], "big")
              for i in range(count + 1)]
    base = at + 2 + (count + 1) * size
    return [data[base + starts[i]:base + starts[i + 1]] for i in range(count)], \
        base + starts[-1]


def _dict_value(data: bytes, entries: list[tuple[bytes, int]], operator: bytes) -> int:
    """The integer operand of `operator` in a DICT."""
    index = [op for op, _start in entries].index(operator)
    start = entries[index][1]
    end = len(data) if index + 1 == len(entries) else entries[index + 1][1]
    operand = data[start:end - len(operator)]
    b0 = operand[0]
    if 32 <= b0 <= 246:
        return b0 - 139
    if 247 <= b0 <= 250:
        return (b0 - 247) * 256 + operand[1] + 108
    if 251 <= b0 <= 254:
        return -(b0 - 251) * 256 - operand[1] - 108
    return int.from_bytes(operand[1:], "big", signed=True)


def skeleton_of(path: Path, glyphs: set[int], subset: Subset,
                outlines: Outlines) -> Skeleton | None:
    """What every CID-keyed subset of the font at `path` shares, taken from `subset` (of
    `glyphs`, made the long way), if writing it again from the skeleton and `outlines`
    gives its very bytes; else None."""
    if subset.kind != CID_CFF:
        return None
    data = subset.program
    try:
        at = data[2]  # the header's size
        _names, at_top = _read_index(data, at)
        names = data[at:at_top]
        (top,), at_strings = _read_index(data, at_top)
        _strings, at_subrs = _read_index(data, at_strings)
        _subrs, at_charset = _read_index(data, at_subrs)
        entries = _dict_entries(top)
        if tuple(op for op, _start in entries[-4:]) != _OFFSETS or \
                any(op in _OFFSETS or op == _PRIVATE for op, _start in entries[:-4]):
            return None
        (font_dict,), _end = _read_index(data, _dict_value(top, entries, _FDARRAY))
        font_entries = _dict_entries(font_dict)
        if font_entries[-1][0] != _PRIVATE:
            return None
        skeleton = (names, top[:entries[-4][1]], data[at_strings:at_subrs],
                    data[at_subrs:at_charset], font_dict[:font_entries[-1][1]])
    except (IndexError, ValueError):
        return None
    return skeleton if written_subset(path, glyphs, outlines, skeleton) == data else None


def font_cids(path: Path) -> tuple[Any, Any] | None:
    """For a font file whose CFF font is CID-keyed: glyph id -> its CID, and glyph id -> the
    Font DICT it is drawn with (functions); else None."""
    return _font_cids(file_identity(path))


@cache
def _font_cids(identity: tuple[str, int, int]) -> tuple[Any, Any] | None:
    import bisect
    import struct

    try:
        with open(identity[0], "rb") as font:
            def read(at: int, size: int) -> bytes:
                font.seek(at)
                data = font.read(size)
                if len(data) != size:
                    raise ValueError("short")
                return data

            tables = struct.unpack(">H", read(4, 2))[0]
            directory = read(12, 16 * tables)
            records = {directory[i:i + 4]: struct.unpack(">LL", directory[i + 8:i + 16])
                       for i in range(0, len(directory), 16)}
            if b"CFF " not in records:
                return None
            base, length = records[b"CFF "]
            head = read(base, min(length, 1 << 16))
            _names, at_top = _read_index(head, head[2])
            (top,), _end = _read_index(head, at_top)
            entries = _dict_entries(top)
            operators = [op for op, _start in entries]
            if b"\x0c\x1e" not in operators or _FDSELECT not in operators:  # no ROS
                return None
            glyphs = struct.unpack(">H", read(base + _dict_value(top, entries, _CHARSTRINGS),
                                              2))[0]
            # charset: CIDs of glyphs 1, 2, … as (first glyph, first CID) runs
            at = base + _dict_value(top, entries, _CHARSET)
            form = read(at, 1)[0]
            at += 1
            cid_runs: list[tuple[int, int]] = []
            glyph = 1
            while glyph < glyphs:
                if form == 0:
                    cid_runs.append((glyph, struct.unpack(">H", read(at, 2))[0]))
                    at, glyph = at + 2, glyph + 1
                elif form in (1, 2):
                    size = 3 if form == 1 else 4
                    first, left = struct.unpack(">HB" if form == 1 else ">HH", read(at, size))
                    cid_runs.append((glyph, first))
                    at, glyph = at + size, glyph + left + 1
                else:
                    return None
            at = base + _dict_value(top, entries, _FDSELECT)
            form = read(at, 1)[0]
            if form == 0:
                fd_runs = [(glyph, fd) for glyph, fd in enumerate(read(at + 1, glyphs))]
            elif form == 3:
                count = struct.unpack(">H", read(at + 1, 2))[0]
                ranges = read(at + 3, 3 * count)
                fd_runs = [struct.unpack(">HB", ranges[i:i + 3]) for i in range(0, 3 * count, 3)]
            else:
                return None
    except (OSError, ValueError, IndexError, struct.error):
        return None
    cid_starts = [glyph for glyph, _cid in cid_runs]
    fd_starts = [glyph for glyph, _fd in fd_runs]

    def cid_of(glyph: int) -> int:
        if glyph == 0:
            return 0
        run = bisect.bisect_right(cid_starts, glyph) - 1
        return cid_runs[run][1] + glyph - cid_runs[run][0]

    def font_dict_of(glyph: int) -> int:
        return fd_runs[bisect.bisect_right(fd_starts, glyph) - 1][1]

    return cid_of, font_dict_of
