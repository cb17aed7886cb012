"""Line breaking as a reader checks it: 禁则 (GB/T 15834, CLREQ) at every width, in the
typesetter and on a printed card."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cardgen.config import Config
from cardgen.layout.fonts import font_set
from cardgen.layout.typeset import Typesetter
from tests.card.test_fit import words
from tests.conftest import DATE, household_rows, write_csv

Run = Callable[..., Result]

NOTES = ("腿脚不便（需上门）〔2024〕年起低保，约50％～60％由［民政］承担；《通知》见“附件”"
         "〖急〗。其子（在外务工）每月寄回30%，医保报销约70％～80％（门诊）。")
# the lists: none of these may start a line, none of these may end one
NEVER_FIRST = "〕］％～）。，、；：？！”」》】〗%"
NEVER_LAST = "〔［〖（《“「【"


@pytest.fixture(scope="module")
def typesetter() -> Typesetter:
    from cardgen.config import load_config

    return Typesetter(font_set(load_config()))


@pytest.mark.parametrize("text", [NOTES, NOTES.replace("％", "%") * 2,
                                  "〔2024〕15号文件（试行）" * 6, "约50％～60％" * 8])
def test_no_line_starts_or_ends_with_a_forbidden_mark(typesetter: Typesetter,
                                                      text: str) -> None:
    for tenths in range(25, 200, 3):  # 2.5 to 20 ems wide
        width = tenths / 10
        lines = [line.text for line in typesetter.lines(text, width)]
        assert "".join(lines) == text, width  # nothing lost or doubled
        for index, line in enumerate(lines):
            assert line, (width, lines)
            if index:
                assert line[0] not in NEVER_FIRST, (width, lines[index - 1], line)
            if index < len(lines) - 1:
                assert line[-1] not in NEVER_LAST, (width, line, lines[index + 1])
            # a unit wider than the line is cut; a mark that may not start the next line
            # hangs past the end of this one (CLREQ 行末悬挂), nothing else does
            body = line.rstrip(NEVER_FIRST + "…—")
            if len(body) > 1:
                assert typesetter.width(body[:-1]) <= width + 1e-9, (width, line)


def test_latin_words_and_numbers_stay_whole(typesetter: Typesetter) -> None:
    lines = [line.text for line in typesetter.lines("电话 13812345678 或 0472-1234567", 9)]
    assert any("13812345678" in line for line in lines), lines
    assert any(line.endswith("0472-1234567") for line in lines), lines


def test_printed_notes_keep_the_rules(run: Run, tmp_path: Path, config: Config) -> None:
    rows = household_rows()
    rows[0]["备注"] = NOTES
    source = write_csv(tmp_path / "n.csv", rows,
                       header=[*rows[0].keys()])
    out = tmp_path / "n.pdf"
    for paper in ("A4", "A5"):
        result = run("reprint", source, "-o", out, "--date", DATE, "--paper", paper)
        assert result.exit_code == 0, result.output
        [page] = words(out)
        lines: dict[float, str] = {}
        for word in page:
            if word.text.startswith("备注：") or any(c in word.text for c in "〔％～〖"):
                lines[round(word.top)] = lines.get(round(word.top), "") + word.text
        printed = [lines[top] for top in sorted(lines)]
        assert len(printed) >= 2 and "".join(printed) == "备注：" + NOTES, printed
        for line in printed[1:]:
            assert line[0] not in NEVER_FIRST, printed
        for line in printed[:-1]:
            assert line[-1] not in NEVER_LAST, printed


def test_the_memos_keep_no_more_than_their_bound() -> None:
    """A worker typesets thousands of households' own texts, each met once: its memos of
    widths and lines start again past KEPT texts (issue 26's peak memory), and give the
    same answers after."""
    from cardgen.config import load_config
    from cardgen.layout.typeset import KEPT

    typesetter = Typesetter(font_set(load_config()))
    first = typesetter.lines("张秀英", 3.0), typesetter.line("张秀英"), typesetter.width("张秀英")
    for number in range(KEPT + 10):
        text = f"阳光花园{number}号楼"
        typesetter.lines(text, 5.0)
        typesetter.line(text)
        typesetter.width(text)
    memos = [typesetter._lines, *typesetter._one_line.values(), *typesetter._widths.values()]
    assert max(len(memo) for memo in memos) <= KEPT + 1
    assert (typesetter.lines("张秀英", 3.0), typesetter.line("张秀英"),
            typesetter.width("张秀英")) == first


@pytest.mark.parametrize("text", ["张秀英", "G01-0001 户", "阿卜杜热合曼·买买提", "𠮷a", "aa",
                                  "", "长长长"])
def test_a_run_made_fast_is_the_run_its_dataclass_makes(typesetter: Typesetter,
                                                        text: str) -> None:
    """_make_run fills a Run's fields itself (not through its frozen __init__ and
    __post_init__, for speed): every field, the derived ones too, as Run(...) makes them."""
    from dataclasses import fields

    from cardgen.layout.typeset import Run

    for bold in (False, True):
        line = typesetter.line(text, bold)
        assert line.width == sum(run.width for run in line.runs)
        assert "".join(run.text for run in line.runs) == text
        for run in line.runs:
            made = Run(run.face, run.glyphs, run.text, run.width)
            for field in fields(Run):
                assert getattr(run, field.name) == getattr(made, field.name), field.name
            assert run == made and hash(run) == hash(made)
