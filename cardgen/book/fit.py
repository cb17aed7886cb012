"""Does a register fit its book? (docs/book.md, "A register and its book")

Grid and community names are compared as a person reads them: 第一网格, 第1网格, 一网格 and
第１网格 are one grid (full-width forms folded by NFKC, spaces dropped, a leading 第 and Chinese
numerals read as the number). A register whose households are spelled another way than the
book is read with the book's names, so that its cards keep printing what the binder says.

A register from another community, one whose households match too few of the book's (by
户号, address or members: `FIT`), or one where most households have the book's 户号 but
other people (another head, and members no household of the book has: `STRANGERS`), is
refused before anything is numbered, naming both sides and what to do instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cardgen.book.ledger import grid_group
from cardgen.book.record import CONTENT, Book, BookError, Content, Entry
from cardgen.data.model import Household
from cardgen.errors import UsageError
from cardgen.i18n import _
from cardgen.text import place_key

if TYPE_CHECKING:
    from cardgen.book.numbers import Numbering

FIT = 0.5  # under half of the households matched: not this book's register
# this many strangers (_fit) or more, and half the register's households or more: another
# register whose 户号 run as the book's do (G01-0001 … or 1, 2, 3 … in every grid), not
# this book's; a family that moved into a flat of the grid in a month is one
STRANGERS = 2
LISTED = 6  # names listed in a refusal; more are counted


def name_key(text: str) -> str:
    """A community's or grid's name as a person reads it: 第一网格 → 1网格."""
    return place_key(text)


@dataclass(frozen=True)
class Renamed:
    """A register's spelling of a grid read as the book's; or, `explicit`, a grid of the
    book the office renamed (--rename-grid): `register` its new name, `book` its old."""

    register: str
    book: str
    explicit: bool = False


def rename_grids(book: Book, renames: Iterable[tuple[str, str]]) -> list[Renamed]:
    """Give the book's grids the new names the office gave them (--rename-grid OLD=NEW),
    in memory: their numbers stay, and the new book is written under the new names."""
    done = []
    for old, new in renames:
        found = [g for g in book.grids.values() if name_key(g.grid) == name_key(old)]
        if not found or not new.strip():
            raise UsageError(_("--rename-grid {old}={new}: the book in {folder} has no grid "
                               "{old} (it has {grids}); write it as OLD=NEW with a grid of "
                               "the book").format(old=old, new=new, folder=book.folder,
                                                   grids=_names(sorted(book.grids))),
                             code="book.rename_grid")
        for grid_book in found:
            named = " ".join(p for p in (grid_book.community, new.strip()) if p)
            del book.grids[grid_book.group]
            book.grids[named] = replace(grid_book, group=named, grid=new.strip(),
                                        renamed_from=grid_book.grid)
            done.append(Renamed(named, grid_book.group, explicit=True))
    return done


def align(households: Iterable[Household], book: Book) -> list[Renamed]:
    """Give households the book's spelling of their community and grid where they are
    spelled otherwise (第一网格 for the book's 第1网格); the spellings so read."""
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    for grid_book in book.grids.values():
        key = (name_key(grid_book.community), name_key(grid_book.grid))
        spelled.setdefault(key, (grid_book.community, grid_book.grid))
    communities = {name_key(g.community): g.community for g in book.grids.values()}
    renamed: dict[str, Renamed] = {}
    for household in households:
        exact = grid_group(household)
        if exact in book.grids:
            continue
        found = spelled.get((name_key(household.community), name_key(household.grid)))
        if found is None:  # a grid new to the book: the book's spelling of its community
            community = communities.get(name_key(household.community))
            found = (community, household.grid) if community is not None else None
        if found is None or found == (household.community, household.grid):
            continue
        household.community, household.grid = found
        renamed.setdefault(exact, Renamed(exact, grid_group(household)))
    return list(renamed.values())


def _names(values: list[str]) -> str:
    shown = _(", ").join(values[:LISTED])
    more = len(values) - LISTED
    return shown + (_(" and {count} more").format(count=more) if more > 0 else "")


def check_fit(households: list[Household], book: Book, source: str,
              content: Callable[[Household], Content], renumber: bool,
              writes: bool = True, only: Iterable[str] = ()) -> None:
    """Refuse a register that is not this book's: another community, no grid in common,
    or too few households matched (by 户号, address or members) — on either side when the
    run `writes` a book (it would retire the numbers of the book's households it lacks),
    else on the register's (an excerpt of a register may reprint a few cards).
    `content` gives a household's card content (its address and members' hashes); `only`
    (--grid) limits the grids checked to those the run changes. Each grid must fit."""
    if not households or not book.grids:
        return
    folder = book.folder
    theirs = sorted({h.community for h in households if h.community})
    ours = sorted({g.community for g in book.grids.values() if g.community})
    if theirs and ours and not set(theirs) & set(ours):
        raise BookError(_(
            "{source} is a register of {theirs}, but the book in {folder} is {ours}'s: "
            "nothing was written. Give the register of {ours}, or print {theirs} into a "
            "folder of its own (cardgen ledger INPUT -o NEWDIR, without --book)").format(
            source=source, theirs=_names(theirs), ours=_names(ours), folder=folder),
            code="book.other_community")
    groups = {grid_group(h) for h in households}
    common = groups & set(book.grids)
    if not common:
        raise BookError(_(
            "{source} has the grids {theirs}, the book in {folder} has {ours}: none in "
            "common, nothing was written. Give the register of the book's grids, or choose "
            "them with --grid, or print a new book into another folder (without --book)"
            ).format(source=source, theirs=_names(sorted(groups)),
                     ours=_names(sorted(book.grids)), folder=folder),
            code="book.other_grids")
    if renumber:  # a new edition numbers the register afresh: it need not match
        return
    if only:  # --grid: the grids this run changes (the others stay as the book has them)
        keys = {name_key(name) for name in only}
        common = {g for g in common if name_key(book.grids[g].grid) in keys}
    registered = {h.household_id for h in households}
    failed = []
    for group in sorted(common):
        figures = _fit(book.grids[group].entries,
                       [h for h in households if grid_group(h) == group], registered, content)
        present, matched, booked, kept, strangers = figures
        if matched < FIT * present or (writes and kept < FIT * booked):
            failed.append(_(
                "of its {present} household(s) in {grid}, {matched} are in the book (by 户号, "
                "address or members), and of the book's {booked}, {kept} are in the "
                "register").format(present=present, grid=group, matched=matched,
                                   booked=booked, kept=kept))
        elif strangers >= STRANGERS and strangers >= FIT * present:
            failed.append(_(
                "of its {present} household(s) in {grid}, {strangers} have a 户号 of the "
                "book under another head, and members no household of the book has: other "
                "people under the same 户号").format(present=present, grid=group,
                                                    strangers=strangers))
    if failed:
        raise BookError(_(
            "{source} does not fit the book in {folder}: {figures}. Nothing was written. "
            "Check that it is the right register (not another grid's or an old export); to "
            "update the other grids only, choose them with --grid; to number it afresh, "
            "start a new edition with --renumber").format(
            source=source, folder=folder, figures=_("; ").join(failed)),
            code="book.does_not_fit")


def _fit(entries: list[Entry], present: list[Household], registered: set[str],
         content: Callable[[Household], Content]) -> tuple[int, int, int, int, int]:
    """How one grid's register and book overlap: the register's households, those of them
    the book has (by 户号, address or members), the book's households, those of them the
    register still has (by 户号, or the same address and members under a new 户号), and the
    strangers: the register's households whose 户号 the book has under another head, and
    whose members are none of the book's households' (a family that took another's 户号,
    as an office may renumber, is no stranger)."""
    if not entries or not present:
        return len(present), len(present), len(entries), len(entries), 0
    booked = {e.household_id for e in entries}
    heads = {e.household_id: e.head for e in entries}  # "" in a book of before: unknown
    # an entry's address and members as its book hashed them (members: as a set, or in
    # card order in a book of before: `Content.parts_for`)
    book_keys = {("address", e.parts.get("address")) for e in entries} | {
        ("members", e.content >= CONTENT, e.parts.get("members")) for e in entries}
    older = any(e.content < CONTENT for e in entries)  # hashed in card order
    homes: set[tuple[object, ...]] = set()  # (address, members) of the register's households
    matched = strangers = 0
    for household in present:
        shown = content(household)
        address, members = shown.parts["address"], shown.parts["members"]
        keys: set[tuple[object, ...]] = {("address", address), ("members", True, members)}
        homes.add((address, True, members))
        if older:
            keys.add(("members", False, shown.legacy_parts.get("members")))
            homes.add((address, False, shown.legacy_parts.get("members")))
        if household.household_id in booked or keys & book_keys:
            matched += 1
        head = heads.get(household.household_id)
        if head and head != shown.head and not (keys - {("address", address)}) & book_keys:
            strangers += 1  # its 户号's family, and no other of the book, lives here now
    kept = sum(1 for e in entries if e.household_id in registered or (
        e.parts.get("address"), e.content >= CONTENT, e.parts.get("members")) in homes)
    return len(present), matched, len(entries), kept, strangers


def check_one_grid(numbering: Numbering, book: Book, source: str,
                   written: Iterable[str] | None = None) -> None:
    """Refuse a run that would leave a household in two grids' books, with two numbers:
    the register has it in a grid new to the book (or one it updates) while the book's
    grid that holds it is not in the register, so it stays there (a grid the office
    renamed, given without --rename-grid, or a move of which the register has only one
    side). `written`: the grids whose books the run writes anew (default: all it
    numbered); the book's others stay as they are. Names them, with the way out."""
    writing = set(numbering.grids if written is None else written)
    where: dict[str, str] = {}  # household -> the grid this run gives it
    for group in writing:
        for hid in numbering.grids[group].numbers:
            where[hid] = group
    stays: dict[str, list[str]] = {}  # the book's grid kept as it is -> its households
    for group, grid_book in book.grids.items():
        if group in writing:
            continue
        for entry in grid_book.entries:
            if entry.household_id in where:
                stays.setdefault(group, []).append(entry.household_id)
    if not stays:
        return
    found = []
    for group, hids in sorted(stays.items()):
        into = sorted({where[hid] for hid in hids})
        found.append(_("{count} household(s) of the book's {old} ({households}) are in "
                       "{new} in the register, and this run does not update {old}").format(
            count=len(hids), old=group, households=_names(sorted(hids)),
            new=_names(into)))
    first_old = sorted(stays)[0]
    first_new = sorted({where[hid] for hid in stays[first_old]})[0]
    theirs, ours = numbering.grids[first_new].community, book.grids[first_old].community
    if name_key(theirs) != name_key(ours):  # no renamed grid: the 社区 column is wrong
        raise BookError(_(
            "{source} would give households two numbers in the book in {folder}: {figures}. "
            "Nothing was written. The register puts them in {theirs}, the book in {ours}: "
            "correct the 社区 column of the register, or print {theirs} into a folder of its "
            "own (cardgen ledger INPUT -o NEWDIR, without --book)").format(
            source=source, folder=book.folder, figures=_("; ").join(found), theirs=theirs,
            ours=ours), code="book.two_grids")
    raise BookError(_(
        "{source} would give households two numbers in the book in {folder}: {figures}. "
        "Nothing was written. If the office renamed the grid, say so with --rename-grid "
        "{old}={new}; if the households moved, give the register with both grids (or "
        "without --grid and --household)").format(
        source=source, folder=book.folder, figures=_("; ").join(found),
        old=book.grids[first_old].grid, new=numbering.grids[first_new].grid),
        code="book.two_grids")
