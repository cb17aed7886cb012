"""Label sheets for the cards offices already have: a colour-tab label per household and a
sticker per flag, laid out on sheets whose geometry is data (config [sheets] or a file)."""

from __future__ import annotations

from dataclasses import dataclass

from cardgen.config import Config, LabelSheet, PaletteColour, Words
from cardgen.data.model import Category, Household
from cardgen.layout.colours import BLACK, pattern_ink, rgb
from cardgen.layout.geometry import PT
from cardgen.layout.printed import printed_household, sticker_word
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.draw import GREY, WHITE, Pen, summarise


@dataclass(frozen=True)
class TabLabel:
    """The colour tab for a card: colour, character, household number, short address."""

    household_id: str
    number: str
    colour: PaletteColour
    address: str


@dataclass(frozen=True)
class FlagLabel:
    """A sticker for one flag of a household, naming the members who have it."""

    flag: str
    household_id: str
    names: tuple[str, ...]


Label = TabLabel | FlagLabel


def labels_for(households: list[Household], categories: dict[str, Category],
               numbers: dict[str, str], config: Config) -> list[Label]:
    """Per household: its tab label, then one sticker per flag, in flag order, naming its
    holders in member order (layout/printed.py)."""
    labels: list[Label] = []
    for household in households:
        key = categories[household.household_id].key
        labels.append(TabLabel(household.household_id, numbers[household.household_id],
                               config.palette[key], household.full_address))
        printed = printed_household(household, config)
        holders = printed.holders()
        labels += [FlagLabel(sticker_word(flag, config), household.household_id, holders[flag])
                   for flag in printed.flags]
    return labels


def place(labels: list[Label], sheet: LabelSheet, skip: int) -> list[list[tuple[int, Label]]]:
    """Labels onto sheets: (position on the sheet, label), the first `skip` positions used."""
    pages: list[list[tuple[int, Label]]] = []
    for index, label in enumerate(labels):
        position = skip + index
        if not pages or position % sheet.labels == 0:
            pages.append([])
        pages[-1].append((position % sheet.labels, label))
    return pages


def draw_sheet(canvas: Canvas, sheet: LabelSheet, placed: list[tuple[int, Label]],
               typesetter: Typesetter, words: Words, least: float = 0.0) -> None:
    """Each label inside its die-cut by the sheet's safe margin and away from the sheet's
    edge (LabelSheet.content), so a sheet fed a little off shows no ink past a cut; no text
    under `least` (pt); the labels' words from [card.words]."""
    pen = Pen(canvas, typesetter, 0.0, 0.0, 1.25, least)
    for position, label in placed:
        x, y, width, height = sheet.content(position)
        if isinstance(label, TabLabel):
            _tab_label(pen, label, x, y, width, height, words)
        else:
            _flag_label(pen, label, x, y, width, height, words)


def _type(pen: Pen, size: float) -> float:
    return max(size, pen.least)


def _tab_label(pen: Pen, label: TabLabel, x: float, y: float, width: float,
               height: float, words: Words) -> None:
    s = min(height / 33, width / 66)  # the content of a 70 x 37 mm label is 1.0
    colour = rgb(label.colour.hex)
    pen.rect(x, y, width, height, fill=colour, radius=2 * s)
    badge = min(height, width * 0.3)
    pen.canvas.pattern(x, y, badge, height, label.colour.pattern,
                       pattern_ink(label.colour.hex), 2.6 * s, 0.7 * s)
    circle = min(badge, height) * 0.62
    cx, cy = x + (badge - circle) / 2, y + (height - circle) / 2
    pen.rect(cx, cy, circle, circle, fill=WHITE, stroke=BLACK, line=max(0.4 * s, 0.18),
             radius=circle / 2)
    size = circle / PT * 0.62
    pen.fitted(label.colour.char, cx, cy + (circle - pen.line_height(size, 1.0)) / 2, size,
               circle, bold=True, align="center", factor=1.0)
    panel_x = x + badge + 1.2 * s
    panel_w = x + width - 1.2 * s - panel_x
    panel_y, panel_h = y + 1.2 * s, height - 2.4 * s
    pen.rect(panel_x, panel_y, panel_w, panel_h, fill=WHITE, radius=1.5 * s)
    text_x, text_w = panel_x + 1.5 * s, panel_w - 3 * s
    top = panel_y + 1.2 * s
    top += pen.fitted(words.format("household_id", household_id=label.household_id), text_x,
                      top, _type(pen, 11 * s), text_w, bold=True)
    top += pen.fitted(words.format("tab_label", number=label.number, char=label.colour.char,
                                   name=label.colour.name),
                      text_x, top + 0.3 * s, _type(pen, 8 * s), text_w, bold=True) + 0.3 * s
    size = _type(pen, 7 * s)
    room = panel_y + panel_h - top - 0.8 * s
    lines = pen.lines(label.address, size, text_w)
    fit = max(1, int(room / pen.line_height(size)))
    if len(lines) > fit:
        lines = lines[:fit - 1] + pen.lines(label.address[len("".join(
            line.text for line in lines[:fit - 1])):], max(size * 0.8, pen.least),
            text_w)[:1]
    pen.draw(lines, text_x, top + 0.3 * s, size, GREY)


def _flag_label(pen: Pen, label: FlagLabel, x: float, y: float, width: float,
                height: float, words: Words) -> None:
    s = min(height / 33, width / 66)
    line = max(0.6 * s, 0.18)
    pen.rect(x + line / 2, y + line / 2, width - line, height - line, fill=WHITE,
             stroke=BLACK, line=line, radius=2 * s)
    inner_x, inner_w = x + 2.5 * s, width - 5 * s
    top = y + 2 * s
    top += pen.fitted(label.flag, inner_x, top, _type(pen, 20 * s), inner_w, bold=True,
                      factor=1.15)
    # each line starts below the one above it, gap included (the flag word's font box
    # reaches below its line)
    top += 1.2 * s
    top += pen.fitted(words.format("household_id", household_id=label.household_id), inner_x,
                      top, _type(pen, 9 * s), inner_w, bold=True)
    top += 0.6 * s
    size = _type(pen, 8 * s)
    room = y + height - 1.5 * s - top

    def fits(text: str) -> bool:
        return len(pen.lines(text, size, inner_w, name=True)) * pen.line_height(size) <= room

    pen.text(summarise(list(label.names), fits, words["more_names"]), inner_x, top, size,
             inner_w, colour=GREY, name=True)
