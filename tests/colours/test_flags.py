"""Flags by meaning: qualifiers, grades, marginal statuses, words that read like a red
sub-type — and no sensitive flag in any output, however it was written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardgen.config import Config
from cardgen.data.flags import read_flag, shown_flag, shown_written, split_flags
from tests.conftest import DATE, household_rows, pdftotext, write_csv


@pytest.mark.parametrize(("written", "flag", "how"), [
    ("低保", "低保", "alias"),
    ("低保户（A类）", "低保", "qualified"),
    ("低保户(B类)", "低保", "qualified"),
    ("低保A类", "低保", "graded"),
    ("残疾人（二级肢体）", "残疾", "qualified"),
    ("残疾人（二级，肢体）", "残疾", "qualified"),
    ("残疾人二级", "残疾", "graded"),
    ("精神残疾", "残疾", "alias"),
    ("精神残疾三级", "残疾", "graded"),
    ("精神二级残疾", "残疾", "words"),
    ("低保边缘户", "低保边缘", "alias"),
    ("低保边缘户（A类）", "低保边缘", "qualified"),
    ("精神障碍（精神分裂症）", "精神障碍", "qualified"),
    ("肇事肇祸等严重精神障碍患者", "精神障碍", "alias"),
    ("社区矫正人员(缓刑)", "社区矫正", "qualified"),
    ("刑满释放人员【2023年释放】", "刑满释放", "qualified"),
    ("ＨＩＶ感染者", "艾滋病危险", "alias"),
    ("吸毒史", "重点人员", "words"),
    ("精神分裂症", "重点人员", "words"),
    ("农村留守儿童", "留守儿童", "alias"),
    ("吸毒人员未成年子女", "重点关爱", "words"),
    ("特困供养 人员", "特困", "alias"),
    # drug, AIDS and justice words as offices write them: red, printed as 重点人员
    ("贩毒人员", "重点人员", "words"),
    ("吸贩毒人员", "重点人员", "words"),
    ("AIDS患者", "重点人员", "words"),
    ("两劳人员", "重点人员", "words"),
    ("取保候审", "重点人员", "words"),
    ("重点上访人员", "重点人员", "words"),
    ("社区矫正（已解除）", "社区矫正", "qualified"),
])
def test_written_flags_are_read_by_meaning(config: Config, written: str, flag: str,
                                           how: str) -> None:
    reading = read_flag(written, config)
    assert (reading.flag, reading.known, reading.how) == (flag, True, how)


def test_a_marginal_status_is_never_the_status(config: Config) -> None:
    for written in ("低保边缘对象", "临界低保", "低保监测户", "低保（已退出）", "低保(停保)",
                    "特困供养（已终止）"):
        reading = read_flag(written, config)
        assert reading.flag != "低保", written


def test_a_marginal_word_never_lets_a_red_sub_type_print(config: Config) -> None:
    for written in ("精神障碍监测对象", "刑满释放边缘人员", "吸毒临界"):
        assert shown_flag(read_flag(written, config).flag, config) == "重点人员", written


def test_an_unknown_flag_stays_as_written(config: Config) -> None:
    reading = read_flag("书法协会会员", config)
    assert (reading.flag, reading.known) == ("书法协会会员", False)


def test_brackets_hold_their_separators(config: Config) -> None:
    assert split_flags("残疾人（二级，肢体）、低保户(A类;城市)", config.flags.separators) == \
        ["残疾人（二级，肢体）", "低保户(A类;城市)"]


def test_sensitive_flags_print_as_their_category(config: Config) -> None:
    assert shown_flag("精神障碍", config) == "重点人员"
    assert shown_flag("留守儿童", config) == "重点关爱"
    assert shown_flag("低保", config) == "低保"
    assert shown_written("低保户（A类）、社区矫正人员(缓刑)、吸毒史", config) == \
        "低保户（A类）、重点人员、重点人员"


SENSITIVE = ("精神", "分裂", "矫正", "缓刑", "吸毒", "刑满", "释放", "艾滋", "HIV", "留守",
             "服刑", "子女", "贩毒", "AIDS", "两劳")


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flags")
    rows = []
    cases = {
        "F01": "精神障碍（精神分裂症）", "F02": "残疾人（二级肢体）", "F03": "低保户（A类）",
        "F04": "社区矫正人员(缓刑)、精神残疾", "F05": "低保边缘户", "F06": "吸毒史",
        "F07": "农村留守儿童", "F08": "ＨＩＶ感染者", "F09": "服刑人员子女",
        "F10": "贩毒人员", "F11": "AIDS患者", "F12": "两劳人员", "F13": "低保（已退出）",
    }
    for number, (hid, flags) in enumerate(cases.items()):
        first, second = household_rows(hid, 地址=f"阳光花园{number + 1}号楼", 特殊情况=flags)
        rows += [first, {**second, "身份证号": ""}]
    return write_csv(folder / "flags.csv", rows)


def test_qualified_and_sensitive_flags_get_the_right_colours(register: Path, run) -> None:  # type: ignore[no-untyped-def]
    result = run("validate", register, "--explain", "--date", DATE)
    colours = {line.split("\t")[0]: line.split("\t")[3]
               for line in result.output.splitlines()
               if "\t" in line and not line.startswith("household\t")}
    assert colours == {"F01": "red", "F02": "orange", "F03": "orange", "F04": "red",
                       "F05": "yellow", "F06": "red", "F07": "orange", "F08": "red",
                       "F09": "orange", "F10": "red", "F11": "red", "F12": "red",
                       "F13": "yellow"}


def test_no_sensitive_word_in_any_output(register: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    said = []
    result = run("validate", register, "--explain", "--date", DATE)
    said.append(result.output)
    result = run("validate", register, "--format", "json", "--date", DATE)
    said.append(result.output)
    assert json.loads(result.output)["ok"] is True
    cards = tmp_path / "cards.pdf"
    result = run("reprint", register, "-o", cards, "--date", DATE)
    assert result.exit_code == 0, result.output
    said += [result.output, pdftotext(cards)]
    books = tmp_path / "books"
    result = run("ledger", register, "-o", books, "--date", DATE, "--jobs", "1")
    assert result.exit_code == 0, result.output
    said.append(result.output)
    said += [pdftotext(pdf) for pdf in books.glob("*.pdf")]
    said += [path.name for path in books.iterdir()]
    said.append((books / "manifest.json").read_text(encoding="utf-8"))
    labels = tmp_path / "labels.pdf"
    result = run("stickers", register, "-o", labels, "--date", DATE)
    assert result.exit_code == 0, result.output
    said += [result.output, pdftotext(labels)]
    text = "\n".join(said)
    found = [word for word in SENSITIVE if word in text]
    assert found == [], found
    assert "重点人员" in text and "重点关爱" in text


def test_privacy_can_allow_sub_types_but_never_the_qualifier(register: Path, run,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    settings = tmp_path / "allow.toml"
    settings.write_text("[privacy]\nred_subtype = true\n", encoding="utf-8")
    cards = tmp_path / "cards.pdf"
    result = run("reprint", register, "-o", cards, "--household", "F01", "--config",
                 settings, "--date", DATE)
    assert result.exit_code == 0, result.output
    text = pdftotext(cards)
    assert "精神障碍" in text
    assert "分裂" not in text
