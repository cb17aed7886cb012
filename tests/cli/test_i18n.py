"""Language: Simplified Chinese by default, English on request, one catalogue for every word
(Click's included), cells named as a spreadsheet user sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardgen.cli import cli
from cardgen.errors import cell_place, column_letter
from cardgen.i18n import language_from, set_language
from tests.conftest import DATE, WRONG_CHECK_ID, household_rows, write_csv
from tools.i18n import placeholders, problems

NO_LANGUAGE = {"CARDGEN_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"}


def invoke(*args: str | Path, **env: str | None) -> Result:
    return CliRunner(env={**NO_LANGUAGE, **env}).invoke(cli, [str(a) for a in args],
                                                        catch_exceptions=False)


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    assert problems() == []


def test_placeholders_are_compared_by_name_and_format() -> None:
    assert placeholders("{count} 户，{seconds:.1f} 秒 %(prog)s") == \
        {"{count}", "{seconds:.1f}", "%(prog)s"}
    assert placeholders("{value!r} 不对") == {"{value!r}"}


@pytest.mark.parametrize(("environ", "asked", "expected"), [
    ({}, None, "zh"),
    ({"LANG": "C.UTF-8"}, None, "zh"),
    ({"LANG": "zh_CN.UTF-8"}, None, "zh"),
    ({"LANG": "en_US.UTF-8"}, None, "en"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, None, "zh"),
    ({"CARDGEN_LANG": "en", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"CARDGEN_LANG": "en"}, "zh", "zh"),
])
def test_the_language_comes_from_the_option_the_variable_or_the_locale(
        environ: dict[str, str], asked: str | None, expected: str) -> None:
    assert language_from(environ, asked) == expected


def test_help_is_chinese_by_default() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "用法：" in result.output and "选项" in result.output
    assert "由住户登记表生成五色户卡" in result.output
    assert "Usage:" not in result.output
    command = invoke("ledger", "--help")
    assert "打印装订台账" in command.output and "存放台账 PDF 的文件夹" in command.output
    assert "输入文件" in command.output  # the argument's name in the usage line


def test_help_is_english_on_request() -> None:
    for result in (invoke("--lang", "en", "--help"), invoke("--help", CARDGEN_LANG="en"),
                   invoke("ledger", "--lang", "en", "--help"),
                   invoke("--help", LANG="en_US.UTF-8")):
        assert result.exit_code == 0
        assert "Usage:" in result.output and "用法" not in result.output


def test_clicks_own_usage_errors_are_chinese() -> None:
    result = invoke("reprint")
    assert result.exit_code == 2
    assert "错误：缺少参数" in result.output and "输入文件" in result.output
    result = invoke("validate", "x.csv", "--format", "yaml")
    assert result.exit_code == 2 and "不是可选值之一" in result.output
    result = invoke("validate", "x.csv", "--no-such-option")
    assert result.exit_code == 2 and "没有 '--no-such-option' 这个选项" in result.output


def test_a_problem_names_its_cell_and_says_it_in_chinese(tmp_path: Path) -> None:
    rows = household_rows(身份证号=WRONG_CHECK_ID)
    path = write_csv(tmp_path / "h.csv", rows)
    result = invoke("validate", path, "--date", DATE)
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if line.startswith("错误"))
    assert "H2（身份证号）「**************009X」：" in line
    assert "户，" in result.output.splitlines()[-1]


def test_cells_are_named_as_spreadsheets_show_them() -> None:
    assert [column_letter(i) for i in (0, 5, 25, 26, 27, 701, 702)] == \
        ["A", "F", "Z", "AA", "AB", "ZZ", "AAA"]
    set_language("zh")
    try:
        assert cell_place("第一网格", "F", 12, "手机号") == "第一网格!F12（手机号）"
        assert cell_place(None, "F", 12, "手机号", hidden_column=True) == "F12（手机号，隐藏列）"
        assert cell_place("第一网格", None, 12, None) == "第一网格!第 12 行"
        set_language("en")
        assert cell_place("第一网格", "F", 12, "手机号") == "第一网格!F12 (手机号)"
        assert cell_place(None, None, 3, None, hidden_row=True) == "row 3 (hidden row)"
    finally:
        set_language("en")


def test_an_installed_cardgen_carries_the_compiled_catalogue(tmp_path: Path) -> None:
    """setup.py compiles the .po into the built package: a pip install speaks Chinese; and
    every package of the source is in it (a package missing from pyproject's list ran from
    the checkout but not once installed: `cardgen demo` failed on a fresh machine)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(Path(__file__).parents[2])],
                   check=True, capture_output=True)
    import zipfile

    [wheel] = tmp_path.glob("cardgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cardgen/locale/zh_CN/LC_MESSAGES/cardgen.mo" in names
    source = Path(__file__).parents[2] / "cardgen"
    packages = sorted(str(init.relative_to(source.parent)) for init in source.rglob("__init__.py"))
    assert [name for name in packages if name not in names] == []


def test_init_writes_the_config_commented_in_the_users_language(tmp_path: Path) -> None:
    import tomllib

    from cardgen.config import DEFAULTS_PATH, load_config

    result = invoke("init", tmp_path / "zh")
    assert result.exit_code == 0 and "下一步" in result.output
    written = (tmp_path / "zh" / "cardgen.toml").read_text(encoding="utf-8")
    assert "# cardgen 配置——全部默认值，逐项写明。" in written
    assert "file_mb = 100             # 一个输入文件" in written
    assert "every default, spelled out" not in written
    defaults = DEFAULTS_PATH.read_text(encoding="utf-8")
    assert tomllib.loads(written) == tomllib.loads(defaults)  # the values are untouched
    assert load_config(tmp_path / "zh" / "cardgen.toml").fingerprint == \
        load_config(DEFAULTS_PATH).fingerprint
    result = invoke("init", tmp_path / "en", "--lang", "en")
    assert result.exit_code == 0
    assert (tmp_path / "en" / "cardgen.toml").read_text(encoding="utf-8") == defaults


@pytest.mark.parametrize(("written", "said"), [
    ('[palette.red]\nhex = "#12"\n',
     'cfg.toml：设置项 palette.red.hex 应是 #2E9E4F 这样的颜色，而不是 "#12"；请用记事本打开'),
    ('[card]\nnotes_lines = "五"\n',
     'cfg.toml：设置项 card.notes_lines 应是不小于 1 的数字，而不是 "五"'),
    ('[card\nnotes_lines = 5\n', "cfg.toml 第 1 行第 6 列写法有误"),
    ('[cards]\nnotes_lines = 5\n', "cfg.toml：没有 cards 这个设置项，请检查拼写"),
    ('[duplex]\nverso = "空白"\n', '设置项 duplex.verso 应是 visits, blank 之一，而不是 "空白"'),
])
def test_a_wrong_config_file_is_explained_in_chinese(tmp_path: Path, written: str,
                                                     said: str) -> None:
    """The person editing cardgen.toml in Notepad reads the file, the line or the setting,
    what it should be and what they wrote, as written in the file; no English, no traceback."""
    config = tmp_path / "cfg.toml"
    config.write_text(written, encoding="utf-8")
    source = write_csv(tmp_path / "h.csv", household_rows())
    result = invoke("validate", source, "--config", config, "--date", DATE)
    assert result.exit_code == 2, result.output
    assert said in result.output, result.output
    assert "must" not in result.output and "Traceback" not in result.output
    english = invoke("validate", source, "--config", config, "--lang", "en")
    assert english.exit_code == 2 and "cfg.toml" in english.output
    assert "设置项" not in english.output and "写法" not in english.output, english.output
    assert any(word in english.output for word in ("setting", "line")), english.output


def test_clicks_own_words_read_as_chinese_sentences() -> None:
    """No strptime pattern and no ASCII full stop in what a grid worker reads."""
    result = invoke("validate", "x.csv", "--date", "2024-13-01")
    assert result.exit_code == 2
    assert "“2024-13-01”不是有效的日期；请写成 年-月-日，例如 2026-11-30" in result.output
    assert "%Y" not in result.output
    result = invoke("validate")
    assert result.exit_code == 2 and "错误：缺少参数 '输入文件'。" in result.output


@pytest.mark.parametrize("args", [["x.csv", "--nope"], ["x.csv", "--date", "bad"], []])
def test_a_program_that_asks_for_json_gets_json_even_for_usage_errors(args: list[str]) -> None:
    result = invoke("validate", "--format", "json", *args)
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["ok"] is False and report["problems"][0]["code"] == "usage"
