"""cardgen/pdf/subset.py: font subsets that keep the codes drawn valid, and the tables
(ToUnicode, widths) that describe them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont

from cardgen import resources
from cardgen.cache import Cache
from cardgen.errors import RenderRefused
from cardgen.pdf import subset as subset_module
from cardgen.pdf.subset import (
    CID_CFF,
    TRUETYPE,
    Subset,
    cached_subset,
    open_face,
    read_tounicode,
    read_widths,
    skeleton_name,
    skeleton_of,
    subset_font,
    tounicode_cmap,
    widths_array,
    written_subset,
)


def test_a_cid_keyed_font_keeps_each_glyph_under_its_cid() -> None:
    subset = subset_font(resources.REGULAR_FONT, {1200, 15, 30000})
    assert subset.kind == CID_CFF and subset.new_glyphs == {}
    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(subset.program), None)
    top = fonts.topDictIndex[0]
    assert hasattr(top, "ROS")  # a bare CID-keyed CFF table
    assert sorted(top.charset) == sorted([".notdef", "cid01200", "cid00015", "cid30000"])
    assert len(subset.program) < 20_000  # renumbered: no entry for each of 65,535 glyphs


def test_a_cid_keyed_subset_has_its_points_on_the_grid_and_its_widths_kept() -> None:
    """Noto Sans CJK's 户 (glyph 18579, its points off any grid of 8 units in the full
    font) and the digit 1 (glyph 18, 555 units wide, not the usual 1,000)."""
    import uharfbuzz as hb
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.pens.recordingPen import RecordingPen

    from cardgen.pdf.subset import OUTLINE_GRID

    assert OUTLINE_GRID > 1
    subset = subset_font(resources.REGULAR_FONT, {18579, 18})
    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(subset.program), None)
    charstrings = fonts.topDictIndex[0].CharStrings
    whole = hb.Font(open_face(resources.REGULAR_FONT))
    for glyph in (18579, 18):
        charstring = charstrings[f"cid{glyph:05d}"]
        pen = RecordingPen()
        charstring.draw(pen)
        points = [point for _, args in pen.value for point in args]
        assert points and all(v % OUTLINE_GRID == 0 for point in points for v in point)
        assert charstring.width == whole.get_glyph_h_advance(glyph)
        drawn, original = BoundsPen(None), BoundsPen(None)
        charstring.draw(drawn)
        whole.draw_glyph_with_pen(glyph, original)
        assert all(abs(a - b) <= OUTLINE_GRID / 2 for a, b in zip(drawn.bounds, original.bounds,
                                                                  strict=True))
    assert charstrings["cid00018"].width == 555


def test_glyphs_an_earlier_subset_put_on_the_grid_are_taken_as_they_are_same_bytes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A one-card PDF's subset mostly holds glyphs earlier cards had (the demo's): their
    outlines on the grid are kept (cardgen/pdf/subset.py, `Outlines`) and the subset made
    with them is the very bytes of one made from nothing; digit 1 (18, 555 units wide,
    not the default width) is new."""
    outlines: dict[str, tuple[float, bytes]] = {}
    subset_font(resources.REGULAR_FONT, {1200, 15, 30000, 18579, 19}, outlines)
    assert {"cid01200", "cid18579", "cid00019"} <= set(outlines)
    wanted = {18579, 18, 1200, 19}
    fresh = subset_font(resources.REGULAR_FONT, wanted)
    gridded: list[object] = []
    on_grid = subset_module._on_grid

    def counted(charstring: object, grid: int, private: object) -> list[object]:
        gridded.append(charstring)
        return on_grid(charstring, grid, private)

    monkeypatch.setattr(subset_module, "_on_grid", counted)
    assert subset_font(resources.REGULAR_FONT, wanted, outlines).program == fresh.program
    assert len(gridded) == 1  # the digit 1 alone
    cache = Cache(tmp_path / "cache", "a test's scope")  # and through the cache
    cached_subset(resources.REGULAR_FONT, {1200, 15}, cache)
    gridded.clear()
    assert cached_subset(resources.REGULAR_FONT, wanted, cache).program == fresh.program
    assert len(gridded) == 3  # 户, 1 and the 19th glyph: 1200 and .notdef were kept


def test_a_truetype_font_is_renumbered_with_a_map_from_each_code(squares: Path) -> None:
    subset = subset_font(squares, {3})  # C only
    assert subset.kind == TRUETYPE
    assert subset.new_glyphs == {0: 0, 3: 1}
    assert subset.cid_to_gid_map() == bytes([0, 0, 0, 0, 0, 0, 0, 1])
    font = TTFont(io.BytesIO(subset.program))
    assert len(font.getGlyphOrder()) == 2
    kept = font["glyf"][font.getGlyphOrder()[1]]
    assert (kept.xMax, kept.yMax) == (400, 400)  # C's square, now glyph 1


def test_a_missing_file_or_one_that_is_no_font_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(RenderRefused, match=r"the font file .*gone\.otf cannot be read: "
                                            r"No such file or directory") as missing:
        open_face(tmp_path / "gone.otf")
    assert missing.value.code == "font.unreadable"
    text = tmp_path / "notes.otf"
    text.write_text("not a font", encoding="utf-8")
    with pytest.raises(RenderRefused, match=r"notes\.otf is not a font file cardgen can use"):
        open_face(text)


def test_a_cached_subset_is_read_back_not_made_again(squares: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = squares
    cache = Cache(tmp_path / "cache", "a test's scope")
    made = cached_subset(path, {1, 2}, cache)

    def refuse(path: Path, glyphs: set[int], outlines: object = None) -> Subset:
        raise AssertionError("subset made again")

    monkeypatch.setattr(subset_module, "subset_font", refuse)
    assert cached_subset(path, {2, 1}, cache) == made  # the same glyphs, in any order
    with pytest.raises(AssertionError, match="made again"):
        cached_subset(path, {1, 2, 3}, cache)  # other glyphs: another entry


def test_tounicode_reads_back_what_it_wrote_in_batches_of_a_hundred() -> None:
    mapping = {glyph: chr(0x4E00 + glyph) for glyph in range(1, 251)}
    mapping[300] = "ff"  # a ligature: one glyph, two characters
    mapping[301] = ""  # a glyph that shows no text is left out
    data = tounicode_cmap(mapping)
    assert data.count(b"beginbfchar") == 3  # 251 entries: 100, 100, 51
    assert b"100 beginbfchar" in data and b"51 beginbfchar" in data
    assert read_tounicode(data) == {g: t for g, t in mapping.items() if t}
    assert read_tounicode(tounicode_cmap({5: "𠀋"})) == {5: "𠀋"}  # beyond the BMP


def test_widths_are_written_in_runs_and_read_back_in_either_form() -> None:
    widths = {1: 500.0, 2: 333.3333, 3: 1000.0, 10: 250.0, 11: 250.5}
    written = widths_array(widths)
    assert written == b"[1 [500 333.333 1000] 10 [250 250.5]]"
    parsed = [1, [500, 333.333, 1000], 10, [250, 250.5]]
    assert read_widths(parsed) == {1: 500, 2: 333.333, 3: 1000, 10: 250, 11: 250.5}
    assert read_widths([20, 22, 600, 30, [700]]) == {20: 600, 21: 600, 22: 600, 30: 700}
    assert widths_array({}) == b"[]"


def test_a_process_reads_a_fonts_outlines_from_its_cache_once(
        tmp_path: Path, cache_reads: list[tuple[str, str]]) -> None:
    """The desk's worker draws one card after another: the font's outlines (1.7 MB once
    prepared) are read from the cache for the first, then kept."""
    cache = Cache(tmp_path / "cache", "a test's scope")
    first = cached_subset(resources.REGULAR_FONT, {1200, 15}, cache)
    second = cached_subset(resources.REGULAR_FONT, {1200, 18}, cache)
    third = cached_subset(resources.REGULAR_FONT, {1200, 15, 18}, cache)  # written
    fourth = cached_subset(resources.REGULAR_FONT, {1200, 21}, cache)
    kinds = [kind for kind, _ in cache_reads]
    # the outlines, the subsets' skeleton, and the rarer characters' outlines (none here:
    # `cardgen prepare` puts them), once each
    assert kinds.count("outlines") == 3
    assert len({first.program, second.program, third.program, fourth.program}) == 4


@pytest.mark.parametrize("font", [resources.REGULAR_FONT, resources.BOLD_FONT],
                         ids=["regular", "bold"])
def test_a_subset_written_from_the_outlines_is_the_one_harfbuzz_and_fonttools_make(
        font: Path) -> None:
    """With every glyph among the outlines on the grid, the CID-keyed subset is written
    without HarfBuzz and fontTools (cardgen/pdf/subset.py, `written_subset`): the same
    bytes, for glyph sets of every size, widths other than the default (digits), runs of
    CIDs short and long (a charset of format 0, 1 or 2), and none but .notdef's Font
    DICT (then not written: HarfBuzz keeps one Font DICT, which one_font_dict keeps)."""
    import random

    rng = random.Random(26)
    outlines: dict[str, tuple[float, bytes]] = {}
    everything = {*range(1, 700), *rng.sample(range(700, 65535), 600)}
    made = subset_font(font, everything, outlines)
    skeleton = skeleton_of(font, everything, made, outlines)
    assert skeleton is not None
    pool = sorted(everything)
    sets = [set(rng.sample(pool, size)) for size in (1, 2, 5, 40, 190, 600) for _ in range(3)]
    sets += [set(range(1, 400)), set(range(17, 27)) | {30000}, {1}, set(),
             {17, 18, 600}]  # charsets of format 0 and 1 alike long: format 0
    written = 0
    for glyphs in sets:
        fresh = subset_font(font, glyphs, dict(outlines)).program
        program = written_subset(font, glyphs, outlines, skeleton)
        assert program in (None, fresh)
        written += program is not None
    assert written >= len(sets) - 3
    assert written_subset(font, {1, 65000}, {}, skeleton) is None  # outlines not known


def test_a_skeleton_is_kept_only_if_it_writes_its_subset_again_and_named_by_its_font(
        tmp_path: Path) -> None:
    """The skeleton comes from a subset made the long way, and is kept only if writing
    that subset again gives its bytes (a different outline: not kept). Its cache name
    holds the font file's identity: another font, or the same file changed, has another; the
    same font written again keeps it."""
    outlines: dict[str, tuple[float, bytes]] = {}
    glyphs = {1200, 15, 18, 30000}
    made = subset_font(resources.REGULAR_FONT, glyphs, outlines)
    assert skeleton_of(resources.REGULAR_FONT, glyphs, made, outlines) is not None
    width, body = outlines["cid01200"]
    wrong = {**outlines, "cid01200": (width, body[:-1] + b"\x0b" + body[-1:])}
    assert skeleton_of(resources.REGULAR_FONT, glyphs, made, wrong) is None
    copy = tmp_path / "copy.otf"
    copy.write_bytes(resources.REGULAR_FONT.read_bytes())
    names = {skeleton_name(resources.REGULAR_FONT), skeleton_name(resources.BOLD_FONT),
             skeleton_name(copy)}
    os.utime(copy, ns=(1, 1))  # written again (a reinstall): the same font, its name
    assert skeleton_name(copy) in names
    edited = bytearray(copy.read_bytes())
    edited[12 + 4] ^= 1  # a table's checksum: the font changed
    copy.write_bytes(bytes(edited))
    names.add(skeleton_name(copy))
    assert len(names) == 4


def test_a_cached_subset_is_written_without_harfbuzz_once_its_glyphs_are_known(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(tmp_path / "cache", "a test's scope")
    made = cached_subset(resources.REGULAR_FONT, {1200, 15, 18, 30000}, cache)

    def refuse(path: Path, glyphs: set[int], outlines: object = None) -> Subset:
        raise AssertionError("made by HarfBuzz")

    monkeypatch.setattr(subset_module, "subset_font", refuse)
    monkeypatch.setattr(subset_module, "_KEPT", {})  # as a new process finds the cache
    fewer = cached_subset(resources.REGULAR_FONT, {1200, 18, 30000}, cache)
    assert fewer.kind == CID_CFF and fewer.program != made.program
    with pytest.raises(AssertionError, match="HarfBuzz"):
        cached_subset(resources.REGULAR_FONT, {1200, 18, 30001}, cache)  # one not known


def test_glyphs_not_yet_known_alone_are_put_on_the_grid_and_the_subset_is_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A subset a few of whose glyphs the outlines lack: those few are put on the grid (a
    subset of them alone), the whole is written from the outlines, and it is the subset
    HarfBuzz and fontTools make of all of them."""
    cache = Cache(tmp_path / "cache", "a test's scope")
    cached_subset(resources.REGULAR_FONT, {1200, 15, 18, 30000}, cache)  # and its skeleton
    monkeypatch.setattr(subset_module, "_KEPT", {})  # as a new process finds the cache
    real = subset_module.subset_font
    asked: list[set[int]] = []

    def counted(path: Path, glyphs: set[int], outlines: object = None) -> Subset:
        asked.append(set(glyphs))
        return real(path, glyphs, outlines)  # type: ignore[arg-type]

    monkeypatch.setattr(subset_module, "subset_font", counted)
    glyphs = {1200, 15, 18, 30000, 30001, 30002, 16, 2000}
    made = cached_subset(resources.REGULAR_FONT, glyphs, cache)
    assert made.program == real(resources.REGULAR_FONT, glyphs, {}).program
    # the four new ones, and at most a glyph of another Font DICT
    assert len(asked) == 1 and {30001, 30002, 16, 2000} <= asked[0] and len(asked[0]) <= 5
