"""Problems and exceptions. The core collects problems as data and raises these exceptions;
only the CLI (and the web layer) turn them into exit statuses and messages, and problems.py
into JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the input: where it is, what it is, and what would fix it.

    `code` names the kind of problem, stable across languages and versions (docs/problems.md
    lists them); `message` says it in the language spoken when it was found. `where` is
    the place as the user finds it (``第一网格!F12（手机号）``, see `cell_place`), in the
    same language. `value` is the value as written, but an ID number masked like on the
    card and a sensitive flag shown as its category.
    """

    severity: Severity
    source: str  # the file; "" for none (a wrong option)
    row: int | None
    column: str | None
    field: str | None
    value: str | None
    message: str
    household_id: str | None = None
    code: str = ""
    sheet: str | None = None
    where: str = ""

    @property
    def text(self) -> str:
        """The message with its place in front: what a person reads."""
        from cardgen.i18n import _

        if not self.where:
            return self.message
        return _("{where}: {message}").format(where=self.where, message=self.message)



@dataclass(frozen=True)
class BookProblem:
    """A contradiction in a book's record (book/record.py finds them, docs/book.md lists
    them): what it is (`code`, stable), in which grid's book (`group`), and who."""

    code: str
    group: str
    message: str
    households: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_place(sheet: str | None, letter: str | None, row: int | None, header: str | None,
               hidden_row: bool = False, hidden_column: bool = False) -> str:
    """A cell named as a spreadsheet user finds it: ``第一网格!F12（手机号）`` — the sheet (a
    CSV has none), the column letter and row, the header as written; and whether the row
    or the column is hidden. Without a letter, the row alone; without a row, the column."""
    from cardgen.i18n import _

    cell = (letter or "") + (str(row) if row is not None else "")
    if not letter and row is not None:
        cell = _("row {row}").format(row=row)
    if sheet and cell:
        cell = f"{sheet}!{cell}"
    elif sheet:
        cell = _("sheet {sheet}").format(sheet=sheet)
    notes = [header] if header else []
    if hidden_column:
        notes.append(_("hidden column"))
    if hidden_row:
        notes.append(_("hidden row"))
    if not notes:
        return cell
    joined = _(", ").join(notes)
    return _("{cell} ({notes})").format(cell=cell, notes=joined) if cell else joined


class CardgenError(Exception):
    """A problem the user can fix, said in the current language. `exit_code` follows the
    CLI contract (docs/cli.md, exit statuses); `code` names the kind of problem, stable
    across languages."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(CardgenError):
    """The command was asked for something it cannot do (exit 2)."""

    exit_code = 2
    code = "usage"


class ConfigError(UsageError):
    """The config file is unreadable or has a wrong setting; the message names both."""

    code = "config"


class InputError(CardgenError):
    """An input file cannot be read at all (missing, not a spreadsheet, wrong shape)."""

    code = "input"


class DataRefused(CardgenError):
    """The data has errors where they block the output; the problems say where."""

    code = "data.refused"

    def __init__(self, message: str, problems: list[Problem], code: str | None = None) -> None:
        super().__init__(message, code)
        self.problems = problems


class NothingSelected(CardgenError):
    """The selection matched no household."""

    code = "selection.empty"


class RenderRefused(CardgenError):
    """A card cannot be drawn correctly (e.g. a character no font has); nothing is written."""

    code = "render.refused"
