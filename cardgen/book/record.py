"""The book of record: what `manifest.json` says about each grid's book, read and written.

A grid's book (docs/book.md) is its edition, every household's number with what its card shows
(colour, flags as printed, a content hash and the hashes of its parts), the numbers retired
and the households kept out of the print for errors. The manifest written beside a ledger
holds one entry per grid book (`"format": "cardgen-book/1"`); this project's first format
(`{"ledgers": [{"file", "group", "households": [{"number": "017/203", …}]}]}`) is read too,
as far as it goes: numbers, but not what the cards showed.

The content hash covers what a card shows except its number, the print date, the mode and
the ages (a birthday is no change; the birth date behind them is), so a renumbered or
reprinted card never looks changed. It is computed from the household as the card prints it
(privacy rules applied), not from the drawn card, so paper size and cardgen's version do not
change it either.

A household is its content, not its row order: members are hashed in a canonical order (the
head first, then by name, ID as printed and birth date), so re-sorting a register's rows
changes nothing. Books written before this (no ``"content": 2`` on the grid) hashed members
in card order (the head first, then row order); their hashes are still compared as they were
made (`Content.legacy_hash`), and an update migrates each unchanged card's record to the new
hash as it writes the book (`Entry.content` says which one an entry holds).

The record checks itself when read (`check_book`, docs/book.md "Checks when it is
read"): unique numbers per grid, retired numbers not in use, no number above the grid's
highest and none missing below it, one community, grids named as their community and grid.
A contradiction is refused, naming the household, the numbers and the file, with the way
back.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import marshal
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardgen.config import Config
from cardgen.data.model import Category, Household
from cardgen.errors import BookProblem, CardgenError, UsageError
from cardgen.i18n import _
from cardgen.layout.printed import PrintedMember, printed_household
from cardgen.problems import report

FORMAT = "cardgen-book/1"
CONTENT = 2  # the content hash of this version (members as a set); 1: card order
MANIFEST = "manifest.json"
_LEGACY_NUMBER = re.compile(r"^(\d{3,})/\d{3,}$")
_NUMBER = re.compile(r"^\d{3,}$")
# The parts of a card whose change the change list names (book/changes.py says how).
PARTS = ("category", "address", "housing", "phones", "worker", "members", "people", "flags")


def format_number(number: int) -> str:
    """``017``: three digits, four past 999."""
    return f"{number:03d}"


@dataclass
class Content:
    """What one household's card shows, for the book: colour, flags as printed, how many
    members, and hashes of the whole and of its parts."""

    colour: str
    flags: tuple[str, ...]
    members: int
    hash: str
    parts: dict[str, str]
    address: str = ""  # as the card prints it (the change list's 抽出 rows show it)
    head: str = ""  # the head's name as the record keeps it (recorded_name)
    # the hashes a book of content 1 holds (members in card order), made when asked: most
    # books have none of them, and they double the cost (0.15 ms a household, measured)
    legacy: Callable[[], tuple[str, dict[str, str]]] | None = None

    @functools.cached_property
    def _legacy(self) -> tuple[str, dict[str, str]]:
        return self.legacy() if self.legacy is not None else (self.hash, self.parts)

    @property
    def legacy_hash(self) -> str:
        return self._legacy[0]

    @property
    def legacy_parts(self) -> dict[str, str]:
        return self._legacy[1]

    def hash_for(self, entry: Entry) -> str:
        """The hash to compare with `entry`'s, as its book made it."""
        return self.hash if entry.content >= CONTENT else self.legacy_hash

    def parts_for(self, entry: Entry) -> dict[str, str]:
        return self.parts if entry.content >= CONTENT else self.legacy_parts


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def address_part(community: str, grid: str, address: str) -> str:
    """The hash of the address a card shows (its community and grid with it)."""
    return _digest((community, grid, address))[:12]


def card_content(household: Household, category: Category, config: Config) -> Content:
    """The household as its card shows it (layout/printed.py: masked ID, flags as they
    print), without the number, the print date, the mode and the ages; its members as a
    set."""
    printed = printed_household(household, config)

    def member_key(printed: PrintedMember) -> tuple[object, ...]:
        member = printed.member
        return (not member.is_head, member.name, printed.id_text,
                member.birth_date.isoformat() if member.birth_date else "", member.relation,
                member.sex, member.ethnicity, member.phone, member.residence, member.notes,
                tuple(member.flags))

    canonical = sorted(printed.members, key=member_key)
    whole, parts = _content_hashes(household, category, printed.flags, canonical)

    def legacy() -> tuple[str, dict[str, str]]:
        return _content_hashes(household, category, printed.flags, printed.members)

    return Content(category.key, printed.flags, len(canonical), whole, parts,
                   household.full_address, recorded_name(printed.head_name), legacy)


def entry_values(household: Household, category: Category,
                 config: Config) -> tuple[Any, ...]:
    """What a ledger's book entry takes of `card_content`, as plain values (colour, flags,
    members, hash, parts, address, head): kept in the cache with a card drawn for a ledger
    (printing/run.card_bundle, computed where the card is built), so that a ledger whose
    cards come from the cache, or from its workers, need not work them out again (1,000
    households took some 30 ms, 10,000 the last 0.35 s of a cold ledger: session 10)."""
    content = card_content(household, category, config)
    return (content.colour, content.flags, content.members, content.hash, content.parts,
            content.address, content.head)


def entry_data(household: Household, category: Category, config: Config) -> bytes:
    """`entry_values` marshalled, as a ledger holds them from its cards until it writes its
    book: 20,000 households' values as tuples (their parts' dicts, hashes and texts) took
    the book's peak from 236 to 272 MiB, as bytes some 350 bytes a household."""
    return marshal.dumps(entry_values(household, category, config))


def recorded_name(name: str) -> str:
    """A name as the record keeps it: its first and last characters, the others as *
    (欧阳秀英 → 欧**英, 李明 → 李*). manifest.json holds no name in full (it is no place for
    personal data); with the address beside it, the 抽出 row still finds its card."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _content_hashes(household: Household, category: Category, flags: tuple[str, ...],
                    members: Sequence[PrintedMember]) -> tuple[str, dict[str, str]]:
    """The hash of the whole card and of its parts, `members` in the order given."""
    address = household.full_address
    values: dict[str, tuple[object, ...]] = {
        "category": (category.reasons, category.visit, category.visit_because),
        "address": (household.community, household.grid, address),  # address_part's
        "housing": (household.housing, household.multiple_homes, household.moves_often,
                    household.plan, household.owner),
        "phones": (household.owner_phone,
                   *("\n".join(n for n in (m.member.phone, m.member.landline) if n)
                     for m in members)),
        "worker": (household.grid_worker, household.grid_worker_phone),
        "members": tuple((m.member.name, m.id_text) for m in members),
        "people": tuple((m.member.relation, m.member.is_head, m.member.sex,
                         m.member.ethnicity,
                         m.member.birth_date.isoformat() if m.member.birth_date else "",
                         m.member.residence, m.member.notes) for m in members),
        "flags": tuple(m.flags for m in members),  # who has which flag (the stickers name them)
    }
    # each value's repr made once: the parts' hashes take it, and the whole's is the repr
    # of (household_id, colour, flags, values) put together from them, as repr writes a
    # tuple and a dict (0.15 ms a household was 40 ms of a 1,000-household ledger, session 6)
    shown = {name: repr(value) for name, value in values.items()}
    parts = {name: hashlib.sha256(shown[name].encode()).hexdigest()[:12] for name in PARTS}
    listed = ", ".join(f"{name!r}: {value}" for name, value in shown.items())
    whole = f"({household.household_id!r}, {category.key!r}, {flags!r}, {{{listed}}})"
    return hashlib.sha256(whole.encode()).hexdigest(), parts


@dataclass(frozen=True)
class Edition:
    """A book's edition: its number and the day it began; the register it was last made
    from (SHA-256 of the input file) and when."""

    number: int
    date: str
    register: str = ""
    updated: str = ""


@dataclass(frozen=True)
class Entry:
    """One household in its grid's book. `first_page` is 0 for a household kept out of
    the print (errors): it keeps its number and waits for its card."""

    household_id: str
    number: int
    colour: str = ""
    flags: tuple[str, ...] = ()
    members: int = 0
    hash: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    first_page: int = 0
    page_count: int = 0
    content: int = CONTENT  # how `hash` and `parts` were made (module docstring)
    address: str = ""  # as its card prints them: the change list's 抽出 row shows them
    head: str = ""

    @property
    def printed(self) -> bool:
        return self.first_page > 0


@dataclass(frozen=True)
class Retired:
    """A number no household may take again in this edition: who had it, since when."""

    number: int
    household_id: str
    since: str


@dataclass
class GridBook:
    """One grid's book as the manifest records it."""

    group: str
    file: str
    edition: Edition
    entries: list[Entry]  # by number, printed or not
    retired: list[Retired]
    community: str = ""
    grid: str = ""
    paper: str = ""
    duplex: bool = False
    selection: str = ""  # what a print of some households only chose; "" for the book
    impose: str = ""  # the imposition it was printed with: its pages are sheets
    recorded_highest: int = 0  # the highest number as the record says it (0: not said)
    recorded_total: int | None = None  # its count of households as the record says it
    renamed_from: str = ""  # this run's --rename-grid: the grid's name in the record

    @property
    def highest(self) -> int:
        """The highest number ever used in this edition (as the record says it, if higher:
        an entry taken out of the record by hand does not give its number away)."""
        return max([e.number for e in self.entries] + [r.number for r in self.retired]
                   + [self.recorded_highest], default=0)

    def entry(self, household_id: str) -> Entry | None:
        return self._by_household.get(household_id)

    @functools.cached_property
    def _by_household(self) -> dict[str, Entry]:
        return {entry.household_id: entry for entry in self.entries}


@dataclass
class Book:
    """The books in a folder's manifest, by group name (``恒安社区 第3网格``)."""

    folder: Path
    grids: dict[str, GridBook]
    legacy: bool = False  # read from the first format: numbers only
    repeated: list[str] = field(default_factory=list)  # groups the record holds twice

    @property
    def last_update(self) -> str:
        """The day the book was last made or updated (YYYY-MM-DD; "" when not said)."""
        return max((d for g in self.grids.values()
                    for d in (g.edition.updated, g.edition.date) if d), default="")

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(g.file for g in self.grids.values()))

    def find(self, household_id: str) -> tuple[GridBook, Entry] | None:
        for grid_book in self.grids.values():
            entry = grid_book.entry(household_id)
            if entry is not None:
                return grid_book, entry
        return None


# ---- reading ------------------------------------------------------------------------------

class BookError(CardgenError):
    """A book that cannot be read or used; the message says what to do instead."""

    code = "book.unreadable"


def read_book(folder: Path, check: bool = True) -> Book:
    """The book in `folder` (its manifest.json), in either format; checked (`check_book`)
    unless `check` is False, a contradiction refused with the way back."""
    from cardgen.book.publish import recover  # publish reads the record's name from here

    path = folder / MANIFEST
    if not folder.is_dir():
        raise UsageError(_("--book {folder}: no such folder; give the folder of the grid's "
                           "ledger (the one holding manifest.json)").format(folder=folder),
                         code="book.missing")
    recover(folder)  # a run killed while moving its files in: undone or finished first
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(_("--book {folder}: there is no book here (no manifest.json); give "
                           "the folder a ledger was printed into").format(folder=folder),
                         code="book.missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BookError(_("{path} cannot be read as a book: {error}. {way_back}").format(
            path=path, error=_unreadable(exc), way_back=_way_back(folder)),
            code="book.unreadable") from None
    book = parse_book(data, folder)
    if check:
        problems = check_book(book)
        if problems:
            raise BookError(inconsistent_message(book, problems), code="book.inconsistent")
    return book


def parse_book(data: object, folder: Path) -> Book:
    """A manifest's JSON as a Book (the current format or the first one)."""
    try:
        if isinstance(data, dict) and data.get("format") == FORMAT:
            grid_books = [_grid_book(raw) for raw in data["ledgers"]]
            groups = [g.group for g in grid_books]
            return Book(folder, {g.group: g for g in grid_books},
                        repeated=sorted({g for g in groups if groups.count(g) > 1}))
        if isinstance(data, dict) and "format" in data:
            raise BookError(_("{path} is a book of format {format!r}, which this cardgen "
                              "does not know; update cardgen, or print a new edition into a "
                              "new folder: cardgen ledger INPUT -o NEWDIR").format(
                path=folder / MANIFEST, format=data["format"]), code="book.format")
        if isinstance(data, dict) and isinstance(data.get("ledgers"), list):
            return _legacy_book(data["ledgers"], folder)
    except _Damaged as damaged:
        raise BookError(_("{path} is damaged: {where}: {what}. {way_back}").format(
            path=folder / MANIFEST, where=damaged.where, what=damaged.what,
            way_back=_way_back(folder)), code="book.unreadable") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BookError(_("{path} is damaged: {what}. {way_back}").format(
            path=folder / MANIFEST, what=_what(exc), way_back=_way_back(folder)),
            code="book.unreadable") from None
    raise BookError(_("{path} is not a cardgen book; print a new edition into a new folder: "
                      "cardgen ledger INPUT -o NEWDIR").format(path=folder / MANIFEST),
                    code="book.unreadable")


class _Damaged(Exception):
    """A field of the record that cannot be read: where (the grid, the household) and
    what, in the user's language."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(where, what)
        self.where = where
        self.what = what


class _BadValue(ValueError):
    """A value of the record that is not what cardgen writes there: said in words."""


def _way_back(folder: Path) -> str:
    return _("Nothing was written. To recover, put back the last good {manifest} (a copy "
             "of this folder, or the one in the folder of the update before); without one, "
             "print a new edition into a new folder: cardgen ledger INPUT -o NEWDIR").format(
        manifest=MANIFEST)


def _unreadable(error: Exception) -> str:
    """Why the record's text could not be read, in words (no Python message)."""
    if isinstance(error, json.JSONDecodeError):
        return _("it is no complete JSON from line {line}, column {column} (cut short or "
                 "edited by hand)").format(line=error.lineno, column=error.colno)
    if isinstance(error, UnicodeDecodeError):
        return _("it is not UTF-8 text (saved in another encoding, or not a text file)")
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return _("it is not JSON")


def _what(error: Exception) -> str:
    if isinstance(error, _BadValue):
        return str(error)
    if isinstance(error, KeyError):
        return _("the field {name} is missing").format(name=json.dumps(error.args[0]))
    return _("a field holds another kind of value than cardgen writes there")


def _number(text: object) -> int:
    if not isinstance(text, str) or not _NUMBER.match(text):
        raise _BadValue(_("the number {value} is not written as digits (017)").format(
            value=json.dumps(text, ensure_ascii=False)))
    return int(text)


def _day(text: object, empty: bool = True) -> str:
    """A date of the record (YYYY-MM-DD); "" where `empty` allows it."""
    value = str(text)
    if value == "" and empty:
        return value
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise _BadValue(_("the date {value} is no date written as YYYY-MM-DD").format(
            value=json.dumps(text, ensure_ascii=False))) from None
    if len(value) != len("2026-12-01"):
        raise _BadValue(_("the date {value} is no date written as YYYY-MM-DD").format(
            value=json.dumps(text, ensure_ascii=False)))
    return value


def _grid_book(raw: dict[str, Any]) -> GridBook:
    where = str(raw.get("group", "")) if isinstance(raw, dict) else ""
    try:
        return _grid_book_of(raw)
    except _Household as household:
        raise _Damaged(_("household {household} of {group}").format(
            household=household.household_id, group=where or "?"),
            _what(household.error)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _Damaged(where or _("a grid's book"), _what(exc)) from None


class _Household(Exception):
    def __init__(self, household_id: str, error: Exception) -> None:
        super().__init__(household_id)
        self.household_id = household_id
        self.error = error


def _entry(raw: dict[str, Any], content: int) -> Entry:
    try:
        return Entry(str(raw["household_id"]), _number(raw["number"]), str(raw["colour"]),
                     tuple(str(f) for f in raw["flags"]), int(raw["members"]),
                     str(raw["hash"]), {str(k): str(v) for k, v in raw["parts"].items()},
                     int(raw["first_page"]), int(raw["page_count"]),
                     int(raw.get("content", content)), str(raw.get("address", "")),
                     str(raw.get("head", "")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        hid = raw.get("household_id", "?") if isinstance(raw, dict) else "?"
        raise _Household(str(hid), exc) from None


def _grid_book_of(raw: dict[str, Any]) -> GridBook:
    edition = raw["edition"]
    content = int(raw.get("content", 1))  # a book of before content 2 hashed in card order
    if not isinstance(raw["households"], list):
        raise TypeError("households")
    entries = [_entry(h, content) for h in raw["households"]]
    for h in raw.get("unprinted", []):
        try:
            entries.append(Entry(str(h["household_id"]), _number(h["number"])))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Household(str(h.get("household_id", "?")) if isinstance(h, dict) else "?",
                             exc) from None
    retired = []
    for r in raw["retired"]:
        try:
            retired.append(Retired(_number(r["number"]), str(r["household_id"]),
                                   _day(r["since"], empty=False)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Household(str(r.get("household_id", "?")) if isinstance(r, dict) else "?",
                             exc) from None
    number = int(edition["number"])
    if number < 1:
        raise _BadValue(_("the edition {value} is no edition (1, 2, …)").format(value=number))
    return GridBook(str(raw["group"]), str(raw["file"]),
                    Edition(number, _day(edition["date"]),
                            str(edition.get("register", "")),
                            _day(edition.get("updated", ""))),
                    sorted(entries, key=lambda e: e.number), retired,
                    str(raw.get("community", "")), str(raw.get("grid", "")),
                    str(raw.get("paper", "")), bool(raw.get("duplex", False)),
                    str(raw.get("selection", "")), str(raw.get("impose", "")),
                    _number(raw["highest"]) if raw.get("highest") else 0,
                    int(raw["total"]) if "total" in raw else None)


def _legacy_book(ledgers: list[dict[str, Any]], folder: Path) -> Book:
    """The first format: one entry per ledger file, numbers ``017/203`` (the place in the
    grid's whole book). Read when each ledger is one grid's book."""
    grids = {}
    for raw in ledgers:
        entries = []
        for household in raw["households"]:
            found = _LEGACY_NUMBER.match(str(household["number"]))
            if found is None and _NUMBER.match(str(household["number"])):
                raise KeyError("format")  # a book of this format that lost its "format"
            if found is None:
                raise _BadValue(_("the number {value} is not written as digits (017)").format(
                    value=json.dumps(household["number"], ensure_ascii=False)))
            entries.append(Entry(str(household["household_id"]), int(found.group(1)),
                                 str(household.get("colour", "")),
                                 first_page=int(household["first_page"]),
                                 page_count=int(household["page_count"])))
        numbers = [e.number for e in entries]
        if len(set(numbers)) != len(numbers):  # several grids' numbers in one ledger
            raise BookError(_(
                "{path} was written by an older cardgen for a ledger of several grids "
                "(--by community or --by all), so its numbers cannot be told apart by grid; "
                "start a new edition: cardgen ledger INPUT -o NEWDIR (one ledger per "
                "grid)").format(path=folder / MANIFEST), code="book.legacy")
        group = str(raw["group"])
        grids[group] = GridBook(group, str(raw["file"]), Edition(1, ""),
                                sorted(entries, key=lambda e: e.number), [])
    return Book(folder, grids, legacy=True)


# ---- checking -----------------------------------------------------------------------------

def _list(values: list[str]) -> str:
    return _(", ").join(values)


def _shown(values: list[str], listed: int = 12) -> str:
    """A long list said in a line: the first `listed`, the rest counted (a `highest`
    edited upwards leaves dozens of numbers unused; `book check --format json` has all)."""
    more = len(values) - listed
    return _list(values[:listed]) + (_(" and {count} more").format(count=more)
                                     if more > 0 else "")


def check_book(book: Book) -> list[BookProblem]:
    """Every contradiction in the record (docs/book.md); none for a record edited by
    hand that is still consistent."""
    problems = [BookProblem("book.repeated_grid", group, _(
        "the book of {group} is in the record twice").format(group=group))
        for group in book.repeated]
    for grid_book in book.grids.values():
        problems += _check_grid(grid_book, book.legacy)
    problems += _check_across(book)
    communities = sorted({g.community for g in book.grids.values() if g.community})
    if len(communities) > 1:
        problems.append(BookProblem("book.communities", "", _(
            "the record holds the books of several communities ({communities}); one folder "
            "holds one community's book").format(communities=_list(communities))))
    return problems


def _check_across(book: Book) -> list[BookProblem]:
    """A household is in one grid's book: in two, it would have two numbers (a grid
    renamed without --rename-grid, or an entry edited by hand)."""
    grids: dict[str, list[tuple[str, int]]] = {}
    for grid_book in book.grids.values():
        for entry in grid_book.entries:
            grids.setdefault(entry.household_id, []).append((grid_book.group, entry.number))
    found = []
    for hid, places in grids.items():
        if len({group for group, _number in places}) > 1:
            shown = [f"{group} {format_number(number)}" for group, number in places]
            found.append(BookProblem("book.household_in_two_grids", places[0][0], _(
                "household {household} is in the books of several grids: {places}").format(
                household=hid, places=_list(shown)), (hid,),
                tuple(format_number(number) for _group, number in places)))
    return found


def _check_grid(book: GridBook, legacy: bool) -> list[BookProblem]:
    group = book.group
    found: list[BookProblem] = []
    by_household: dict[str, list[int]] = {}
    by_number: dict[int, list[str]] = {}
    for entry in book.entries:
        by_household.setdefault(entry.household_id, []).append(entry.number)
        by_number.setdefault(entry.number, []).append(entry.household_id)
    for hid, numbers in by_household.items():
        if len(numbers) > 1:
            shown = [format_number(n) for n in numbers]
            found.append(BookProblem("book.household_twice", group, _(
                "household {household} is in the book twice, as {numbers}").format(
                household=hid, numbers=_list(shown)), (hid,), tuple(shown)))
    for number, hids in sorted(by_number.items()):
        if len(hids) > 1:
            found.append(BookProblem("book.number_twice", group, _(
                "households {households} are all numbered {number}").format(
                households=_list(hids), number=format_number(number)), tuple(hids),
                (format_number(number),)))
    retired: dict[int, list[Retired]] = {}
    for gone in book.retired:
        retired.setdefault(gone.number, []).append(gone)
    for number, holders in sorted(retired.items()):
        text = format_number(number)
        if len(holders) > 1:
            found.append(BookProblem("book.retired_twice", group, _(
                "number {number} is retired twice ({households})").format(
                number=text, households=_list([g.household_id for g in holders])),
                tuple(g.household_id for g in holders), (text,)))
        for hid in by_number.get(number, []):
            found.append(BookProblem("book.retired_in_use", group, _(
                "number {number} is retired (household {old}, since {since}) but household "
                "{household} has it").format(number=text, old=holders[0].household_id,
                                             since=holders[0].since, household=hid),
                (hid, holders[0].household_id), (text,)))
    if book.recorded_highest:
        for number in sorted({*by_number, *retired}):
            if number > book.recorded_highest:
                hids = by_number.get(number) or [g.household_id for g in retired[number]]
                found.append(BookProblem("book.above_highest", group, _(
                    "number {number} ({households}) is above the book's highest, "
                    "{highest}").format(number=format_number(number), households=_list(hids),
                                        highest=format_number(book.recorded_highest)),
                    tuple(hids), (format_number(number),)))
    if not legacy and not book.selection:  # every number of an edition is used or retired
        missing = [format_number(n) for n in range(1, book.highest + 1)
                   if n not in by_number and n not in retired]
        if missing:
            found.append(BookProblem("book.number_missing", group, _(
                "number(s) {numbers} are neither in use nor retired: a household was taken "
                "out of the record, though its card is in the binder").format(
                numbers=_shown(missing)), (), tuple(missing)))
    if book.recorded_total is not None and book.recorded_total != len(book.entries):
        found.append(BookProblem("book.total", group, _(
            "the record says {total} household(s) but lists {count}").format(
            total=book.recorded_total, count=len(book.entries))))
    named = " ".join(p for p in (book.community, book.grid) if p)
    if named and named != group:
        found.append(BookProblem("book.grid_name", group, _(
            "the book named {group} says it is {named}").format(group=group, named=named)))
    if not book.file.endswith(".pdf") or "/" in book.file or "\\" in book.file:
        found.append(BookProblem("book.file_name", group, _(
            "{file} is no ledger file name").format(file=book.file)))
    return found


def book_report(book: Book, problems: list[BookProblem]) -> dict[str, object]:
    """`cardgen book check --format json`: each grid's book (its edition, households,
    numbers, retired numbers) and every contradiction."""
    grids = []
    for grid_book in book.grids.values():
        numbers = sorted(e.number for e in grid_book.entries)
        grids.append({
            "grid": grid_book.group, "community": grid_book.community,
            "name": grid_book.grid, "file": grid_book.file,
            "edition": {"number": grid_book.edition.number, "date": grid_book.edition.date,
                        "updated": grid_book.edition.updated},
            "households": len(grid_book.entries),
            "unprinted": sum(1 for e in grid_book.entries if not e.printed),
            "first": format_number(numbers[0]) if numbers else "",
            "highest": format_number(grid_book.highest) if grid_book.highest else "",
            "retired": [{"number": format_number(r.number), "household_id": r.household_id,
                         "since": r.since}
                        for r in sorted(grid_book.retired, key=lambda r: r.number)],
            "selection": grid_book.selection,
        })
    return report({"folder": str(book.folder), "format": "legacy" if book.legacy else FORMAT,
                   "last_update": book.last_update, "grids": grids}, problems)


def inconsistent_message(book: Book, problems: list[BookProblem], refused: bool = True,
                         heading: str = "") -> str:
    """The record's contradictions, every one, then the way back; `refused`: a command
    that would have written stopped here (`book check` only reads, so it does not say so).
    `heading`: what is said first, when not that the record contradicts itself."""
    path = book.folder / MANIFEST
    lines = [heading or _("{path} contradicts itself (edited by hand, or mixed with another "
                          "book's):").format(path=path)]
    lines += [f"  {problem.group}: {problem.message}" if problem.group
              else f"  {problem.message}" for problem in problems]
    way_back = _(
        "To recover, put back the last good {manifest} (a copy of this folder, or the folder "
        "of the update before), or start a new edition in address order (the binder is "
        "reprinted): cardgen ledger INPUT --book {folder} --renumber -o NEWDIR").format(
        manifest=MANIFEST, folder=book.folder)
    lines.append(_("Nothing was written. {way_back}").format(way_back=way_back) if refused
                 else way_back)
    return "\n".join(lines)


def refuse_contradicting(books: list[GridBook], source: Path) -> None:
    """The record a run is about to write, checked as the next run will read it: made from
    the book in `source`, it contradicts itself only when that record was edited by hand in
    a way that still reads well (a household's 户号 changed in it: the household came back
    under a new 户号 beside the old one, both with its number). Refused here, nothing
    written, rather than written for the next command to refuse (session 8)."""
    book = Book(source, {grid_book.group: grid_book for grid_book in books})
    problems = check_book(book)
    if problems:
        raise BookError(inconsistent_message(book, problems, heading=_(
            "{path} does not fit this register: the book it would become contradicts itself "
            "(was it edited by hand?):").format(path=source / MANIFEST)),
            code="book.inconsistent")


# ---- writing ------------------------------------------------------------------------------

def grid_book_data(book: GridBook) -> dict[str, object]:
    """One grid's book as the manifest writes it (docs/book.md, "The file")."""
    printed = [e for e in book.entries if e.printed]
    unprinted = [e for e in book.entries if not e.printed]
    data: dict[str, object] = {
        "file": book.file, "group": book.group, "community": book.community,
        "grid": book.grid,
        "edition": {"number": book.edition.number, "date": book.edition.date,
                    "register": book.edition.register, "updated": book.edition.updated},
        "paper": book.paper, "duplex": book.duplex, "impose": book.impose,
        "selection": book.selection,
        "total": len(book.entries),
        "highest": format_number(book.highest) if book.highest else "",
        "content": CONTENT,
        "households": [{
            "household_id": e.household_id, "number": format_number(e.number),
            "first_page": e.first_page, "page_count": e.page_count, "colour": e.colour,
            "flags": list(e.flags), "members": e.members, "hash": e.hash, "parts": e.parts,
            "address": e.address, "head": e.head,
        } | ({"content": e.content} if e.content != CONTENT else {}) for e in printed],
        "unprinted": [{"household_id": e.household_id, "number": format_number(e.number)}
                      for e in unprinted],
        "retired": [{"number": format_number(r.number), "household_id": r.household_id,
                     "since": r.since} for r in sorted(book.retired, key=lambda r: r.number)],
    }
    return data


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def manifest_bytes(books: list[GridBook]) -> bytes:
    """The manifest's text: indented, but one household (or retired number) a line, which
    reads and diffs line by line and is written by json's C encoder (an indented dump of
    a 10,000-household book takes the pure-Python one: 0.4 s of a 2 s ledger, measured).
    Encoded line by line and joined once: the whole text as one str (two bytes a character
    with its Chinese), joined and added to three times over, then encoded, was the last
    peak of a 20,000-household book's main process (+55 MiB, session 8)."""
    parts = [f'{{\n  "format": {_json(FORMAT)},\n  "ledgers": [\n'.encode()]
    for index, book in enumerate(books):
        parts.append(b"    {\n" if not index else b",\n    {\n")
        for position, (key, value) in enumerate(grid_book_data(book).items()):
            comma = b"" if not position else b",\n"
            if isinstance(value, list) and value:
                parts.append(comma + f"      {_json(key)}: [\n".encode())
                parts += [(b"" if not at else b",\n") + f"        {_json(item)}".encode()
                          for at, item in enumerate(value)]
                parts.append(b"\n      ]")
            else:
                parts.append(comma + f"      {_json(key)}: {_json(value)}".encode())
        parts.append(b"\n    }")
    parts.append(b"\n  ]\n}\n")
    return b"".join(parts)


def register_hash(path: Path) -> str:
    """SHA-256 of the register (the input file) a book was made from."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
