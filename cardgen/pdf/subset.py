"""Font subsets and the tables that describe them in a PDF.

A document embeds each of cardgen's fonts once, subset to the union of the glyphs its
pages use, glyph ids kept (as WeasyPrint subsets them, RETAIN_GIDS), so the frames
WeasyPrint renders and the pages cardgen draws share one font. HarfBuzz's subsetter is
called directly through cffi.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

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


def cached_subset(path: Path, glyphs: set[int], cache: Cache | None) -> bytes:
    name = key("subset", file_identity(path), sorted(glyphs))
    data = cache.get("subsets", name) if cache else None
    if data is None:
        data = subset_font(path, glyphs)
        if cache:
            cache.put("subsets", name, data)
    return data
