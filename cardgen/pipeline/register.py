"""The register as the stages leave it: read, validated and categorised (`load`), numbered
by its book or as a first print (`open_book`), and the checks every command makes before
it prints."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from cardgen.book.fit import align, check_fit, check_one_grid, rename_grids
from cardgen.book.numbers import Numbering, number_books
from cardgen.book.record import (
    MANIFEST,
    BookError,
    Content,
    card_content,
    read_book,
    register_hash,
)
from cardgen.cache import Cache
from cardgen.config import Config
from cardgen.data.categorise import categorise_all
from cardgen.data.model import Category, Dataset, Household
from cardgen.data.read import SheetChoice, read_records
from cardgen.data.validate import validate_records
from cardgen.errors import DataRefused, NothingSelected, Problem, UsageError
from cardgen.i18n import _, ngettext
from cardgen.layout.fonts import coverage


@dataclass
class Loaded:
    """The input after the read, validate and categorise stages, numbered as a first print
    would number it (the commands given a book number it again, with the book)."""

    source: Path
    config: Config
    today: dt.date
    dataset: Dataset
    categories: dict[str, Category]
    cache: Cache = field(default_factory=Cache.off)
    # numberings worked out once, by what they are worked out from (`numbered`)
    numberings: dict[tuple[object, ...], Numbering] = field(default_factory=dict, repr=False,
                                                            compare=False)

    @functools.cached_property
    def numbering(self) -> Numbering:
        """A first print's numbers: each grid in address order."""
        return number_books(self.dataset.households, self.today)

    @property
    def numbers(self) -> dict[str, str]:
        """Household number -> book number ``017`` (a first print's)."""
        return self.numbering.numbers

    def __getstate__(self) -> dict[str, object]:
        """Pickled (the desk hands a register to its server and jobs) without the numbering
        memo: it is worked out again where it is needed."""
        return {**self.__dict__, "numberings": {}}

    def errors_of(self, households: list[Household]) -> list[Problem]:
        chosen = {h.household_id for h in households}
        return [p for p in self.dataset.errors if p.household_id in chosen]


def load(source: Path, config: Config, today: dt.date,
         sheet_name: SheetChoice | str | None = None, cache: Cache | None = None) -> Loaded:
    """Read, validate (characters no configured font has included) and categorise;
    `sheet_name`: the sheet of a workbook to read, or a `SheetChoice` of several."""
    records = read_records(source, config, sheet_name)
    dataset = validate_records([records], config, today, coverage(config, cache))
    categories, problems = categorise_all(dataset.households, config, today)
    dataset.problems.extend(problems)
    return Loaded(source, config, today, dataset, categories, cache or Cache.off())


def open_book(loaded: Loaded, book: Path | None, renumber: bool = False,
              admitted: set[str] | None = None, legacy: bool = True, force: bool = False,
              writes: bool = False, renames: tuple[tuple[str, str], ...] = (),
              only: tuple[str, ...] = ()) -> Numbering:
    """The households' numbers: a first print's without a book, else the book's
    (docs/book.md, "Numbers"). A print of selected households is no book; `legacy` False
    refuses a book in the first manifest format (it has numbers, but not what the cards
    showed).

    The book is checked (record.check_book; a new edition, `renumber`, only takes its
    edition's number from it), the register must fit it (book/fit.py: its households are
    read with the book's spelling of their grids), and a run that `writes` a book may not
    go back in time unless `force`. `renames` (--rename-grid OLD=NEW) gives grids of the
    book their new names: their numbers stay. `only` (--grid) are the grids the run
    changes: only they must fit."""
    register = register_hash(loaded.source) if loaded.source.is_file() else ""
    if book is None:
        if renumber:
            raise UsageError(_("--renumber starts a new edition of a book: give the book "
                               "with --book DIR"), code="book.renumber_without_book")
        return number_books(loaded.dataset.households, loaded.today, register)
    previous = read_book(book, check=not renumber)
    partial = sorted({g.selection for g in previous.grids.values() if g.selection})
    if partial:
        raise BookError(_("{folder} holds a print of selected households ({selection}), "
                          "not a whole book; give the folder of the grid's ledger").format(
            folder=book, selection="；".join(partial)), code="book.partial")
    if previous.legacy and not legacy:
        raise BookError(_(
            "{folder} holds a book written by an older cardgen: it keeps the numbers but not "
            "what each card showed, so an update cannot tell what changed. Bring it up to "
            "date once with `cardgen ledger INPUT --book {folder} -o {folder}` (the numbers "
            "stay), then update from it").format(folder=book), code="book.legacy_update")
    last = previous.last_update
    if writes and not force and last and loaded.today.isoformat() < last:
        raise UsageError(_(
            "--date {date} is before the book's last update ({last}, in {folder}): a book's "
            "dates go forward, or a retired number would be dated before it left. Give a "
            "later --date (or none: today), or add --force if the earlier date is meant"
            ).format(date=loaded.today.isoformat(), last=last, folder=book),
            code="book.date_backwards")
    renamed = [*rename_grids(previous, renames), *align(loaded.dataset.households, previous)]

    @functools.cache
    def content_of(household_id: str) -> Content:
        household = by_id[household_id]
        return card_content(household, loaded.categories[household_id], loaded.config)

    by_id = {h.household_id: h for h in loaded.dataset.households}
    check_fit(loaded.dataset.households, previous, str(loaded.source),
              lambda h: content_of(h.household_id), renumber, writes, only)
    numbering = number_books(loaded.dataset.households, loaded.today, register, previous,
                             renumber, admitted, lambda h: content_of(h.household_id))
    if writes and not only and admitted is None:  # else the caller knows what it writes
        check_one_grid(numbering, previous, str(loaded.source))
    numbering.renamed = renamed
    numbering.content = lambda h: content_of(h.household_id)
    return numbering


def numbered(loaded: Loaded, book: Path | None) -> Numbering:
    """`open_book(loaded, book)` for a print of selected households (reprint, preview,
    stickers), which only reads the numbers. Numbering sorts every grid's households, and
    with a book checks the register against it (about 50 ms, and 0.2 s with a book, for
    1,000 households): it is worked out once per register read, register file content and
    book record (manifest.json: where it is, its time, size and inode; a book published
    anew is a new file), as the desk draws one card after another from the register it
    keeps. A book that cannot be used is refused each time, as open_book refuses it."""
    register = register_hash(loaded.source) if loaded.source.is_file() else ""
    memo: tuple[object, ...] = (register,)
    if book is not None:
        try:
            status = (book / MANIFEST).stat()
        except OSError:
            return open_book(loaded, book)  # which says what is wrong with the folder
        memo = (register, str(book.resolve()), status.st_mtime_ns, status.st_size,
                status.st_ino)
    found = loaded.numberings.get(memo)
    if found is None:
        found = open_book(loaded, book)
        found.content = None  # every household's card content (the fit check's): not kept
        loaded.numberings[memo] = found
    return found


def check_in_book(numbering: Numbering, chosen: list[Household], book: Path | None) -> None:
    """Refuse households the book does not have (new since it was printed)."""
    if book is None:
        return
    missing = [h.household_id for h in chosen if numbering.grid_of(h.household_id) is None
               or h.household_id in numbering.unbooked]
    if missing:
        raise NothingSelected(ngettext(
            "household {ids} is not in the book in {book} (it is new since the book was "
            "printed); run `cardgen update INPUT --book {book} -o NEWDIR` to give it a number "
            "and a card",
            "households {ids} are not in the book in {book} (they are new since the book was "
            "printed); run `cardgen update INPUT --book {book} -o NEWDIR` to give them "
            "numbers and cards", len(missing)).format(ids=_(", ").join(missing), book=book),
            code="book.not_in_book")


def check_file(loaded: Loaded, what: str) -> None:
    """Refuse to print from a file with errors that belong to no household (two columns
    meaning one field, a wrong JSON shape): every card could come out wrong."""
    errors = [p for p in loaded.dataset.errors if p.household_id is None]
    if errors:
        raise DataRefused(_("{what}: the file itself has errors (not one household's); "
                            "nothing was written").format(what=what), errors,
                          code="data.file_errors")


def check_printable(loaded: Loaded, households: list[Household], what: str) -> None:
    """Refuse to draw households that have errors (characters no font has among them)."""
    check_file(loaded, what)
    errors = loaded.errors_of(households)
    if errors:
        raise DataRefused(ngettext(
            "{what}: {count} selected household has errors; nothing was written",
            "{what}: {count} selected households have errors; nothing was written",
            len({p.household_id for p in errors})).format(
            what=what, count=len({p.household_id for p in errors})), errors,
            code="data.household_errors")


def warnings_of(loaded: Loaded, chosen: list[Household]) -> list[Problem]:
    """The warnings that concern the chosen households, and those about the whole file."""
    ids = {h.household_id for h in chosen}
    return [p for p in loaded.dataset.warnings if p.household_id is None or p.household_id in ids]
