"""Registers as offices keep them (README "Input", issue 9): titles, two-level headers, merged
cells, hidden columns, totals rows, 同上, one sheet per grid, .xls, .ods and HTML exports,
the office's words — read as a person reads them, and asked about where it is unclear."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from cardgen.cli.commands import cli
from cardgen.config import Config, load_config
from cardgen.data.model import Dataset
from cardgen.pipeline.register import Loaded, load
from tests.conftest import DATE, FEMALE_ID, TODAY, VALID_ID, pdftotext
from tests.registers.make_registers import (
    HERE,
    LONG_NOTE,
    compound_file,
    id_number,
    office_register,
)

Run = Callable[..., Result]
XLS = HERE / "office-register.xls"
ODS = HERE / "office-register.ods"
SENSITIVE = ("社区矫正", "缓刑", "精神障碍", "精神分裂", "留守儿童")


def invoke(*args: str | Path, lang: str = "en") -> Result:
    return CliRunner(env={"CARDGEN_LANG": lang}).invoke(cli, [str(a) for a in args],
                                                        catch_exceptions=False)


def config_file(folder: Path, text: str) -> Path:
    path = folder / "cardgen.toml"
    path.write_text(text, encoding="utf-8")
    return path


def settings(folder: Path, text: str) -> Config:
    return load_config(config_file(folder, text))


def codes(dataset: Dataset) -> list[tuple[str, str, int | None]]:
    return [(p.code, p.severity.value, p.row) for p in dataset.problems]


def colours(loaded: Loaded) -> dict[str, str]:
    return {hid: category.key for hid, category in loaded.categories.items()}


def workbook(path: Path, rows: list[list[object]], title: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# ---- the register of one grid ------------------------------------------------------------

def test_the_office_register_is_read_as_a_person_reads_it(tmp_path: Path,
                                                          config: Config) -> None:
    """Title, 填表单位 row, two-level header, merged 户号/住址/房屋状况, a spacer row, a hidden
    old column, 同上 and 〃, office words, qualified flags, 合计 and 填表人 rows."""
    loaded = load(office_register(tmp_path / "register.xlsx"), config, TODAY)
    dataset = loaded.dataset
    households = {h.household_id: h for h in dataset.households}
    assert list(households) == ["1", "2", "3", "4", "5"]
    assert {h.community for h in households.values()} == {"和平社区"}  # from the title
    assert [m.name for m in households["1"].members] == ["张建国", "王秀兰"]
    assert households["1"].address == "阳光花园1号楼1单元101"  # merged down the family
    wife = households["1"].members[1]
    assert (wife.relation, wife.phone, wife.residence) == ("妻", "13812345678", "常住")
    assert wife.flags == ("残疾",) and households["1"].members[0].flags == ("低保",)
    assert households["3"].members == [] and households["3"].housing == "空置"
    assert households["2"].housing == "出租"
    assert [m.residence for m in households["2"].members] == ["流动", "流动"]
    assert households["4"].members[0].is_head  # 本人
    assert households["5"].members[0].notes == LONG_NOTE  # 560 characters
    assert colours(loaded) == {"1": "orange", "2": "blue", "3": "green", "4": "red",
                               "5": "red"}
    assert codes(dataset) == [("column.hidden_duplicate", "warning", 4),
                              ("row.total", "warning", 15), ("row.signature", "warning", 16)]
    hidden, total, _signature = dataset.problems
    assert hidden.where == "第一网格!I4 (电话, hidden column)" and hidden.column == "电话"
    assert "repeats column H (联系方式)" in hidden.message
    assert total.value == "合计 5户 8人" and total.where == "第一网格!row 15"


def test_month_only_birth_dates_take_the_id_numbers_day(tmp_path: Path,
                                                        config: Config) -> None:
    loaded = load(office_register(tmp_path / "register.xlsx"), config, TODAY)
    head, wife = loaded.dataset.households[0].members
    assert (str(head.birth_date), str(wife.birth_date)) == ("1950-03-04", "1952-08-17")
    rows = [["户编号", "姓名", "与户主关系", "出生日期", "身份证号"],
            ["H1", "甲", "户主", "1975.3", ""], ["H2", "乙", "户主", "1975年13月", ""],
            ["H3", "丙", "户主", 1975.1, ""],
            ["H4", "丁", "户主", "1960.5", id_number("19610101", 1)]]
    dataset = load(workbook(tmp_path / "months.xlsx", rows), config, TODAY).dataset
    assert str(dataset.households[0].members[0].birth_date) == "1975-03-01"
    assert codes(dataset) == [("birth_date.month_only", "warning", 2),
                              ("birth_date.impossible", "error", 3),
                              ("birth_date.ambiguous", "error", 4),
                              ("birth_date.disagrees", "warning", 5)]


def test_chinese_messages_name_the_cell_and_the_fix(tmp_path: Path) -> None:
    path = office_register(tmp_path / "register.xlsx")
    result = invoke("validate", path, "--date", DATE, lang="zh")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"警告：{path} 第一网格!I4（电话，隐藏列）：这是隐藏列，与 H 列（联系方式）重复；" \
        "已搁置不用，读取 H 列" in lines
    assert f"警告：{path} 第一网格!第 15 行「合计 5户 8人」：合计行，不是住户记录，已跳过" \
        in lines
    assert any("第 16 行「填表人：刘晓梅" in line and "表尾的签名或日期行" in line
               for line in lines)
    assert lines[-1].endswith("5 户，7 人；错误 0 条，警告 3 条")


def test_json_reports_codes_and_hidden_places(tmp_path: Path) -> None:
    result = invoke("validate", office_register(tmp_path / "r.xlsx"), "--format", "json",
                    "--date", DATE)
    report = json.loads(result.output)
    assert (report["ok"], report["households"], report["members"]) == (True, 5, 7)
    [hidden] = [p for p in report["problems"] if p["code"] == "column.hidden_duplicate"]
    assert (hidden["sheet"], hidden["row"], hidden["column"]) == ("第一网格", 4, "电话")
    assert hidden["message"].startswith("第一网格!I4 (电话, hidden column): ")


def test_json_names_the_row_and_column_its_message_names(tmp_path: Path) -> None:
    """A script reading `validate --format json` finds the cell in `row` and `column`, the
    same the message names: a hidden row, and an empty cell that should be filled."""
    path = workbook(tmp_path / "r.xlsx", [["户编号", "姓名", "与户主关系", "联系电话"],
                                          ["H1", "王芳", "户主", ""], ["H1", "", "", "13812345678"],
                                          ["H2", "李强", "户主", ""]])
    book = openpyxl.load_workbook(path)
    book.active.row_dimensions[4].hidden = True  # type: ignore[union-attr]
    book.save(path)
    result = invoke("validate", path, "--format", "json", "--date", DATE)
    problems = {p["code"]: p for p in json.loads(result.output)["problems"]}
    assert (problems["row.hidden"]["row"], problems["row.hidden"]["sheet"]) == (4, "Sheet1")
    assert (problems["row.no_name"]["row"], problems["row.no_name"]["column"]) == (3, "姓名")
    assert "B3 (姓名)" in problems["row.no_name"]["message"]


# ---- formats -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [XLS, ODS], ids=["xls", "ods"])
def test_xls_and_ods_read_like_the_xlsx(path: Path, tmp_path: Path, config: Config) -> None:
    """LibreOffice's .xls and .ods of the same register: merged cells filled, the hidden
    column found (calamine reads neither from .ods, nor hidden state from any format)."""
    xlsx = load(office_register(tmp_path / "register.xlsx", ("第一网格", "第二网格"), True),
                config, TODAY)
    other = load(path, config, TODAY)

    def seen(loaded: Loaded) -> list[tuple[str, str, list[tuple[str, str, tuple[str, ...]]]]]:
        return [(h.household_id, h.address, [(m.name, m.id_number, m.flags) for m in h.members])
                for h in loaded.dataset.households]

    assert seen(other) == seen(xlsx)
    assert colours(other) == colours(xlsx)
    assert [(p.code, p.where) for p in other.dataset.problems] == \
        [(p.code, p.where) for p in xlsx.dataset.problems]
    assert "第一网格!I4 (电话, hidden column)" in [p.where for p in other.dataset.problems]


def test_an_html_table_saved_as_xls_is_read(tmp_path: Path, config: Config) -> None:
    """Business systems "export to Excel" as an HTML table, GBK, with rowspan and colspan."""
    html = f"""<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>
<table border="1"><tr><td colspan="8">团结嘎查村人口信息台账</td></tr>
<tr><th>户编号</th><th>网格名称</th><th>现住址</th><th>房屋性质</th><th>姓名</th>
<th>与户主关系</th><th>身份证号码</th><th>人员类型</th></tr>
<tr><td rowspan="2">TJ-001</td><td rowspan="2">第三网格</td><td rowspan="2">一组12号</td>
<td rowspan="2">自住</td><td>巴特尔</td><td>户主</td><td>{VALID_ID}</td><td>户籍人口</td></tr>
<tr><td>其其格</td><td>配偶</td><td>{id_number("19820202", 2)}</td><td>户籍人口</td></tr>
<tr><td>TJ-002</td><td>第三网格</td><td>一组13号</td><td>租赁房</td><td>刘&nbsp;洋</td>
<td>户主</td><td>1.59902E+17</td><td>流动人口</td></tr>
<tr><td colspan="4">合计：2户</td><td colspan="4">3人</td></tr></table></body></html>"""
    path = tmp_path / "导出.xls"
    path.write_bytes(html.encode("gb18030"))
    loaded = load(path, config, TODAY)
    first, second = loaded.dataset.households
    assert (first.grid, first.community, first.address) == ("第三网格", "团结嘎查村", "一组12号")
    assert [m.name for m in first.members] == ["巴特尔", "其其格"]
    assert second.housing == "出租" and second.members[0].name == "刘洋"  # &nbsp; dropped
    assert codes(loaded.dataset) == [("row.total", "warning", 6),
                                     ("name.spaces", "warning", 5),
                                     ("id.stored_as_number", "error", 5)]


def test_a_csv_id_that_excel_made_a_number_says_the_digits_are_lost(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("户编号,姓名,与户主关系,身份证号\nH1,王芳,户主,1.59902E+17\n"
                    "H2,李强,户主,159902199101010000\n", encoding="utf-8")
    report = json.loads(invoke("validate", path, "--format", "json", "--date", DATE).output)
    assert [(p["code"], p["row"], p["value"]) for p in report["problems"]] == \
        [("id.stored_as_number", 2, "*.*****E+17"),
         ("id.stored_as_number", 3, "**************0000")]
    result = invoke("validate", path, "--date", DATE, lang="zh")
    assert "被存成了数字" in result.output and "设置单元格格式 → 文本" in result.output
    assert "「*.*****E+17」" in result.output


def test_a_workbook_id_kept_as_a_number_shows_as_its_cell_does_masked(tmp_path: Path) -> None:
    """A workbook's ID number kept as a number (a float: 1.59902199101012E+17) shows as the
    cell shows it, its digits masked: not seventeen stars and E+17."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["户编号", "姓名", "与户主关系", "身份证号"])
    sheet.append(["H1", "王芳", "户主", 159902199101012345.0])
    book.save(tmp_path / "ids.xlsx")
    result = invoke("validate", tmp_path / "ids.xlsx", "--date", DATE, lang="zh")
    assert result.exit_code == 1
    assert "Sheet!D2（身份证号）「*.*****E+17」：被存成了数字" in result.output
    assert "1599" not in result.output and "2345" not in result.output


def test_a_table_that_starts_further_in_keeps_its_cell_names(tmp_path: Path,
                                                             config: Config) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["C3"], sheet["D3"], sheet["E3"], sheet["F3"] = "户号", "姓名", "性别", "与户主关系"
    sheet["C4"], sheet["D4"], sheet["E4"], sheet["F4"] = "1", "王芳", "未知", "户主"
    book.save(tmp_path / "offset.xlsx")
    dataset = load(tmp_path / "offset.xlsx", config, TODAY).dataset
    [problem] = dataset.problems
    assert (problem.code, problem.where) == ("sex.unknown", "Sheet!E4 (性别)")
    assert dataset.households[0].members[0].sex == "未知"  # printed as written


# ---- what is not a record ---------------------------------------------------------------------

def test_rows_that_are_no_records_are_skipped_with_a_note(tmp_path: Path,
                                                          config: Config) -> None:
    header = ["户编号", "网格", "地址", "姓名", "与户主关系", "身份证号"]
    rows = [["户籍人口信息表"], header,
            ["A1", "第5网格", "一号", "吴海", "户主", VALID_ID],
            [], header,
            ["第六网格"],
            ["A2", "同上", "二号", "郑丽", "户主", ""],
            ["A3", "第6网格", "三号", "钱六", "户主", ""],
            ["总计", None, None, "3人"], ["注：本表每季度更新"], ["审核人：张三"]]
    dataset = load(workbook(tmp_path / "parts.xlsx", rows), config, TODAY).dataset
    assert [h.household_id for h in dataset.households] == ["A1", "A2", "A3"]
    assert dataset.households[1].grid == "第5网格"  # 同上
    assert codes(dataset) == [("row.repeated_header", "warning", 5),
                              ("row.title", "warning", 6), ("row.total", "warning", 9),
                              ("row.note", "warning", 10), ("row.signature", "warning", 11)]


def test_counts_blanks_and_signatures_under_the_table_are_no_households(
        tmp_path: Path, config: Config) -> None:
    """What offices write under a register where a 户号 would be: a count of households,
    以下空白, the grid worker's signature line — skipped, never a card."""
    header = ["户编号", "地址", "姓名", "与户主关系"]
    rows = [header, ["A1", "一号", "吴海", "户主"], ["A2", "二号", "郑丽", "户主"],
            ["共2户2人"], ["以下空白"], ["网格员：孙七", None, "13900000000"],
            [None, "合计：2户"]]
    dataset = load(workbook(tmp_path / "tail.xlsx", rows), config, TODAY).dataset
    assert [h.household_id for h in dataset.households] == ["A1", "A2"]
    assert codes(dataset) == [("row.total", "warning", 4), ("row.note", "warning", 5),
                              ("row.signature", "warning", 6), ("row.total", "warning", 7)]


def test_same_as_above_with_nothing_above_is_an_error(tmp_path: Path, config: Config) -> None:
    rows = [["户编号", "地址", "姓名"], ["H1", "〃", "王芳"]]
    dataset = load(workbook(tmp_path / "ditto.xlsx", rows), config, TODAY).dataset
    [error] = dataset.errors
    assert (error.code, error.row, error.column, error.value) == \
        ("value.same_as_above", 2, "地址", "〃")
    assert error.household_id == "H1"  # its household's error, not the file's


def test_same_as_above_with_nothing_above_stops_only_its_household(tmp_path: Path) -> None:
    rows = [["户编号", "地址", "姓名", "与户主关系"], ["E1", "同上", "王芳", "户主"],
            ["E2", "二号", "李强", "户主"]]
    path = workbook(tmp_path / "ditto.xlsx", rows)
    out = tmp_path / "books"
    result = invoke("ledger", path, "-o", out, "--date", DATE, "--skip-invalid", lang="zh")
    assert result.exit_code == 0, result.output
    assert "写的是“同上”（与上一行相同）" in result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [h["household_id"] for h in manifest["ledgers"][0]["households"]] == ["E2"]


def test_a_hidden_row_is_read_and_said_to_be_hidden(tmp_path: Path, config: Config) -> None:
    path = workbook(tmp_path / "hidden.xlsx", [["户编号", "姓名", "性别"], ["H1", "王芳", "女"],
                                               ["H2", "李强", "X"]])
    book = openpyxl.load_workbook(path)
    book.active.row_dimensions[3].hidden = True  # type: ignore[union-attr]
    book.save(path)
    dataset = load(path, config, TODAY).dataset
    assert len(dataset.households) == 2
    notes = {p.code: p for p in dataset.problems}
    assert notes["sex.unknown"].where == "Sheet1!C3 (性别, hidden row)"
    assert "row 3 is hidden" in notes["row.hidden"].message


def test_two_visible_columns_for_one_field_stop_everything(tmp_path: Path) -> None:
    rows = [["户编号", "姓名", "性别", "手机号", "电话", "性别"],
            ["H1", "王芳", "女", "13812345678", "0472-5123456", "女"]]
    path = workbook(tmp_path / "sexes.xlsx", rows)
    result = invoke("reprint", path, "-o", tmp_path / "x.pdf", "--date", DATE, lang="zh")
    assert result.exit_code == 1 and not (tmp_path / "x.pdf").exists()
    assert "Sheet1!F1（性别）：C（性别）、F（性别） 这几列都表示 性别" in result.output


def test_two_phones_a_landlines_dash_new_people_types_and_dates_with_a_time(
        tmp_path: Path, config: Config) -> None:
    """手机号 and 电话 both filled: both kept and printed; a landline keeps its dash; the
    GB/T 31000 人员类型 境外人员 and 未落户人员 are known; a date with a time of day is a date."""
    rows = [["户编号", "姓名", "与户主关系", "出生日期", "电话", "手机号", "人员类型"],
            ["H1", "王芳", "户主", 24473.5, "0472-5123456", "13812345678", "境外人员"],
            ["H2", "李强", "户主", "1967-01-01 12:30", "(0472)5123457", None, "未落户人员"],
            ["H3", "赵丽", "户主", None, "0472 5123458转12", "13900001111", "户籍人口"]]
    path = workbook(tmp_path / "phones.xlsx", rows)
    loaded = load(path, config, TODAY)
    people = [h.members[0] for h in loaded.dataset.households]
    assert [(m.phone, m.landline) for m in people] == [
        ("13812345678", "0472-5123456"), ("", "0472-5123457"), ("13900001111", "0472-5123458转12")]
    assert [m.residence for m in people] == ["境外", "未落户", "常住"]
    assert [str(m.birth_date) for m in people[:2]] == ["1967-01-01", "1967-01-01"]
    assert colours(loaded) == {"H1": "blue", "H2": "yellow", "H3": "yellow"}
    assert [p.code for p in loaded.dataset.problems] == ["birth_date.number"]
    result = invoke("reprint", path, "-o", tmp_path / "card.pdf", "--household", "H1",
                    "--date", DATE)
    assert result.exit_code == 0, result.output
    text = pdftotext(tmp_path / "card.pdf")
    assert "13812345678" in text and "0472-5123456" in text


def test_no_card_is_printed_for_a_row_that_is_no_record(tmp_path: Path) -> None:
    path = office_register(tmp_path / "register.xlsx")
    out = tmp_path / "books"
    result = invoke("ledger", path, "-o", out, "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    [pdf] = out.glob("*.pdf")
    text = pdftotext(pdf)
    assert "合计" not in text and "填表人" not in text and "刘晓梅" not in text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [h["household_id"] for h in manifest["ledgers"][0]["households"]] == \
        ["1", "2", "3", "4", "5"]
    for word in SENSITIVE:
        assert word not in text, word
    assert "重点人员" in text and "重点关爱" in text


def test_no_red_sub_type_in_any_output(tmp_path: Path) -> None:
    path = office_register(tmp_path / "register.xlsx")
    outputs = [invoke("validate", path, "--format", "json", "--date", DATE).output,
               invoke("validate", path, "--explain", "--date", DATE, lang="zh").output]
    assert invoke("stickers", path, "-o", tmp_path / "s.pdf", "--date", DATE).exit_code == 0
    assert invoke("reprint", path, "-o", tmp_path / "r.pdf", "--household", "4", "--household",
                  "5", "--emergency", "--date", DATE).exit_code == 0
    outputs += [pdftotext(tmp_path / "s.pdf"), pdftotext(tmp_path / "r.pdf")]
    for output in outputs:
        for word in SENSITIVE:
            assert word not in output, (word, output[:200])


def test_a_long_note_is_accepted_and_the_card_prints(tmp_path: Path) -> None:
    path = workbook(tmp_path / "note.xlsx", [["户编号", "姓名", "与户主关系", "备注"],
                                             ["H1", "王芳", "户主", "备" * 1000]])
    assert invoke("validate", path, "--date", DATE).exit_code == 0
    result = invoke("reprint", path, "-o", tmp_path / "note.pdf", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "备备备" in pdftotext(tmp_path / "note.pdf")


# ---- workbooks: which sheets --------------------------------------------------------------

def test_every_sheet_of_a_workbook_is_read_each_naming_its_grid(tmp_path: Path) -> None:
    """One sheet per grid after a 汇总 sheet, 户号 1 … 5 in each (README "Input": never lose
    a row): every grid is read, each sheet's name its grid, the 汇总 named as skipped, the
    restarting 户号 keyed by grid with a note — and every household printed."""
    path = office_register(tmp_path / "grids.xlsx", ("第一网格", "第二网格"), summary=True)
    report = json.loads(invoke("validate", path, "--format", "json", "--date", DATE).output)
    assert (report["ok"], report["households"], report["members"]) == (True, 10, 14)
    notes = {p["code"]: p for p in report["problems"]}
    assert notes["sheet.no_table"]["sheet"] == "汇总"
    assert "workbook.more_sheets" not in notes
    assert "numbered 网格-户号 (第一网格-1)" in notes["household.by_grid"]["message"]
    zh = invoke("validate", path, "--date", DATE, lang="zh")
    assert zh.exit_code == 0 and "户号在每个网格里都从头编起" in zh.output
    assert "工作表“汇总”：没有人员表" in zh.output
    result = invoke("ledger", path, "-o", tmp_path / "books", "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "books").glob("*.pdf")) == \
        ["和平社区-第一网格.pdf", "和平社区-第二网格.pdf"]
    manifest = json.loads((tmp_path / "books" / "manifest.json").read_text(encoding="utf-8"))
    assert [[h["household_id"] for h in ledger["households"]]
            for ledger in manifest["ledgers"]] == \
        [[f"{grid}-{n}" for n in range(1, 6)] for grid in ("第一网格", "第二网格")]
    assert "张建国" in pdftotext(tmp_path / "books" / "和平社区-第二网格.pdf")


def test_strict_numbers_still_ask_about_numbers_that_restart(tmp_path: Path) -> None:
    """households = "number" keys by 户号 alone: restarting numbers are asked about."""
    path = office_register(tmp_path / "grids.xlsx", ("第一网格", "第二网格"), summary=True)
    setting = config_file(tmp_path, '[input]\nhouseholds = "number"\n')
    result = invoke("validate", path, "--config", setting, "--format", "json", "--date", DATE)
    errors = [p for p in json.loads(result.output)["problems"] if p["severity"] == "error"]
    assert result.exit_code == 1 and [p["code"] for p in errors] == ["household.number_restarts"]
    assert 'households = "grid+number"' in errors[0]["message"]


def test_a_side_list_beside_the_register_is_skipped_and_named(tmp_path: Path) -> None:
    """A 低保名单 sheet (姓名, 身份证号, 低保类别) that a formula looks in is no register."""
    path = office_register(tmp_path / "list.xlsx")
    book = openpyxl.load_workbook(path)
    side = book.create_sheet("低保名单")
    side.append(["序号", "姓名", "身份证号", "住址", "低保类别"])
    side.append([1, "张建国", id_number("19500304", 11), "阳光花园1号楼1单元101", "A类"])
    side.append([2, "刘备", id_number("19600101", 99), "阳光花园2号楼1单元101", "B类"])
    other = book.create_sheet("残疾人")  # a list by its columns alone
    other.append(["姓名", "身份证号", "残疾类别"])
    other.append(["王秀兰", id_number("19520817", 22), "肢体二级"])
    book.create_sheet("说明").append(["本表由社区填写，每季度更新"])
    book.save(path)
    report = json.loads(invoke("validate", path, "--format", "json", "--date", DATE).output)
    assert (report["ok"], report["households"]) == (True, 5)
    notes = {p["code"]: p for p in report["problems"]}
    assert [p["sheet"] for p in report["problems"] if p["code"] == "sheet.side_list"] == \
        ["低保名单", "残疾人"]
    assert "beside the register in sheet 第一网格" in notes["sheet.side_list"]["message"]
    assert notes["sheet.no_table"]["sheet"] == "说明"
    zh = invoke("validate", path, "--date", DATE, lang="zh")
    assert "工作表“低保名单”：这是登记表（工作表“第一网格”）之外的一份人员名单" in zh.output


def test_two_versions_of_one_register_are_refused_naming_the_sheets(tmp_path: Path) -> None:
    """The same people in two sheets (last year's register kept beside this year's): which
    one is meant is the user's to say; --sheet-name says it."""
    source = office_register(tmp_path / "same.xlsx", ("2025年",))
    book = openpyxl.load_workbook(source)
    book.copy_worksheet(book["2025年"]).title = "2026年"
    book.save(source)
    result = invoke("ledger", source, "-o", tmp_path / "out", "--date", DATE, lang="zh")
    assert result.exit_code == 1 and not (tmp_path / "out").exists()
    assert "工作表“2025年”和“2026年”（7 人两边都有）里是同一批人" in result.output
    assert "--sheet-name" in result.output
    result = invoke("validate", source, "--sheet-name", "2026年", "--date", DATE)
    assert result.exit_code == 0, result.output


def test_a_hidden_sheet_of_records_is_read_and_named(tmp_path: Path) -> None:
    path = office_register(tmp_path / "hidden.xlsx", ("第一网格", "第二网格"))
    book = openpyxl.load_workbook(path)
    book["第二网格"].sheet_state = "hidden"
    book.save(path)
    report = json.loads(invoke("validate", path, "--format", "json", "--date", DATE).output)
    assert report["households"] == 10
    [hidden] = [p for p in report["problems"] if p["code"] == "sheet.hidden"]
    assert hidden["sheet"] == "第二网格" and "read like the others" in hidden["message"]


@pytest.mark.parametrize("path", [XLS, ODS], ids=["xls", "ods"])
def test_all_sheets_of_an_xls_or_ods(path: Path, tmp_path: Path) -> None:
    config = load_config()
    loaded = load(path, config, TODAY)
    assert [h.household_id for h in loaded.dataset.households][4:6] == ["第一网格-5", "第二网格-1"]
    assert {h.grid for h in loaded.dataset.households} == {"第一网格", "第二网格"}
    assert not loaded.dataset.errors
    [hidden] = [p for p in loaded.dataset.problems if p.code == "row.hidden"]
    assert (hidden.sheet, "row 6 is hidden" in hidden.message) == ("第二网格", True)
    xlsx = load(office_register(tmp_path / "r.xlsx", ("第一网格", "第二网格"), True), config,
                TODAY)
    assert [(p.code, p.where) for p in loaded.dataset.problems] == \
        [(p.code, p.where) for p in xlsx.dataset.problems]


def test_sheet_names_are_repeatable_and_checked(tmp_path: Path) -> None:
    path = office_register(tmp_path / "grids.xlsx", ("第一网格", "第二网格", "第三网格"), True)
    setting = config_file(tmp_path, '[input]\nhouseholds = "grid+number"\n')
    result = invoke("validate", path, "--sheet-name", "第三网格", "--sheet-name", "第一网格",
                    "--config", setting, "--format", "json", "--date", DATE)
    assert json.loads(result.output)["households"] == 10
    result = invoke("validate", path, "--sheet-name", "汇总", "--format", "json", "--date", DATE)
    assert result.exit_code == 1
    assert [p["code"] for p in json.loads(result.output)["problems"]] == ["header.not_found"]
    result = invoke("validate", path, "--sheet-name", "第九网格", lang="zh")
    assert result.exit_code == 2 and "没有名为“第九网格”的工作表" in result.output
    result = invoke("validate", path, "--sheet-name", "第二网格", "--format", "json",
                    "--date", DATE)
    report = json.loads(result.output)  # one sheet: its name is no grid to say
    assert (report["ok"], report["households"]) == (True, 5)


# ---- no household column: each 户主 row starts a household -----------------------------------

def test_no_household_column_asks_then_head_rows_start_households(tmp_path: Path) -> None:
    rows = [["序号", "姓名", "与户主关系", "身份证号", "住址", "房屋状态"],
            [1, "陈大", "户主", id_number("19600101", 1), "新村1号", "自住"],
            [2, "陈二", "配偶", id_number("19620101", 2), "同上", "同上"],
            [3, "林一", "户主", id_number("19900101", 3), "新村2号", "出租"],
            [4, None, None, None, "新村3号", "空置"],
            [5, "林二", "子", id_number("20120101", 5), None, None]]
    path = workbook(tmp_path / "heads.xlsx", rows)
    strict = config_file(tmp_path, '[input]\nhouseholds = "number"\n')
    result = invoke("validate", path, "--config", strict, "--format", "json", "--date", DATE)
    [error] = json.loads(result.output)["problems"]
    assert (result.exit_code, error["code"]) == (1, "household.no_column")
    assert 'households = "head"' in error["message"]
    assert "户主行开头" in invoke("validate", path, "--config", strict, lang="zh").output

    config = settings(tmp_path, '[input]\nhouseholds = "head"\n')
    loaded = load(path, config, TODAY)
    households = loaded.dataset.households
    assert [(h.household_id, [m.name for m in h.members]) for h in households] == \
        [("0001", ["陈大", "陈二"]), ("0002", ["林一"]), ("0003", [])]
    assert households[0].address == "新村1号" and colours(loaded)["0003"] == "green"
    [error] = loaded.dataset.errors  # 林二 comes after a vacant dwelling, under no 户主
    assert (error.code, error.row) == ("household.no_head_above", 6)


def test_a_column_per_flag_marks_its_flag(tmp_path: Path, config: Config) -> None:
    """Registers with one column per special group (低保 | 残疾人 | 社区矫正人员) and a mark
    in it: the mark is the flag, and the column's name is no unknown column to quote."""
    rows = [["户编号", "姓名", "与户主关系", "低保", "残疾类别", "社区矫正人员", "子女数",
             "是否党员", "精神状态"],
            ["H1", "王芳", "户主", "√", "二级肢体", "否", 2, "否", "良好"],
            ["H2", "李强", "户主", "", "", "是", 0, "是", ""]]
    loaded = load(workbook(tmp_path / "columns.xlsx", rows), config, TODAY)
    first, second = loaded.dataset.households
    assert first.members[0].flags == ("低保", "残疾")
    assert second.members[0].flags == ("社区矫正", "党员")
    assert colours(loaded) == {"H1": "orange", "H2": "red"}
    assert [(p.code, p.column) for p in loaded.dataset.problems] == \
        [("column.unknown", "子女数")]


def test_a_member_under_a_household_without_its_own_number_joins_it(tmp_path: Path,
                                                                   config: Config) -> None:
    """户号 written on the family's first row only (not merged): a 妻子 or 儿子 right under
    it belongs to it, as a person reads it; a 户主 or a row without a relation does not."""
    rows = [["户号", "姓名", "与户主关系", "户卡颜色"],
            ["1", "张三", "户主", "红色户"], [None, "李四", "妻子"], [None, "张小", "儿子"],
            ["2", "王五", "户主"], [None, "赵六", "户主"], [None, "钱七"],
            ["联系电话：0472-5123400"]]
    loaded = load(workbook(tmp_path / "first-row.xlsx", rows), config, TODAY)
    [first, second] = loaded.dataset.households
    assert [m.name for m in first.members] == ["张三", "李四", "张小"] and first.colour == "red"
    assert [m.name for m in second.members] == ["王五"]
    assert codes(loaded.dataset) == [("row.note", "warning", 8),
                                     ("household.no_number", "error", 6),
                                     ("household.no_number", "error", 7),
                                     ("colour.overrides_rules", "warning", 2)]


def test_ids_an_export_kept_as_text_are_read(tmp_path: Path, config: Config) -> None:
    """Exports keep an ID's digits with a leading quote or as Excel's ="…" formula text."""
    path = tmp_path / "export.csv"
    path.write_text(f"户编号,姓名,与户主关系,身份证号\nH1,王芳,户主,'{VALID_ID}\n"
                    f'H2,李强,户主,"=""{VALID_ID[:-4]}0071"""\n', encoding="utf-8")
    dataset = load(path, config, TODAY).dataset
    assert codes(dataset) == [("id.two_households", "warning", 3)]  # one person, two homes
    assert [h.members[0].id_number for h in dataset.households] == [VALID_ID, VALID_ID]


def test_a_header_pasted_again_is_a_repeat_not_the_header(tmp_path: Path,
                                                          config: Config) -> None:
    """A two-level header names its fields on two rows; the header pasted again under the
    table names as many on one: the first is the header, the records between stay."""
    rows: list[list[object]] = [
        ["恒安社区全员人口信息登记表"],
        ["户号", "住址", "户籍信息", None, None, "联系方式", "特殊人群"],
        [None, None, "姓名", "与户主关系", "公民身份号码"],
        ["1", "幸福里1号", "张秀英", "户主", VALID_ID, "13812345678", "低保户（A类）"],
        ["2", "幸福里2号", "李明", "户主", "", "", ""],
        ["户号", "住址", "姓名", "与户主关系", "公民身份号码", "联系方式", "特殊人群"],
        ["3", "幸福里3号", "王五", "户主", "", "", ""],
    ]
    loaded = load(workbook(tmp_path / "repeat.xlsx", rows), config, TODAY)
    assert [h.household_id for h in loaded.dataset.households] == ["1", "2", "3"]
    assert loaded.dataset.households[0].members[0].flags == ("低保",)
    assert ("row.repeated_header", "warning", 6) in codes(loaded.dataset)


@pytest.mark.parametrize("name", ["damaged.ods", "damaged.xlsx", "damaged.xls"])
def test_a_damaged_workbook_is_called_damaged(tmp_path: Path, name: str) -> None:
    """Bytes that are no workbook under a workbook's name: not "not a text file" or "not
    UTF-8", but a damaged workbook to save again."""
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 4)
    result = invoke("validate", path, "--format", "json")
    assert result.exit_code == 1, result.output
    [problem] = json.loads(result.output)["problems"]
    assert problem["code"] == "input.unreadable" and "damaged" in problem["message"]


def test_a_vacant_dwellings_note_is_no_error(tmp_path: Path, config: Config) -> None:
    rows = [["户编号", "地址", "房屋状态", "姓名", "与户主关系", "备注"],
            ["V1", "一号", "空置", None, None, "房主在外地"],
            ["V2", "二号", "自住", "王芳", "户主", ""]]
    dataset = load(workbook(tmp_path / "vacant.xlsx", rows), config, TODAY).dataset
    assert not dataset.errors
    assert codes(dataset) == [("row.dwelling_note", "warning", 2)]


def test_households_without_a_number_are_keyed_by_address_and_head(tmp_path: Path,
                                                                   config: Config) -> None:
    """No 户号 column: a person reads households by address and 户主; so does cardgen, and
    says so. A tenant family at an owner's address is a household of its own; a member
    written under its 户主 without the address joins it."""
    rows = [["小区", "楼栋", "单元", "门牌号", "姓名", "与户主关系", "身份证号"],
            ["阳光花园", 1, 1, 101, "张三", "户主", id_number("19600101", 1)],
            ["阳光花园", 1, 1, 101, "李四", "妻", id_number("19620101", 2)],
            ["阳光花园", 1, 1, 102, "王五", "户主", ""],
            ["阳光花园", 1, 1, 102, "赵六", "户主", ""],
            [None, None, None, None, "赵小", "子", ""],
            ["阳光花园", 1, 1, 201, None, None, None]]
    loaded = load(workbook(tmp_path / "no-number.xlsx", rows), config, TODAY)
    assert [(h.household_id, h.full_address, [m.name for m in h.members])
            for h in loaded.dataset.households] == [
        ("0001", "阳光花园 1号楼 1单元 101室", ["张三", "李四"]),
        ("0002", "阳光花园 1号楼 1单元 102室", ["王五"]),
        ("0003", "阳光花园 1号楼 1单元 102室", ["赵六", "赵小"]),
        ("0004", "阳光花园 1号楼 1单元 201室", [])]
    assert codes(loaded.dataset) == [("household.by_address", "warning", 1)]
    note = loaded.dataset.problems[0].message
    assert "address (小区、楼栋、单元、门牌号) and their 户主" in note


def test_one_address_apart_in_the_file_with_no_head_stops_naming_the_rows(
        tmp_path: Path) -> None:
    rows = [["住址", "姓名", "性别"], ["幸福里1号", "钱七", "男"], ["幸福里2号", "孙八", "女"],
            ["幸福里1号", "钱九", "男"]]
    path = workbook(tmp_path / "apart.xlsx", rows)
    result = invoke("ledger", path, "-o", tmp_path / "out", "--date", DATE, "--skip-invalid",
                    lang="zh")
    assert result.exit_code == 1 and not (tmp_path / "out").exists()
    assert "Sheet1!第 2 行、Sheet1!第 4 行 这几行住址相同" in result.output


# ---- values that lost information on their way into the spreadsheet -----------------------

def test_ids_that_lost_their_last_digits_never_print(tmp_path: Path) -> None:
    """An ID column once formatted as a number (格式 "0"): Excel kept 15 digits and the last
    three became 000. One in eleven of those still passes the check digit (…1000): the
    column says it, and no card prints it, --skip-invalid or not."""
    damaged = [id_number(f"19{50 + n}0101", 100 + n)[:15] + "000" for n in range(7)]
    damaged.append("159901197101091000")  # passes the check digit
    lines = ["户编号,姓名,与户主关系,身份证号"]
    lines += [f"D{n},张{n},户主,{number}" for n, number in enumerate(damaged)]
    lines += [f"G1,王芳,户主,{VALID_ID}", f"G2,李强,户主,{id_number('19800101', 5)}"]
    path = tmp_path / "ids.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = json.loads(invoke("validate", path, "--format", "json", "--date", DATE).output)
    assert [(p["code"], p["row"]) for p in report["problems"]] == \
        [("id.stored_as_number", row) for row in range(2, 10)]
    result = invoke("ledger", path, "-o", tmp_path / "out", "--skip-invalid", "--date", DATE)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [h["household_id"] for h in manifest["ledgers"][0]["households"]] == ["G1", "G2"]
    [pdf] = (tmp_path / "out").glob("*.pdf")
    assert "1000" not in pdftotext(pdf)
    zh = invoke("validate", path, "--date", DATE, lang="zh")
    assert "设置单元格格式 → 文本" in zh.output and "末尾是 000" in zh.output


def test_one_id_ending_in_000_among_many_is_chance(tmp_path: Path, config: Config) -> None:
    numbers = [id_number(f"1970{m:02d}{d:02d}", 11) for m in range(1, 13) for d in (1, 2)]
    numbers.append("159901197101091000")
    path = tmp_path / "ids.csv"
    path.write_text("户编号,姓名,身份证号\n" + "".join(
        f"H{n},张{n},{number}\n" for n, number in enumerate(numbers)), encoding="utf-8")
    dataset = load(path, config, TODAY).dataset
    assert not dataset.errors


def formula_register(path: Path) -> Path:
    """A 特殊人群 column filled by a formula that looks in a 低保名单 sheet, saved by a
    script (openpyxl): no formula's result is in the file."""
    rows: list[list[object]] = [["户号", "姓名", "身份证号", "特殊人群"]]
    people = [("1", "张建国", id_number("19500304", 11)), ("2", "李明", id_number("19850101", 31))]
    for number, (household, name, idn) in enumerate(people, 2):
        rows.append([household, name, idn,
                     f'=IF(COUNTIF(低保名单!C:C,C{number}),"低保","")'])
    workbook(path, rows, "登记表")
    book = openpyxl.load_workbook(path)
    side = book.create_sheet("低保名单")
    side.append(["序号", "姓名", "身份证号"])
    side.append([1, "张建国", people[0][2]])
    book.save(path)
    return path


def test_a_formula_without_its_saved_result_is_an_error_on_its_cell(tmp_path: Path) -> None:
    path = formula_register(tmp_path / "formulas.xlsx")
    result = invoke("validate", path, "--format", "json", "--date", DATE)
    report = json.loads(result.output)
    errors = [(p["code"], p["sheet"], p["row"], p["column"]) for p in report["problems"]
              if p["severity"] == "error"]
    assert result.exit_code == 1 and errors == [
        ("cell.formula_not_saved", "登记表", 2, "特殊人群"),
        ("cell.formula_not_saved", "登记表", 3, "特殊人群")]
    assert any(p["message"].startswith("登记表!D2 (特殊人群): holds a formula")
               for p in report["problems"])
    zh = invoke("validate", path, "--date", DATE, lang="zh")
    assert "用 Excel 或 WPS 打开这个文件，保存" in zh.output


def test_a_formulas_saved_result_is_read(tmp_path: Path, config: Config) -> None:
    """The same file as Excel saves it: each formula with its result (低保, or empty
    text), and the household made orange by it."""
    import zipfile

    path = formula_register(tmp_path / "formulas.xlsx")
    saved = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(saved, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="D2">', b'<c r="D2" t="str">', 1) \
                    .replace(b"<v></v>", "<v>低保</v>".encode(), 1) \
                    .replace(b'<c r="D3">', b'<c r="D3" t="str">', 1)
            new.writestr(item, data)
    loaded = load(saved, config, TODAY)
    assert not loaded.dataset.errors
    assert [m.flags for h in loaded.dataset.households for m in h.members] == [("低保",), ()]
    assert colours(loaded) == {"1": "orange", "2": "yellow"}


def test_names_read_as_a_person_reads_them(tmp_path: Path, config: Config) -> None:
    """A space typed into a Han name (an ordinary, a no-break or an ideographic one) is
    dropped with a warning; a minority name keeps its "·", and one typed with a space
    between its parts (longer than any Han name) gets it; a lost character (?, U+FFFD)
    is an error, and no card prints the name."""
    rows = [["户编号", "姓名", "与户主关系"], ["H1", "李 秀兰", "户主"], ["H2", "王\xa0芳", "户主"],
            ["H3", "阿卜杜拉 · 买买提", "户主"], ["H4", "刘?", "户主"],
            ["H5", "刘\ufffd", "户主"], ["H6", "John Smith", "户主"], ["H7", "赵\u3000六", "户主"],
            ["H8", "阿依古丽 买买提", "户主"], ["H9", "欧阳 娜娜", "户主"]]
    path = workbook(tmp_path / "names.xlsx", rows)
    dataset = load(path, config, TODAY).dataset
    assert [h.members[0].name for h in dataset.households] == \
        ["李秀兰", "王芳", "阿卜杜拉·买买提", "刘?", "刘\ufffd", "John Smith", "赵六",
         "阿依古丽·买买提", "欧阳娜娜"]  # longer than any Han name: its parts take the "·"
    assert codes(dataset) == [("name.spaces", "warning", 2), ("name.spaces", "warning", 3),
                              ("name.placeholder", "error", 5),
                              ("name.placeholder", "error", 6),
                              ("name.spaces", "warning", 8), ("name.spaces", "warning", 9),
                              ("name.spaces", "warning", 10)]  # U+FFFD: one error, no font
    result = invoke("ledger", path, "-o", tmp_path / "out", "--skip-invalid", "--date", DATE)
    assert result.exit_code == 0, result.output
    [pdf] = (tmp_path / "out").glob("*.pdf")
    text = pdftotext(pdf)
    assert "李秀兰" in text and "李 秀兰" not in text and "刘" not in text
    zh = invoke("validate", path, "--date", DATE, lang="zh")
    assert "Sheet1!B5（姓名）「刘?」：含有“?”" in zh.output


def test_of_two_heads_only_the_first_prints_as_head(tmp_path: Path) -> None:
    rows = [["户编号", "姓名", "与户主关系", "身份证号"],
            ["H1", "王芳", "户主", FEMALE_ID], ["H1", "李强", "户主", VALID_ID]]
    path = workbook(tmp_path / "heads.xlsx", rows)
    result = invoke("reprint", path, "-o", tmp_path / "card.pdf", "--date", DATE)
    assert result.exit_code == 0, result.output
    lines = pdftotext(tmp_path / "card.pdf").splitlines()
    [first] = [line for line in lines if "王芳" in line and "0071" not in line and "002X" in line]
    [second] = [line for line in lines if "李强" in line]
    assert "户主" in first and "户主" not in second


# ---- files that are not registers -----------------------------------------------------------

def excel_lock_file(user: str = "zhang") -> bytes:
    """What Excel writes beside an open workbook as ~$name.xlsx (165 bytes): the user's
    name, as a length byte and ANSI text padded to 54 bytes, then again in UTF-16."""
    ansi = bytes([len(user)]) + user.encode("ascii").ljust(53, b" ")
    wide = len(user).to_bytes(2, "little") + user.encode("utf-16-le")
    return (ansi + wide).ljust(165, b"\x00")


def word_docx(path: Path) -> Path:
    """A Word document (.docx) as Word writes one: a ZIP with word/document.xml."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://'
                         'schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="ht'
                         'tp://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                         '<w:p><w:r><w:t>户号 姓名</w:t></w:r></w:p></w:body></w:document>')
    return path


@pytest.mark.parametrize(("kind", "code", "said"), [
    ("password", "input.password", "这个文件设置了密码"),
    ("xls-password", "input.password", "这个文件设置了密码"),
    ("doc", "input.word", "这是 Word 文档"),
    ("lock", "input.lock_file", "这是 Excel 打开文件时留下的临时文件（~$ 开头），不是登记表，"
                                "请选择原来的登记表"),
    ("word", "input.word", "这是 Word 文档"),
    ("pdf", "input.not_a_table", "这是一个 PDF 文件，不是登记表；请选择登记表本身"),
    ("picture", "input.not_a_table", "这是一张图片，不是登记表"),
])
def test_files_that_are_no_register_are_said_as_a_grid_worker_sees_them(
        tmp_path: Path, kind: str, code: str, said: str) -> None:
    if kind == "password":
        from msoffcrypto.format.ooxml import OOXMLFile

        plain = office_register(tmp_path / "plain.xlsx")
        path = tmp_path / "登记表.xlsx"
        with plain.open("rb") as source, path.open("wb") as target:
            OOXMLFile(source).encrypt("123456", target)
    elif kind == "xls-password":  # Excel 97-2003 with a password: FILEPASS after BOF
        import struct

        path = tmp_path / "登记表.xls"
        path.write_bytes(compound_file("Workbook", struct.pack("<HH", 0x0809, 16) + bytes(16)
                                       + struct.pack("<HHH", 0x002F, 2, 0)))
    elif kind == "doc":  # a Word 97-2003 document renamed
        path = tmp_path / "登记表.xls"
        path.write_bytes(compound_file("WordDocument", b"\xec\xa5" + bytes(64)))
    elif kind == "lock":
        path = tmp_path / "~$登记表.xlsx"
        path.write_bytes(excel_lock_file())
    elif kind == "pdf":  # a card printed earlier, picked by mistake
        path = tmp_path / "户卡.pdf"
        path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
                         + bytes(range(256)))
    elif kind == "picture":  # a photo of the paper register
        path = tmp_path / "登记表.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    else:
        path = word_docx(tmp_path / "登记表.xlsx")
    result = invoke("validate", path, "--format", "json")
    [problem] = json.loads(result.output)["problems"]
    assert (result.exit_code, problem["code"]) == (1, code)
    zh = invoke("ledger", path, "-o", tmp_path / "out", lang="zh")
    assert zh.exit_code == 1 and said in zh.output and not (tmp_path / "out").exists()
    for wrong in ("ZIP", "xl/workbook.xml", ".xls 工作簿", "损坏"):
        assert wrong not in zh.output


def test_empty_sheets_pass_without_a_note(tmp_path: Path) -> None:
    """Excel's Sheet2 and Sheet3, never filled, are nothing to report."""
    path = office_register(tmp_path / "three.xlsx")
    book = openpyxl.load_workbook(path)
    book.create_sheet("Sheet2")
    book.create_sheet("Sheet3")
    book.save(path)
    report = json.loads(invoke("validate", path, "--format", "json", "--date", DATE).output)
    assert report["households"] == 5
    assert not [p for p in report["problems"] if p["code"].startswith("sheet.")]


def test_skip_invalid_leaves_out_the_household_of_a_formula_without_result(
        tmp_path: Path) -> None:
    """The error of a cell found while reading belongs to the household as keyed at the end
    (第二网格-1, its 户号 restarting per grid): that household alone is left out."""
    path = office_register(tmp_path / "grids.xlsx", ("第一网格", "第二网格"))
    book = openpyxl.load_workbook(path)
    book["第二网格"]["K5"] = '=IF(COUNTIF(低保名单!C:C,F5),"低保","")'
    book.save(path)
    result = invoke("ledger", path, "-o", tmp_path / "out", "--skip-invalid", "--date", DATE)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [[h["household_id"] for h in ledger["households"]]
            for ledger in manifest["ledgers"]] == \
        [[f"第一网格-{n}" for n in range(1, 6)], [f"第二网格-{n}" for n in range(2, 6)]]
