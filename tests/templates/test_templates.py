"""Templates an office changes: the card follows the template's places, or the template is
refused with the file and the id. Checked as a reader sees it: word boxes (pdftotext -bbox)
never overlap, and each piece of data stays inside its place."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardgen.cli.commands import cli
from cardgen.frame.render import ENGINE_WARNINGS
from cardgen.resources import TEMPLATES
from tests.card.test_fit import assert_no_overlaps, find, member_csv, words
from tests.conftest import DATE, household_rows, page_count, write_csv

Run = Callable[..., Result]
MM = 72 / 25.4


@pytest.fixture
def register(tmp_path: Path) -> Path:
    """Households that fill every place: stickers, chips, notes, a 续页, a vacant one."""
    big = [{**household_rows("BIG", 特殊情况="低保、党员、残疾")[0], "姓名": f"成员{i:02d}",
            "身份证号": "", "与户主关系": "户主" if i == 0 else "子"} for i in range(16)]
    vacant = {"户编号": "V1", "社区": "恒安社区", "网格": "第3网格", "地址": "阳光花园9号楼",
              "房屋状态": "空置"}
    return write_csv(tmp_path / "register.csv",
                     [*household_rows("H1", 特殊情况="特困、党员、退役军人"), *big, vacant])


def edited(tmp_path: Path, css: dict[str, str] | None = None,
           html: dict[str, str] | None = None, custom: str = "") -> Path:
    """A copy of the bundled templates with some text replaced, as an office edits them."""
    folder = tmp_path / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    for name, changes in (("frame.css.j2", css or {}), ("frame.html.j2", html or {})):
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        for old, new in changes.items():
            assert old in text, old
            text = text.replace(old, new)
        (folder / name).write_text(text, encoding="utf-8")
    if custom:
        (folder / "custom.css").write_text(custom, encoding="utf-8")
    return folder


def reprint(source: Path, out: Path, *extra: str | Path, lang: str = "en") -> Result:
    return CliRunner(env={"CARDGEN_LANG": lang}).invoke(
        cli, ["reprint", str(source), "-o", str(out), "--date", DATE,
              *(str(e) for e in extra)], catch_exceptions=False)


TALL_HOUSEHOLD = {"{%- set household = 20 * s -%}": "{%- set household = 40 * s -%}"}
TALL_ROWS = {"{%- set row = sizes.body * line * 25.4 / 72 + 2.4 * s -%}":
             "{%- set row = 10 * s -%}"}
KICKER = {"五色户卡 · 全员人口信息登记卡": "九原区 · 五色户卡 · 全员人口信息登记卡（2026）"}
STICKERS_BELOW = (".band { order: 1; } .household { order: 2; } .stickers { order: 3; }\n"
                  ".members { order: 4; } .visit { order: 5; } .strip { order: 6; }\n"
                  ".footer { order: 7; }\n.member-row { border-bottom-color: #3060c0; }\n")


@pytest.mark.parametrize(("name", "templates", "paper"), [
    ("bundled", {}, "A4"),
    ("taller household block", {"css": TALL_HOUSEHOLD}, "A4"),
    ("taller member rows", {"css": TALL_ROWS}, "A4"),
    ("renamed kicker", {"html": KICKER}, "A4"),
    ("stickers below the household block, custom.css", {"custom": STICKERS_BELOW}, "A4"),
    ("everything on 16K", {"css": {**TALL_HOUSEHOLD, **TALL_ROWS}, "html": KICKER,
                           "custom": STICKERS_BELOW}, "16K"),
    ("A5", {}, "A5"),
])
def test_no_two_words_overlap(register: Path, tmp_path: Path, name: str,
                              templates: dict[str, object], paper: str) -> None:
    # with the suite's cache: its entries are named by every template file's content, so
    # a template shared by two tests is laid out once (tests of what WeasyPrint warns
    # about run with --no-cache: a frame from the cache warns of nothing)
    extra: list[str | Path] = ["--paper", paper]
    if templates:
        extra += ["--templates", edited(tmp_path, **templates)]  # type: ignore[arg-type]
    out = tmp_path / "cards.pdf"
    result = reprint(register, out, *extra)
    assert result.exit_code == 0, result.output
    pages = words(out)
    assert len(pages) == page_count(out) >= 4  # H1, BIG on two pages, V1
    for page in pages:
        assert_no_overlaps(page)
    text = " ".join(w.text for page in pages for w in page)
    assert "（空位，可手贴）" in text and "■" in text  # empty and filled slots
    assert "续页" in text and "接续页" in text and "空置房屋" in text


def test_a_taller_household_block_moves_the_members_down(register: Path,
                                                         tmp_path: Path) -> None:
    tops = {}
    for name, css in (("bundled", {}), ("taller", TALL_HOUSEHOLD)):
        out = tmp_path / f"{name}.pdf"
        extra: list[str | Path] = ["--household", "H1"]
        if css:
            extra += ["--templates", edited(tmp_path / name, css=css)]
        (tmp_path / name).mkdir(exist_ok=True)
        assert reprint(register, out, *extra).exit_code == 0
        [page] = words(out)
        tops[name] = (find(page, "序").top, find(page, "李明").top)
    moved = (tops["taller"][0] - tops["bundled"][0]) / MM
    assert 19 < moved < 21  # 20 mm taller
    assert tops["taller"][1] - tops["bundled"][1] == pytest.approx(tops["taller"][0]
                                                                   - tops["bundled"][0], abs=1)


def test_the_continuation_follows_a_renamed_kicker(register: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.pdf"
    result = reprint(register, out, "--household", "BIG", "--templates",
                     edited(tmp_path, html=KICKER))
    assert result.exit_code == 0, result.output
    second = words(out)[1]
    kicker = [w for w in second if "九原区" in w.text or "（2026）" in w.text]
    continued = find(second, "续页")
    assert kicker and continued.left >= max(w.right for w in kicker)
    assert abs(continued.top - kicker[0].top) < 2  # on the kicker's line


def test_a_members_table_in_other_words_still_lines_up(tmp_path: Path) -> None:
    """Data goes where the template's header cells are: a wider name column moves the
    columns right of it."""
    out = tmp_path / "m.pdf"
    wider = {"('number', 4), ('name', 20), ('relation', 7)": "('number', 4), ('name', 22), "
             "('relation', 5)"}
    result = reprint(member_csv(tmp_path / "m.csv"), out, "--templates",
                     edited(tmp_path, css=wider))
    assert result.exit_code == 0, result.output
    page = words(out)[-1]
    assert find(page, "钱二").left < find(page, "关系").left < find(page, "配偶").left + 1


@pytest.mark.parametrize(("html", "css", "code_text"), [
    ({'<div id="household"></div>': '<div></div>'}, {}, "“household”"),
    ({'<div id="visit"></div>': '<div></div>'}, {}, "“visit”"),
    ({'<section class="stickers" id="stickers">': '<section class="stickers">'}, {},
     "“stickers”"),
    ({'<section class="strip" id="notes">': '<section class="strip">'}, {}, "“notes”"),
    ({'<div class="member-row" id="member-row-{{ loop.index }}"></div>':
      '<div class="member-row"></div>'}, {}, "member-row-1"),
])
def test_a_template_without_a_place_is_refused(register: Path, tmp_path: Path,
                                               html: dict[str, str], css: dict[str, str],
                                               code_text: str) -> None:
    folder = edited(tmp_path, css=css, html=html)
    out = tmp_path / "x.pdf"
    for lang in ("en", "zh"):
        result = reprint(register, out, "--templates", folder, "--no-cache", lang=lang)
        assert result.exit_code == 1, result.output
        assert str(folder / "frame.html.j2") in result.output and code_text in result.output
        assert "Traceback" not in result.output and not out.exists()
    assert "cardgen 要在那里印住户的数据" in result.output or "横线格" in result.output


def test_a_box_too_small_for_its_text_is_refused(register: Path, tmp_path: Path) -> None:
    folder = edited(tmp_path, css={"#reasons { margin-top: {{ mm(0.8 * s) }}; height: {{ "
                                   "lh('band') }}; }": "#reasons { height: 1mm; }"})
    out = tmp_path / "x.pdf"
    result = reprint(register, out, "--templates", folder, "--no-cache")
    assert result.exit_code == 1
    assert "“reasons”" in result.output and "too small for one line" in result.output
    result = reprint(register, out, "--templates", folder, "--no-cache", lang="zh")
    assert "“reasons”框只有" in result.output and not out.exists()


def test_paper_is_chosen_once_not_in_the_template(register: Path, tmp_path: Path) -> None:
    """16K written into @page while the run is A4: refused, naming --paper."""
    folder = edited(tmp_path, css={"size: {{ mm(paper.width) }} {{ mm(paper.height) }};":
                                   "size: 184mm 260mm;"})
    out = tmp_path / "x.pdf"
    result = reprint(register, out, "--templates", folder, "--no-cache")
    assert result.exit_code == 1
    assert "frame.css.j2" in result.output
    assert "184 × 260 mm" in result.output and "--paper" in result.output
    assert re.search(r"A4 \(210 × 297 mm\)", result.output)
    assert not out.exists()


def test_custom_css_applies_after_the_bundled_styles(register: Path, tmp_path: Path) -> None:
    """custom.css moves the sticker area below the household block: the filled stickers
    and the empty slots' words follow it, and nothing lands on the address rows."""
    out = tmp_path / "moved.pdf"
    result = reprint(register, out, "--household", "H1", "--no-cache", "--templates",
                     edited(tmp_path, custom=STICKERS_BELOW))
    assert result.exit_code == 0, result.output
    [page] = words(out)
    household, stickers = find(page, "住户信息"), find(page, "特殊情况贴纸")
    assert household.top < stickers.top < find(page, "序").top
    for word in ("■", "（空位，可手贴）", "张秀英"):
        assert find(page, word).top > stickers.bottom, word  # in the moved slots
    assert find(page, "阳光花园2号楼1单元302").bottom < stickers.top
    assert_no_overlaps(page)


def test_places_that_move_with_the_colour_are_refused(register: Path, tmp_path: Path) -> None:
    """The geometry pass lays out one colour's pages; a frame of another colour whose
    places differ is refused rather than filled wrongly."""
    folder = edited(tmp_path, custom=".c-orange #household { height: 40mm; }\n")
    out = tmp_path / "x.pdf"
    result = reprint(register, out, "--household", "H1", "--templates", folder, "--no-cache")
    assert result.exit_code == 1
    assert "“household”" in result.output and "must be the same on every colour" in \
        result.output and not out.exists()
    result = reprint(register, out, "--household", "H1", "--templates", folder, "--no-cache",
                     lang="zh")
    assert "各种颜色的户卡上必须相同" in result.output
    assert reprint(register, out, "--household", "V1", "--templates", folder,
                   "--no-cache").exit_code == 0  # a green card is unaffected


def test_a_taller_members_header_moves_the_rows_down(register: Path, tmp_path: Path) -> None:
    """custom.css makes the members table's header 12 mm tall: the ruled rows follow it,
    so the first member is written under the header, not through it."""
    out = tmp_path / "head.pdf"
    result = reprint(register, out, "--household", "H1", "--no-cache", "--templates",
                     edited(tmp_path, custom=".members .head { height: 12mm; }\n"))
    assert result.exit_code == 0, result.output
    [page] = words(out)
    assert find(page, "李明").top > find(page, "姓名").bottom
    assert_no_overlaps(page)


STRIP_ABOVE = (".band { order: 1; } .stickers { order: 2; } .household { order: 3; }\n"
               ".strip { order: 4; } .members { order: 5; } .visit { order: 6; }\n"
               ".footer { order: 7; }\n")


def test_the_notes_strip_is_ruled_to_its_own_height(tmp_path: Path) -> None:
    """A 30 mm notes strip above the members table: its ruled rows share the 30 mm, and
    none of its lines reaches the members table."""
    from cardgen.config import load_config
    from cardgen.frame.render import Frame, Renderer
    from cardgen.layout.geometry import PX

    folder = edited(tmp_path, custom=STRIP_ABOVE + ".strip { height: 30mm; }\n")
    renderer = Renderer(load_config(), folder)
    page = renderer._layout(renderer._frames_html([Frame("yellow", rows=10)])).pages[0]
    strip: list[float] = []
    cells: list[float] = []

    def walk(box: object) -> None:
        element = getattr(box, "element", None)
        tag = getattr(box, "element_tag", None)
        if element is not None and element.get("class") == "strip" and not strip:
            strip.append((box.border_box_y() + box.border_height()) * PX)  # type: ignore[attr-defined]
        if tag == "td":
            cells.append((box.border_box_y() + box.border_height()) * PX)  # type: ignore[attr-defined]
        for child in getattr(box, "children", ()):
            walk(child)

    walk(page._page_box)
    assert strip and len(cells) >= 5
    assert max(cells) <= strip[0] + 0.05
    assert max(cells) <= page.anchors["members"][1] * PX


def test_frame_lines_over_a_place_are_refused(register: Path, tmp_path: Path) -> None:
    """A custom.css whose notes strip overflows into the members table: refused, naming
    custom.css and the place, in Chinese too; no PDF with data printed over the lines."""
    folder = edited(tmp_path, custom=STRIP_ABOVE + ".strip { height: 30mm; margin-bottom: "
                    "-15mm; }\n")
    out = tmp_path / "x.pdf"
    result = reprint(register, out, "--household", "H1", "--templates", folder, "--no-cache")
    assert result.exit_code == 1, result.output
    assert "custom.css" in result.output and "“members”" in result.output
    assert "Traceback" not in result.output and not out.exists()
    result = reprint(register, out, "--household", "H1", "--templates", folder, "--no-cache",
                     lang="zh")
    assert result.exit_code == 1 and "custom.css" in result.output
    assert "压到了" in result.output and "“members”" in result.output


@pytest.mark.parametrize(("change", "words"), [
    ({"{{ card.confidential }}": "{{ card.confidental }}"},
     "模板里用到的“confidental”不存在，检查拼写"),
    ({"{{ card.confidential }}": "{{ card.confidential | nosuchfilter }}"},
     "未知的过滤器“nosuchfilter”"),
    ({"{%- endmacro %}": "{%- endmacr %}"}, "语法错误"),
])
def test_template_mistakes_are_told_in_chinese(register: Path, tmp_path: Path,
                                               change: dict[str, str], words: str) -> None:
    folder = edited(tmp_path, html=change)
    result = reprint(register, tmp_path / "x.pdf", "--templates", folder, "--no-cache",
                     lang="zh")
    assert result.exit_code == 1, result.output
    assert re.search(re.escape(str(folder / "frame.html.j2")) + r" 第 \d+ 行：", result.output)
    assert words in result.output and ", line" not in result.output


def test_custom_css_is_named_in_errors_and_warnings(register: Path, tmp_path: Path) -> None:
    folder = edited(tmp_path, custom="@page { size: 184mm 260mm; }\n")
    out = tmp_path / "x.pdf"
    result = reprint(register, out, "--templates", folder, "--no-cache", lang="zh")
    assert result.exit_code == 1 and str(folder / "custom.css") in result.output
    (folder / "custom.css").write_text(".band { colr: blue; }\n", encoding="utf-8")
    result = reprint(register, out, "--household", "H1", "--templates", folder,
                     "--no-cache", lang="zh")
    assert result.exit_code == 0, result.output
    assert f"{folder / 'custom.css'} 第 1 行：这条 CSS 看不懂，已忽略" in result.output
    ENGINE_WARNINGS.messages.clear()  # heard for this command; other tests count from none


def test_a_missing_template_folder_is_told_in_chinese(register: Path, tmp_path: Path) -> None:
    result = reprint(register, tmp_path / "x.pdf", "--templates", tmp_path / "nowhere",
                     lang="zh")
    assert result.exit_code == 2 and "文件夹 '" in result.output and "不存在" in result.output
    assert "Directory" not in result.output
