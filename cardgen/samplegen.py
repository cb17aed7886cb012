"""Invented household records for the samples, the tests and the benchmarks (no real people).

Deterministic: the same seed and size give the same rows. ID numbers use the unassigned
region code 1599xx with valid check digits; phone numbers are random.
`python -m cardgen.samplegen` rewrites the bundled samples/.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cardgen.data.idnumber import check_digit

HEADERS = ("户编号", "社区", "网格", "网格员", "网格员电话", "小区", "楼栋", "单元",
           "门牌号", "房屋状态", "一人多套房", "经常变换居住地", "出租出售计划", "房主",
           "房主电话", "户卡颜色", "姓名", "与户主关系", "性别", "民族", "出生日期", "身份证号",
           "联系电话", "居住状态", "特殊情况", "备注")
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉萍红建华志国春梅海燕亮波辉鹏飞"
    "慧宁凤琴云莲荣鑫瑞雪晨阳宇浩然子涵欣怡梓轩诗雨博文思远"
)
MONGOLIAN = ("巴特尔", "乌云其木格", "斯琴高娃", "额尔敦", "其其格", "布仁巴雅尔", "萨仁图雅",
             "宝音德力格尔", "那顺乌日图", "阿拉腾花")
UYGHUR_MEN = ("阿卜杜热合曼·买买提", "艾力·阿不都拉", "买买提明·依明", "努尔兰·卡德尔")
UYGHUR_WOMEN = ("古丽娜尔·吐尔逊", "热依拉·艾合买提", "阿依古丽·肉孜", "帕提古丽·阿不力孜")
ESTATES = ("阳光花园", "锦绣家园", "丽景苑", "惠民小区", "和顺里", "北辰新村")
COMMUNITIES = ("和平社区", "兴园社区", "团结嘎查村", "沙河社区")


def _id_number(rng: random.Random, birth: dt.date, male: bool) -> str:
    sequence = rng.randrange(0, 50) * 2 + (1 if male else 0)
    body = f"1599{rng.randrange(1, 99):02d}{birth:%Y%m%d}{rng.randrange(0, 10)}{sequence:02d}"
    return body + check_digit(body)


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "151", "158", "186", "187", "135")) + \
        f"{rng.randrange(0, 10**8):08d}"


def _name(rng: random.Random, male: bool, ethnicity: str) -> str:
    if ethnicity == "维吾尔族":
        return rng.choice(UYGHUR_MEN if male else UYGHUR_WOMEN)
    if ethnicity == "蒙古族" and rng.random() < 0.7:
        return rng.choice(MONGOLIAN)
    length = 1 if rng.random() < 0.3 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(length))


def _birth(rng: random.Random, today: dt.date, low: int, high: int) -> dt.date:
    age_days = rng.randrange(low * 365 + 1, high * 365)
    return today - dt.timedelta(days=age_days)


def _ethnicity(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.80:
        return "汉族"
    if roll < 0.90:
        return "蒙古族"
    if roll < 0.95:
        return "回族"
    if roll < 0.98:
        return "满族"
    return "维吾尔族"


def _person(rng: random.Random, today: dt.date, relation: str, low: int, high: int,
            flags: str = "", residence: str = "常住",
            ethnicity: str | None = None) -> dict[str, str]:
    male = rng.random() < 0.5
    if relation in ("妻", "母亲", "女", "儿媳", "孙女"):
        male = False
    elif relation in ("夫", "父亲", "子", "孙子"):
        male = True
    ethnic = ethnicity or _ethnicity(rng)
    birth = _birth(rng, today, low, high)
    return {
        "姓名": _name(rng, male, ethnic), "与户主关系": relation, "性别": "男" if male else "女",
        "民族": ethnic, "出生日期": birth.isoformat(), "身份证号": _id_number(rng, birth, male),
        "联系电话": _phone(rng) if low >= 16 and rng.random() < 0.8 else "",
        "居住状态": residence, "特殊情况": flags, "备注": "",
    }


def _members(rng: random.Random, today: dt.date, kind: str,
             red: int = 0) -> list[dict[str, str]]:
    """The people of one household of a given kind (the kinds cover every colour and flag)."""
    head = _person
    if kind == "vacant":
        return []
    if kind == "elderly":
        return [head(rng, today, "户主", 68, 85, "空巢"), head(rng, today, "配偶", 65, 82)]
    if kind == "alone":
        return [head(rng, today, "户主", 70, 88, "独居")]
    if kind == "big":
        people = [head(rng, today, "户主", 70, 82, "党员"), head(rng, today, "配偶", 68, 80),
                  head(rng, today, "子", 40, 50), head(rng, today, "儿媳", 38, 48),
                  head(rng, today, "子", 36, 44), head(rng, today, "儿媳", 34, 42, "残疾"),
                  head(rng, today, "女", 30, 40, "", "外出"),
                  head(rng, today, "孙子", 12, 18), head(rng, today, "孙女", 10, 16),
                  head(rng, today, "孙子", 6, 10), head(rng, today, "孙女", 2, 6),
                  head(rng, today, "孙子", 0, 2)]
        people[6]["备注"] = "在外地务工，春节返乡"
        return people
    flags = {"dibao": "低保", "illness": "大病", "disabled": "残疾", "sanwu": "三无",
             "tekun": "特困", "red": RED_SUBTYPES[red % len(RED_SUBTYPES)], "party": "党员",
             "veteran": "退役军人", "unemployed": "失业", "keyperson": "重点人员"}.get(kind, "")
    residence = "流动" if kind == "floating" else "常住"
    people = [head(rng, today, "户主", 30, 65, flags if kind != "red" else "", residence)]
    if rng.random() < 0.7:
        people.append(head(rng, today, "配偶", 28, 62, "", residence))
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        people.append(head(rng, today, rng.choice(("子", "女")), 1, 28, "", residence))
    if kind in ("red", "keyperson"):
        people[0]["特殊情况"] = ""
        people[-1]["特殊情况"] = flags
    if kind == "left_behind":
        people.append(head(rng, today, "孙子", 6, 12, "留守儿童"))
    if kind == "minority":
        for person in people:
            person["民族"] = "维吾尔族"
            person["姓名"] = rng.choice(UYGHUR_MEN if person["性别"] == "男" else UYGHUR_WOMEN)
    if kind == "illness" and rng.random() < 0.5:
        people[0]["备注"] = "每月复查，需协助就医"
    return people


# the first households: every kind once (and each of red's sub-types)
COVERAGE = ("plain", "plain", "plain", "plain", "plain", "party", "elderly", "dibao",
            "illness", "disabled", "sanwu", "tekun", "red", "rented", "floating", "vacant",
            "minority", "veteran", "red", "unemployed", "left_behind", "keyperson", "red",
            "alone", "red")
# then kinds drawn as often as they are common in a grid
KINDS = ("plain",) * 30 + ("party",) * 4 + ("elderly",) * 4 + ("alone",) * 2 + (
    "dibao",) * 3 + ("illness", "disabled", "sanwu", "tekun", "red", "rented", "rented",
                     "floating", "vacant", "vacant", "minority", "veteran", "unemployed",
                     "left_behind", "keyperson")
RED_SUBTYPES = ("社区矫正", "刑满释放", "精神障碍", "吸毒")


def _kind(index: int, drawn: list[str]) -> str:
    """Household kinds: the 12-member one fourth, every kind once, then drawn at random."""
    if index == 3:
        return "big"
    return COVERAGE[index] if index < len(COVERAGE) else drawn[index]


def generate(households: int, seed: int = 7, today: dt.date = dt.date(2026, 11, 1),
             grids: int = 2) -> Iterator[dict[str, str]]:
    """Rows of `households` invented households over `grids` grids, every kind among them."""
    rng = random.Random(seed)
    kinds_rng = random.Random(seed + 1)
    rng_kinds = [kinds_rng.choice(KINDS) for _ in range(households)]
    per_grid = max(1, -(-households // grids))
    for index in range(households):
        grid_no = index // per_grid + 1
        community = COMMUNITIES[(grid_no - 1) // 3 % len(COMMUNITIES)]
        kind = _kind(index, rng_kinds)
        estate = ESTATES[grid_no % len(ESTATES)]
        position = index % per_grid
        household = {
            "户编号": f"G{grid_no:02d}-{position + 1:04d}", "社区": community,
            "网格": f"第{grid_no}网格", "网格员": _name(rng, rng.random() < 0.5, "汉族"),
            "网格员电话": "", "小区": estate, "楼栋": str(position // 48 + 1),
            "单元": str(position // 12 % 4 + 1),
            "门牌号": f"{position % 12 // 2 + 1}0{position % 2 + 1}",
            "房屋状态": {"vacant": "空置", "rented": "出租", "floating": "出租"}.get(kind, "自住"),
            "一人多套房": "", "经常变换居住地": "", "出租出售计划": "", "房主": "", "房主电话": "",
            "户卡颜色": "",
        }
        household["网格员"] = ("赵丽娜", "孙建国", "周晓燕", "吴海涛")[(grid_no - 1) % 4]
        household["网格员电话"] = f"1394721{grid_no:04d}"
        if kind in ("vacant", "rented", "floating"):
            household["房主"] = _name(rng, True, "汉族")
            household["房主电话"] = _phone(rng)
        if kind == "vacant" and rng.random() < 0.5:
            household["出租出售计划"] = rng.choice(("出租", "出售"))
        if kind == "party" and rng.random() < 0.5:
            household["一人多套房"] = "是"
            household["经常变换居住地"] = "是"
        if index == 5:
            household["户卡颜色"] = "黄"  # an explicit colour the rules agree with
        reds = sum(1 for earlier in range(min(index, len(COVERAGE)))
                   if _kind(earlier, rng_kinds) == "red")
        members = _members(rng, today, kind, reds)
        if not members:
            yield {**household, **{h: "" for h in HEADERS[16:]}}
        for person in members:
            yield {**household, **person}


def to_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADERS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_xlsx(rows: list[dict[str, str]], path: Path, sheet: str = "户卡") -> None:
    """An .xlsx as a spreadsheet program saves it, ID numbers as text."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet_ = book.active
    assert sheet_ is not None
    sheet_.title = sheet
    sheet_.append(list(HEADERS))
    for row in rows:
        sheet_.append([row[h] for h in HEADERS])
    for cell in sheet_["V"]:
        cell.number_format = "@"
    _save(book, path)


def _save(book: Any, path: Path) -> None:
    """A sample workbook with fixed properties and times: the same bytes on every run."""
    book.properties.creator = "cardgen samples"
    book.properties.created = dt.datetime(2026, 11, 1)
    book.properties.modified = dt.datetime(2026, 11, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(_fixed_times(buffer.getvalue()))


def _fixed_times(data: bytes) -> bytes:
    """The same ZIP with every entry dated 2026-01-01: the same workbook, the same bytes."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the saving time
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z",
                                 content)
            target.writestr(fixed, content)
    return out.getvalue()


# The office's words for the generator's values (the vocabulary of defaults.toml reads them)
OFFICE_HOUSING = {"自住": "自有住房", "出租": "出租房", "空置": "空置房"}
OFFICE_RESIDENCE = {"常住": "户籍人口", "流动": "流动人口", "外出": "户在人不在"}
OFFICE_RELATION = {"子": "儿子", "女": "女儿"}
OFFICE_FLAGS = {"低保": "低保户（A类）", "残疾": "残疾人（二级肢体）", "大病": "大病患者",
                "特困": "特困供养人员", "三无": "三无人员", "社区矫正": "社区矫正人员(缓刑)",
                "刑满释放": "刑满释放人员", "精神障碍": "严重精神障碍患者", "吸毒": "吸毒人员",
                "空巢": "空巢老人", "独居": "独居老人", "留守儿童": "农村留守儿童",
                "党员": "中共党员", "失业": "登记失业"}
REGISTER_TITLE = "九原区沙河街道和平社区第一网格全员人口信息登记表"
# the two-level header: (group or None, name); a name alone spans both header rows
REGISTER_COLUMNS = (
    (None, "户号"), (None, "住址"), (None, "房屋状况"), (None, "房主"), (None, "房主电话"),
    ("家庭成员信息", "姓名"), ("家庭成员信息", "与户主关系"), ("家庭成员信息", "性别"),
    ("家庭成员信息", "民族"), ("家庭成员信息", "出生年月"), ("家庭成员信息", "公民身份号码"),
    (None, "联系电话"), (None, "人员类别"), (None, "特殊人群"), (None, "备注"))


def _office_row(row: dict[str, str], number: int, first: bool) -> list[str | None]:
    """One person's row of the office register (household cells on the family's first)."""
    household = [str(number), f"{row['小区']}{row['楼栋']}号楼{row['单元']}单元{row['门牌号']}室",
                 OFFICE_HOUSING[row["房屋状态"]], row["房主"], row["房主电话"]]
    relation = row["与户主关系"]
    if relation == "配偶":
        relation = "妻子" if row["性别"] == "女" else "丈夫"
    birth = row["出生日期"]
    person = [row["姓名"], OFFICE_RELATION.get(relation, relation), row["性别"], row["民族"],
              f"{birth[:4]}.{int(birth[5:7])}" if birth else "", row["身份证号"],
              row["联系电话"], OFFICE_RESIDENCE.get(row["居住状态"], row["居住状态"]),
              OFFICE_FLAGS.get(row["特殊情况"], row["特殊情况"]), row["备注"]]
    if not row["姓名"]:
        person = [""] * len(person)
    return [v or None for v in (household if first else [""] * len(household)) + person]


def write_office_register(rows: list[dict[str, str]], path: Path) -> None:
    """A 全员人口信息登记表 as a community office keeps it in Excel: a merged title, a
    填表单位 line naming the grid worker, a two-level header, 户号 住址 房屋状况 merged down
    each family, a blank row between buildings, the office's words (自有住房, 户籍人口,
    低保户（A类）, 出生年月 1950.3), then 合计 and 填表人 lines under the table."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "第一网格"
    last = openpyxl.utils.get_column_letter(len(REGISTER_COLUMNS))
    sheet.append([REGISTER_TITLE])
    sheet.merge_cells(f"A1:{last}1")
    line: list[str | None] = [None] * len(REGISTER_COLUMNS)
    line[0], line[5] = "填表单位：和平社区居委会", f"网格员：{rows[0]['网格员']}"
    line[8], line[12] = f"网格员电话：{rows[0]['网格员电话']}", "填表日期：2026年11月"
    sheet.append(line)
    sheet.append([group or name for group, name in REGISTER_COLUMNS])
    sheet.append([name if group else None for group, name in REGISTER_COLUMNS])
    for index, (group, _name) in enumerate(REGISTER_COLUMNS, 1):
        letter = openpyxl.utils.get_column_letter(index)
        if group is None:
            sheet.merge_cells(f"{letter}3:{letter}4")
    grouped = [i for i, (group, _n) in enumerate(REGISTER_COLUMNS, 1) if group]
    sheet.merge_cells(start_row=3, start_column=grouped[0], end_row=3, end_column=grouped[-1])
    families: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        families.setdefault(row["户编号"], []).append(row)
    people = 0
    building = None
    last_row = 4  # counted here: openpyxl's max_row looks at every cell
    for number, family in enumerate(families.values(), 1):
        if building is not None and family[0]["楼栋"] != building:
            sheet.append([])
            last_row += 1
        building = family[0]["楼栋"]
        first = last_row + 1
        for position, row in enumerate(family):
            sheet.append(_office_row(row, number, position == 0))
            people += bool(row["姓名"])
        last_row += len(family)
        if len(family) > 1:
            for index in range(1, 6):
                letter = openpyxl.utils.get_column_letter(index)
                sheet.merge_cells(f"{letter}{first}:{letter}{last_row}")
    sheet.append([])
    sheet.append(["合计", None, f"{len(families)}户", None, None, f"{people}人"])
    sheet.merge_cells(f"A{last_row + 2}:B{last_row + 2}")
    sheet.append(["填表人：" + rows[0]["网格员"], None, None, None, None, "审核人：刘卫东"])
    id_column = openpyxl.utils.get_column_letter(1 + [n for _g, n in REGISTER_COLUMNS]
                                                 .index("公民身份号码"))
    for cell in sheet[id_column]:
        cell.number_format = "@"
    _save(book, path)


def write_samples(folder: Path) -> list[Path]:
    rows = list(generate(60, seed=7, grids=2))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "households.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + to_csv(rows).encode("utf-8"))
    gb_path = folder / "households-gb18030.csv"
    gb_path.write_bytes(to_csv(rows[:40]).encode("gb18030"))
    xlsx_path = folder / "households.xlsx"
    write_xlsx(rows, xlsx_path)
    register_path = folder / "office-register.xlsx"
    write_office_register(list(generate(30, seed=11, grids=1)), register_path)
    return [csv_path, gb_path, xlsx_path, register_path]


if __name__ == "__main__":
    from cardgen.resources import SAMPLES

    for written in write_samples(SAMPLES):
        print(written)
