"""The emergency kit (issue 23, DOMAIN §10): the roster of who needs help first, the 明白卡,
the cards with tabs on top; and the emergency tab mirrored on a duplex back page."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cardgen.config import load_config
from tests.conftest import DATE, household_rows, render_page, write_csv

Run = Callable[..., Result]


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
