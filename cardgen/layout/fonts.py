"""The fonts cards are drawn with: which characters each has, their advances, their metrics."""

from __future__ import annotations

import marshal
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cardgen import resources
from cardgen.cache import Cache, file_identity, key
from cardgen.config import Config

REGULAR_FAMILY = "Cardgen Sans"
BOLD_FAMILY = "Cardgen Sans Bold"


@dataclass(frozen=True, eq=False)  # one Face per file and process: compared by identity
class Face:
    """One font file as the data layer uses it; sizes are in font units (see `units`)."""

    family: str  # the family name WeasyPrint and the PDF know it by
    path: Path
    units: int
    cmap: Mapping[int, int]  # code point -> glyph id (a Cmap when read from the cache)
    advances: Sequence[int]  # glyph id -> advance width (an array: 65,536 ints as objects
    #                          would take 2.4 MB in every process)
    ascent: int  # hhea, as Pango uses them for line boxes
    descent: int  # positive
    cap_height: int
    bbox: tuple[int, int, int, int]
    italic_angle: float
    cff: bool  # CFF outlines (FontFile3) rather than TrueType (FontFile2)

    def advance(self, glyph: int) -> float:
        """Advance in em."""
        return self.advances[glyph] / self.units


def compact(advances: Iterable[int]) -> Sequence[int]:
    values = list(advances)
    try:  # array() checks the range itself: 3 ms a face faster than all() over 65,535
        return array("H", values)
    except (OverflowError, TypeError):
        return tuple(values)


class Cmap(Mapping[int, int]):
    """A font's code points and their glyphs as two arrays, the codes sorted, looked up by
    bisection: made from the cache's bytes in 0.02 ms, where a dict of the bundled font's
    44,810 entries took 6.2 ms a face, two faces in every command (and 2.5 MB a process).
    The typesetter asks once a character (Typesetter._glyph keeps what it found), the
    glyph check has the codes as a set (coverage)."""

    __slots__ = ("codes", "glyphs")

    def __init__(self, codes: array[int], glyphs: array[int]) -> None:
        self.codes, self.glyphs = codes, glyphs

    @classmethod
    def of(cls, cmap: Mapping[int, int]) -> Cmap:
        pairs = sorted(cmap.items())
        return cls(array("I", [code for code, _ in pairs]), array("H", [g for _, g in pairs]))

    def __getitem__(self, code: int) -> int:
        codes = self.codes
        at = bisect_left(codes, code)
        if at == len(codes) or codes[at] != code:
            raise KeyError(code)
        return self.glyphs[at]

    def get(self, code: int, default: int | None = None) -> int | None:  # type: ignore[override]
        codes = self.codes
        at = bisect_left(codes, code)
        return self.glyphs[at] if at < len(codes) and codes[at] == code else default

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and self.get(code) is not None

    def __iter__(self) -> Iterator[int]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)


_FACES: dict[tuple[Path, str], Face] = {}


def load_face(path: Path, family: str, cache: Cache | None = None) -> Face:
    """A face's metrics: from this process, the cache, the file shipped beside a bundled
    font, or else read from the font itself."""
    found = _FACES.get((path, family))
    if found is not None:
        return found
    # the entry holds arrays' bytes: named with their item size and byte order
    name = key("metrics", 3, file_identity(path), sys.byteorder, array("I").itemsize)
    stored = cache.get("metrics", name) if cache else None
    face = _face_of_entry(path, family, stored) if stored is not None else None
    if face is None:
        shipped = shipped_metrics(path)
        if shipped is not None:
            units, cmap, advances, ascent, descent, cap, bbox, italic, cff = \
                marshal.loads(shipped)
            face = Face(family, path, units, cmap, compact(advances), ascent, descent, cap,
                        tuple(bbox), italic, cff)
        else:
            face = _read_face(path, family)
        entry = _entry_of_face(face) if cache else None
        if cache and entry is not None:
            cache.put("metrics", name, entry)
    _FACES[(path, family)] = face
    return face


def _entry_of_face(face: Face) -> bytes | None:
    """A face's metrics as the cache keeps them: the cmap (its codes sorted, as a Cmap reads
    them) and the advances as arrays' bytes, which read back in 3 ms a face less than as a
    dict and a tuple (measured, Noto Sans CJK: 4.6 ms, not 8.4; a one-card reprint reads
    two faces)."""
    advances = face.advances
    try:
        cmap = face.cmap if isinstance(face.cmap, Cmap) else Cmap.of(face.cmap)
        codes, glyphs = cmap.codes.tobytes(), cmap.glyphs.tobytes()
    except OverflowError:  # not kept: read from the font next time
        return None
    kept = advances.tobytes() if isinstance(advances, array) else tuple(advances)
    return marshal.dumps((face.units, codes, glyphs, kept, face.ascent, face.descent,
                          face.cap_height, face.bbox, face.italic_angle, face.cff))


def _face_of_entry(path: Path, family: str, data: bytes) -> Face | None:
    try:
        units, codes, glyphs, advances, ascent, descent, cap, bbox, italic, cff = \
            marshal.loads(data)
        code_array, glyph_array = array("I"), array("H")
        code_array.frombytes(codes)
        glyph_array.frombytes(glyphs)
        if len(code_array) != len(glyph_array):
            return None
        if isinstance(advances, bytes):
            advance_array = array("H")
            advance_array.frombytes(advances)
            advances = advance_array
        return Face(family, path, units, Cmap(code_array, glyph_array), advances, ascent,
                    descent, cap, tuple(bbox), italic, cff)
    except (ValueError, TypeError, EOFError):
        return None


def metrics_path(font: Path) -> Path:
    return font.with_suffix(".metrics")


def shipped_metrics(font: Path) -> bytes | None:
    """Metrics shipped beside a bundled font (tools/extract_fonts.py writes them), if they
    belong to that very file: the first field is the font file's size and SHA-256."""
    try:
        data = metrics_path(font).read_bytes()
        stamp, fields = marshal.loads(data)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if stamp != font_stamp(font):
        return None
    return marshal.dumps(fields)


def font_stamp(font: Path) -> tuple[int, str]:
    import hashlib

    data = font.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def metrics_data(face: Face) -> bytes:
    return marshal.dumps((face.units, dict(face.cmap), tuple(face.advances), face.ascent,
                          face.descent, face.cap_height, face.bbox, face.italic_angle,
                          face.cff))


def write_shipped_metrics(font: Path, family: str) -> Path:
    """Precompute a bundled font's metrics into the file `shipped_metrics` reads."""
    face = _read_face(font, family)
    target = metrics_path(font)
    target.write_bytes(marshal.dumps((font_stamp(font), marshal.loads(metrics_data(face)))))
    return target


def _read_face(path: Path, family: str) -> Face:
    from fontTools.ttLib import TTFont  # only when the cache does not have the metrics

    with TTFont(path, lazy=True) as font:
        hmtx = font["hmtx"].metrics
        order = font.getGlyphOrder()
        ids = {name: glyph for glyph, name in enumerate(order)}
        head, hhea = font["head"], font["hhea"]
        os2 = font.get("OS/2")
        post = font.get("post")
        return Face(
            family=family, path=path, units=head.unitsPerEm,
            cmap={code: ids[name] for code, name in font["cmap"].getBestCmap().items()},
            advances=compact(hmtx[name][0] for name in order),
            ascent=hhea.ascent, descent=abs(hhea.descent),
            cap_height=getattr(os2, "sCapHeight", 0) or hhea.ascent,
            bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
            italic_angle=float(getattr(post, "italicAngle", 0.0)),
            cff="CFF " in font or "CFF2" in font,
        )


def font_files(config: Config) -> dict[str, Path]:
    """The families cardgen declares (in CSS and in the PDF), and the file behind each."""
    files = {REGULAR_FAMILY: resources.REGULAR_FONT, BOLD_FAMILY: resources.BOLD_FONT}
    for index, path in enumerate(config.fallback_fonts, 1):
        files[f"Cardgen Fallback {index}"] = path
    return files


@dataclass(frozen=True)
class FontSet:
    """The faces to draw with: regular and bold, each followed by the fallbacks."""

    regular: tuple[Face, ...]
    bold: tuple[Face, ...]

    def faces(self, bold: bool) -> tuple[Face, ...]:
        return self.bold if bold else self.regular

    def by_family(self) -> dict[str, Face]:
        return {face.family: face for face in (*self.regular, *self.bold)}


def font_set(config: Config, cache: Cache | None = None) -> FontSet:
    files = font_files(config)
    fallbacks = tuple(load_face(path, family, cache) for family, path in files.items()
                      if family not in (REGULAR_FAMILY, BOLD_FAMILY))
    return FontSet(
        regular=(load_face(files[REGULAR_FAMILY], REGULAR_FAMILY, cache), *fallbacks),
        bold=(load_face(files[BOLD_FAMILY], BOLD_FAMILY, cache), *fallbacks),
    )


def resource_name(face: Face) -> str:
    """The same PDF resource name for a face in every document (cached pages reuse it)."""
    found = _RESOURCE_NAMES.get(face.family)
    if found is None:  # once a family: every run a typesetter makes asks (session 7)
        found = _RESOURCE_NAMES[face.family] = "/Cg" + "".join(
            ch if ch.isalnum() else "-" for ch in face.family)
    return found


_RESOURCE_NAMES: dict[str, str] = {}


def coverage(config: Config, cache: Cache | None = None) -> list[frozenset[int]]:
    """The bundled font (Regular and Bold share one cmap: tested) then the fallbacks."""
    faces = font_set(config, cache).regular
    found = []
    for face in faces:
        if face not in _COVERAGE:
            _COVERAGE[face] = frozenset(face.cmap)
        found.append(_COVERAGE[face])
    return found


_COVERAGE: dict[Face, frozenset[int]] = {}
