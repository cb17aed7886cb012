"""Fixtures of the unit tests: the bundled fonts, a typesetter and a print run (its frame
geometry from the suite's cache), each made once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

from cardgen.cache import Cache
from cardgen.config import load_config
from cardgen.layout.fonts import FontSet, font_set
from cardgen.layout.typeset import Typesetter
from cardgen.printing.run import PrintRun

TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="session")
def fonts() -> FontSet:
    return font_set(load_config())


@pytest.fixture(scope="session")
def typesetter(fonts: FontSet) -> Typesetter:
    return Typesetter(fonts)


def truetype_font(path: Path) -> Path:
    """A TrueType font of four glyphs, each a square of its own size."""
    names = [".notdef", "A", "B", "C"]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): c for c in "ABC"})
    glyphs = {}
    for index, glyph in enumerate(names):
        pen = TTGlyphPen(None)
        side = 100 * (index + 1)
        pen.moveTo((0, 0))
        pen.lineTo((0, side))
        pen.lineTo((side, side))
        pen.lineTo((side, 0))
        pen.closePath()
        glyphs[glyph] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (500 + 10 * i, 0) for i, name in enumerate(names)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Squares", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))
    return path


@pytest.fixture(scope="session")
def squares(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TrueType font of .notdef, A, B and C: squares of sides 100 to 400 units."""
    return truetype_font(tmp_path_factory.mktemp("fonts") / "squares.ttf")


@pytest.fixture(scope="session")
def print_run() -> PrintRun:
    """A print run of the default config and paper, with the cache the CLI opens (its scope
    too): the frame template's geometry pass (WeasyPrint) is read from the suite's cache
    when any card was printed before, else made once. Its geometry is asked for here."""
    config = load_config()
    run = PrintRun.start(config, None, None, TODAY, Cache.open(config, None))
    run.geometry(False)
    return run
