"""A face's metrics as the cache keeps them (cardgen/layout/fonts.py): read back as they
were read from the font."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardgen import resources
from cardgen.cache import Cache
from cardgen.layout import fonts


def test_a_faces_metrics_read_back_from_the_cache_are_the_fonts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(tmp_path / "cache", "a test's scope")
    monkeypatch.setattr(fonts, "_FACES", {})
    first = fonts.load_face(resources.REGULAR_FONT, fonts.REGULAR_FAMILY, cache)
    monkeypatch.setattr(fonts, "_FACES", {})  # as a new process finds the cache

    def refuse(*args: object) -> None:
        raise AssertionError("read from the font, not the cache")

    monkeypatch.setattr(fonts, "shipped_metrics", refuse)
    monkeypatch.setattr(fonts, "_read_face", refuse)
    again = fonts.load_face(resources.REGULAR_FONT, fonts.REGULAR_FAMILY, cache)
    assert again is not first
    assert again.cmap == first.cmap and list(again.advances) == list(first.advances)
    assert (again.units, again.ascent, again.descent, again.cap_height, again.bbox,
            again.italic_angle, again.cff) == (first.units, first.ascent, first.descent,
                                               first.cap_height, first.bbox,
                                               first.italic_angle, first.cff)


def test_a_cmap_read_back_answers_as_the_fonts_dict(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache's cmap is two arrays looked up by bisection (fonts.Cmap): every code the
    font has gives its glyph, every other none, whatever order the font listed them in."""
    import random

    from fontTools.ttLib import TTFont

    cache = Cache(tmp_path / "cache", "a test's scope")
    monkeypatch.setattr(fonts, "_FACES", {})
    face = fonts.load_face(resources.REGULAR_FONT, fonts.REGULAR_FAMILY, cache)
    monkeypatch.setattr(fonts, "_FACES", {})
    again = fonts.load_face(resources.REGULAR_FONT, fonts.REGULAR_FAMILY, cache)
    assert isinstance(again.cmap, fonts.Cmap)
    with TTFont(resources.REGULAR_FONT, lazy=True) as font:
        order = {name: glyph for glyph, name in enumerate(font.getGlyphOrder())}
        truth = {code: order[name] for code, name in font["cmap"].getBestCmap().items()}
    assert dict(again.cmap) == truth == dict(face.cmap) and len(again.cmap) == len(truth)
    assert list(again.cmap) == sorted(truth)
    absent = [c for c in (0, 0x10, 0x2A6A5, 0x10FFFF, max(truth) + 1) if c not in truth]
    assert absent
    for code in [*random.Random(7).sample(sorted(truth), 500), min(truth), max(truth)]:
        assert code in again.cmap and again.cmap[code] == again.cmap.get(code) == truth[code]
    for code in absent:
        assert code not in again.cmap and again.cmap.get(code) is None
        with pytest.raises(KeyError):
            again.cmap[code]
    shuffled = list(truth.items())
    random.Random(3).shuffle(shuffled)
    assert dict(fonts.Cmap.of(dict(shuffled))) == truth  # sorted whatever the order
