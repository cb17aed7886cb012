"""Reference images: what text tests cannot see (a glyph drawn wrong after an upgrade, a
template change nobody looked at). pdfium renders a handful of cards and each is compared
with a PNG stored beside the tests, within a tolerance for anti-aliasing. After a deliberate
change, `pytest tests/card/test_reference.py --regenerate-references` writes them anew: look at
every one before committing it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from PIL import Image, ImageChops

from tests.conftest import DATE, household_rows, render_page, write_csv

Run = Callable[..., Result]
REFERENCES = Path(__file__).parents[1] / "reference"
DPI = 72  # a 9 pt character is 9 pixels tall
# a pixel "differs" past this (0-255, the largest channel difference): anti-aliasing and
# renderer updates move edges by a little, a wrong glyph or a moved line by a lot
DIFFERS = 64
MOST_DIFFERING = 12  # pixels: fewer than one small character's ink
MEAN = 0.5  # mean channel difference

CASES = {  # name: (household, page index, options)
    "routine": ("H1", 0, ()),
    "emergency": ("H1", 0, ("--emergency",)),
    "continued": ("BIG", 1, ()),
    "vacant": ("V1", 0, ()),
    "a5": ("H1", 0, ("--paper", "A5")),
}


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reference")
    big = [{**household_rows("BIG", 特殊情况="")[0], "姓名": f"成员{i:02d}", "身份证号": "",
            "与户主关系": "户主" if i == 0 else "子"} for i in range(18)]
    vacant = {"户编号": "V1", "社区": "恒安社区", "网格": "第3网格", "地址": "阳光花园9号楼",
              "房屋状态": "空置"}
    return write_csv(folder / "register.csv",
                     [*household_rows("H1", 特殊情况="低保、党员"), *big, vacant])


def difference(found: Image.Image, expected: Image.Image) -> tuple[float, float]:
    """Mean channel difference, and how many pixels differ past DIFFERS."""
    diff = ImageChops.difference(found.convert("RGB"), expected.convert("RGB"))
    largest = [max(pixel) for pixel in diff.get_flattened_data()]
    mean = sum(sum(pixel) for pixel in diff.get_flattened_data()) / (3 * len(largest))
    return mean, sum(1 for value in largest if value > DIFFERS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_card_looks_as_it_did(run: Run, register: Path, tmp_path: Path, name: str,
                                  request: pytest.FixtureRequest) -> None:
    household, page, options = CASES[name]
    out = tmp_path / f"{name}.pdf"
    result = run("reprint", register, "-o", out, "--household", household, "--date", DATE,
                 *options)
    assert result.exit_code == 0, result.output
    found = render_page(out, page, dpi=DPI)
    reference = REFERENCES / f"{name}.png"
    if request.config.getoption("--regenerate-references"):
        REFERENCES.mkdir(exist_ok=True)
        found.save(reference, optimize=True)
    expected = Image.open(reference)
    assert found.size == expected.size
    mean, differing = difference(found, expected)
    if mean > MEAN or differing > MOST_DIFFERING:
        found.save(tmp_path / f"{name}-found.png")
        pytest.fail(f"{name}: mean difference {mean:.2f}, {differing} pixels differ; the "
                    f"card as printed now is {tmp_path / (name + '-found.png')}")


def test_a_wrong_glyph_is_seen() -> None:
    """The tolerance lets anti-aliasing through, not a changed character: one character of
    the members table (9 pt, 9 × 9 pixels) moved by a third of its width is seen."""
    expected = Image.open(REFERENCES / "routine.png").convert("RGB")
    box = (171, 340, 180, 349)  # the 配 of 配偶 in the second member's row
    changed = expected.copy()
    changed.paste(expected.crop(box), (box[0] + 3, box[1]))
    assert difference(changed, expected)[1] > MOST_DIFFERING
    assert difference(expected, expected) == (0.0, 0)
