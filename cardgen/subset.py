"""One font subset per font in a merged PDF, instead of one per rendered chunk.

WeasyPrint subsets fonts with HarfBuzz keeping glyph ids (RETAIN_GIDS), so the pages of
separately rendered documents use the same glyph ids for the same font file. After merging,
every subset of one font is replaced by a single subset of the union of glyphs, with merged
widths (W) and ToUnicode maps. HarfBuzz's subsetter is called directly through cffi.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from cardgen.cache import Cache, file_identity, key

_CDEF = """
typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t; typedef struct hb_subset_input_t hb_subset_input_t;
hb_blob_t* hb_blob_create_from_file(const char *file_name);
hb_face_t* hb_face_create(hb_blob_t *blob, unsigned int index);
hb_blob_t* hb_face_reference_blob(hb_face_t *face);
const char* hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
void hb_blob_destroy(hb_blob_t *blob);
void hb_face_destroy(hb_face_t *face);
hb_subset_input_t* hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t* hb_subset_input_glyph_set(hb_subset_input_t *input);
hb_set_t* hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_set_add(hb_set_t *set, unsigned int codepoint);
void hb_set_add_range(hb_set_t *set, unsigned int first, unsigned int last);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned int value);
hb_face_t* hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""
# hb_subset_flags_t and hb_subset_sets_t values (hb-subset.h)
_NO_HINTING, _RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH = 0x1, 0x2, 0x4, 0x20
_DROP_TABLE_TAG = 3
# the tables WeasyPrint 70 drops when it subsets (weasyprint/pdf/fonts.py)
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
            b"PCLT", b"SVG ")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


class NotConsolidated(ValueError):
    """A font's subsets cannot be joined (they disagree); they are left as they are."""


@cache
def _harfbuzz() -> tuple[Any, Any, Any]:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    return ffi, ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")


@cache
def _face(path: Path) -> Any:
    _, hb, _ = _harfbuzz()
    return hb.hb_face_create(hb.hb_blob_create_from_file(str(path).encode()), 0)


def subset_font(path: Path, glyphs: set[int]) -> bytes:
    """The font reduced to `glyphs`, glyph ids kept: the two passes WeasyPrint makes."""
    ffi, hb, hbs = _harfbuzz()
    face = _face(path)
    ids = sorted(glyphs | {0})
    request = hbs.hb_subset_input_create_or_fail()
    glyph_set = hbs.hb_subset_input_glyph_set(request)
    for glyph in ids:
        hb.hb_set_add(glyph_set, glyph)
    hbs.hb_subset_input_set_flags(request, _RETAIN_GIDS | _PASSTHROUGH | _DESUBROUTINIZE)
    dropped = hbs.hb_subset_input_set(request, _DROP_TABLE_TAG)
    for tag in _DROPPED:
        hb.hb_set_add(dropped, int.from_bytes(tag, "big"))
    first = hbs.hb_subset_or_fail(face, request)
    hb.hb_set_add_range(glyph_set, 0, ids[-1])  # second pass: no hinting, empty glyphs trimmed
    hbs.hb_subset_input_set_flags(request, _PASSTHROUGH | _DESUBROUTINIZE | _NO_HINTING)
    second = hbs.hb_subset_or_fail(first, request)
    blob = hb.hb_face_reference_blob(second)
    length = ffi.new("unsigned int *")
    data = bytes(ffi.buffer(hb.hb_blob_get_data(blob, length), length[0]))
    hb.hb_blob_destroy(blob)
    hb.hb_face_destroy(first)
    hb.hb_face_destroy(second)
    hbs.hb_subset_input_destroy(request)
    return data


def _read_tounicode(data: bytes) -> dict[int, str]:
    if b"beginbfrange" in data:
        raise NotConsolidated("ToUnicode with ranges")
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for glyph, text in _BFCHAR.findall(block):
            mapping[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    return mapping


def tounicode_stream(pdf: pikepdf.Pdf, mapping: dict[int, str]) -> Stream:
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
    return Stream(pdf, zlib.compress(b"\n".join(lines), 6), Filter=Name.FlateDecode)


def _read_widths(widths: Any) -> dict[int, float]:
    out: dict[int, float] = {}
    items = list(widths)
    position = 0
    while position < len(items):
        start = int(items[position])
        if isinstance(items[position + 1], Array):
            for offset, value in enumerate(items[position + 1]):
                out[start + offset] = float(value)
            position += 2
        else:
            for glyph in range(start, int(items[position + 1]) + 1):
                out[glyph] = float(items[position + 2])
            position += 3
    return out


def widths_array(widths: dict[int, float]) -> Array:
    """A CIDFont /W array: runs of consecutive glyph ids and their widths."""
    array: list[Any] = []
    run: list[Any] = []
    previous = None
    for glyph in sorted(widths):
        if previous is None or glyph != previous + 1:
            run = []
            array += [glyph, run]
        value = widths[glyph]
        run.append(int(value) if value == int(value) else value)
        previous = glyph
    return Array([Array(item) if isinstance(item, list) else item for item in array])


def _font_tables(pdf: pikepdf.Pdf) -> Iterator[Dictionary]:
    """Every /Font resource table in the file: pages', forms' and patterns' resources.

    Tables are told apart by object number when they have one; a direct table may come
    twice (harmless: it is rewritten the same way). Python ids would not do: pikepdf makes
    a new wrapper on each access and a freed wrapper's id is soon reused."""
    seen: set[tuple[int, int]] = set()
    holders = [obj for obj in pdf.objects if isinstance(obj, (Dictionary, Stream))]
    holders += [page.obj for page in pdf.pages]
    for obj in holders:
        resources = obj.get("/Resources") if "/Resources" in obj else None
        for candidate in (obj, resources):
            if not isinstance(candidate, Dictionary):
                continue
            fonts = candidate.get("/Font")
            if not isinstance(fonts, Dictionary):
                continue
            if fonts.is_indirect:
                if fonts.objgen in seen:
                    continue
                seen.add(fonts.objgen)
            if all(isinstance(font, Dictionary) for _, font in fonts.items()):
                yield fonts


def consolidate_fonts(pdf: pikepdf.Pdf, files: dict[str, Path],
                      cache: Cache | None = None) -> int:
    """Replace each font's subsets by one; `files` maps a /FontFamily to its font file.

    Fonts drawn by cardgen itself carry no program yet: they get it here. Returns how many
    fonts were replaced. Fonts whose family is not in `files`, or whose subsets disagree,
    are left as they are.
    """
    groups: dict[str, list[tuple[Dictionary, str, Any]]] = {}
    for table in _font_tables(pdf):
        for name, font in table.items():
            if font.get("/Subtype") != "/Type0" or font.get("/Encoding") != "/Identity-H":
                continue
            descriptor = font.DescendantFonts[0].FontDescriptor
            family = str(descriptor.get("/FontFamily", ""))
            if family in files:
                groups.setdefault(family, []).append((table, name, font))
    replaced = 0
    for family, users in sorted(groups.items()):
        distinct = list({font.objgen: font for _, _, font in users}.values())
        programs = [f for f in distinct if _has_program(f)]
        if len(distinct) < 2 and len(programs) == len(distinct):
            continue
        try:
            merged = _merged_font(pdf, distinct, files[family], cache)
        except NotConsolidated:
            continue
        for table, name, _ in users:
            table[name] = merged
        replaced += len(distinct)
    return replaced


def _has_program(font: Any) -> bool:
    descriptor = font.DescendantFonts[0].FontDescriptor
    return "/FontFile3" in descriptor or "/FontFile2" in descriptor


def cached_subset(path: Path, glyphs: set[int], cache: Cache | None) -> bytes:
    name = key("subset", file_identity(path), sorted(glyphs))
    data = cache.get("subsets", name) if cache else None
    if data is None:
        data = subset_font(path, glyphs)
        if cache:
            cache.put("subsets", name, data)
    return data


def _merged_font(pdf: pikepdf.Pdf, fonts: list[Any], path: Path,
                 cache: Cache | None) -> Dictionary:
    widths: dict[int, float] = {}
    text: dict[int, str] = {}
    for font in fonts:
        for glyph, width in _read_widths(font.DescendantFonts[0].W).items():
            if abs(widths.setdefault(glyph, width) - width) > 1:  # beyond rounding
                raise NotConsolidated(f"glyph {glyph} has two widths")
        for glyph, chars in _read_tounicode(font.ToUnicode.read_bytes()).items():
            if chars:
                text.setdefault(glyph, chars)
    data = cached_subset(path, set(widths), cache)
    program = Stream(pdf, zlib.compress(data, 6), Filter=Name.FlateDecode)
    first = fonts[0]
    family = str(first.DescendantFonts[0].FontDescriptor.get("/FontFamily", "Font"))
    digest = hashlib.sha256(",".join(map(str, sorted(widths))).encode()).digest()
    tag = "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
    name = Name("/" + tag + "+" + family.replace(" ", "-"))
    cid_font = first.DescendantFonts[0]
    descriptor = pdf.make_indirect(Dictionary({
        key: value for key, value in cid_font.FontDescriptor.items()
        if key not in ("/FontFile3", "/FontFile2", "/CIDSet")}))
    descriptor.FontName = name
    if data[:4] == b"OTTO":
        program.Subtype = Name.OpenType
        descriptor.FontFile3 = program
    else:
        descriptor.FontFile2 = program
    descendant = pdf.make_indirect(Dictionary({
        key: value for key, value in cid_font.items() if key not in ("/W", "/FontDescriptor")}))
    descendant.W = widths_array(widths)
    descendant.FontDescriptor = descriptor
    descendant.BaseFont = name
    merged = pdf.make_indirect(Dictionary({
        key: value for key, value in first.items()
        if key not in ("/DescendantFonts", "/ToUnicode")}))
    merged.DescendantFonts = Array([descendant])
    merged.BaseFont = name
    merged.ToUnicode = pdf.make_indirect(tounicode_stream(pdf, text))
    return merged
