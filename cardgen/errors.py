"""Problems and exceptions. The core collects problems as data and raises these exceptions;
only the CLI (and the web layer) turn them into exit statuses and messages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the input: where it is, what it is, and what would fix it.

    `value` is already masked where the field holds personal data.
    """

    severity: Severity
    source: str
    row: int | None
    column: str | None
    field: str | None
    value: str | None
    message: str
    household_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "source": self.source,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "value": self.value,
            "message": self.message,
        }


class CardgenError(Exception):
    """A problem the user can fix. `exit_code` follows the CLI contract (DOMAIN §6)."""

    exit_code = 1


class UsageError(CardgenError):
    """The command was asked for something it cannot do (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file is unreadable or has a wrong setting; the message names both."""


class InputError(CardgenError):
    """An input file cannot be read at all (missing, not a spreadsheet, wrong shape)."""


class DataRefused(CardgenError):
    """The data has errors where they block the output; the problems say where."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


class NothingSelected(CardgenError):
    """The selection matched no household."""


class RenderRefused(CardgenError):
    """A card cannot be drawn correctly (e.g. a character no font has); nothing is written."""
