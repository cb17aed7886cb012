"""What `validate --format json` reports of a register read (problems.py writes it), and the
search the desk lists households by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cardgen.data.flags import shown_flag
from cardgen.data.select import find_households
from cardgen.pipeline.register import Loaded
from cardgen.problems import register_report


def validation_report(loaded: Loaded) -> dict[str, object]:
    """What `validate --format json` prints (docs/cli.md): counts and every problem."""
    dataset = loaded.dataset
    return register_report(dataset.problems, len(dataset.households),
                           sum(len(h.members) for h in dataset.households))


@dataclass(frozen=True)
class Found:
    """A household as a search lists it: what tells it apart, sensitive flags as their
    category (重点人员), and whether it has errors (then it cannot be printed)."""

    household_id: str
    number: str
    community: str
    grid: str
    address: str
    head: str
    colour: str
    flags: tuple[str, ...]
    errors: int


def search(loaded: Loaded, query: str, limit: int,
           numbers: Mapping[str, str] | None = None) -> tuple[list[Found], int]:
    """The first `limit` households found by 户编号, name or address, and how many there are;
    with the book numbers of `numbers` (`open_book(...).numbers`), else a first print's."""
    numbers = numbers or loaded.numbers
    found = find_households(loaded.dataset.households, query)
    errors: dict[str | None, int] = {}
    for problem in loaded.dataset.errors:
        errors[problem.household_id] = errors.get(problem.household_id, 0) + 1
    listed = []
    for household in found[:limit]:
        number = household.household_id
        head = household.head
        flags = (shown_flag(flag, loaded.config) for member in household.members
                 for flag in member.flags)
        listed.append(Found(number, numbers[number], household.community, household.grid,
                            household.full_address, head.name if head else "",
                            loaded.categories[number].key, tuple(dict.fromkeys(flags)),
                            errors.get(number, 0)))
    return listed, len(found)
