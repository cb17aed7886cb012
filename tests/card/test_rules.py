"""No text crosses a rule or another text on a card: the rules read from the PDF's content
streams (the frame's Form XObject included, and what the data layer paints white over them),
the words from `pdftotext -bbox`, checked against each other (issue 24)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import Result

from tests.card.test_fit import Word, assert_no_overlaps, words
from tests.conftest import DATE, HEADER, household_rows, write_csv

Run = Callable[..., Result]
Matrix = tuple[float, float, float, float, float, float]
THIN, LONG = 1.5, 4.0  # pt: a rule is a painted shape no thicker than THIN and LONG or longer
TOUCH = 0.8  # pt a rule may enter a word's box (its ascent and descent are generous)


@dataclass(frozen=True)
class Rule:
    left: float  # points from the page's top-left, as pdftotext gives the words
    top: float
    right: float
    bottom: float

    @property
    def vertical(self) -> bool:
        return self.bottom - self.top > self.right - self.left


def _times(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _cut(rule: Rule, white: Rule) -> list[Rule]:
    """What of `rule` stays visible under a white box painted after it."""
    if white.left > rule.left + 0.01 or white.right < rule.right - 0.01 if rule.vertical \
            else white.top > rule.top + 0.01 or white.bottom < rule.bottom - 0.01:
        return [rule]  # the box does not cover the rule's whole width
    if rule.vertical:
        if white.bottom <= rule.top or white.top >= rule.bottom:
            return [rule]
        parts = [Rule(rule.left, rule.top, rule.right, white.top),
                 Rule(rule.left, white.bottom, rule.right, rule.bottom)]
        return [p for p in parts if p.bottom - p.top > 0.01]
    if white.right <= rule.left or white.left >= rule.right:
        return [rule]
    parts = [Rule(rule.left, rule.top, white.left, rule.bottom),
             Rule(white.right, rule.top, rule.right, rule.bottom)]
    return [p for p in parts if p.right - p.left > 0.01]


def rules(path: Path, index: int = 0) -> list[Rule]:
    """The visible rules of a page: thin, long shapes painted in a colour other than white,
    less what later white boxes cover (the data layer's full-width note rows)."""
    with pikepdf.open(path) as pdf:
        page = pdf.pages[index]
        height = float(page.mediabox[3])
        found: list[Rule] = []

        def run(stream: pikepdf.Object, resources: pikepdf.Object, ctm: Matrix) -> None:
            stack: list[tuple[Matrix, bool, float]] = []
            white, width = False, 1.0
            subpaths: list[list[tuple[float, float]]] = []
            for operands, operator in pikepdf.parse_content_stream(stream):
                op = str(operator)
                values = [float(v) for v in operands if _number(v)]
                if op == "q":
                    stack.append((ctm, white, width))
                elif op == "Q" and stack:
                    ctm, white, width = stack.pop()
                elif op == "cm":
                    ctm = _times(tuple(values), ctm)  # type: ignore[arg-type]
                elif op == "w":
                    width = values[0]
                elif op in ("g", "rg", "k", "sc", "scn") and values:
                    white = all(v >= 0.99 for v in values) if op != "k" else \
                        all(v <= 0.01 for v in values)
                elif op == "re":
                    x, y, w, h = values
                    subpaths.append([_apply(ctm, x, y), _apply(ctm, x + w, y),
                                     _apply(ctm, x + w, y + h), _apply(ctm, x, y + h)])
                elif op == "m":
                    subpaths.append([_apply(ctm, *values)])
                elif op in ("l", "c", "v", "y") and subpaths:
                    subpaths[-1].append(_apply(ctm, *values[-2:]))
                elif op in ("f", "f*", "F", "B", "B*", "b", "b*", "S", "s"):
                    stroke = op in ("S", "s")
                    half = abs(width * ctm[0]) / 2 if stroke else 0.0
                    for points in subpaths:
                        xs, ys = [p[0] for p in points], [p[1] for p in points]
                        box = Rule(min(xs) - half, height - max(ys) - half, max(xs) + half,
                                   height - min(ys) + half)
                        thin = min(box.right - box.left, box.bottom - box.top)
                        long = max(box.right - box.left, box.bottom - box.top)
                        if white and not stroke:
                            found[:] = [p for r in found for p in _cut(r, box)]
                        elif not white and thin <= THIN and long >= LONG:
                            found.append(box)
                    subpaths = []
                elif op == "n":
                    subpaths = []
                elif op == "Do":
                    xobject = resources.XObject[operands[0]]
                    if xobject.Subtype == "/Form":
                        matrix = tuple(float(v) for v in xobject.get("/Matrix",
                                                                     [1, 0, 0, 1, 0, 0]))
                        run(xobject, xobject.get("/Resources", resources),
                            _times(matrix, ctm))  # type: ignore[arg-type]

        run(page, page.Resources, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0))
        return found


def _number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def crossings(page_rules: list[Rule], page_words: list[Word]) -> list[tuple[Word, Rule]]:
    """Each word a rule runs into (more than TOUCH inside its box on both axes)."""
    found = []
    for word in page_words:
        for rule in page_rules:
            across = min(word.right, rule.right) - max(word.left, rule.left)
            down = min(word.bottom, rule.bottom) - max(word.top, rule.top)
            inside = (word.left + TOUCH < rule.left and rule.right < word.right - TOUCH
                      and down > TOUCH) if rule.vertical else \
                (word.top + TOUCH < rule.top and rule.bottom < word.bottom - TOUCH
                 and across > TOUCH)
            if inside:
                found.append((word, rule))
    return found


NOTE = "备注内容" * 500  # 2,000 characters


@pytest.fixture(scope="module")
def noted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Members with notes short, long and of 2,000 characters, and a wide household."""
    folder = tmp_path_factory.mktemp("rules")
    rows = household_rows("N1", 备注="在外地务工，春节返乡")
    rows[1]["备注"] = "左侧肢体活动不便，配偶患糖尿病，需定期复查"
    rows += household_rows("N2", 备注=NOTE)
    return write_csv(folder / "noted.csv", rows, [*HEADER, "备注"])


@pytest.mark.parametrize("paper", ["A4", "A5"])
@pytest.mark.parametrize("emergency", [False, True])
def test_no_text_crosses_a_rule_or_another_text(run: Run, noted: Path, tmp_path: Path,
                                                paper: str, emergency: bool) -> None:
    out = tmp_path / "cards.pdf"
    extra = ["--emergency"] if emergency else []
    result = run("reprint", noted, "-o", out, "--date", DATE, "--paper", paper, *extra)
    assert result.exit_code == 0, result.output
    pages = words(out)
    assert len(pages) > 2  # the 2,000 characters continue on 续页
    assert any("左侧肢体活动不便" in w.text for w in pages[0])
    for index, page in enumerate(pages):
        page_rules = rules(out, index)
        assert len(page_rules) > 10, index  # the table's rules were read
        assert crossings(page_rules, page) == [], index
        assert_no_overlaps(page)
