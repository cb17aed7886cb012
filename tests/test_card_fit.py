"""Nothing on a card overflows: long household facts, read back from
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

from cardgen.cards import layout_for
from cardgen.config import Config
from tests.conftest import DATE, VALID_ID, write_csv

Run = Callable[..., Result]
MM = 72 / 25.4

ADDRESS = ("阳光花园" + "幸福大街与和平路交叉口东北角" * 9)[:120]
OWNER = ("欧阳·" + "买买提艾力阿不都热依木" * 4)[:40]
WORKER = ("司马长风慕容复" * 6)[:40]
LONG_PHONE = "1381234567" * 100  # 1000 characters, printed as written (with a warning)
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
    """Every word stays inside the margins, but the tab's character."""
    layout = layout_for(config.paper(paper), config.gutter)
    right = (layout.width - layout.margin_right) * MM + 1
    tab = (layout.width - layout.tab_short) * MM
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
