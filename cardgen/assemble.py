"""Assemble stage: a household's place in its grid's book, and documents made of many cards."""

from __future__ import annotations

import re

from cardgen.model import Household

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 2号楼 before 10号楼: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in _DIGITS.split(text) if part)


def address_key(household: Household) -> tuple[object, ...]:
    return natural_key(household.full_address), natural_key(household.household_id)


def book_key(household: Household) -> tuple[str, str]:
    """The book a household belongs in: its community and grid."""
    return household.community, household.grid


def ledger_numbers(households: list[Household]) -> dict[str, str]:
    """``017/203``: each household's position in its grid's whole book, in address order."""
    books: dict[tuple[str, str], list[Household]] = {}
    for household in households:
        books.setdefault(book_key(household), []).append(household)
    numbers = {}
    for members in books.values():
        ordered = sorted(members, key=address_key)
        total = len(ordered)
        for position, household in enumerate(ordered, 1):
            numbers[household.household_id] = f"{position:03d}/{total:03d}"
    return numbers
