"""Every printed character must be in a configured font: checked before anything is drawn."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from operator import attrgetter

from cardgen.data.model import Household, Member
from cardgen.data.vocabulary import field_name
from cardgen.i18n import _

# Shown as a code point alone: marks, spaces and controls do not show well between quotes.
_NOT_SHOWN = {"Mn", "Me", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"}
_HOUSEHOLD_FIELDS = ("household_id", "community", "grid", "grid_worker", "grid_worker_phone",
                     "owner", "owner_phone", "cadre", "cadre_phone")
_ADDRESS_PARTS = ("estate", "building", "unit", "room")
_MEMBER_FIELDS = ("name", "relation", "ethnicity", "id_number", "phone", "landline", "notes")
CODE = "glyph.missing"


def uncovered(text: str, fonts: Sequence[frozenset[int]],
              covered: set[str] | None = None) -> list[str]:
    """The characters of `text` that no font has. Every character counts, combining marks
    and variation selectors too: the typesetter draws one glyph per character, so one the
    fonts lack is a box (the read stage has made tabs and line breaks spaces already).

    `covered`, characters known to be in the first font, is checked first and grows: the
    same few hundred characters make every household of a register, and a set of them
    takes the text without an int a character (1,000 households: 3.4 ms became 2.3 ms)."""
    if covered is not None and covered.issuperset(text):
        return []
    if fonts[0].issuperset(map(ord, text)):  # the usual case: the bundled font has every
        if covered is not None:  # character (issuperset of an iterable builds no set of it)
            covered.update(text)
        return []
    missing = []
    for char in text:
        if not any(ord(char) in font for font in fonts):
            missing.append(char)
    return list(dict.fromkeys(missing))


def describe_char(char: str) -> str:
    """``'𪚥' (U+2A6A5)``; a mark, space or control by its code point and name alone."""
    if unicodedata.category(char) in _NOT_SHOWN:
        name = unicodedata.name(char, "")
        return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return f"'{char}' (U+{ord(char):04X})"


def household_texts(household: Household) -> list[tuple[str, str]]:
    """(field, text) of a household's data as cards, covers, indexes and labels print it;
    the address is the 地址 column, or else the parts it is made of."""
    texts = [(field, str(getattr(household, field))) for field in _HOUSEHOLD_FIELDS]
    parts = ("address",) if household.address else _ADDRESS_PARTS
    return texts + [(field, str(getattr(household, field))) for field in parts]


_EVERY_HOUSEHOLD_TEXT = attrgetter(*_HOUSEHOLD_FIELDS, "address", *_ADDRESS_PARTS)
_EVERY_MEMBER_TEXT = attrgetter(*_MEMBER_FIELDS)


def every_text(household: Household) -> str:
    """The household's texts `household_texts` and `member_texts` give, run together, and
    the address parts a 地址 column leaves off the card: if the fonts have all of these,
    they have the printed ones (checked this way, 1,000 households took 5 ms less than by
    the lists, py-spy, session 6)."""
    return "".join((*_EVERY_HOUSEHOLD_TEXT(household),
                    *(text for member in household.members
                      for text in (*_EVERY_MEMBER_TEXT(member), "、".join(member.flags)))))


def member_texts(member: Member) -> list[tuple[str, str]]:
    """(field, text) of a member's data as the card prints it."""
    return [*((field, str(getattr(member, field))) for field in _MEMBER_FIELDS),
            ("flags", "、".join(member.flags))]


def message(household_id: str, field: str, char: str) -> str:
    """``household H001: name has '𪚥' (U+2A6A5); no configured font has it; …``"""
    return _("household {household}: {field} has {char}; no configured font has it; add a "
             "font that has it (for example one from Debian's fonts-hanazono or "
             "fonts-babelstone-han) to [fonts] fallback in the config, or correct the "
             "character").format(household=household_id, field=field_name(field),
                                 char=describe_char(char))

