"""Fixtures of the unit tests: the bundled fonts and a typesetter, loaded once."""

from __future__ import annotations

import pytest

from cardgen.config import load_config
from cardgen.layout.fonts import FontSet, font_set
from cardgen.layout.typeset import Typesetter


@pytest.fixture(scope="session")
def fonts() -> FontSet:
    return font_set(load_config())


@pytest.fixture(scope="session")
def typesetter(fonts: FontSet) -> Typesetter:
    return Typesetter(fonts)
