"""Book numbers: each household's place in its grid's book, kept from one print to the next.

A first print numbers a grid's households in natural address order, 001 … N. With the
previous book (docs/book.md, "Numbers") every household still there keeps its number; a
new one takes the next number after the highest ever used in the grid's edition (its card
goes at the back); a household that left has its number retired, never used again in the
edition. A new edition (`--renumber`) numbers the grid in address order again.

A household is its content, not its 户号: a newcomer with the same address and the same
members as a household that left the same grid (the office gave it a new 户号) keeps that
household's number, when the pair is the only one that matches.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from cardgen.book.fit import Renamed
from cardgen.book.ledger import group_households
from cardgen.book.record import Book, Content, Edition, Entry, GridBook, Retired, format_number
from cardgen.data.model import Household


@dataclass
class GridNumbers:
    """One grid's numbers after this run, and how they came about."""

    group: str
    community: str
    grid: str
    edition: Edition
    numbers: dict[str, int]  # household -> number, for the households of the register
    retired: list[Retired]  # every number retired in the edition, this run's included
    left: list[Retired] = field(default_factory=list)  # retired by this run
    arrived: list[str] = field(default_factory=list)  # numbered by this run, at the back
    moved_in: dict[str, str] = field(default_factory=dict)  # household -> grid it left
    moved_out: dict[str, str] = field(default_factory=dict)  # household -> grid it went to
    renumbered: dict[str, str] = field(default_factory=dict)  # new 户号 -> its old 户号
    previous: GridBook | None = None
    new_edition: bool = False

    @property
    def highest(self) -> int:
        return max([*self.numbers.values(), *(r.number for r in self.retired)], default=0)

    @property
    def unbooked(self) -> set[str]:
        """The households the previous book does not hold: those that arrived since it was
        printed, or all of them when this is a new edition (an update numbers them)."""
        return set(self.numbers) if self.new_edition else set(self.arrived)


@dataclass
class Numbering:
    """Every grid's numbers; `numbers` is the printed form by household."""

    grids: dict[str, GridNumbers]
    book: Book | None = None
    renamed: list[Renamed] = field(default_factory=list)  # grids spelled as the book does
    content: Callable[[Household], Content] | None = None  # as open_book worked it out

    @functools.cached_property
    def numbers(self) -> dict[str, str]:
        return {hid: format_number(number) for grid in self.grids.values()
                for hid, number in grid.numbers.items()}

    @functools.cached_property
    def unbooked(self) -> frozenset[str]:
        """The households no book yet holds (`GridNumbers.unbooked` of every grid)."""
        return frozenset(hid for grid in self.grids.values() for hid in grid.unbooked)

    def grid_of(self, household_id: str) -> GridNumbers | None:
        for grid in self.grids.values():
            if household_id in grid.numbers:
                return grid
        return None


def number_books(households: list[Household], today: dt.date, register: str = "",
                 previous: Book | None = None, renumber: bool = False,
                 admitted: set[str] | None = None,
                 content: Callable[[Household], Content] | None = None) -> Numbering:
    """Numbers for every grid of `households`, continuing `previous` unless `renumber`.

    `admitted` limits what this run may change in a continued book (an update of some
    households only): only those newcomers are numbered, and nobody's number is retired.
    Grids of `previous` that `households` do not have are not touched. `content` (a
    household's card content) finds a household the office gave a new 户号."""
    day = today.isoformat()
    everyone = {h.household_id for h in households}
    grids: dict[str, GridNumbers] = {}
    for group, members in group_households(households, "grid").items():
        first = members[0]
        old = previous.grids.get(group) if previous is not None else None
        if old is None or renumber:
            grids[group] = GridNumbers(
                group, first.community, first.grid,
                Edition(old.edition.number + 1 if old else 1, day, register, day),
                {h.household_id: n for n, h in enumerate(members, 1)}, [], previous=old,
                new_edition=True)
            continue
        kept = {e.household_id: e.number for e in old.entries}
        # a 户号 the book has, now on a household with neither the address nor the members
        # of its card: the office gave the 户号 to another household (swapped, or closed
        # the gaps after a departure); it is matched by content like a new 户号, so that
        # no family takes another's number
        strangers = [] if content is None or admitted is not None else [
            h for h in members if h.household_id in kept
            and not _related(old.entry(h.household_id), content(h))]
        renumbered = {} if content is None or admitted is not None else _renumbered(
            [h for h in members if h.household_id not in kept] + strangers, old,
            everyone - {h.household_id for h in strangers}, content)
        claimed = set(renumbered.values())
        numbers = {h.household_id: kept[h.household_id] for h in members
                   if h.household_id in kept and h.household_id not in claimed}
        numbers |= {new: kept[old_id] for new, old_id in renumbered.items()}
        used = set(numbers.values())
        following = old.highest + 1
        arrived = []
        for household in members:  # address order: newcomers at the back in that order
            hid = household.household_id
            if hid not in numbers and (admitted is None or hid in admitted):
                numbers[hid] = following
                arrived.append(hid)
                following += 1
        left = [] if admitted is not None else [
            Retired(number, hid, day) for hid, number in kept.items() if number not in used]
        grids[group] = GridNumbers(
            group, first.community, first.grid,
            Edition(old.edition.number, old.edition.date or day, register, day),
            numbers, [*old.retired, *left], left, arrived, previous=old,
            renumbered=renumbered)
    if previous is not None:
        _moves(grids, previous)
    return Numbering(grids, previous)


def _renumbered(newcomers: list[Household], old: GridBook, register: set[str],
                content: Callable[[Household], Content]) -> dict[str, str]:
    """Newcomers that are a household of `old` under a new 户号: the same address and the
    same members (as its book hashed them) as exactly one household gone from the
    register, and it as exactly one newcomer. New 户号 -> old 户号."""
    left = [e for e in old.entries if e.household_id not in register and e.printed]
    if not left or not newcomers:
        return {}

    def key(entry: Entry, shown: Content) -> bool:
        parts = shown.parts_for(entry)
        return (entry.parts.get("address") == parts["address"]
                and entry.parts.get("members") == parts["members"])

    pairs: dict[str, list[str]] = {}
    claimed: dict[str, int] = {}
    for household in newcomers:
        shown = content(household)
        found = [e.household_id for e in left if key(e, shown)]
        pairs[household.household_id] = found
        for hid in found:
            claimed[hid] = claimed.get(hid, 0) + 1
    return {new: found[0] for new, found in pairs.items()
            if len(found) == 1 and claimed[found[0]] == 1}


def _related(entry: Entry | None, shown: Content) -> bool:
    """Is `shown` the household of `entry` (the same address or the same members as its
    card), or can it not be told (an entry without the parts: not printed, or from the
    first format)?"""
    if entry is None or not entry.parts:
        return True
    parts = shown.parts_for(entry)
    return (entry.parts.get("address") == parts["address"]
            or entry.parts.get("members") == parts["members"])


def _moves(grids: dict[str, GridNumbers], previous: Book) -> None:
    """A newcomer whose number another grid of the book held: it moved from there."""
    for grid in grids.values():
        for hid in grid.arrived:
            found = previous.find(hid)
            if found is None or found[0].group == grid.group:
                continue
            grid.moved_in[hid] = found[0].group
            other = grids.get(found[0].group)
            if other is not None and any(r.household_id == hid for r in other.left):
                other.moved_out[hid] = grid.group
