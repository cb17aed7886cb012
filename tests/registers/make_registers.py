"""Office registers for tests/reading/test_registers.py, laid out as offices keep them
(README, "Input").

    python tests/registers/make_registers.py   # needs LibreOffice (libreoffice-calc-nogui)

The tests build the .xlsx registers themselves (`office_register`); this script builds the
same workbook once more and has LibreOffice save it as .xls (Excel 97-2003) and .ods: those
two files are committed here, so that the tests, and CI, need no LibreOffice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
TITLE = "九原区沙河街道和平社区全员人口信息登记表"
LONG_NOTE = "独居多年，子女在外地务工，每周三上午社区医生上门测血压；" * 20  # 560 characters
# (name, relation, id number, birth, phone, 人员类别, 特殊人群, 备注)
Person = tuple[str, str, str, str, str, str, str, str]


def id_number(birth: str, sequence: int) -> str:
    """An ID number in the unassigned region 159901, with its right check digit."""
    from cardgen.data.idnumber import check_digit

    body = f"159901{birth}{sequence:03d}"
    return body + check_digit(body)


def households(estate: str, offset: int) -> list[tuple[str, str, str, list[Person]]]:
    """(户号, 住址, 房屋状况, people) of one grid: a colour each, in the office's words."""
    seq = offset * 100
    return [
        ("1", f"{estate}1号楼1单元101", "自有住房", [
            ("张建国", "户主", id_number("19500304", seq + 11), "1950.3", "13812345678",
             "户籍人口", "低保户（A类）", ""),
            ("王秀兰", "妻子", id_number("19520817", seq + 22), "1952年8月", "同上", "〃",
             "残疾人（二级肢体）", "")]),
        ("2", f"{estate}1号楼1单元102", "出租房", [
            ("李明", "户主", id_number("19850101", seq + 31), "", "13900001111", "人在户不在",
             "", ""),
            ("赵丽", "配偶", id_number("19870505", seq + 42), "", "", "人在户不在", "", "")]),
        ("3", f"{estate}1号楼1单元201", "空置房", []),
        ("4", f"{estate}1号楼1单元202", "自住房", [
            ("孙强", "本人", id_number("19700909", seq + 51), "", "15000002222", "常住人口",
             "社区矫正人员(缓刑)", ""),
            ("孙小军", "之子", id_number("20100101", seq + 61), "", "", "常住人口",
             "农村留守儿童", "")]),
        ("5", f"{estate}1号楼1单元301", "自住房", [
            ("周桂芳", "户主", id_number("19400202", seq + 72), "", "", "户籍人口",
             "精神障碍（精神分裂症）", LONG_NOTE)]),
    ]


def write_grid(sheet: openpyxl.worksheet.worksheet.Worksheet, estate: str, offset: int,
               title: str = TITLE, hidden_row: int | None = None) -> None:
    """One grid's sheet: a merged title, a 填表单位 row, a two-level header, 户号, 住址 and
    房屋状况 merged down each family, a blank spacer row, a hidden old 电话 column, 同上 and 〃,
    then 合计 and 填表人 rows under the table; `hidden_row` hidden too."""
    sheet.append([title])
    sheet.merge_cells("A1:L1")
    sheet.append(["填表单位：和平社区居委会", None, None, None, None, None, None, None,
                  "填表日期：2024年3月"])
    sheet.append(["户号", "住址", "房屋状况", "户籍信息", None, None, None, "联系方式", "电话",
                  "人员类别", "特殊人群", "备注"])
    sheet.append([None, None, None, "姓名", "与户主关系", "公民身份号码", "出生年月"])
    for column in "ABCHIJKL":
        sheet.merge_cells(f"{column}3:{column}4")
    sheet.merge_cells("D3:G3")
    row = 5
    for number, address, housing, people in households(estate, offset):
        if number == "4":
            sheet.append([])  # a spacer row
            row += 1
        if not people:
            sheet.append([number, address, housing])
            row += 1
            continue
        first = row
        for index, (name, relation, idn, birth, phone, residence, flags, note) in \
                enumerate(people):
            sheet.append([number if index == 0 else None, address if index == 0 else None,
                          housing if index == 0 else None, name, relation, idn, birth, phone,
                          "0472-5123456", residence, flags, note or None])
            row += 1
        if len(people) > 1:
            for column in "ABC":
                sheet.merge_cells(f"{column}{first}:{column}{row - 1}")
    sheet.append([])
    sheet.append(["合计", None, "5户", None, "8人"])
    sheet.merge_cells(f"A{row + 1}:B{row + 1}")
    sheet.append(["填表人：刘晓梅", None, None, None, "审核人：张卫东", None, None,
                  "联系电话：0472-5123400"])
    sheet.column_dimensions["I"].hidden = True
    if hidden_row is not None:
        sheet.row_dimensions[hidden_row].hidden = True
    for column in "F":
        for cells in sheet[f"{column}5:{column}{row}"]:
            for cell in cells:
                cell.number_format = "@"


def office_register(path: Path, grids: tuple[str, ...] = ("第一网格",),
                    summary: bool = False) -> Path:
    """The register as an .xlsx: one sheet per grid (户号 start again at 1 in each), after a
    汇总 sheet if `summary`."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    if summary:
        first.title = "汇总"
        first.append(["网格", "户数", "人数"])
        for grid in grids:
            first.append([grid, 5, 8])
    estates = ("阳光花园", "锦绣家园", "丽景苑")
    for number, grid in enumerate(grids):
        sheet = first if number == 0 and not summary else book.create_sheet(grid)
        sheet.title = grid
        # the second grid hides a row of records (王秀兰's)
        write_grid(sheet, estates[number % len(estates)], number,
                   hidden_row=6 if number == 1 else None)
    book.save(path)
    return path


def compound_file(stream: str, data: bytes) -> bytes:
    """An OLE compound file (what .xls and .doc are) holding one stream, as Office lays one
    out: a 512-byte header, a FAT sector, a directory sector, then the stream in 512-byte
    sectors (4096 bytes at least, so that it needs no mini stream)."""
    import struct

    end, free, fat_sector, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    data = data.ljust(max(4096, -(-len(data) // 512) * 512), b"\0")
    sectors = len(data) // 512
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack(
        "<HHHHH6sIIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, end, 0,
        end, 0, 0) + struct.pack("<108I", *([free] * 108))
    chain = [fat_sector, end, *range(3, 2 + sectors), end]
    fat = struct.pack(f"<{len(chain)}I", *chain).ljust(512, b"\xff")

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, none, none,
                           child, bytes(16), 0, 0, 0, start, size)

    directory = entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, none, 2, len(data)) + \
        entry("", 0, none, 0, 0) * 2
    return header + fat + directory + data


def main() -> int:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print("LibreOffice is needed: apt-get install libreoffice-calc-nogui", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as temp:
        source = office_register(Path(temp) / "office-register.xlsx", ("第一网格", "第二网格"),
                                 summary=True)
        for kind in ("xls", "ods"):
            subprocess.run([soffice, "--headless", "--convert-to", kind, "--outdir", temp,
                            str(source)], check=True, capture_output=True)
            shutil.copy(Path(temp) / f"office-register.{kind}", HERE / f"office-register.{kind}")
            print(HERE / f"office-register.{kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
