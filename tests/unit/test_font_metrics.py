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
