"""The emergency kit (issue 23, README "The emergency kit"): the roster of who needs
help first, the 明白卡, the cards with tabs on top; and the emergency tab mirrored on a
duplex back page."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardgen.book.roster import locate, plan_for
from cardgen.cli.commands import cli
from cardgen.config import load_config
from cardgen.data.model import Household
from tests.card.test_fit import words
from tests.conftest import (
    DATE,
    FEMALE_ID,
    VALID_ID,
    household_rows,
    page_count,
    pdftotext,
    render_page,
    write_csv,
)

Run = Callable[..., Result]

KIT_HEADER = ["户编号", "社区", "网格", "网格员", "网格员电话", "地址", "房屋状态", "姓名",
              "与户主关系", "身份证号", "出生日期", "联系电话", "特殊情况", "包户干部",
              "包户干部电话"]
PLANS = """
[emergency.plans."阳光花园"]
shelter = "第二中学操场"
shelter_address = "建设路88号"
route = "出小区北门沿建设路向西"
signal = "广播与鸣锣"
[emergency.plans."阳光花园10号楼"]
shelter = "阳光社区服务中心"
shelter_address = "阳光路1号"
route = "出单元门向南"
signal = "鸣锣三声"
"""


def person(hid: str, address: str, name: str, relation: str, born: str, phone: str = "",
           flags: str = "", id_number: str = "", cadre: str = "") -> dict[str, str]:
    return {"户编号": hid, "社区": "恒安社区", "网格": "第3网格", "网格员": "赵丽娜",
            "网格员电话": "13947210001", "地址": address, "房屋状态": "自住", "姓名": name,
            "与户主关系": relation, "身份证号": id_number, "出生日期": born,
            "联系电话": phone, "特殊情况": flags, "包户干部": cadre,
            "包户干部电话": "13600000009" if cadre else ""}


def kit_register(folder: Path) -> Path:
    """Five households of grid 第3网格: A on the 12th floor (an old man of 86 and his
    wife, 残疾, without a phone; a 包户干部), B on the 3rd (独居, and 社区矫正: red; 76), C in
    10号楼 (a baby), D written 1-2-302 (空巢, no estate: no plan), E (nobody in need).
    B and E have ID numbers."""
    rows = [
        person("A", "阳光花园2号楼1单元1201", "王大山", "户主", "1940-03-01", "13800000001",
               cadre="钱包户"),
        person("A", "阳光花园2号楼1单元1201", "李秀兰", "配偶", "1950-05-05", flags="残疾"),
        person("B", "阳光花园2号楼1单元302", "张小军", "户主", "1949-12-31", "13800000002",
               flags="独居、社区矫正", id_number=FEMALE_ID),
        person("C", "阳光花园10号楼2单元501", "周小宝", "子", "2025-06-01"),
        person("C", "阳光花园10号楼2单元501", "周大伟", "户主", "1990-02-02", "13800000003"),
        person("D", "1-2-302", "孙桂英", "户主", "1960-07-07", "13800000004", flags="空巢"),
        person("E", "阳光花园2号楼1单元402", "刘强", "户主", "1991-01-01", "13800000005",
               id_number=VALID_ID),
    ]
    return write_csv(folder / "kit.csv", rows, header=KIT_HEADER)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result, Path]:
    """The kit of the five households, made once: (its folder, the run, the register)."""
    folder = tmp_path_factory.mktemp("kit")
    source = kit_register(folder)
    config = folder / "plans.toml"
    config.write_text(PLANS, encoding="utf-8")
    out = folder / "kit"
    result = invoke("emergency", source, "-o", out, "--date", DATE, "--config", config,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    return out, result, source


def flat(text: str) -> str:
    return "".join(text.split())


def test_the_kit_holds_a_roster_mingbai_and_cards_per_grid(kit: tuple[Path, Result, Path]
                                                           ) -> None:
    out, _result, _source = kit
    assert sorted(p.name for p in out.iterdir()) == [
        "第3网格-应急名单.pdf", "第3网格-应急户卡.pdf", "第3网格-明白卡.pdf"]


def test_the_roster_lists_who_needs_help_first_in_walking_order(
        kit: tuple[Path, Result, Path]) -> None:
    out, _result, _source = kit
    text = pdftotext(out / "第3网格-应急名单.pdf")
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    people = [line for line in lines if line[:3].isdigit()]
    # building by building, unit by unit, floor by floor: D (1号楼 2单元 3层), B (3层),
    # A's two (12层), C (10号楼, after 2号楼)
    assert [line.split()[0] for line in people] == ["001", "002", "004", "004", "005"]
    assert "孙桂英" in people[0] and "3层" in people[0] and "空巢" in people[0]
    assert "张小军" in people[1] and "3层" in people[1] and "独居" in people[1]
    assert "13800000002" in people[1]
    assert "王大山" in people[2] and "12层" in people[2] and " 86 " in people[2]
    assert "高龄" in people[2] and "13800000001" in people[2]
    # 李秀兰 has no phone: her family's (the head's) is there to call
    assert "李秀兰" in people[3] and "残疾" in people[3] and "13800000001" in people[3]
    assert "周小宝" in people[4] and "婴幼儿" in people[4] and "13800000003" in people[4]
    headings = [line for line in lines if line.endswith("单元")]
    assert headings == ["1号楼 2单元", "阳光花园2号楼 1单元", "阳光花园10号楼 2单元"]
    assert "刘强" not in text  # nobody in E needs help first
    everything = flat(text)
    for expected in ("应急名单", "恒安社区第3网格", "赵丽娜13947210001", DATE, "5人·4户（共5户）",
                     "已联系", "已转移", "去向", "内部资料注意保密", "含居民联系电话", "第1/1页"):
        assert expected in everything, expected


def test_no_id_number_or_red_subtype_in_the_kit(kit: tuple[Path, Result, Path]) -> None:
    out, result, _source = kit
    for pdf in out.iterdir():
        text = flat(pdftotext(pdf))
        assert VALID_ID not in text and FEMALE_ID not in text, pdf.name
        assert "社区矫正" not in text, pdf.name
        if "户卡" not in pdf.name:  # the cards print the last four, as always; these nothing
            assert VALID_ID[-4:] not in text and FEMALE_ID[-4:] not in text, pdf.name
    assert "重点人员" in flat(pdftotext(out / "第3网格-应急户卡.pdf"))  # B's card: red
    assert VALID_ID[-4:] not in result.stdout and "社区矫正" not in result.stdout


def test_the_roster_as_json(kit: tuple[Path, Result, Path]) -> None:
    _out, result, _source = kit
    [grid] = json.loads(result.stdout)["grids"]
    assert grid["grid"] == "恒安社区 第3网格" and grid["households"] == 5
    assert grid["without_plan"] == ["1号楼"]
    assert [(p["household_id"], p["name"], p["floor"], p["needs"]) for p in grid["roster"]] == [
        ("D", "孙桂英", 3, ["空巢"]), ("B", "张小军", 3, ["独居"]),
        ("A", "王大山", 12, ["高龄"]), ("A", "李秀兰", 12, ["残疾"]),
        ("C", "周小宝", 5, ["婴幼儿"])]
    first = grid["roster"][2]
    assert first == {"number": "004", "household_id": "A", "building": "阳光花园2号楼",
                     "unit": "1", "floor": 12, "name": "王大山", "age": 86, "needs": ["高龄"],
                     "phone": "13800000001", "family_phone": ""}
    assert grid["roster"][3]["family_phone"] == "13800000001"


def test_a_mingbai_card_per_household_from_the_plans(kit: tuple[Path, Result, Path]) -> None:
    out, result, _source = kit
    pdf = out / "第3网格-明白卡.pdf"
    assert page_count(pdf) == 3  # five households, two cards to a sheet
    cards = {}
    for page in words(pdf):
        for half in (0, 1):  # the top card and the bottom one (mm → pt)
            text = "".join(w.text for w in sorted(page, key=lambda w: (w.top, w.left))
                           if (w.top > 148.5 * 72 / 25.4) == bool(half))
            if "户号" in text:
                cards[text.split("户号", 1)[1][:1]] = text
    assert sorted(cards) == ["A", "B", "C", "D", "E"]
    assert "第二中学操场" in cards["A"] and "建设路88号" in cards["A"]
    assert "广播与鸣锣" in cards["A"] and "出小区北门沿建设路向西" in cards["A"]
    assert "阳光社区服务中心" in cards["C"] and "第二中学操场" not in cards["C"]  # 10号楼's own
    assert "第二中学操场" not in cards["D"] and "安置点" in cards["D"]  # ruled for the pen
    assert "钱包户" in cards["A"] and "13600000009" in cards["A"]  # the 包户干部
    assert "赵丽娜" in cards["B"] and "13947210001" in cards["B"]  # else the grid worker
    assert "王大山（户主）" in cards["A"] and "李秀兰（残疾）" in cards["A"]
    assert "no emergency plan for 1号楼" in result.stderr


def test_the_mingbai_sheet_has_cut_marks_and_nothing_outside_the_trim(
        kit: tuple[Path, Result, Path]) -> None:
    pdf = kit[0] / "第3网格-明白卡.pdf"
    info = subprocess.run(["pdfinfo", "-box", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    boxes = {line.split(":")[0]: line.split(":")[1].split() for line in info.splitlines()
             if "Box" in line}
    assert boxes["MediaBox"] == boxes["TrimBox"]
    dpi = 100
    image = render_page(pdf, 0, dpi=dpi).convert("L")

    def dark(x_mm: float, y_mm: float) -> bool:
        x, y = round(x_mm / 25.4 * dpi), round(y_mm / 25.4 * dpi)
        return min(image.getpixel((x + dx, y + dy)) for dx in (-1, 0, 1)
                   for dy in (-1, 0, 1)) < 220

    # a cut mark on each card edge's line, in the margin and in the gap: left of the top
    # card's top-left corner, and above it; in the gap between the cards
    assert dark(7, 10) and dark(10, 7)
    assert dark(7, 143.5) and dark(7, 153.5)
    # nothing in the outer 3 mm, which an office printer cannot print anyway
    width, height = image.size
    border = round(3 / 25.4 * dpi)
    for x in range(width):
        for y in (*range(border), *range(height - border, height)):
            assert image.getpixel((x, y)) > 200, (x, y)
    # each card's words stay inside its card
    for page in words(pdf):
        for word in page:
            top, bottom = word.top * 25.4 / 72, word.bottom * 25.4 / 72
            left, right = word.left * 25.4 / 72, word.right * 25.4 / 72
            assert left >= 10 and right <= 200, word
            assert (top >= 10 and bottom <= 143.5) or (top >= 153.5 and bottom <= 287), word


def test_copies_of_each_mingbai_card_and_duplex_cards(tmp_path: Path) -> None:
    source = kit_register(tmp_path)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--copies", "2", "--household", "A", "--household", "B", "--duplex")
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "kit" / "第3网格-明白卡.pdf"
    assert page_count(pdf) == 2
    text = flat(pdftotext(pdf))
    assert text.count("户号A") == 2 and text.count("户号B") == 2
    # in book order (B is 002, A 004), a household's copies together (one sheet each)
    assert text.rindex("户号B") < text.index("户号A")
    # duplex: each card's back is its visit log, its tab mirrored
    cards = tmp_path / "kit" / "第3网格-应急户卡.pdf"
    assert page_count(cards) == 4
    assert "走访记录" in pdftotext(cards, 2) and "走访记录" in pdftotext(cards, 4)
    front, back = render_page(cards, 0, dpi=72), render_page(cards, 1, dpi=72)
    red = load_config().palette["red"].hex  # B: 社区矫正
    left, right = tab_columns(front, red, 2)
    back_left, back_right = tab_columns(back, red, 2)
    assert abs(back_left - (front.width - 1 - right)) <= 1
    assert abs(back_right - (front.width - 1 - left)) <= 1


def test_the_emergency_cards_have_their_tabs_on_top(kit: tuple[Path, Result, Path]) -> None:
    pdf = kit[0] / "第3网格-应急户卡.pdf"
    text = flat(pdftotext(pdf))
    assert page_count(pdf) == 4  # A, B, C, D: the roster's households (B is red too)
    for number in ("编号001", "编号002", "编号004", "编号005"):
        assert number in text
    assert "户号E" not in text and "应急" in text
    config = load_config()
    image = render_page(pdf, 0, dpi=72)
    assert image.getpixel((image.width - 2, image.height // 3)) == (255, 255, 255)
    top = {image.getpixel((x, 2)) for x in range(image.width)}
    assert any(all(abs(a - int(config.palette["orange"].hex[i:i + 2], 16)) < 16
                   for a, i in zip(colour, (1, 3, 5), strict=True)) for colour in top)


def test_book_numbers_with_book(tmp_path: Path) -> None:
    """With --book, the roster and the cards carry the book's numbers: a household that left
    keeps its number retired, so the others do not move up."""
    source = kit_register(tmp_path)
    text = source.read_text(encoding="utf-8")
    first = text.splitlines()[1].replace("A,", "Z,", 1).replace("阳光花园2号楼1单元1201",
                                                                 "1-1-101")
    early = tmp_path / "early.csv"
    early.write_text(text + first.replace("王大山", "赵一") + "\r\n", encoding="utf-8")
    result = invoke("ledger", early, "-o", tmp_path / "book", "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE, "--book",
                    tmp_path / "book", "--format", "json")
    assert result.exit_code == 0, result.output
    [grid] = json.loads(result.stdout)["grids"]
    assert [p["number"] for p in grid["roster"]] == ["002", "003", "005", "005", "006"]
    assert "编号005" in flat(pdftotext(tmp_path / "kit" / "第3网格-应急户卡.pdf"))


def test_exit_codes_and_a_folder_that_is_not_new(tmp_path: Path) -> None:
    source = kit_register(tmp_path)
    out = tmp_path / "kit"
    out.mkdir()
    (out / "note.txt").write_text("mine", encoding="utf-8")
    result = invoke("emergency", source, "-o", out, "--date", DATE, "--household", "E")
    assert result.exit_code == 2 and "--force" in result.output
    assert [p.name for p in out.iterdir()] == ["note.txt"]
    result = invoke("emergency", source, "-o", out, "--date", DATE, "--household", "E",
                    "--force")
    assert result.exit_code == 0, result.output
    # E alone: nobody on the roster, no card with its tab on top; a 明白卡 all the same
    assert sorted(p.name for p in out.iterdir()) == ["第3网格-应急名单.pdf", "第3网格-明白卡.pdf"]
    assert "本网格无需优先救助的人员" in flat(pdftotext(out / "第3网格-应急名单.pdf"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert invoke("emergency", source, "-o", tmp_path / "k2", "--colour", "pink").exit_code == 2
    assert invoke("emergency", source, "-o", tmp_path / "k4", "--household",
                  "nobody").exit_code == 1
    bad = write_csv(tmp_path / "bad.csv", [{**household_rows("H1")[0], "身份证号": "12345"},
                                           *household_rows("H2", 地址="阳光花园5号楼101")])
    result = invoke("emergency", bad, "-o", tmp_path / "k5", "--date", DATE)
    assert result.exit_code == 1 and "--skip-invalid" in result.output
    assert not (tmp_path / "k2").exists() and not (tmp_path / "k5").exists()
    # an emergency does not wait for a typo: the kit without H1, which is named
    result = invoke("emergency", bad, "-o", tmp_path / "k5", "--date", DATE, "--skip-invalid",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    assert "not in the kit: H1" in result.stderr
    [grid] = json.loads(result.stdout)["grids"]
    assert grid["households"] == 1


def test_a_kit_is_published_as_a_book_is_under_its_lock(tmp_path: Path) -> None:
    """Another run writing into the kit's folder refuses this one at once; the kit, made new,
    is a folder as any other the user makes (its mode from the umask, not private)."""
    import os
    import stat

    from cardgen.book.publish import folders_locked

    source = kit_register(tmp_path)
    out = tmp_path / "kit"
    with folders_locked(out, None):
        result = invoke("emergency", source, "-o", out, "--date", DATE, "--household", "E")
    assert result.exit_code == 1 and f"{out} is in use by another cardgen run" in result.output
    assert not out.exists()
    umask = os.umask(0o022)
    try:
        result = invoke("emergency", source, "-o", out, "--date", DATE, "--household", "E")
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_floor_comes_from_the_room_number() -> None:
    def floor(address: str, **parts: str) -> int | None:
        return locate(Household("H", "s", 0, address=address, **parts)).floor

    assert floor("阳光花园2号楼1单元1201室") == 12
    assert floor("1-2-302") == 3
    assert floor("302") == 3
    assert floor("恒大名都3栋2单元1201") == 12
    assert floor("锦绣家园5号楼12层1203") == 12
    assert floor("", estate="锦绣家园", building="3", unit="1", room="1201室") == 12
    assert floor("阳光花园2号楼") is None
    place = locate(Household("H", "s", 0, address="1-2-302"))
    assert (place.building, place.unit, place.room) == ("1", "2", "302")


def test_the_more_specific_plan_wins(tmp_path: Path) -> None:
    config_file = tmp_path / "plans.toml"
    config_file.write_text(PLANS, encoding="utf-8")
    config = load_config(config_file)

    def shelter(address: str) -> str | None:
        plan = plan_for(Household("H", "s", 0, address=address), config)
        return plan.shelter if plan else None

    assert shelter("阳光花园2号楼1单元302") == "第二中学操场"
    assert shelter("阳光花园10号楼2单元501") == "阳光社区服务中心"
    assert shelter("阳光花园 10号楼 2单元 501") == "阳光社区服务中心"
    assert shelter("锦绣家园1号楼") is None


def tab_columns(image, colour: str, y: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The first and last pixel column of row `y` in the tab's colour."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    found = [x for x in range(image.width)
             if all(abs(a - b) <= 12 for a, b in zip(image.getpixel((x, y)), (red, green, blue),
                                                     strict=True))]
    assert found, (colour, y)
    return found[0], found[-1]


@pytest.mark.parametrize("paper", ["A4", "A5", "16K"])
def test_a_duplex_back_pages_emergency_tab_mirrors_the_fronts(run: Run, tmp_path: Path,
                                                              paper: str) -> None:
    """Held to the light, the back's tab (a 续页 or the visit log) covers the front's: it is
    as far from the right edge as the front's is from the left (long-edge binding)."""
    long = [{**household_rows("L1")[0], "姓名": f"成员{i:02d}", "身份证号": "",
             "与户主关系": "户主" if i == 0 else "子"} for i in range(30)]
    source = write_csv(tmp_path / "r.csv", [*household_rows("A1", 地址="1号楼"),
                                            *[{**r, "地址": "2号楼"} for r in long]])
    out = tmp_path / "book"
    result = run("ledger", source, "-o", out, "--duplex", "--emergency", "--paper", paper,
                 "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    [ledger] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["ledgers"]
    pdf = out / ledger["file"]
    orange = load_config().palette["orange"].hex  # 低保 makes both orange
    pairs = []
    for entry in ledger["households"]:
        first, count = entry["first_page"], entry["page_count"]
        pairs += [(page, page + 1) for page in range(first, first + count + count % 2, 2)]
    assert len(pairs) >= 2  # a visit log behind A1, a 续页 behind L1's first page
    dpi = 72
    for front_page, back_page in pairs:
        front = render_page(pdf, front_page - 1, dpi=dpi)
        back = render_page(pdf, back_page - 1, dpi=dpi)
        y = 2  # inside the trim, in the tab's solid colour
        left, right = tab_columns(front, orange, y)
        back_left, back_right = tab_columns(back, orange, y)
        width = front.width - 1
        assert abs(back_left - (width - right)) <= 1, (paper, back_page, left, back_left)
        assert abs(back_right - (width - left)) <= 1, (paper, back_page, right, back_right)
        assert back_left != left  # not where the front's is (it stands off-centre)


def test_offices_restyle_the_roster_and_the_mingbai(tmp_path: Path) -> None:
    """The roster and the 明白卡 are frames: custom.css restyles them, and an office's own
    template must keep the places cardgen fills."""
    from cardgen.resources import TEMPLATES

    source = kit_register(tmp_path)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "custom.css").write_text(
        ".roster-head h1 .sub { display: none; }\n.mb-how { display: none; }\n",
        encoding="utf-8")
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--household", "A", "--templates", templates)
    assert result.exit_code == 0, result.output
    roster = flat(pdftotext(tmp_path / "kit" / "第3网格-应急名单.pdf"))
    assert "应急名单" in roster and "重点人员联络" not in roster and "王大山" in roster
    mingbai = flat(pdftotext(tmp_path / "kit" / "第3网格-明白卡.pdf"))
    assert "听到预警信号" not in mingbai and "王大山" in mingbai
    own = (TEMPLATES / "roster.html.j2").read_text(encoding="utf-8")
    (templates / "roster.html.j2").write_text(own.replace('id="roster-page"', 'id="page"'),
                                              encoding="utf-8")
    result = invoke("emergency", source, "-o", tmp_path / "kit2", "--date", DATE,
                    "--household", "A", "--templates", templates)
    assert result.exit_code == 1 and "roster-page" in result.output
    assert not (tmp_path / "kit2").exists()


def test_a_big_familys_members_are_summarised_never_cut(tmp_path: Path) -> None:
    names = [f"成员{chr(0x4E00 + i)}{chr(0x4E10 + i)}" for i in range(14)]
    rows = [person("F", "阳光花园3号楼101", name, "户主" if i == 0 else "子", "1990-01-01")
            for i, name in enumerate(names)]
    source = write_csv(tmp_path / "big.csv", rows, header=KIT_HEADER)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE)
    assert result.exit_code == 0, result.output
    text = flat(pdftotext(tmp_path / "kit" / "第3网格-明白卡.pdf"))
    assert "等14人" in text
    shown = [name for name in names if f"{name}（" in text]  # whole entries only
    assert shown == names[:len(shown)] and 3 <= len(shown) < 14
    assert f"{shown[-1]}（子）等14人" in text


def test_a_plan_with_a_character_no_font_has_is_refused(tmp_path: Path) -> None:
    source = kit_register(tmp_path)
    config = tmp_path / "plans.toml"
    config.write_text(PLANS.replace("鸣锣三声", "鸣锣三声\U0002A6A5"), encoding="utf-8")
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--config", config)
    assert result.exit_code == 2
    assert "emergency.plans.阳光花园10号楼.signal" in result.output and "U+2A6A5" in result.output
    assert not (tmp_path / "kit").exists()


@pytest.mark.parametrize(("written", "said"), [
    ('[emergency]\norder = ["building", "lift"]\n', "emergency.order"),
    ('[emergency]\ncard_colours = ["pink"]\n', "emergency.card_colours"),
    ('[emergency]\ncards_down = 3\n', "emergency.cards_down"),
    ('[emergency.plans."阳光花园"]\nshelter = "操场"\nexit = "北门"\n',
     "emergency.plans.阳光花园"),
])
def test_a_wrong_emergency_setting_names_itself(tmp_path: Path, written: str,
                                                said: str) -> None:
    from cardgen.errors import ConfigError

    config = tmp_path / "cfg.toml"
    config.write_text(written, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_config(config)


def test_a_basement_is_below_ground_and_a_bungalow_on_it() -> None:
    """B1 and 地下室 are the floor a flood reaches first: -1 (walked first), never unknown;
    a 平房 is on the ground floor."""
    def floor(address: str, **parts: str) -> int | None:
        return locate(Household("H", "s", 0, address=address, **parts)).floor

    assert floor("", estate="恒大名都", building="2号楼", unit="1单元", room="B1") == -1
    assert floor("恒大名都2号楼1单元B2") == -2
    assert floor("", estate="恒大名都", building="2号楼", unit="2单元", room="地下室") == -1
    assert floor("锦绣家园3号楼地下2层") == -2
    assert floor("锦绣家园3号楼负1层") == -1
    assert floor("平房") == 1
    assert floor("北街平房区3排5号") == 1
    assert floor("12-1-1201") == 12 and floor("1201室") == 12


def test_a_street_door_number_is_no_floor() -> None:
    """建设路1208号 is a house on a street, not a 12th-floor flat: no floor printed (a
    worker would look for a 12th floor); a flat's room on that street still gives one."""
    def floor(address: str) -> int | None:
        return locate(Household("H", "s", 0, address=address)).floor

    assert floor("建设路1208号") is None
    assert floor("幸福村3组115号") is None
    assert floor("胜利路1008号2单元302") == 3
    assert floor("阳光花园2号楼1单元1201号") == 12


def test_the_roster_prints_a_basement_and_walks_it_first(tmp_path: Path) -> None:
    rows = [person("U", "阳光花园2号楼1单元302", "张上楼", "户主", "1940-01-01", "13800000011"),
            person("D", "阳光花园2号楼1单元B1", "李地下", "户主", "1940-01-01", "13800000012"),
            person("S", "阳光花园2号楼1单元地下室", "王地下", "户主", "1940-01-01",
                   "13800000013"),
            person("P", "平房", "赵平房", "户主", "1940-01-01", "13800000014")]
    source = write_csv(tmp_path / "b.csv", rows, header=KIT_HEADER)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    text = pdftotext(tmp_path / "kit" / "第3网格-应急名单.pdf")
    people = [" ".join(line.split()) for line in text.splitlines() if "高龄" in line]
    names = [line.split()[-4] for line in people]  # the basement before the 3rd floor
    assert names[0] == "赵平房" and set(names[1:3]) == {"李地下", "王地下"}
    assert names[3] == "张上楼"
    assert "地下1层 李地下" in " ".join(people) and "地下1层 王地下" in " ".join(people)
    assert "1层 赵平房" in people[0] and "3层 张上楼" in people[3]
    roster = json.loads(result.stdout)["grids"][0]["roster"]
    assert [entry["floor"] for entry in roster] == [1, -1, -1, 3]


def test_a_household_without_an_address_is_named_by_its_household_id(tmp_path: Path) -> None:
    """The warning about buildings without a plan names every household it means: one with
    no address by its 户号, never an empty name."""
    rows = [person("A", "阳光花园2号楼1单元302", "张有址", "户主", "1990-01-01"),
            person("N", "", "王无址", "户主", "1990-01-01")]
    source = write_csv(tmp_path / "n.csv", rows, header=KIT_HEADER)
    result = invoke("--lang", "zh", "emergency", source, "-o", tmp_path / "kit", "--date",
                    DATE, "--format", "json")
    assert result.exit_code == 0, result.output
    [grid] = json.loads(result.stdout)["grids"]
    assert grid["without_plan"] == ["户号 N（无地址）", "阳光花园2号楼"]
    assert "第3网格：户号 N（无地址）、阳光花园2号楼 没有应急预案" in result.stderr


def test_init_copies_the_kit_frames_and_says_emergency_takes_them(tmp_path: Path) -> None:
    """`cardgen init` copies the roster and 明白卡 frames, and its next step names the
    emergency command among those that take --templates (it named only the others)."""
    result = invoke("--lang", "zh", "init", tmp_path / "starter")
    assert result.exit_code == 0, result.output
    copied = {p.name for p in (tmp_path / "starter" / "templates").iterdir()}
    assert {"roster.html.j2", "mingbai.html.j2", "kit.css.j2"} <= copied
    assert "reprint、ledger、update、emergency 或 preview" in result.output


def test_a_row_leaves_the_estate_to_its_heading(tmp_path: Path) -> None:
    """Under the heading that names the estate, building and unit, a row prints the door
    (7号楼 3单元 503室) in the row's type: a long estate name squeezed it small and wrapped."""
    estate = "内蒙古包头市九原区建设路街道恒大名都小区二期"
    rows = [person(f"S{i}", f"{estate}7号楼3单元{i + 5}03", f"独居{i}", "户主", "1960-01-01",
                   f"1380000000{i}", flags="独居") for i in range(3)]
    source = write_csv(tmp_path / "s.csv", rows, header=KIT_HEADER)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE)
    assert result.exit_code == 0, result.output
    text = pdftotext(tmp_path / "kit" / "第3网格-应急名单.pdf")
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    assert f"{estate}7号楼 3单元" in lines
    people = [line for line in lines if "独居" in line and line[:3].isdigit()]
    assert len(people) == 3
    assert people[0].startswith("001 7号楼3单元503 5层 独居0 66 独居 13800000000")
    assert all("小区" not in line for line in people)


def test_a_small_mingbai_card_keeps_a_long_shelter_large(tmp_path: Path) -> None:
    """Four 明白卡 to a sheet: a long shelter name, its address and the signal take two lines
    in large type (on one line they shrank to the smallest)."""
    config = tmp_path / "plans.toml"
    config.write_text(
        '[emergency]\ncards_across = 2\ncards_down = 2\n[emergency.plans."阳光花园"]\n'
        'shelter = "九原区第二中学操场及体育馆（备用：恒安社区服务中心二楼大厅）"\n'
        'shelter_address = "内蒙古包头市九原区建设路88号第二中学东门进入"\n'
        'route = "出北门向西"\nsignal = "广播与鸣锣（连续急促锣声三遍），夜间加手电筒闪烁"\n',
        encoding="utf-8")
    source = write_csv(tmp_path / "r.csv", [person("A", "阳光花园2号楼1单元302", "张有址", "户主",
                                                   "1990-01-01")], header=KIT_HEADER)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--config", config)
    assert result.exit_code == 0, result.output
    boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "kit" / "第3网格-明白卡.pdf"),
                            "-"], capture_output=True, text=True, check=True).stdout
    placed = re.findall(r'xMin="([\d.]+)"[^>]*xMax="([\d.]+)"[^>]*>([^<]+)</word>', boxes)
    for start in ("九原区第二中学", "内蒙古包头市", "广播与鸣锣"):
        [(left, right, text)] = [w for w in placed if w[2].startswith(start)]
        size = (float(right) - float(left)) / len(text)  # pt a character
        assert size >= 10, (start, size)


def test_who_does_not_live_there_is_not_on_the_roster(tmp_path: Path) -> None:
    """A person 外出 (户在人不在) or 空挂 is not behind the door: not on the roster, not among
    the 明白卡's people who need help; the family's phone is still theirs to call."""
    header = [*KIT_HEADER, "居住状态"]
    rows = [{**person("A", "阳光花园2号楼1单元302", "王在家", "户主", "1940-01-01",
                      "13800000001"), "居住状态": "常住"},
            {**person("A", "阳光花园2号楼1单元302", "王外出", "子", "1941-01-01",
                      "13800000002", flags="残疾"), "居住状态": "户在人不在"},
            {**person("B", "阳光花园2号楼1单元402", "李空挂", "户主", "1930-01-01",
                      "13800000003", flags="独居"), "居住状态": "空挂"}]
    source = write_csv(tmp_path / "r.csv", rows, header=header)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    [grid] = json.loads(result.stdout)["grids"]
    assert [(e["name"], e["needs"]) for e in grid["roster"]] == [("王在家", ["高龄"])]
    roster = flat(pdftotext(tmp_path / "kit" / "第3网格-应急名单.pdf"))
    assert "王外出" not in roster and "李空挂" not in roster and "1人·1户（共2户）" in roster
    mingbai = flat(pdftotext(tmp_path / "kit" / "第3网格-明白卡.pdf"))
    assert "需帮助人员王在家（高龄）" in mingbai and "王外出（残疾" not in mingbai
    assert "王外出（子）" in mingbai  # still a member of the family


def test_a_household_keyed_by_an_id_number_is_refused_without_showing_it(
        tmp_path: Path) -> None:
    """A register keyed by the head's ID number (户号 = 身份证号) would put the ID on every
    明白卡 and in the JSON: the kit is refused like every other command, exit 1, nothing
    written, and the message shows the ID masked (the kit masks such a 户号 itself too)."""
    rows = [person(VALID_ID, "阳光花园2号楼1单元302", "王在家", "户主", "1940-01-01",
                   "13800000001")]
    source = write_csv(tmp_path / "r.csv", rows, header=KIT_HEADER)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--format", "json")
    assert result.exit_code == 1, result.output
    assert VALID_ID not in result.output and not (tmp_path / "kit").exists()
    assert "household number is an ID number" in result.output


def test_a_roster_with_nobody_says_so_across_the_row(tmp_path: Path) -> None:
    """本网格无需优先救助的人员 stands in a heading band across the first row, clear of the
    column rules (it was written over them from the table's very edge)."""
    from tests.conftest import mm_to_px

    source = write_csv(tmp_path / "r.csv", [person("A", "阳光花园2号楼1单元302", "刘强", "户主",
                                                   "1990-01-01")], header=KIT_HEADER)
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE)
    assert result.exit_code == 0, result.output
    roster = tmp_path / "kit" / "第3网格-应急名单.pdf"
    assert "本网格无需优先救助的人员" in flat(pdftotext(roster))
    dpi = 144
    image = render_page(roster, 0, dpi=dpi).convert("L")
    # the rule between 住址 and 楼层 (12 + 0.6 + 14 + 58 mm from the left), in the first row
    x = mm_to_px(84.6, dpi)
    darkest = min(image.getpixel((px, py)) for px in range(x - 5, x + 6)
                  for py in range(mm_to_px(48, dpi), mm_to_px(53, dpi)))
    assert darkest > 200, darkest  # the band's light grey, no rule through the message
    below = min(image.getpixel((px, mm_to_px(62, dpi))) for px in range(x - 5, x + 6))
    assert below < 150  # the rule is there in the rows below


def test_a_landline_is_a_phone_to_call(tmp_path: Path) -> None:
    """A register with 手机 and 电话: an old person with only the landline has it on the
    roster (the row had no phone at all), one with both has both, and a family member's
    landline is the family's phone when they have no mobile."""
    source = tmp_path / "r.csv"
    source.write_text(
        "户编号,网格,地址,姓名,与户主关系,出生日期,手机,电话\n"
        "A,第3网格,阳光花园2号楼1单元302,王座机,户主,1940-01-01,,0472-5123456\n"
        "B,第3网格,阳光花园2号楼1单元402,李两机,户主,1940-01-01,13800000001,0472-5111111\n"
        "C,第3网格,阳光花园2号楼1单元502,赵家人,户主,1970-01-01,,0472-5222222\n"
        "C,第3网格,阳光花园2号楼1单元502,赵小宝,子,2025-01-01,,\n", encoding="utf-8")
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    roster = json.loads(result.stdout)["grids"][0]["roster"]
    assert [(e["name"], e["phone"], e["family_phone"]) for e in roster] == [
        ("王座机", "0472-5123456", ""), ("李两机", "13800000001 0472-5111111", ""),
        ("赵小宝", "", "0472-5222222")]
    text = flat(pdftotext(tmp_path / "kit" / "第3网格-应急名单.pdf"))
    assert "王座机86高龄0472-5123456" in text and "赵小宝1婴幼儿0472-5222222" in text


def test_a_building_however_written_gets_its_own_plan(tmp_path: Path) -> None:
    """A 楼栋 column of 3栋 / 3幢 / 3# / 3号, an address 3#楼, a key 5栋 or A座: the same
    building as 3号楼, so the building's own plan wins over the estate's (the estate's shelter
    was printed on their 明白卡: the wrong place to go)."""
    settings = tmp_path / "plans.toml"
    settings.write_text(
        '[emergency.plans."锦绣家园"]\nshelter = "小区广场"\n'
        '[emergency.plans."锦绣家园3号楼"]\nshelter = "三号楼专用"\n'
        '[emergency.plans."恒大名都A座"]\nshelter = "A座专用"\n'
        '[emergency.plans."恒大名都5栋"]\nshelter = "五栋专用"\n', encoding="utf-8")
    config = load_config(settings)

    def shelter(address: str = "", **parts: str) -> str | None:
        plan = plan_for(Household("H", "s", 0, address=address, **parts), config)
        return plan.shelter if plan else None

    for written in ("3", "3号楼", "3栋", "3幢", "3#", "3号", "三号楼", "三栋", "三"):
        assert shelter(estate="锦绣家园", building=written, room="101") == "三号楼专用", written
    assert shelter(estate="锦绣家园", building="13号楼", room="101") == "小区广场"
    assert shelter("锦绣家园3#楼101") == "三号楼专用"
    assert shelter("锦绣家园3栋2单元101") == "三号楼专用"
    assert shelter("锦绣家园三号楼二单元101") == "三号楼专用"  # in Chinese numerals
    assert shelter("锦绣家园十三号楼101") == "小区广场"
    assert shelter("恒大名都A座1201") == "A座专用"
    assert shelter(estate="恒大名都", building="5号楼", room="101") == "五栋专用"
    assert shelter(estate="恒大名都", building="15号楼", room="101") is None
    assert shelter("恒大名都五栋301") == "五栋专用"  # the key in digits, the address in words
    same = [locate(Household("H", "s", 0, estate="锦绣家园", building=b)).building_name
            for b in ("3", "3栋", "3#", "三号楼")]
    assert same == ["锦绣家园3号楼"] * 4  # one group on the roster, one name in a warning
    walked = locate(Household("H", "s", 0, address="锦绣家园十二栋二单元502"))
    assert (walked.building, walked.unit, walked.floor) == ("12", "2", 5)


def test_a_pdf_a_kit_is_pdf_a_in_all_three_files(tmp_path: Path) -> None:
    """`emergency --pdf-variant pdf/a-2b`: the roster and the 明白卡 are PDF/A-2b (and still
    PDF/UA-1) as the cards are; they were written as plain PDFs (no PDF/A identification,
    DeviceGray without an output intent), so an archive refused two files of the three."""
    import page

    source = tmp_path / "r.csv"
    source.write_text(
        "户编号,网格,地址,姓名,与户主关系,出生日期,手机\n"
        "A,第3网格,阳光花园2号楼1单元302,王高龄,户主,1940-01-01,13800000001\n",
        encoding="utf-8")
    result = invoke("emergency", source, "-o", tmp_path / "kit", "--date", DATE,
                    "--pdf-variant", "pdf/a-2b")
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "kit").glob("*.pdf"))
    assert [f.name for f in files] == ["第3网格-应急名单.pdf", "第3网格-应急户卡.pdf",
                                       "第3网格-明白卡.pdf"]
    for pdf in files:
        for profile in ("2b", "ua1"):
            report = page.validate_pdf(str(pdf), profile=profile)
            failed = sorted({f.rule_id for f in report.failures})
            assert failed == [], (pdf.name, profile, failed)
