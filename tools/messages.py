"""The whole catalogue of problems, as a grid worker reads it (issue 11 §6).

    python tools/messages.py [--lang zh|en] [--out FOLDER]

Writes small broken registers (CSV and workbooks, the mistakes offices make), runs
`cardgen validate` on each in the chosen language, and prints every problem it reports,
grouped by file, then the codes found in the source that no file triggered. Read the
output as a grid worker would: does each line say which cell, what is wrong, and how to
fix it in Excel or WPS?
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this checkout's cardgen, not an installed one
    sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from cardgen.cli import cli  # noqa: E402

HEADER = ["户编号", "社区", "网格", "地址", "房屋状态", "姓名", "与户主关系", "性别", "民族",
          "出生日期", "身份证号", "联系电话", "居住状态", "特殊情况", "户卡颜色", "一人多套房",
          "备注"]
GOOD_ID = "360426199101010071"
OTHER_ID = "11010519491231002X"
DATE = "2026-11-30"
_CODE = re.compile(r"""code\s*=\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")


def person(hid: str, name: str, **cells: str) -> dict[str, str]:
    row = {"户编号": hid, "社区": "恒安社区", "网格": "第一网格", "地址": f"幸福里{hid}号",
           "房屋状态": "自住", "姓名": name, "与户主关系": "户主", "居住状态": "常住"}
    row.update(cells)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def values(folder: Path) -> Path:
    """One row per kind of wrong value."""
    rows = [
        person("1", "张三", 身份证号="36042619910102009X"),
        person("2", "李四", 身份证号="36042619910101"),
        person("3", "王五", 身份证号="360426199113010079"),
        person("4", "赵六", 身份证号="360426910101007"),
        person("5", "钱七", 出生日期="1990-02-30"),
        person("6", "孙八", 出生日期="1975.3"),
        person("7", "周九", 联系电话="无"),
        person("8", "吴十", 房屋状态="别墅"),
        person("9", "郑一", 居住状态="旅居"),
        person("10", "王二", 与户主关系="邻居"),
        person("11", "冯三", 性别="未知"),
        person("12", "陈四", 民族="火星族"),
        person("13", "褚五", 特殊情况="书法协会会员"),
        person("14", "卫六", 特殊情况="吸毒史"),
        person("15", "蒋七", 户卡颜色="紫"),
        person("16", "沈八", 一人多套房="也许"),
        person("17", "韩九"), person("17", "杨十", 地址="幸福里99号", 与户主关系="妻"),
        person("18", "朱一"), person("18", "秦二"),
        person("19", "尤三", 与户主关系="子"),
        person("20", "许四", 身份证号=GOOD_ID),
        person("20", "何五", 身份证号=GOOD_ID, 与户主关系="子"),
        person("21", "吕六", 身份证号=OTHER_ID), person("22", "施七", 身份证号=OTHER_ID),
        person("23", "张" * 60),
        person("24", "", 联系电话="13812345678", 与户主关系="", 居住状态=""),
        person("25", "", 与户主关系="", 居住状态=""),
        person("26", "孔八", 居住状态="外出"),
        person("27", "王𪚥"),
        person("", "曹九"),
    ]
    return write_csv(folder / "错的值.csv", rows)


def workbooks(folder: Path) -> list[Path]:
    import openpyxl

    made = []
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "汇总"
    sheet.append(["网格", "户数"])
    sheet.append(["第一网格", 3])
    grid = book.create_sheet("第一网格")
    grid.append(["恒安社区全员人口信息登记表"])
    grid.merge_cells("A1:J1")
    grid.append(["填表单位：恒安社区居委会", None, None, None, None, None, "填表日期：2026年11月"])
    grid.append(["户号", "住址", "房屋状态", "户籍信息", None, None, "联系方式", "居住状态",
                 "特殊人群", "电话"])
    grid.merge_cells("D3:F3")
    grid.append([None, None, None, "姓名", "与户主关系", "公民身份号码"])
    grid.append(["1", "幸福里1号", "自住房", "张秀英", "户主", GOOD_ID, "13812345678",
                 "户籍人口", "低保户（A类）", ""])
    grid.append([None, None, None, "李明", "配偶", OTHER_ID, "", "同上", "", ""])
    grid.merge_cells("A5:A6")
    grid.merge_cells("B5:B6")
    grid.append(["2", "幸福里2号", "自住", "〃", "户主", "", "", "常住", "", ""])
    grid.append(["户号", "住址", "房屋状态", "姓名", "与户主关系", "公民身份号码", "联系方式",
                 "居住状态", "特殊人群", "电话"])
    grid.append(["3", "幸福里3号", "自住", "王五", "户主", 360426199101010071, "", "常住", "", ""])
    grid.append(["注：本表每月更新"])
    grid.append(["合计：3 户 4 人"])
    grid.append(["填表人：周晓燕", None, None, None, None, None, "审核人：孙建国"])
    grid.column_dimensions["J"].hidden = True
    grid.row_dimensions[9].hidden = True
    second = book.create_sheet("第二网格")
    second.append(["户号", "住址", "姓名", "与户主关系"])
    second.append(["1", "和平里1号", "赵六", "户主"])
    path = folder / "一个网格一张表.xlsx"
    book.save(path)
    made.append(path)

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["住址", "姓名", "与户主关系", "手机号", "电话", "奇怪的列"])
    sheet.append(["幸福里1号", "张三", "户主", "13812345678", "13812345679", "x"])
    path = folder / "没有户号列.xlsx"
    book.save(path)
    made.append(path)
    return made


def inputs(folder: Path) -> list[Path]:
    """Files that cannot be read at all."""
    (folder / "空文件.csv").write_bytes(b"")
    (folder / "坏的.json").write_text('{"households": [', encoding="utf-8")
    (folder / "图片.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (folder / "旧格式.xml").write_text('<?xml version="1.0"?><Workbook xmlns="urn:schemas-'
                                      'microsoft-com:office:spreadsheet"></Workbook>',
                                      encoding="utf-8")
    return [folder / name for name in ("空文件.csv", "坏的.json", "图片.xlsx", "旧格式.xml",
                                       "不存在.csv")]


def source_codes() -> set[str]:
    """Every literal problem code in cardgen's source."""
    found = set()
    for path in (ROOT / "cardgen").rglob("*.py"):
        found |= set(_CODE.findall(path.read_text(encoding="utf-8")))
    return found


def run(args: list[str], lang: str) -> tuple[int, str]:
    result = CliRunner(env={"CARDGEN_LANG": lang}).invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="zh", choices=("zh", "en"))
    parser.add_argument("--out", type=Path)
    options = parser.parse_args(argv)
    folder = options.out or Path(tempfile.mkdtemp(prefix="cardgen-messages-"))
    folder.mkdir(parents=True, exist_ok=True)
    say: Callable[[str], None] = print
    triggered: set[str] = set()
    cases = [([str(values(folder))], ""), *(([str(p)], "") for p in workbooks(folder)),
             ([str(folder / "一个网格一张表.xlsx"), "--all-sheets"], "--all-sheets"),
             *(([str(p)], "") for p in inputs(folder))]
    for args, note in cases:
        code, text = run(["validate", *args, "--date", DATE], options.lang)
        _, data = run(["validate", *args, "--date", DATE, "--format", "json"], options.lang)
        triggered |= {problem["code"] for problem in json.loads(data)["problems"]}
        say(f"==== {Path(args[0]).name} {note} (exit {code})")
        say(text.rstrip())
        say("")
    untriggered = sorted(source_codes() - triggered)
    say(f"==== codes in the source that no file here triggers ({len(untriggered)}):")
    say(", ".join(untriggered))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
