"""Reading real spreadsheets and validating them: every problem at once, with its place."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from click.testing import Result

from cardgen.config import Config
from cardgen.data.model import Household
from cardgen.pipeline.register import load
from tests.conftest import (
    DATE,
    FEMALE_ID,
    HEADER,
    IMPOSSIBLE_DATE_ID,
    TODAY,
    VALID_ID,
    WRONG_CHECK_ID,
    household_rows,
    write_csv,
)

Run = Callable[..., Result]


def validate_json(run: Run, path: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = run("validate", path, "--format", "json", "--date", DATE, *extra)
    return result.exit_code, json.loads(result.output)


def test_gb18030_csv_with_padded_headers_is_read(tmp_path: Path, config: Config) -> None:
    header = [f"  {h} " for h in HEADER]
    rows = [{f"  {k} ": v for k, v in row.items()} for row in household_rows()]
    path = write_csv(tmp_path / "wps.csv", rows, header=header, encoding="gb18030")
    loaded = load(path, config, TODAY)
    assert not loaded.dataset.problems
    [household] = loaded.dataset.households
    assert household.community == "恒安社区"
    assert [m.name for m in household.members] == ["张秀英", "李明"]


@pytest.mark.parametrize("bom", [False, True])
def test_utf8_csv_with_or_without_bom(tmp_path: Path, config: Config, bom: bool) -> None:
    path = write_csv(tmp_path / "x.csv", household_rows(), bom=bom)
    loaded = load(path, config, TODAY)
    assert loaded.dataset.households[0].household_id == "H001"
    assert not loaded.dataset.problems


def test_format_is_told_by_content_not_by_name(tmp_path: Path, config: Config) -> None:
    path = write_csv(tmp_path / "records.xlsx", household_rows(), encoding="gb18030")
    loaded = load(path, config, TODAY)
    assert loaded.dataset.households[0].members[0].name == "张秀英"


def test_english_headers_in_any_case(tmp_path: Path, config: Config) -> None:
    header = ["Household_ID", " NAME ", "id_number", "Flags"]
    rows = [{"Household_ID": "E1", " NAME ": "Li Lei", "id_number": VALID_ID, "Flags": "党员"}]
    loaded = load(write_csv(tmp_path / "en.csv", rows, header=header), config, TODAY)
    [member] = loaded.dataset.households[0].members
    assert (member.name, member.flags) == ("Li Lei", ("党员",))


def _xlsx(path: Path, rows: list[list[object]], sheet: str = "Sheet1",
          extra_sheet: str | None = None) -> Path:
    book = openpyxl.Workbook()
    active = book.active
    assert active is not None
    if extra_sheet:
        active.title = extra_sheet
        active.append(["nothing", "here"])
        active = book.create_sheet(sheet)
    else:
        active.title = sheet
    for row in rows:
        active.append(row)
    book.save(path)
    return path


def test_xlsx_ids_stored_as_numbers_are_an_error_saying_format_as_text(
        tmp_path: Path, run: Run) -> None:
    path = _xlsx(tmp_path / "numbers.xlsx", [
        ["户编号", "姓名", "身份证号"],
        ["H1", "王芳", 360426199101010071],  # Excel keeps 15 significant digits
        ["H2", "李强", VALID_ID],
    ])
    code, report = validate_json(run, path)
    assert code == 1
    [problem] = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["row"] == 2
    assert problem["column"] == "身份证号"
    assert "format the column as text" in problem["message"]


def test_xlsx_sheet_by_name_and_unknown_sheet_is_usage_error(tmp_path: Path, run: Run) -> None:
    path = _xlsx(tmp_path / "two.xlsx", [["户编号", "姓名"], ["H1", "王芳"]], sheet="户卡",
                 extra_sheet="说明")
    assert validate_json(run, path, "--sheet-name", "户卡")[1]["households"] == 1
    result = run("validate", path, "--sheet-name", "没有")
    assert result.exit_code == 2
    assert "“户卡”" in result.output and "“说明”" in result.output
    as_json = run("validate", path, "--sheet-name", "没有", "--format", "json")
    assert as_json.exit_code == 2  # a usage error, yet the program reading it gets JSON
    [problem] = json.loads(as_json.output)["problems"]
    assert problem["code"] == "usage.no_sheet" and "“户卡”" in problem["message"]


def test_json_input_of_households_with_members(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps([
        {"户编号": "J1", "地址": "一号院", "members": [
            {"姓名": "王芳", "身份证号": FEMALE_ID}, {"name": "李强", "relation": "02"}]},
        {"household_id": "J2", "housing": "空置", "members": []},
    ], ensure_ascii=False), encoding="utf-8")
    code, report = validate_json(run, path)
    assert (code, report["households"], report["members"]) == (0, 2, 2)


def test_a_json_value_of_the_wrong_type_stops_its_household(tmp_path: Path,
                                                            run: Run) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps([
        {"户编号": "J1", "地址": "一号院", "members": [{"姓名": "王芳", "备注": ["a", "b"]}]},
        {"户编号": "J2", "地址": "二号院", "members": [{"姓名": "李强"}]},
    ], ensure_ascii=False), encoding="utf-8")
    code, report = validate_json(run, path)
    [problem] = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["column"] == "[0].members[0].备注"
    result = run("reprint", path, "-o", tmp_path / "all.pdf", "--date", DATE)
    assert result.exit_code == 1 and "1 selected household has errors" in result.output
    assert not (tmp_path / "all.pdf").exists()
    result = run("reprint", path, "--household", "J2", "-o", tmp_path / "j2.pdf",
                 "--date", DATE)
    assert result.exit_code == 0, result.output


def test_an_error_of_the_whole_file_stops_every_card(tmp_path: Path, run: Run) -> None:
    rows = [{**row, "住址": row["地址"]} for row in household_rows("H1")]
    path = write_csv(tmp_path / "twice.csv", rows, header=[*HEADER, "住址"])
    assert run("validate", path).exit_code == 1
    for command in (["reprint", path, "-o", tmp_path / "x.pdf"],
                    ["ledger", path, "-o", tmp_path / "books", "--skip-invalid"]):
        result = run(*command, "--date", DATE)
        assert result.exit_code == 1, result.output
        assert "the file itself has errors" in result.output and "住址" in result.output
    assert not (tmp_path / "x.pdf").exists() and not (tmp_path / "books").exists()


def test_a_file_without_records_says_so(tmp_path: Path, run: Run) -> None:
    path = write_csv(tmp_path / "empty.csv", [])
    result = run("reprint", path, "-o", tmp_path / "x.pdf", "--date", DATE)
    assert result.exit_code == 1 and "no household records" in result.output


def test_every_problem_is_reported_at_once_with_its_place(tmp_path: Path, run: Run) -> None:
    rows = [
        *household_rows("H1"),
        {**household_rows("H2")[0], "身份证号": WRONG_CHECK_ID},
        {**household_rows("H3")[0], "身份证号": IMPOSSIBLE_DATE_ID, "户卡颜色": "紫"},
        {**household_rows("H4")[0], "户编号": ""},
        {**household_rows("H1")[1], "地址": "别的地址"},
    ]
    header = [*HEADER, "奇怪的列"]
    path = write_csv(tmp_path / "bad.csv", rows, header=header)
    code, report = validate_json(run, path)
    assert code == 1
    assert report["ok"] is False
    problems = {(p["row"], p["field"]): p for p in report["problems"]}
    assert "check digit" in problems[(4, "id_number")]["message"]
    assert problems[(4, "id_number")]["value"] == "**************009X"
    assert "impossible birth date" in problems[(5, "id_number")]["message"]
    assert "no colour" in problems[(5, "colour")]["message"]
    assert problems[(5, "colour")]["value"] == "紫"
    assert "no household number" in problems[(6, "household_id")]["message"]
    assert "one household has one address" in problems[(7, "address")]["message"]
    unknown = [p for p in report["problems"] if p["column"] == "奇怪的列"]
    assert unknown[0]["severity"] == "warning" and unknown[0]["row"] == 1
    assert set(report) == {"ok", "households", "members", "problems"}
    for problem in report["problems"]:
        assert set(problem) == {"severity", "code", "source", "sheet", "row", "column", "field",
                                "value",
                                "message"}
        assert problem["source"] == str(path)


def test_ids_in_problems_are_masked_everywhere(tmp_path: Path, run: Run) -> None:
    rows = [{**household_rows("H1")[0], "身份证号": WRONG_CHECK_ID, "性别": "女"}]
    path = write_csv(tmp_path / "mask.csv", rows)
    for output_format in ("json", "text"):
        result = run("validate", path, "--format", output_format, "--date", DATE)
        assert WRONG_CHECK_ID not in result.output
        assert "**************009X" in result.output


def test_reprint_shows_the_warnings_of_the_printed_household(tmp_path: Path, run: Run) -> None:
    rows = [{**household_rows()[0], "性别": "女"},
            *({**row, "身份证号": ""} for row in household_rows("H002"))]
    path = write_csv(tmp_path / "sex.csv", rows, header=[*HEADER, "性别"])
    result = run("reprint", path, "--household", "H001", "-o", tmp_path / "one.pdf",
                 "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "M2 (性别)" in result.output
    result = run("reprint", path, "--household", "H002", "-o", tmp_path / "two.pdf",
                 "--date", DATE)
    assert result.exit_code == 0 and "warning:" not in result.output, result.output


def test_sex_disagreeing_with_the_id_is_a_warning(tmp_path: Path, run: Run) -> None:
    rows = [{**household_rows()[0], "性别": "女"}]
    path = write_csv(tmp_path / "sex.csv", rows, header=[*HEADER, "性别"])
    code, report = validate_json(run, path)
    assert code == 0
    [warning] = report["problems"]
    assert warning["severity"] == "warning" and warning["field"] == "sex"


def test_legacy_fifteen_digit_id_is_a_warning(tmp_path: Path, run: Run) -> None:
    path = write_csv(tmp_path / "old.csv", [{**household_rows()[0], "身份证号": "110105491231002"}])
    code, report = validate_json(run, path)
    assert code == 0
    assert "15-digit" in report["problems"][0]["message"]


def test_impossible_birth_date_column_is_an_error(tmp_path: Path, run: Run) -> None:
    rows = [{**household_rows()[0], "身份证号": "", "出生日期": "1990-02-30"}]
    path = write_csv(tmp_path / "d.csv", rows, header=[*HEADER, "出生日期"])
    code, report = validate_json(run, path)
    assert code == 1
    assert report["problems"][0]["field"] == "birth_date"


def test_names_keep_the_middle_dot_and_are_limited_to_fifty(tmp_path: Path,
                                                             config: Config) -> None:
    rows = [{**household_rows()[0], "姓名": "阿卜杜热合曼 • 买买提"},
            {**household_rows()[0], "姓名": "长" * 51, "身份证号": ""}]
    loaded = load(write_csv(tmp_path / "n.csv", rows), config, TODAY)
    assert loaded.dataset.households[0].members[0].name == "阿卜杜热合曼·买买提"
    [error] = loaded.dataset.errors
    assert error.field == "name" and "at most 50" in error.message
    assert error.value is not None and "长" * 51 not in error.value


def test_vacant_dwelling_and_nameless_row_with_person_fields(tmp_path: Path,
                                                             config: Config) -> None:
    rows = [{"户编号": "V1", "地址": "一号", "房屋状态": "空置"},
            {"户编号": "V2", "地址": "二号", "房屋状态": "空置", "身份证号": VALID_ID}]
    loaded = load(write_csv(tmp_path / "v.csv", rows), config, TODAY)
    vacant, _broken = loaded.dataset.households
    assert vacant.members == [] and loaded.categories["V1"].key == "green"
    [error] = loaded.dataset.errors
    assert error.household_id == "V2" and "no name" in error.message


def test_unknown_housing_value_lists_the_accepted_ones(tmp_path: Path, config: Config) -> None:
    rows = [{**household_rows()[0], "房屋状态": "别墅"}]
    [error] = load(write_csv(tmp_path / "h.csv", rows), config, TODAY).dataset.errors
    assert "自住" in error.message and "出租" in error.message


def test_missing_household_number_column_is_one_clear_error(tmp_path: Path, run: Run) -> None:
    path = write_csv(tmp_path / "nohid.csv", [{"姓名": "王芳"}], header=["姓名"])
    result = run("validate", path)
    assert result.exit_code == 1
    assert "no household number column" in result.output
    assert "Traceback" not in result.output


def test_missing_and_old_excel_files_are_errors_not_tracebacks(tmp_path: Path,
                                                               run: Run) -> None:
    assert run("validate", tmp_path / "absent.csv").exit_code == 1
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    result = run("validate", xls)
    assert result.exit_code == 1 and "not a readable .xls workbook" in result.output


def test_validate_explain_lists_each_colour_and_why(tmp_path: Path, run: Run) -> None:
    path = write_csv(tmp_path / "x.csv", household_rows())
    result = run("validate", path, "--explain", "--date", DATE)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split("\t") == ["household", "number", "grid", "colour",
                                     "reasons (as on the card)", "visits (as on the card)"]
    assert "\torange\t张秀英 低保\t" in result.output
    assert "\t001\t" in result.output


def test_validate_explain_as_json_carries_the_explanation(tmp_path: Path, run: Run) -> None:
    path = write_csv(tmp_path / "x.csv", household_rows())
    result = run("validate", path, "--explain", "--format", "json", "--date", DATE)
    explained = json.loads(result.output)["explained"]
    assert {"colour": "orange", "reasons": ["张秀英 低保"]}.items() <= explained[0].items()
    assert explained[0]["number"] == "001"


@pytest.mark.parametrize("value", ["²", "٣٣٣٣", "①②", "١٩٩٠-٠١-٠١"])
def test_digits_of_other_kinds_do_not_break_dates_ids_or_addresses(tmp_path: Path,
                                                                   config: Config,
                                                                   value: str) -> None:
    """Found by hypothesis: '²'.isdigit() is true but int('²') fails."""
    rows = [{**household_rows()[0], "出生日期": value, "地址": value, "身份证号": value * 18}]
    loaded = load(write_csv(tmp_path / "d.csv", rows, header=[*HEADER, "出生日期"]), config,
                  TODAY)
    assert "id_number" in {p.field for p in loaded.dataset.errors}  # and nothing crashed


# ---- cells are one line of drawable text -------------------------------------------------

MULTILINE = {"地址": "阳光花园\n2号楼\t1单元\r\n302 ", "社区": "恒安\u2028社区",
             "姓名": "\u200b张秀英\ufeff", "备注": "腿脚不便\r\n\r\n需上门\u2029 (周三)\t"}
ONE_LINE = {"address": "阳光花园 2号楼 1单元 302", "community": "恒安 社区",
            "name": "张秀英", "notes": "腿脚不便 需上门 (周三)"}


def _one_line_values(household: Household) -> dict[str, str]:
    member = household.members[0]
    return {"address": household.address, "community": household.community,
            "name": member.name, "notes": member.notes}


def test_line_breaks_tabs_and_invisible_characters_become_one_space(tmp_path: Path,
                                                                    config: Config) -> None:
    """Excel's Alt+Enter puts line breaks in 地址 and 备注 cells; a tab or a line break
    drawn is a box, or a line hidden under the next row: each run becomes one space,
    invisible format characters go, and none of it is a problem to report."""
    rows = [{**household_rows()[0], **MULTILINE}]
    csv_path = write_csv(tmp_path / "alt-enter.csv", rows, header=[*HEADER, "备注"])
    xlsx_path = _xlsx(tmp_path / "alt-enter.xlsx", [[*HEADER, "备注"],
                                                    [rows[0].get(h, "") for h in
                                                     [*HEADER, "备注"]]])
    json_path = tmp_path / "alt-enter.json"
    json_path.write_text(json.dumps([{"户编号": "H001", "社区": MULTILINE["社区"],
                                      "地址": MULTILINE["地址"], "members": [
                                          {"姓名": MULTILINE["姓名"], "与户主关系": "户主",
                                           "备注": MULTILINE["备注"]}]}],
                                    ensure_ascii=False), encoding="utf-8")
    for path in (csv_path, xlsx_path, json_path):
        loaded = load(path, config, TODAY)
        assert loaded.dataset.problems == [], path.name
        assert _one_line_values(loaded.dataset.households[0]) == ONE_LINE, path.name


def test_bidi_controls_and_nul_like_characters_are_dropped_not_errors(tmp_path: Path,
                                                                      config: Config) -> None:
    rows = [{**household_rows()[0], "社区": "恒安\u202e社区", "姓名": "张\x07三",
             "网格": "\u2066第3网格\u2069"}]
    loaded = load(write_csv(tmp_path / "c.csv", rows), config, TODAY)
    # the control character is a space, and a space inside a Han name is dropped (issue 21)
    assert [p.code for p in loaded.dataset.problems] == ["name.spaces"]
    [household] = loaded.dataset.households
    assert (household.community, household.grid, household.members[0].name) == \
        ("恒安社区", "第3网格", "张三")



def test_a_lone_surrogate_in_json_is_a_character_no_font_has(tmp_path: Path,
                                                             run: Run) -> None:
    """JSON escapes can make a lone surrogate, which no output can encode: it becomes
    U+FFFD, so validate names it instead of failing to print its message."""
    path = tmp_path / "surrogate.json"
    path.write_text('[{"户编号": "S1", "x\\udc00": 1, "members": [{"姓名": "王芳", '
                    '"与户主关系": "户主", "特殊情况": "x\\ud800"}]}]', encoding="utf-8")
    for output_format in ("text", "json"):
        result = run("validate", path, "--format", output_format, "--date", DATE)
        assert result.exit_code == 1 and "internal error" not in result.output
        assert "flags has '\ufffd' (U+FFFD)" in result.output

# ---- what blocks printing is an error of validate ----------------------------------------

RARE = "\U0002A6A5"  # 𪚥: in no bundled font


def test_validate_reports_a_character_no_font_has_at_its_cell(tmp_path: Path,
                                                              run: Run) -> None:
    """`reprint` refuses a character no configured font has; `validate` must say so first,
    with the same message, and point at the cell."""
    rows = [{**household_rows(姓名="王" + RARE)[0], "备注": "住" + RARE + "家"},
            household_rows()[1],
            {"户编号": "H002", "小区": "阳光花园" + RARE, "楼栋": "2", "房屋状态": "空置"}]
    path = write_csv(tmp_path / "rare.csv", rows, header=[*HEADER, "备注", "小区", "楼栋"])
    code, report = validate_json(run, path)
    assert (code, report["ok"]) == (1, False)
    errors = {(p["row"], p["column"]): p for p in report["problems"]}
    assert set(errors) == {(2, "姓名"), (2, "备注"), (4, "小区")}
    name = errors[(2, "姓名")]
    assert (name["severity"], name["field"], name["value"]) == ("error", "name", "王𪚥")
    assert "household H001: name has" in name["message"] and "U+2A6A5" in name["message"]
    assert errors[(2, "备注")]["field"] == "notes"
    assert errors[(4, "小区")]["field"] == "estate"
    assert "household H002" in errors[(4, "小区")]["message"]

    printed = run("reprint", path, "-o", tmp_path / "rare.pdf", "--household", "H001",
                  "--date", DATE)
    assert printed.exit_code == 1 and not (tmp_path / "rare.pdf").exists()
    assert name["message"].split(": ", 1)[1] in printed.output
    text = run("validate", path, "--date", DATE)
    assert text.exit_code == 1 and "F2 (姓名)" in text.output


def test_json_input_names_the_key_of_a_character_no_font_has(tmp_path: Path,
                                                             run: Run) -> None:
    path = tmp_path / "rare.json"
    path.write_text(json.dumps([{"户编号": "J1", "社区": "恒安" + RARE, "members": [
        {"姓名": "王芳", "与户主关系": "户主"}, {"姓名": "李" + RARE}]}],
        ensure_ascii=False), encoding="utf-8")
    code, report = validate_json(run, path)
    assert code == 1
    errors = [(p["row"], p["column"], p["field"]) for p in report["problems"]
              if p["severity"] == "error"]
    assert errors == [(None, "[0].社区", "community"), (None, "[0].members[1].姓名", "name")]


def test_a_fallback_font_that_has_the_character_makes_it_valid(tmp_path: Path,
                                                               run: Run) -> None:
    font = Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf")
    config = tmp_path / "cardgen.toml"
    config.write_text(f'[fonts]\nfallback = ["{font}"]\n', encoding="utf-8")
    path = write_csv(tmp_path / "rare.csv", [household_rows(姓名="王" + RARE)[0]])
    code, report = validate_json(run, path, "--config", config)
    assert (code, report["ok"]) == (0, True)


# ---- values in problems: empty is empty, flags as written ---------------------------------

def test_an_empty_value_is_reported_empty_not_masked(tmp_path: Path, run: Run) -> None:
    rows = [{**household_rows("H1")[0], "与户主关系": "子"},
            {"户编号": "H2", "地址": "二号", "身份证号": VALID_ID}]
    code, report = validate_json(run, write_csv(tmp_path / "empty.csv", rows))
    assert code == 1
    problems = {(p["row"], p["field"]): p for p in report["problems"]}
    assert "no name" in problems[(3, "name")]["message"]
    assert problems[(3, "name")]["value"] == ""
    assert "no head" in problems[(2, "relation")]["message"]
    assert problems[(2, "relation")]["value"] == ""


def test_an_unknown_flag_is_shown_as_written(tmp_path: Path, run: Run) -> None:
    """Flags are no personal identifiers: the user must see which one is wrong."""
    rows = [{**household_rows()[0], "特殊情况": "低保、自定义标签、残疾"}]
    code, report = validate_json(run, write_csv(tmp_path / "flag.csv", rows))
    assert code == 0
    [warning] = report["problems"]
    assert warning["field"] == "flags" and warning["value"] == "低保、自定义标签、残疾"
    assert "flag 2 ('自定义标签') is no flag cardgen knows" in warning["message"]



def test_a_quoted_flags_cell_hides_red_sub_types_like_the_card(tmp_path: Path,
                                                               run: Run) -> None:
    rows = [{**household_rows()[0], "特殊情况": "自定义标签、社区矫正人员"}]
    path = write_csv(tmp_path / "red.csv", rows)
    [warning] = validate_json(run, path)[1]["problems"]
    assert warning["value"] == "自定义标签、重点人员"
    config = tmp_path / "cardgen.toml"
    config.write_text("[privacy]\nred_subtype = true\n", encoding="utf-8")
    [warning] = validate_json(run, path, "--config", config)[1]["problems"]
    assert warning["value"] == "自定义标签、社区矫正人员"

def test_only_id_numbers_are_masked_other_values_are_shown_as_written(tmp_path: Path,
                                                                     run: Run) -> None:
    """A wrong value is quoted as written (a long one cut short), so the user can find and
    fix it; only an ID number is masked, like on the card (docs/problems.md)."""
    note = "腿脚不便，" * 70
    rows = [{**household_rows()[0], "姓名": "张秀英" + RARE, "联系电话": "138123",
             "身份证号": WRONG_CHECK_ID, "备注": note + RARE}]
    code, report = validate_json(run, write_csv(tmp_path / "masked.csv", rows,
                                                header=[*HEADER, "备注"]))
    assert code == 1
    values = {p["field"]: p["value"] for p in report["problems"]}
    assert values == {"name": "张秀英" + RARE, "phone": "138123",
                      "id_number": "**************009X", "notes": note[:40] + "…"}
    text = run("validate", write_csv(tmp_path / "masked.csv", rows, header=[*HEADER, "备注"]))
    assert WRONG_CHECK_ID not in text.output and "“138123”" in text.output


# ---- numbers in JSON ---------------------------------------------------------------------

def test_a_json_integer_id_number_is_exact_and_accepted(tmp_path: Path,
                                                        config: Config) -> None:
    """JSON integers are read whole; the 15-digit loss is a spreadsheet cell's."""
    path = tmp_path / "ints.json"
    path.write_text(json.dumps([{"户编号": 1, "members": [
        {"姓名": "王芳", "与户主关系": "户主", "身份证号": int(VALID_ID)}]}]),
        encoding="utf-8")
    loaded = load(path, config, TODAY)
    assert loaded.dataset.problems == []
    assert loaded.dataset.households[0].members[0].id_number == VALID_ID
    path.write_text(json.dumps([{"户编号": 1, "members": [
        {"姓名": "王芳", "与户主关系": "户主", "身份证号": float(VALID_ID)}]}]),
        encoding="utf-8")
    [error] = load(path, config, TODAY).dataset.errors
    assert error.field == "id_number" and "stored as a number" in error.message


# ---- a dwelling lived in by nobody ---------------------------------------------------------

def test_owner_occupied_but_nobody_lives_there_is_a_warning(tmp_path: Path,
                                                            config: Config) -> None:
    """自住 with no one in it: the card says 空置房屋 · 无人居住 but, as the README's five
    colours have it, only 空置 dwellings are green; the colour stays the rules' and a
    warning says why."""
    header = ["户编号", "地址", "房屋状态", "姓名", "与户主关系", "居住状态"]
    rows = [{"户编号": "A1", "地址": "一号", "房屋状态": "自住"},
            {"户编号": "A2", "地址": "二号", "房屋状态": "自有", "姓名": "王芳",
             "与户主关系": "户主", "居住状态": "外出"},
            {"户编号": "A2", "姓名": "李强", "居住状态": "空挂"},
            {"户编号": "V1", "地址": "三号", "房屋状态": "空置"},
            {"户编号": "A3", "地址": "四号", "房屋状态": "自住", "姓名": "赵六",
             "与户主关系": "户主", "居住状态": "外出"},
            {"户编号": "A3", "姓名": "赵七", "居住状态": "常住"},
            {"户编号": "R1", "地址": "五号", "房屋状态": "出租"}]
    loaded = load(write_csv(tmp_path / "lived-in.csv", rows, header=header), config, TODAY)
    warnings = {p.household_id: p for p in loaded.dataset.problems}
    assert set(warnings) == {"A1", "A2"}
    empty, away = warnings["A1"], warnings["A2"]
    assert (empty.severity, empty.row, empty.column, empty.field, empty.value) == \
        ("warning", 2, "房屋状态", "housing", "自住")
    assert "空置房屋 · 无人居住" in empty.message and "make 房屋状态 空置" in empty.message
    assert (away.row, away.column, away.value) == (3, "房屋状态", "自有")
    assert "外出 or 空挂" in away.message and "correct the 居住状态 column" in away.message
    colours = {hid: category.key for hid, category in loaded.categories.items()}
    assert colours == {"A1": "yellow", "A2": "yellow", "V1": "green", "A3": "yellow",
                       "R1": "blue"}


def test_an_id_twice_in_a_household_across_sheets_names_both_cells(tmp_path: Path,
                                                                    run: Run) -> None:
    """A household continued on a second sheet: sheets share row numbers, so the rows are
    told apart by their sheet, and the duplicate names both cells as Excel shows them."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "第3网格"
    first.append(HEADER)
    for row in household_rows():
        first.append([row[key] for key in HEADER])
    more = book.create_sheet("第3网格续")
    more.append(HEADER)
    again = {**household_rows()[0], "姓名": "王五", "与户主关系": "子"}  # 张秀英's ID
    more.append([again[key] for key in HEADER])
    path = tmp_path / "register.xlsx"
    book.save(path)
    code, report = validate_json(run, path)
    assert code == 1
    [twice] = [p for p in report["problems"] if p["code"] == "id.twice"]
    assert (twice["sheet"], twice["row"]) == ("第3网格续", 2)
    assert "第3网格!H2" in twice["message"], twice


@pytest.mark.parametrize("cell", [" 恒安社区", "恒安社区 ", "恒安  社区", "恒安\t社区",
                                  "恒安\u200b社区", "", "\u3000", "恒安社区|", "|恒安社区",
                                  "恒安 | 社区"])
def test_rows_made_elsewhere_are_cleaned_as_the_readers_clean(config: Config, cell: str) -> None:
    """validate_records takes a row's cells as they are only when `clean_text` would leave
    every one as it is (a test of the cells run together): a space at either end of any
    cell, two in a row, a tab, an invisible character or an empty cell is cleaned."""
    from cardgen.data.cells import clean_text
    from cardgen.data.model import Row
    from cardgen.data.read import Records
    from cardgen.data.validate import validate_records

    values = {"household_id": "H001", "community": cell, "grid": "第3网格", "name": "张秀英",
              "relation": "户主"}
    row = Row("x.csv", 2, dict(values), {field: field for field in values})
    dataset = validate_records([Records("x.csv", [row])], config, TODAY)
    cleaned = {f: c for f, t in values.items() if (c := clean_text(t))}
    assert row.values == cleaned
    assert dataset.households[0].community == cleaned.get("community", "")


def test_the_characters_a_font_has_are_remembered_but_never_those_it_lacks() -> None:
    """glyphs.uncovered: `covered` grows with the characters the first font has, and a
    character only a fallback font has, or none, is never taken for one of them."""
    from cardgen.data.glyphs import uncovered

    first, fallback = frozenset(map(ord, "张秀英李明")), frozenset(map(ord, "𪚥"))
    covered: set[str] = set()
    assert uncovered("张秀英", (first, fallback), covered) == []
    assert covered == set("张秀英")
    assert uncovered("张𪚥", (first, fallback), covered) == []  # the fallback has it
    assert "𪚥" not in covered
    assert uncovered("李𪚥龘", (first, fallback), covered) == ["龘"]
    assert uncovered("龘", (first, fallback), covered) == ["龘"]
    assert covered == set("张秀英")
