"""A reprint of one household and the rest of the register: which problems elsewhere stop
it (a rule that looks across households and finds the printed one wrong, an error of the
file itself), and which do not (another household's own errors: a count, docs/cli.md).
Whoever makes a reprint validate less than the whole register keeps these answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.conftest import DATE, VALID_ID, household_rows, write_csv

Run = Callable[..., Result]
# 18-digit ID numbers with a right check digit that end in 000, as a column once stored as
# numbers leaves them (Excel keeps 15 digits): two in a dozen are more than chance gives
ENDS_IN_000 = ("360426199008209000", "360426199001218000")


def test_ids_that_lost_their_digits_across_the_column_refuse_the_printed_household(
        run: Run, tmp_path: Path) -> None:
    """The lost-digits rule counts the whole ID column: H1 alone prints; beside H2, whose
    ID also ends in 000, its card would carry a wrong ID number, and the reprint of H1
    refuses it (nothing written)."""
    alone = write_csv(tmp_path / "alone.csv", household_rows("H1", 身份证号=ENDS_IN_000[0]))
    out = tmp_path / "x.pdf"
    assert run("reprint", alone, "-o", out, "--household", "H1", "--date", DATE).exit_code == 0
    out.unlink()
    register = write_csv(tmp_path / "register.csv", [
        *household_rows("H1", 身份证号=ENDS_IN_000[0]),
        *household_rows("H2", 身份证号=ENDS_IN_000[1], 地址="阳光花园3号楼1单元101"),
        *household_rows("H3", 身份证号=VALID_ID, 地址="阳光花园4号楼1单元101")])
    result = run("reprint", register, "-o", out, "--household", "H1", "--date", DATE)
    assert result.exit_code == 1, result.output
    assert "1 selected household has errors; nothing was written" in result.output
    assert "ends in 000, as too many ID numbers of this column do" in result.output
    assert not out.exists()


def test_a_person_in_two_households_is_said_on_the_later_households_reprint(
        run: Run, tmp_path: Path) -> None:
    """The same ID number in H1 and H2 (no 一人多套房): a warning on H2's reprint, which
    names H1; H1's own reprint has nothing to say of it."""
    register = write_csv(tmp_path / "register.csv", [
        *household_rows("H1"), *household_rows("H2", 地址="阳光花园3号楼1单元101")])
    said = "the same person is also in household H1"
    later = run("reprint", register, "-o", tmp_path / "h2.pdf", "--household", "H2",
                "--date", DATE)
    assert later.exit_code == 0 and said in later.output
    first = run("reprint", register, "-o", tmp_path / "h1.pdf", "--household", "H1",
                "--date", DATE)
    assert first.exit_code == 0 and "the same person is also" not in first.output


def test_a_row_with_no_household_number_refuses_every_reprint(run: Run, tmp_path: Path) -> None:
    """A row without 户编号 (the first: none above it to repeat) belongs to no household,
    so any household could be missing a member: an error of the file itself, which stops
    a reprint of H1 too."""
    stray = {**household_rows("H2")[1], "户编号": "", "姓名": "王芳", "身份证号": ""}
    register = write_csv(tmp_path / "register.csv", [stray, *household_rows("H1")])
    out = tmp_path / "x.pdf"
    result = run("reprint", register, "-o", out, "--household", "H1", "--date", DATE)
    assert result.exit_code == 1, result.output
    assert "the file itself has errors (not one household's)" in result.output
    assert "has no household number" in result.output
    assert not out.exists()
