"""Domain exceptions. The core raises these; only the CLI turns them into exit statuses."""

from __future__ import annotations

from cardgen.model import Problem


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
