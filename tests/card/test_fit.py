"""Nothing on a card overflows: long household facts and tall member rows, read back from
the printed PDF as word boxes (pdftotext -bbox) and checked against each other."""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from cardgen.config import Config
from cardgen.layout.cards import MemberLine, paginate
from tests.conftest import DATE, VALID_ID, page_count, write_csv

Run = Callable[..., Result]
MM = 72 / 25.4

ADDRESS = ("阳光花园" + "幸福大街与和平路交叉口东北角" * 9)[:120]
OWNER = ("欧阳·" + "买买提艾力阿不都热依木" * 4)[:40]
WORKER = ("司马长风慕容复" * 6)[:40]
LONG_PHONE = "1381234567" * 100  # 1000 characters, printed as written (with a warning)
FLAGS = ("因病致贫需长期服药治疗家庭经济困难" * 12)[:200]
NOTES = ("长期卧床需要定期上门照护家属联系方式见档案" * 15)[:300]
HEADER = ["户编号", "社区", "网格", "地址", "房屋状态", "房主", "房主电话", "网格员",
          "网格员电话", "姓名", "与户主关系", "身份证号", "联系电话", "居住状态", "特殊情况",
          "备注"]


@dataclass(frozen=True)
class Word:
    text: str
    left: float  # points from the page's top-left
    top: float
    right: float
    bottom: float


def words(path: Path) -> list[list[Word]]:
    """Every page's words with their boxes, as pdftotext reads them."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append([Word(html.unescape(m[5]), *(float(m[i]) for i in range(1, 5)))
                      for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" '
                                           r'xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                                           page)])
    return pages


def find(page: list[Word], text: str, last: bool = False) -> Word:
    """The (first or last, top to bottom) word that is exactly `text`."""
    found = sorted((w for w in page if w.text == text), key=lambda w: w.top)
    assert found, f"{text!r} is not printed on the page"
    return found[-1 if last else 0]


def below(page: list[Word], text: str) -> list[Word]:
    """The words from the one that is `text` down (the sticker area above has the frame's
    empty slots under the filled stickers on purpose)."""
    top = find(page, text).top - 1
    return [w for w in page if w.top >= top]


def made_of(word: Word, source: str) -> bool:
    """The word is a piece of `source` (wrapped, or cut short with …)."""
    text = word.text.removeprefix("备注：").rstrip("…")
    return bool(text) and text in source


def assert_no_overlaps(page: list[Word], tolerance: float = 2.0) -> None:
    """No two words print over each other (adjacent lines' boxes may touch a little)."""
    for index, a in enumerate(page):
        for b in page[index + 1:]:
            across = min(a.right, b.right) - max(a.left, b.left)
            down = min(a.bottom, b.bottom) - max(a.top, b.top)
            assert across <= tolerance or down <= tolerance, (a, b)


def assert_inside(page: list[Word], config: Config, paper: str) -> None:
    """Every word stays inside the bundled template's margins (18 mm on the right on A4),
    but the tab's character (the tab is 15 mm wide on A4: 5 mm of safe zone, its ring and
    a padding that scale with the paper)."""
    size = config.papers.size(paper)
    right = (size.width - 5 - 13 * size.scale) * MM + 1
    tab = (size.width - 5 - 10 * size.scale) * MM
    for word in page:
        assert word.right <= right or word.left >= tab, word


def household_csv(path: Path, owner_phone: str = "13812345678") -> Path:
    head = {"户编号": "H001", "社区": "恒安社区", "网格": "第3网格", "地址": ADDRESS,
            "房屋状态": "出租", "房主": OWNER, "房主电话": owner_phone, "网格员": WORKER,
            "网格员电话": LONG_PHONE, "姓名": "张秀英", "与户主关系": "户主",
            "身份证号": VALID_ID, "联系电话": "13812345678", "居住状态": "常住",
            "特殊情况": "低保"}
    other = {"户编号": "H001", "姓名": "李明", "与户主关系": "配偶", "居住状态": "流动"}
    return write_csv(path, [head, other], header=HEADER)


def member_csv(path: Path) -> Path:
    head = {"户编号": "H002", "社区": "恒安社区", "网格": "第3网格",
            "地址": "阳光花园2号楼1单元302", "房屋状态": "自住", "网格员": "王网格",
            "网格员电话": "13900001111", "姓名": "赵大", "与户主关系": "户主",
            "联系电话": "13812345678", "居住状态": "常住", "特殊情况": FLAGS, "备注": NOTES}
    other = {"户编号": "H002", "姓名": "钱二", "与户主关系": "配偶", "居住状态": "常住"}
    return write_csv(path, [head, other], header=HEADER)


def reprint(run: Run, source: Path, out: Path, paper: str, emergency: bool) -> None:
    extra = ["--emergency"] if emergency else []
    result = run("reprint", source, "-o", out, "--date", DATE, "--paper", paper, *extra)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("paper", "emergency"), [("A4", False), ("A5", False),
                                                  ("A4", True), ("A5", True)])
def test_long_household_facts_stay_above_the_members_table(
        run: Run, tmp_path: Path, config: Config, paper: str, emergency: bool) -> None:
    out = tmp_path / "card.pdf"
    reprint(run, household_csv(tmp_path / "h.csv"), out, paper, emergency)
    [page] = words(out)
    page = below(page, "住户信息")
    header = find(page, "序")
    for label in ("地址", "房主", "房主电话", "网格员", "网格员电话"):
        assert find(page, label).bottom <= header.top, label
    for source in (ADDRESS, OWNER, WORKER):
        pieces = [w for w in page if made_of(w, source) and w.top < header.top + 30]
        assert pieces, source
        assert max(w.bottom for w in pieces) <= header.top, source
        assert "".join(w.text for w in pieces) == source  # all of it, nothing cut
    # the first member's row starts below the header
    assert find(page, "张秀英", last=True).top >= header.bottom - 2
    assert_no_overlaps(page)
    assert_inside(page, config, paper)


@pytest.mark.parametrize("paper", ["A4", "A5"])
def test_an_absurd_phone_is_cut_to_one_line(run: Run, tmp_path: Path, config: Config,
                                            paper: str) -> None:
    out = tmp_path / "card.pdf"
    reprint(run, household_csv(tmp_path / "h.csv", owner_phone=LONG_PHONE), out, paper,
            False)
    [page] = words(out)
    page = below(page, "住户信息")
    header = find(page, "序")
    for label in ("房主电话", "网格员电话"):
        found = find(page, label)
        value = [w for w in page if w.text.startswith("1381234567")
                 and abs(w.top - found.top) < 1]
        assert len(value) == 1, label  # one line, nothing wrapped below it
        assert value[0].text.endswith("…") and value[0].bottom <= header.top
    assert not [w for w in page if w.text.startswith("1381234567") and
                w.bottom > header.top and w.text != "13812345678"]  # the member's own phone
    assert_no_overlaps(page)
    assert_inside(page, config, paper)


@pytest.mark.parametrize(("paper", "emergency"), [("A4", False), ("A5", False),
                                                  ("A4", True), ("A5", True)])
def test_a_tall_member_row_ends_above_the_visit_line(
        run: Run, tmp_path: Path, config: Config, paper: str, emergency: bool) -> None:
    out = tmp_path / "card.pdf"
    reprint(run, member_csv(tmp_path / "m.csv"), out, paper, emergency)
    pages = words(out)
    assert len(pages) == page_count(out) >= 2
    printed = ""
    for page in pages:
        assert_inside(page, config, paper)  # the flag's chip above the table too
        visit = find(page, "走访频次")
        notes = find(page, "临时工作标注")
        assert visit.bottom < notes.top
        page = below(page, "序")
        row = [w for w in page if made_of(w, FLAGS) or made_of(w, NOTES)]
        if row:
            assert max(w.bottom for w in row) <= visit.top, [w for w in row
                                                             if w.bottom > visit.top]
        printed += "".join(w.text for w in row)
        assert_no_overlaps(page)
    assert "长期卧床" in printed and "因病致贫" in printed
    assert printed.count("备注：") == 1  # the row is printed once, not split or repeated
    if paper == "A5":  # taller than an A5 续页 holds: its longest cell is cut short
        assert "…" in printed


def test_the_tall_row_moves_whole_to_a_continuation_page(run: Run, tmp_path: Path) -> None:
    """The row does not fit the first page: it moves whole to page 2, where it fills the
    续页's ruled rows (a line to a row) and its longest cells are cut short."""
    out = tmp_path / "card.pdf"
    reprint(run, member_csv(tmp_path / "m.csv"), out, "A4", False)
    first, second, *_ = (below(page, "序") for page in words(out))
    assert not [w for w in first if made_of(w, FLAGS) or made_of(w, NOTES)]
    flags = "".join(w.text for w in second if made_of(w, FLAGS))
    assert flags.endswith("…") and FLAGS.startswith(flags[:-1]) and len(flags) > 60
    notes = "".join(w.text for w in second if made_of(w, NOTES))
    assert notes.startswith("备注：" + NOTES[:20])
    assert find(first, "接续页").bottom <= find(first, "走访频次").top


def line(number: int, rows: int) -> MemberLine:
    return MemberLine(number, f"成员{number}", "", "", "", "", "", "", "", "", "", main=rows)


def test_paginate_never_puts_more_on_a_page_than_it_holds() -> None:
    first, next_ = 14, 25
    for heights in ([first + 1, 1], [1, first + 1, 1], [next_, next_, 1],
                    [first // 2, first // 2 + 1, next_], [first - 1, 1], [1] * 40):
        pages = paginate([line(i, h) for i, h in enumerate(heights, 1)], first, next_)
        rooms = [first] + [next_] * (len(pages) - 1)
        for page, room in zip(pages, rooms, strict=True):
            used = sum(m.rows for m in page.members)
            assert used <= room, (heights, pages)
            if page.continued and not (page.number > 1 and len(page.members) == 1):
                assert used + 1 <= room, (heights, page)  # a row for 接续页
        assert [m.number for p in pages for m in p.members] == list(range(1, len(heights) + 1))
    # the first member goes to a 续页 only when it does not fit the first page
    assert len(paginate([line(1, first)], first, next_)) == 1
    assert [len(p.members) for p in paginate([line(1, first + 1)], first, next_)] == [0, 1]


@pytest.mark.parametrize("paper", ["A4", "A5"])
def test_no_empty_band_under_the_stickers(run: Run, tmp_path: Path, paper: str) -> None:
    """The other flags' chips take one row under the stickers, not two (issue 24: about
    10 mm stood empty there on most cards); the room went to the members table."""
    source = write_csv(tmp_path / "h.csv", [
        {"户编号": "H1", "社区": "恒安社区", "网格": "第3网格", "地址": "阳光花园2号楼",
         "房屋状态": "自住", "姓名": "张秀英", "与户主关系": "户主", "身份证号": VALID_ID,
         "联系电话": "13812345678", "居住状态": "常住", "特殊情况": "低保、党员"}], HEADER)
    out = tmp_path / "card.pdf"
    reprint(run, source, out, paper, False)
    [page] = words(out)
    heading = find(page, "住户信息")
    chip = find(page, "党员")
    assert chip.bottom < heading.top
    assert (heading.top - chip.bottom) / MM <= 5.0, (heading.top - chip.bottom) / MM
