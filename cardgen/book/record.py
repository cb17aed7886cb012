"""The book of record: what `manifest.json` says about each grid's book, read and written.

A grid's book (DOMAIN §8) is its edition, every household's number with what its card shows
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
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardgen.config import Config
from cardgen.data.flags import shown_flag
from cardgen.data.idnumber import mask_id
from cardgen.data.model import Category, Household
from cardgen.errors import CardgenError, UsageError
from cardgen.i18n import _

FORMAT = "cardgen-book/1"
MANIFEST = "manifest.json"
_LEGACY_NUMBER = re.compile(r"^(\d{3,})/\d{3,}$")
_NUMBER = re.compile(r"^\d{3,}$")
# The parts of a card whose change the change list names (book/changes.py says how).
PARTS = ("category", "address", "housing", "phones", "worker", "members", "people", "flags")


def format_number(number: int) -> str:
    """``017``: three digits, four past 999."""
    return f"{number:03d}"


@dataclass(frozen=True)
class Content:
    """What one household's card shows, for the book: colour, flags as printed, how many
    members, and hashes of the whole and of its parts."""

    colour: str
    flags: tuple[str, ...]
    members: int
    hash: str
    parts: dict[str, str]


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def card_content(household: Household, category: Category, config: Config) -> Content:
    """The household as its card shows it (masked ID, flags by category), without the
    number, the print date, the mode and the ages."""
    members = sorted(household.members, key=lambda m: not m.is_head)  # the card's order
    flags_of = [tuple(dict.fromkeys(shown_flag(f, config) for f in m.flags)) for m in members]
    shown = (m.id_number if config.full_id else mask_id(m.id_number) if m.id_number else ""
             for m in members)
    order = {flag: index for index, flag in enumerate((*config.sticker_slots,
                                                       *config.known_flags))}
    flags = tuple(sorted({f for member in flags_of for f in member},
                         key=lambda f: (order.get(f, len(order)), f)))
    values: dict[str, tuple[object, ...]] = {
        "category": (category.reasons, category.visit, category.visit_because),
        "address": (household.community, household.grid, household.full_address),
        "housing": (household.housing, household.multiple_homes, household.moves_often,
                    household.plan, household.owner),
        "phones": (household.owner_phone,
                   *("\n".join(n for n in (m.phone, m.landline) if n) for m in members)),
        "worker": (household.grid_worker, household.grid_worker_phone),
        "members": tuple((m.name, id_text) for m, id_text in zip(members, shown, strict=True)),
        "people": tuple((m.relation, m.is_head, m.sex, m.ethnicity,
                         m.birth_date.isoformat() if m.birth_date else "", m.residence,
                         m.notes) for m in members),
        "flags": tuple(flags_of),  # who has which flag (the stickers name them)
    }
    parts = {name: _digest(values[name])[:12] for name in PARTS}
    whole = _digest((household.household_id, category.key, flags, values))
    return Content(category.key, flags, len(members), whole, parts)


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

    @property
    def highest(self) -> int:
        """The highest number ever used in this edition."""
        return max([e.number for e in self.entries] + [r.number for r in self.retired],
                   default=0)

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


def read_book(folder: Path) -> Book:
    """The book in `folder` (its manifest.json), in either format."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise UsageError(_("--book {folder}: no such folder; give the folder of the grid's "
                           "ledger (the one holding manifest.json)").format(folder=folder),
                         code="book.missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(_("--book {folder}: there is no book here (no manifest.json); give "
                           "the folder a ledger was printed into").format(folder=folder),
                         code="book.missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BookError(_("{path} cannot be read as a book ({error}); print a new edition "
                          "into a new folder: cardgen ledger INPUT -o NEWDIR").format(
            path=path, error=exc), code="book.unreadable") from None
    return parse_book(data, folder)


def parse_book(data: object, folder: Path) -> Book:
    """A manifest's JSON as a Book (the current format or the first one)."""
    try:
        if isinstance(data, dict) and data.get("format") == FORMAT:
            return Book(folder, {g.group: g for g in map(_grid_book, data["ledgers"])})
        if isinstance(data, dict) and "format" in data:
            raise BookError(_("{path} is a book of format {format!r}, which this cardgen "
                              "does not know; update cardgen, or print a new edition into a "
                              "new folder: cardgen ledger INPUT -o NEWDIR").format(
                path=folder / MANIFEST, format=data["format"]), code="book.format")
        if isinstance(data, dict) and isinstance(data.get("ledgers"), list):
            return _legacy_book(data["ledgers"], folder)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BookError(_("{path} is damaged ({error}); print a new edition into a new "
                          "folder: cardgen ledger INPUT -o NEWDIR").format(
            path=folder / MANIFEST, error=exc or type(exc).__name__),
            code="book.unreadable") from None
    raise BookError(_("{path} is not a cardgen book; print a new edition into a new folder: "
                      "cardgen ledger INPUT -o NEWDIR").format(path=folder / MANIFEST),
                    code="book.unreadable")


def _number(text: object) -> int:
    if not isinstance(text, str) or not _NUMBER.match(text):
        raise ValueError(f"book number {text!r}")
    return int(text)


def _grid_book(raw: dict[str, Any]) -> GridBook:
    edition = raw["edition"]
    entries = [Entry(str(h["household_id"]), _number(h["number"]), str(h["colour"]),
                     tuple(str(f) for f in h["flags"]), int(h["members"]), str(h["hash"]),
                     {str(k): str(v) for k, v in h["parts"].items()},
                     int(h["first_page"]), int(h["page_count"]))
               for h in raw["households"]]
    entries += [Entry(str(h["household_id"]), _number(h["number"]))
                for h in raw.get("unprinted", [])]
    retired = [Retired(_number(r["number"]), str(r["household_id"]), str(r["since"]))
               for r in raw["retired"]]
    return GridBook(str(raw["group"]), str(raw["file"]),
                    Edition(int(edition["number"]), str(edition["date"]),
                            str(edition.get("register", "")), str(edition.get("updated", ""))),
                    sorted(entries, key=lambda e: e.number), retired,
                    str(raw.get("community", "")), str(raw.get("grid", "")),
                    str(raw.get("paper", "")), bool(raw.get("duplex", False)),
                    str(raw.get("selection", "")), str(raw.get("impose", "")))


def _legacy_book(ledgers: list[dict[str, Any]], folder: Path) -> Book:
    """The first format: one entry per ledger file, numbers ``017/203`` (the place in the
    grid's whole book). Read when each ledger is one grid's book."""
    grids = {}
    for raw in ledgers:
        entries = []
        for household in raw["households"]:
            found = _LEGACY_NUMBER.match(str(household["number"]))
            if found is None:
                raise ValueError(f"book number {household['number']!r}")
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


# ---- writing ------------------------------------------------------------------------------

def grid_book_data(book: GridBook) -> dict[str, object]:
    """One grid's book as the manifest writes it (DOMAIN §6)."""
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
        "households": [{
            "household_id": e.household_id, "number": format_number(e.number),
            "first_page": e.first_page, "page_count": e.page_count, "colour": e.colour,
            "flags": list(e.flags), "members": e.members, "hash": e.hash, "parts": e.parts,
        } for e in printed],
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
    a 10,000-household book takes the pure-Python one: 0.4 s of a 2 s ledger, measured)."""
    ledgers = []
    for book in books:
        fields = []
        for key, value in grid_book_data(book).items():
            if isinstance(value, list) and value:
                items = ",\n".join(f"        {_json(item)}" for item in value)
                fields.append(f"      {_json(key)}: [\n{items}\n      ]")
            else:
                fields.append(f"      {_json(key)}: {_json(value)}")
        ledgers.append("    {\n" + ",\n".join(fields) + "\n    }")
    return (f'{{\n  "format": {_json(FORMAT)},\n  "ledgers": [\n' + ",\n".join(ledgers)
            + "\n  ]\n}\n").encode()


def register_hash(path: Path) -> str:
    """SHA-256 of the register (the input file) a book was made from."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
