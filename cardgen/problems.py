"""Problems as programs read them: the one writer of problem JSON (docs/cli.md, docs/book.md).

Two lists are documented. A register's problems (`validate --format json`, the desk's
answers) each name their cell: severity, code, file, sheet, row, column, field, value and
message. A book record's contradictions (`book check --format json`) each name their grid,
households and numbers. A report is `ok` (no error among its problems), its own fields, then
every problem. A command that stops before it has anything to report (a file or folder that
cannot be read, a wrong option once `--format json` is given) answers with the same report,
empty, holding that one problem: a program always reads the shape it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cardgen.errors import BookProblem, Problem, Severity


def problem_data(problem: Problem) -> dict[str, object]:
    """A register's problem: where it is as a spreadsheet shows it, what it is, in words."""
    return {
        "severity": problem.severity.value,
        "code": problem.code,
        "source": problem.source or None,
        "sheet": problem.sheet,
        "row": problem.row,
        "column": problem.column,
        "field": problem.field,
        "value": problem.value,
        "message": problem.text,
    }


def book_problem_data(problem: BookProblem) -> dict[str, object]:
    """A contradiction in a book's record: its grid's book, who and which numbers."""
    return {"code": problem.code, "grid": problem.group, "households": list(problem.households),
            "numbers": list(problem.numbers), "message": problem.message}


def report(fields: Mapping[str, object],
           problems: Sequence[Problem] | Sequence[BookProblem]) -> dict[str, object]:
    """`ok`, then `fields`, then every problem (a book's contradictions are all errors)."""
    return {"ok": not any(isinstance(p, BookProblem) or p.severity is Severity.ERROR
                          for p in problems),
            **fields,
            "problems": [book_problem_data(p) if isinstance(p, BookProblem) else problem_data(p)
                         for p in problems]}


def register_report(problems: Sequence[Problem], households: int,
                    members: int) -> dict[str, object]:
    """`validate --format json` (its `explained` is added by the command): the counts read
    and every problem."""
    return report({"households": households, "members": members}, problems)


def register_failure(code: str, message: str, source: str | None) -> dict[str, object]:
    """The register report of a command that stopped before reading (`source` could not be
    read, or a wrong option: `usage`): nothing counted, the one problem."""
    return register_report([Problem(Severity.ERROR, source or "", None, None, None, None,
                                    message, code=code)], 0, 0)


def book_failure(code: str, message: str, folder: str | None) -> dict[str, object]:
    """The `book check --format json` report of a check that stopped before reading (the
    folder holds no record, or a wrong option: `usage`): no book, the one problem."""
    return report({"folder": folder, "format": None, "last_update": None, "grids": []},
                  [BookProblem(code, "", message)])
