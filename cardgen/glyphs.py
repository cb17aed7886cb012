"""Every printed character must be in a configured font: checked before anything is drawn."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from cardgen.cache import Cache
from cardgen.config import Config
from cardgen.fonts import Face, font_set
from cardgen.model import Household, Problem, Severity

# Shown as a code point alone: marks, spaces and controls do not show well between quotes.
_NOT_SHOWN = {"Mn", "Me", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"}
_CHECKED_HOUSEHOLD_FIELDS = ("household_id", "community", "grid", "grid_worker",
                             "grid_worker_phone", "full_address", "owner", "owner_phone")
_CHECKED_MEMBER_FIELDS = ("name", "relation", "ethnicity", "id_number", "phone", "notes")


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


def uncovered(text: str, fonts: list[frozenset[int]]) -> list[str]:
    """The characters of `text` that no font has. Every character counts, combining marks
    and variation selectors too: the typesetter draws one glyph per character, so one the
    fonts lack is a box (the read stage has made tabs and line breaks spaces already)."""
    codes = set(map(ord, text))
    if codes <= fonts[0]:  # the usual case: the bundled font has every character
        return []
    missing = []
    for char in text:
        if not any(ord(char) in font for font in fonts):
            missing.append(char)
    return list(dict.fromkeys(missing))


def describe(char: str) -> str:
    """``'𪚥' (U+2A6A5)``; a mark, space or control by its code point and name alone."""
    if unicodedata.category(char) in _NOT_SHOWN:
        name = unicodedata.name(char, "")
        return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return f"'{char}' (U+{ord(char):04X})"


def missing_glyphs(households: Iterable[Household], config: Config,
                   cache: Cache | None = None) -> list[Problem]:
    """One error per household field holding a character that no configured font has."""
    fonts = coverage(config, cache)
    problems = []
    hint = ("no configured font has it; add a font that has it (for example one from Debian's "
            "fonts-hanazono or fonts-babelstone-han) to [fonts] fallback in the config, or "
            "correct the character")
    for household in households:
        hid = household.household_id
        for field in _CHECKED_HOUSEHOLD_FIELDS:
            for char in uncovered(str(getattr(household, field)), fonts):
                problems.append(Problem(
                    Severity.ERROR, household.source, household.first_row or None, None,
                    field, None, f"household {hid}: {field} has {describe(char)}; {hint}", hid))
        for member in household.members:
            flags = " ".join(member.flags)
            for field, text in [*((f, getattr(member, f)) for f in _CHECKED_MEMBER_FIELDS),
                                ("flags", flags)]:
                for char in uncovered(text, fonts):
                    problems.append(Problem(
                        Severity.ERROR, household.source, member.row or None, None, field,
                        None, f"household {hid}: {field} has {describe(char)}; {hint}", hid))
    return problems
