"""One folder, one book: what a folder already holds, and whether a run may write there.

A ledger or an update writes a book (its PDFs and manifest.json) into a folder. A folder that
holds another book's files — other grids, a manifest cardgen cannot read, files no manifest
names — is refused, naming them, unless the user says `--force`; so is a first print over
the same grids' book when it would change their numbers (that is what `--book` is for), and
a print of selected households over a whole book (its manifest would replace the book's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from cardgen.book.ledger import update_file_names
from cardgen.book.record import MANIFEST, Book, BookError, read_book
from cardgen.errors import CardgenError
from cardgen.i18n import _

LISTED = 8  # files named in a refusal; more are counted


@dataclass(frozen=True)
class Writing:
    """What a run is about to write into a folder."""

    groups: frozenset[str]  # the grid books its manifest will hold
    files: frozenset[str]  # the file names it writes, manifest.json included
    partial: bool  # a print of selected households, not whole books
    numbers: dict[str, dict[str, int]] | None = None  # a first print's numbers, by grid


def held_book(folder: Path) -> Book | None:
    """The book a folder holds, None without a manifest; BookError when unreadable.

    Read once while its manifest stays the same file (path, inode, size, modification
    time): a run writing into a folder that holds a book asks three times (its checks and
    the files it replaces), and a 1,000-household manifest takes 15 ms to read (session 6).
    The book is shared: read it, never change it."""
    manifest = folder / MANIFEST
    try:
        stat = manifest.stat()
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):
        return None
    identity = (str(manifest.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    found = _held.get(identity)
    if found is None:
        found = read_book(folder, check=False)  # which book, not whether it is consistent
        _held.clear()  # the last one only
        _held[identity] = found
    return found


_held: dict[tuple[str, int, int, int], Book] = {}


def replaced_files(folder: Path) -> set[str]:
    """The ledgers of the book in `folder`, which a run with --force replaces (none when
    the folder holds no book cardgen can read: then nothing is taken away)."""
    try:
        held = held_book(folder) if folder.is_dir() else None
    except (BookError, CardgenError):
        return set()
    return set(held.files) if held is not None else set()


def earlier_files(folder: Path) -> set[str]:
    """The files of an earlier run a folder holds: its record, its book's ledgers and the
    packets and label sheets of its grids' updates (none when it holds no readable book)."""
    try:
        held = held_book(folder) if folder.is_dir() else None
    except (BookError, CardgenError):
        return set()
    if held is None:
        return set()
    names = {MANIFEST, *held.files,
             *(name for pair in update_file_names(list(held.grids)).values() for name in pair)}
    return {name for name in names if (folder / name).exists()}


def _names(files: list[str]) -> str:
    shown = _(", ").join(files[:LISTED])
    more = len(files) - LISTED
    return shown + (_(" and {count} more").format(count=more) if more > 0 else "")


def check_book_folder(folder: Path, writing: Writing) -> None:
    """Refuse to write into `folder` when it holds another book (docs/book.md, "Writing")."""
    if not folder.is_dir():
        return
    try:
        held = held_book(folder)
    except (BookError, CardgenError):
        raise CardgenError(_("{folder} holds a {manifest} that is not a book cardgen can "
                             "read; choose an empty folder for -o, or add --force to write "
                             "over it").format(folder=folder, manifest=MANIFEST),
                           code="book.other_book") from None
    known = set()
    if held is not None:  # its ledgers, and the packets of its updates
        known = {*held.files, MANIFEST,
                 *(name for pair in update_file_names(list(held.grids)).values()
                   for name in pair)}
    strangers = sorted(name for name in writing.files
                       if (folder / name).exists() and name not in known)
    if strangers:
        raise CardgenError(_("{folder} holds files that are not of this book and would be "
                             "overwritten: {files}; choose an empty folder for -o, or add "
                             "--force to write over them").format(folder=folder,
                                                                   files=_names(strangers)),
                           code="book.other_book")
    if held is None:
        return
    others = [g for g in held.grids.values() if g.group not in writing.groups]
    if others:
        files = sorted({g.file for g in others if (folder / g.file).exists()} | {MANIFEST})
        raise CardgenError(_("{folder} holds another book: {groups} ({files}); this run "
                             "prints {mine}. Choose another folder for -o (one folder per "
                             "book), or add --force to replace its manifest").format(
            folder=folder, groups=_(", ").join(g.group for g in others), files=_names(files),
            mine=_(", ").join(sorted(writing.groups))), code="book.other_book")
    whole = [g for g in held.grids.values() if not g.selection]
    if writing.partial and whole:
        raise CardgenError(_("{folder} holds the book of {groups}; a print of selected "
                             "households would replace its manifest. Choose another folder "
                             "for -o, or add --force").format(
            folder=folder, groups=_(", ").join(g.group for g in whole)), code="book.would_replace")
    if writing.numbers is None:
        return
    moved = 0
    for grid_book in whole:
        fresh = writing.numbers.get(grid_book.group, {})
        moved += sum(1 for e in grid_book.entries if fresh.get(e.household_id) != e.number)
        moved += sum(1 for hid in fresh if grid_book.entry(hid) is None)
        moved += len(grid_book.retired)
    if moved:
        raise CardgenError(_(
            "{folder} holds the book of {groups}; printing it anew would change {count} "
            "household number(s). Add --book {folder} to keep the numbers (with --renumber "
            "for a new edition), or --force to replace the book").format(
            folder=folder, groups=_(", ").join(g.group for g in whole), count=moved),
            code="book.would_renumber")
