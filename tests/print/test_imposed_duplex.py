"""Imposed sheets printed duplex (issue 23, item 3; README "Printing"): `--impose a4-2up
--duplex` puts each sheet's back after it, and held to the light every card's back page
(its visit log, its 续页) stands exactly behind its own front — the tab on top in an
emergency, the right-edge tab in routine — with the marks and cut guides in register.

The sheet is turned over on its long edge, as every duplex print of cardgen's: an a4-2up
sheet is landscape, so it turns like a calendar (top and bottom swap), and holding its back
to the light is flipping the back's picture top to bottom."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from PIL import Image, ImageOps

from cardgen.config import load_config
from cardgen.layout.geometry import MM
from cardgen.pdf.compose import plan_back, plan_sheet
from tests.conftest import DATE, household_rows, page_count, pdftotext, write_csv

Run = Callable[..., Result]

DPI = 40  # as a print shop's quick look: pdftoppm -r 40
A5 = (148 * MM, 210 * MM)


def register(folder: Path, phone: str = "13812345678") -> Path:
    """Three households in address order: A (one page: its visit log behind it), L (30
    members, one of them 残疾: a 续页 behind its first page) and B (one page); A and L are
    on an emergency kit's roster. `phone` is B's head's."""
    long = [{**household_rows("L")[0], "姓名": f"成员{i:02d}", "身份证号": "",
             "与户主关系": "户主" if i == 0 else "子", "特殊情况": "残疾" if i == 5 else ""}
            for i in range(30)]
    return write_csv(folder / "r.csv", [
        *household_rows("A", 地址="1号楼101"),
        *[{**row, "地址": "2号楼101"} for row in long],
        *household_rows("B", 地址="3号楼101", 特殊情况="", 户卡颜色="蓝", 联系电话=phone),
    ])


def sheets(pdf: Path, folder: Path) -> list[Image.Image]:
    """Every sheet of `pdf` as pdftoppm draws it at DPI."""
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(folder / "s")],
                   check=True, capture_output=True)
    return [Image.open(path).convert("RGB") for path in sorted(folder.glob("s-*.png"))]


def held_to_the_light(back: Image.Image) -> Image.Image:
    """The back seen through the paper from the front: the landscape sheet turned over on
    its long edge (top and bottom swap)."""
    return ImageOps.flip(back)


def coloured(pixel: tuple[int, int, int]) -> bool:
    return max(pixel) - min(pixel) > 60  # a tab's colour, not ink, grey or paper


def run_along(image: Image.Image, points: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The first and last of `points` (in order) in a tab's colour, or None."""
    found = [i for i, point in enumerate(points) if coloured(image.getpixel(point))]
    return (found[0], found[-1]) if found else None


def tab_runs(image: Image.Image, trims: list[tuple[int, int, int, int]],
             emergency: bool) -> list[tuple[int, int] | None]:
    """Per card slot (its trim in pixels: left, top, right, bottom), where a tab touches
    the trim: along the top edge in an emergency, the right edge in routine (2 pixels
    inside the trim: only the tab reaches it)."""
    runs = []
    for left, top, right, bottom in trims:
        if emergency:
            points = [(x, top + 2) for x in range(left + 2, right - 2)]
        else:
            points = [(right - 2, y) for y in range(top + 2, bottom - 2)]
        runs.append(run_along(image, points))
    return runs


def trims_px(marks: bool, bleed: float, size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Each slot's trim on the sheet, in pixels from the top-left."""
    plan = plan_sheet(load_config().papers.impositions["a4-2up"], A5, bleed * MM, marks)
    scale = DPI / 72
    height = plan.size[1]
    found = [(round(x * scale), round((height - y - A5[1]) * scale),
              round((x + A5[0]) * scale), round((height - y) * scale)) for x, y in plan.places]
    assert abs(round(plan.size[0] * scale) - size[0]) <= 1
    return found


@pytest.mark.parametrize("emergency", [True, False], ids=["emergency", "routine"])
@pytest.mark.parametrize("extra", [(), ("--marks", "--bleed", "3")], ids=["plain", "marks"])
def test_each_cards_back_stands_behind_its_front(run: Run, tmp_path: Path, emergency: bool,
                                                 extra: tuple[str, ...]) -> None:
    out = tmp_path / "book"
    result = run("ledger", register(tmp_path), "-o", out, "--duplex", "--impose", "a4-2up",
                 "--date", DATE, "--quiet", *(("--emergency",) if emergency else ()), *extra)
    assert result.exit_code == 0, result.output
    [ledger] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["ledgers"]
    pdf = out / ledger["file"]
    # cover, its blank back, index, its blank back, A, its log, L, its 续页, B, its log:
    # ten pages, two to a side: three sheets, each followed by its back
    assert page_count(pdf) == 6
    assert [(e["household_id"], e["first_page"], e["page_count"])
            for e in ledger["households"]] == [("A", 3, 1), ("L", 3, 2), ("B", 5, 1)]
    images = sheets(pdf, tmp_path)
    trims = trims_px(bool(extra), 3.0 if extra else 0.0, images[0].size)
    matched = 0
    for front, back in zip(images[0::2], images[1::2], strict=True):
        seen = held_to_the_light(back)
        for slot, (here, behind) in enumerate(zip(tab_runs(front, trims, emergency),
                                                  tab_runs(seen, trims, emergency),
                                                  strict=True)):
            if here is None:  # the cover, the index, an empty slot
                continue
            assert behind is not None, (slot, here)
            assert abs(behind[0] - here[0]) <= 1 and abs(behind[1] - here[1]) <= 1, (
                slot, here, behind)
            matched += 1
    assert matched == 3  # A, L and B: each with a back page behind it
    # the back pages behind their fronts: A's log and L's 续页 on the second sheet's back
    assert "户号 A" in pdftotext(pdf, 3) and "户号 L" in pdftotext(pdf, 3)
    second_back = pdftotext(pdf, 4)
    assert "走访记录" in second_back and "成员29" in second_back
    assert "户号 B" in pdftotext(pdf, 5) and "走访记录" in pdftotext(pdf, 6)


def test_the_marks_and_cut_guides_of_the_back_are_the_fronts_turned_over() -> None:
    """In register: the back's marks, boxes and slots are the front's, turned over on the
    sheet's long edge (the landscape a4-2up sheet: top and bottom swap), and a card's back
    page is turned half a turn in its slot (the cut card turns like a book)."""
    imposition = load_config().papers.impositions["a4-2up"]
    for marks, bleed in ((False, 0.0), (True, 3 * MM)):
        front = plan_sheet(imposition, A5, bleed, marks)
        back = plan_back(front, A5)
        width, height = front.size

        def ends(segment: tuple[float, float, float, float]) -> list[tuple[float, float]]:
            return sorted((round(x, 2), round(y, 2)) for x, y in (segment[:2], segment[2:]))

        # each of the back's marks, turned back over, is one of the front's
        assert sorted(ends((x0, height - y0, x1, height - y1)) for x0, y0, x1, y1
                      in back.marks) == sorted(ends(mark) for mark in front.marks)
        assert back.boxes == {key: tuple(round(v, 3) for v in (x0, height - y1, x1, height - y0))
                              for key, (x0, y0, x1, y1) in front.boxes.items()}
        for (x, y), matrix in zip(front.places, back.matrices, strict=True):
            # half a turn: the card's corner (0, 0) at its slot's top-right, turned over
            assert matrix[:4] == (-1, 0, 0, -1)
            assert matrix[4] == pytest.approx(x + A5[0])
            assert matrix[5] == pytest.approx(height - y)
        assert width > height


def test_the_emergency_kit_prints_its_cards_imposed_and_duplex(run: Run, tmp_path: Path) -> None:
    """`emergency --duplex --impose a4-2up`: the kit's cards on sheets, each followed by its
    back (it was refused)."""
    source = register(tmp_path)
    result = run("emergency", source, "-o", tmp_path / "kit", "--duplex", "--impose",
                 "a4-2up", "--date", DATE)
    assert result.exit_code == 0, result.output
    [cards] = (tmp_path / "kit").glob("*-应急户卡.pdf")
    # A and L (on the roster), and their backs: A's log, L's 续页
    assert page_count(cards) == 2
    assert "户号 A" in pdftotext(cards, 1) and "户号 L" in pdftotext(cards, 1)
    assert "走访记录" in pdftotext(cards, 2) and "成员29" in pdftotext(cards, 2)


def test_an_update_packet_of_an_imposed_duplex_book_is_imposed_duplex(run: Run,
                                                                      tmp_path: Path) -> None:
    """A book printed imposed and duplex gets its update packet the same way: the change
    list and the changed card on a sheet's front, the card's visit log behind it."""
    source = register(tmp_path)
    result = run("ledger", source, "-o", tmp_path / "book", "--duplex", "--impose", "a4-2up",
                 "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    (tmp_path / "next").mkdir()
    changed = register(tmp_path / "next", phone="13900001111")
    result = run("update", changed, "--book", tmp_path / "book", "-o",
                 tmp_path / "update", "--date", DATE)
    assert result.exit_code == 0, result.output
    [packet] = (tmp_path / "update").glob("*-变更.pdf")
    # change list, its blank back, B, its log, the cover, its blank back, the index
    assert page_count(packet) == 4
    first, second = pdftotext(packet, 1), pdftotext(packet, 2)
    assert "户号 B" in first and "走访记录" not in first
    assert "走访记录" in second and "户号 B" in second


def test_a_portrait_sheet_turns_like_a_book() -> None:
    """A portrait sheet (an office's a3-4up) turns over on its long edge like a book's
    page: the columns swap and the back pages stand upright, in the same rows."""
    from cardgen.config import Imposition

    imposition = Imposition("a3-4up", (297, 420), "A5",
                            ((0.5, 0), (148.5, 0), (0.5, 210), (148.5, 210)))
    front = plan_sheet(imposition, A5, 0.0, False)
    back = plan_back(front, A5)
    width = front.size[0]
    for (x, y), matrix in zip(front.places, back.matrices, strict=True):
        assert matrix[:4] == (1, 0, 0, 1)
        assert matrix[4] == pytest.approx(width - x - A5[0]) and matrix[5] == pytest.approx(y)
    assert back.boxes == front.boxes  # the whole sheet, either side
