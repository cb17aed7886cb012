"""Problem JSON (docs/cli.md, docs/book.md): a command that stops before it has anything to
report answers a program with its own report's shape, holding the one problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from cardgen.errors import BookProblem, Problem, Severity
from cardgen.problems import book_failure, register_report, report

Run = Callable[..., Result]
BOOK_PROBLEM = {"code", "grid", "households", "numbers", "message"}


def test_book_check_answers_a_wrong_option_with_a_book_report(run: Run, tmp_path: Path) -> None:
    result = run("book", "check", tmp_path, "--format", "json", "--nope")
    assert result.exit_code == 2
    answer = json.loads(result.output)
    assert list(answer) == ["ok", "folder", "format", "last_update", "grids", "problems"]
    [problem] = answer["problems"]
    assert answer["ok"] is False and set(problem) == BOOK_PROBLEM and problem["code"] == "usage"
    assert "--nope" in problem["message"]


def test_book_check_of_a_folder_without_a_record_has_every_field(run: Run,
                                                                tmp_path: Path) -> None:
    result = run("book", "check", tmp_path / "nothing", "--format", "json")
    assert result.exit_code == 2
    answer = json.loads(result.output)
    assert answer == book_failure("book.missing", answer["problems"][0]["message"],
                                  str(tmp_path / "nothing"))
    assert answer["format"] is None and answer["last_update"] is None and answer["grids"] == []


def test_a_report_is_ok_without_errors_and_lists_problems_in_their_shape() -> None:
    warning = Problem(Severity.WARNING, "r.csv", 3, "F", "phone", "12", "too short",
                      code="phone.short", sheet=None, where="F3")
    assert register_report([warning], 1, 2) == {
        "ok": True, "households": 1, "members": 2, "problems": [{
            "severity": "warning", "code": "phone.short", "source": "r.csv", "sheet": None,
            "row": 3, "column": "F", "field": "phone", "value": "12",
            "message": "F3: too short"}]}
    contradiction = BookProblem("book.total", "第1网格", "the record says 3", ("A1",), ("001",))
    assert report({"folder": "台账"}, [contradiction]) == {
        "ok": False, "folder": "台账", "problems": [{
            "code": "book.total", "grid": "第1网格", "households": ["A1"], "numbers": ["001"],
            "message": "the record says 3"}]}
