"""cardgen/pdf/subset.py: font subsets that keep the codes drawn valid, and the tables
(ToUnicode, widths) that describe them."""

from __future__ import annotations

import io
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
    subset_font,
    tounicode_cmap,
    widths_array,
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

    def refuse(path: Path, glyphs: set[int], on_grid: object = None) -> Subset:
        raise AssertionError("subset made again")

    monkeypatch.setattr(subset_module, "subset_font", refuse)
    assert cached_subset(path, {2, 1}, cache) == made  # the same glyphs, in any order
    with pytest.raises(AssertionError, match="made again"):
        cached_subset(path, {1, 2, 3}, cache)  # other glyphs: another entry


def test_outlines_put_on_the_grid_for_one_subset_serve_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a month's update embeds mostly the glyphs its ledger did: their outlines are on the
    # grid already, and the subset is the same as one made from nothing
    cache = Cache(tmp_path / "cache", "a test's scope")
    cached_subset(resources.REGULAR_FONT, {18579, 18}, cache)
    put: list[object] = []
    on_grid = subset_module._on_grid

    def counted(charstring: object, grid: int, private: object) -> object:
        put.append(charstring)
        return on_grid(charstring, grid, private)

    monkeypatch.setattr(subset_module, "_on_grid", counted)
    subset = cached_subset(resources.REGULAR_FONT, {18579, 18, 1200}, cache)
    assert len(put) == 1  # 1200's alone
    assert subset == subset_font(resources.REGULAR_FONT, {18579, 18, 1200})


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
