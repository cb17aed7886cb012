"""The data layer: what is particular to a household, drawn over its card's frame.

The frame (cardgen/frame/render.py, from templates/frame.html.j2) holds what every card of a
colour and mode shares: band, tab, sticker outlines, table header, ruled rows, notes strip.
Everything else is drawn here at the layout's positions, as text and simple shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardgen.layout.cards import (
    FACT_LABEL,
    FACT_PAD,
    FACT_TITLE,
    Card,
    CardPage,
    clip_lines,
    continued_note,
    household_facts,
)
from cardgen.layout.colours import BLACK, Colour, ink_for, rgb
from cardgen.layout.geometry import COLUMNS, PT, Layout
from cardgen.layout.index import (
    INDEX_COLUMNS,
    INDEX_FONT,
    INDEX_HEAD,
    INDEX_PAD,
    INDEX_TITLE_HEIGHT,
    IndexRow,
)
from cardgen.layout.typeset import Line, Typesetter
from cardgen.pdf.canvas import Canvas

GREY: Colour = (0.33, 0.33, 0.33)
LIGHT: Colour = (0.6, 0.6, 0.6)
RULE: Colour = rgb("#C8C8C8")
FACT_RULE: Colour = rgb("#D0D0D0")
WHITE: Colour = (1.0, 1.0, 1.0)
STICKER_FILL: Colour = rgb("#E9E9E9")
STICKER_EDGE: Colour = rgb("#111111")


@dataclass(frozen=True)
class PageWords:
    """Words every page of a document prints the same: date, mode, confidentiality."""

    date: str
    routine: str = "常态"
    emergency: str = "应急"
    confidential: str = "内部资料 注意保密"


class Pen:
    """Typesets and draws text boxes on a canvas, relative to the content box."""

    def __init__(self, canvas: Canvas, typesetter: Typesetter, left: float, top: float,
                 line_factor: float) -> None:
        self.canvas = canvas
        self.ts = typesetter
        self.left = left
        self.top = top
        self.line_factor = line_factor
        face = typesetter.fonts.regular[0]
        self.ascent = face.ascent / face.units
        self.descent = face.descent / face.units

    def line_height(self, size: float, factor: float | None = None) -> float:
        return size * PT * (factor or self.line_factor)

    def baseline(self, top: float, size: float, factor: float | None = None) -> float:
        em = size * PT
        leading = self.line_height(size, factor) - (self.ascent + self.descent) * em
        return top + leading / 2 + self.ascent * em

    def lines(self, text: str, size: float, width: float, bold: bool = False) -> list[Line]:
        return self.ts.lines(text, width / (size * PT), bold)

    def draw(self, lines: list[Line], x: float, top: float, size: float,
             colour: Colour = BLACK, align: str = "left", width: float = 0.0,
             factor: float | None = None) -> float:
        """Draw lines from `top` (content-box mm); returns the height they take."""
        step = self.line_height(size, factor)
        for index, line in enumerate(lines):
            offset = 0.0
            if align == "right":
                offset = width - line.width * size * PT
            elif align == "center":
                offset = (width - line.width * size * PT) / 2
            self.canvas.text(line, self.left + x + offset,
                             self.top + self.baseline(top + index * step, size, factor),
                             size, colour)
        return step * len(lines)

    def text(self, text: str, x: float, top: float, size: float, width: float,
             bold: bool = False, colour: Colour = BLACK, align: str = "left",
             factor: float | None = None) -> float:
        return self.draw(self.lines(text, size, width, bold), x, top, size, colour, align,
                         width, factor)

    def fitted(self, text: str, x: float, top: float, size: float, width: float,
               bold: bool = False, colour: Colour = BLACK, align: str = "left",
               smallest: float = 0.6, factor: float | None = None) -> float:
        """One line, made smaller (down to `smallest` of `size`) until it fits `width`."""
        em = self.ts.width(text, bold)
        fitted = size
        width += 0.01  # rounding
        if em * size * PT > width > 0:
            fitted = max(size * smallest, width / (em * PT))
        if em * fitted * PT > width:  # still too wide: wrap rather than cut
            return self.text(text, x, top, fitted, width, bold, colour, align, factor)
        line = self.ts.line(text, bold)
        return self.draw([line], x, top, fitted, colour, align, width, factor)

    def rect(self, x: float, y: float, width: float, height: float, **style: object) -> None:
        self.canvas.rect(self.left + x, self.top + y, width, height, **style)  # type: ignore[arg-type]

    def hline(self, x1: float, x2: float, y: float, colour: Colour, width: float) -> None:
        self.canvas.hline(self.left + x1, self.left + x2, self.top + y, colour, width)


def summarise(names: list[str], fits: object, more: str = "等{n}人") -> str:
    """As many names as fit, then 等N人: a summary, never a cut-off word."""
    assert callable(fits)
    joined = "、".join(names)
    if fits(joined):
        return joined
    for keep in range(len(names) - 1, 0, -1):
        candidate = "、".join(names[:keep]) + more.format(n=len(names))
        if fits(candidate):
            return candidate
    if not names:
        return ""
    return names[0] + (more.format(n=len(names)) if len(names) > 1 else "")


def draw_card_page(canvas: Canvas, card: Card, page: CardPage, layout: Layout,
                   typesetter: Typesetter, words: PageWords, verso: bool) -> None:
    """The data layer of one page of a card."""
    layout = layout.grown(card.household_grow)  # a taller household block, if it needs one
    s = layout.paper.scale
    left = layout.margin_right if verso else layout.margin_left
    pen = Pen(canvas, typesetter, left, layout.margin_top, layout.line)
    first = page.number == 1
    _band(pen, card, page, layout, s)
    if first:
        _stickers(pen, card, layout, s)
        _household(pen, card, layout, s)
    _members(pen, card, page, layout, s, first)
    _visit(pen, card, layout, s)
    page_number = card.first_page + page.number - 1
    _footer(pen, card, layout, s, words, page_number)


def _band(pen: Pen, card: Card, page: CardPage, layout: Layout, s: float) -> None:
    ink = rgb(ink_for(card.colour.hex))
    width = layout.content_width
    title_x = layout.band_height + 4 * s
    ids_width = 58 * s
    title_width = width - title_x - ids_width - 8 * s
    if page.number > 1:
        kicker = pen.ts.width("五色户卡 · 全员人口信息登记卡") * 8 * s * PT
        pen.fitted(f" · 续页 {page.number}/{card.page_count}", title_x + kicker, 2.2 * s,
                   8 * s, title_width - kicker, colour=ink)
    reasons_top = 2.2 * s + pen.line_height(8 * s) + 0.6 * s \
        + pen.line_height(17 * s, 1.25) + 0.8 * s
    size = 8 * s

    def fits(text: str) -> bool:
        return pen.ts.width("依据：" + text) * size * PT <= title_width

    pen.fitted("依据：" + summarise(list(card.category.reasons), fits, "等{n}项"), title_x,
               reasons_top, size, title_width, colour=ink)
    right = width - 4 * s - ids_width
    top = 2.2 * s
    top += pen.fitted(f"户号 {card.household_id}", right, top, 15 * s, ids_width, bold=True,
                      colour=ink, align="right", factor=1.2)
    top += 0.5 * s
    top += pen.fitted(f"编号 {card.ledger_number}", right, top, 11 * s, ids_width,
                      bold=True, colour=ink, align="right")
    pen.fitted(f"{card.community} {card.grid}".strip(), right, top + 0.5 * s, 8 * s,
               ids_width, colour=ink, align="right")


def _stickers(pen: Pen, card: Card, layout: Layout, s: float) -> None:
    top = layout.stickers_top + 4.4 * s
    width = layout.slot_width
    for index, sticker in enumerate(card.stickers):
        if not sticker.filled:
            continue  # the frame already shows the empty outline
        x = index * (width + 3 * s)
        pen.rect(x, top, width, 15.4 * s, fill=STICKER_FILL, stroke=STICKER_EDGE,
                 line=0.6 * s, radius=1.6 * s)
        pen.fitted("■ " + sticker.label, x + 2 * s, top + 1.2 * s, 10 * s, width - 4 * s,
                   bold=True, colour=STICKER_EDGE)
        names = sticker.names.split("、")
        size = 7.5 * s
        room = (width - 4 * s) / (size * PT)

        def fits(text: str, room: float = room, size: float = size) -> bool:
            return len(pen.ts.lines(text, room)) <= 2

        pen.text(summarise(names, fits), x + 2 * s, top + 1.2 * s + pen.line_height(10 * s),
                 size, width - 4 * s, colour=STICKER_EDGE, factor=1.2)
    _chips(pen, card, layout, s, top + 15.4 * s + 1.5 * s)


def _chips(pen: Pen, card: Card, layout: Layout, s: float, top: float) -> None:
    """Other flags as outlined chips, at most two rows; names summarised to fit a row."""
    size = 7.5 * s
    height = pen.line_height(size) + 0.6 * s
    room = layout.content_width
    gap = pen.ts.width(" ") * size * PT
    x, row = 0.0, 0
    chips = list(card.chips)
    for index, chip in enumerate(chips):
        label = clip_lines(pen.ts, chip.label, room / 2, size, 1, bold=True)  # a stray flag
        label_width = pen.ts.width(label, bold=True) * size * PT
        inner = room - 4 * s - label_width - gap

        def fits(text: str, inner: float = inner) -> bool:
            return pen.ts.width(text) * size * PT <= inner

        names = summarise(chip.names.split("、"), fits)
        width = label_width + gap + pen.ts.width(names) * size * PT + 4 * s
        if x + width > room and x > 0:
            row, x = row + 1, 0.0
        last_row = row == 1
        rest = len(chips) - index
        if row > 1 or (last_row and rest > 1 and x + width > room - 24 * s):
            y = top + min(row, 1) * (height + 1 * s)
            note = f"另有{rest}项，见成员表"
            pen.fitted(note, x if row == 1 else room - 24 * s, y + 0.3 * s, size, 24 * s,
                       colour=GREY)
            return
        y = top + row * (height + 1 * s)
        pen.rect(x, y, min(width, room), height, stroke=rgb("#444444"), line=0.3 * s,
                 radius=2 * s)
        pen.text(label, x + 2 * s, y + 0.3 * s, size, label_width + 1, bold=True)
        pen.fitted(names, x + 2 * s + label_width + gap, y + 0.3 * s, size,
                   min(width, room) - 4 * s - label_width - gap)
        x += width + 1.5 * s


def _household(pen: Pen, card: Card, layout: Layout, s: float) -> None:
    """The household block's rows (cards.household_facts), each as tall as its values."""
    size = layout.font
    label_width = FACT_LABEL * s
    top = layout.household_top + FACT_TITLE * s
    pad = FACT_PAD * s
    for row in household_facts(card, layout):
        height = 0.0
        for fact in row:
            pen.text(fact.label, fact.x, top + pad, size, label_width, colour=GREY)
            lines = pen.lines(fact.value, size, fact.width)
            height = max(height, pen.draw(lines, fact.x + label_width, top + pad, size))
        top += height + 2 * pad
        pen.hline(0, layout.content_width, top, FACT_RULE, 0.2 * s)


def _members(pen: Pen, card: Card, page: CardPage, layout: Layout, s: float,
             first: bool) -> None:
    area_top = layout.members_top_first if first else layout.members_top_next
    y = area_top + layout.table_head
    pad = layout.paper.scale
    size = layout.font
    width = layout.content_width
    if card.vacant:
        height = layout.row_pitch + 2 * s
        pen.rect(0, y, width, height, fill=WHITE)
        pen.text("空置房屋 · 无人居住", layout.column_x(1) + pad, y + 1.6 * s, 10 * s,
                 width / 2, bold=True)
        y += height
        pen.hline(0, width, y, RULE, 0.2 * s)
    for member in page.members:
        pen.rect(0, y, width, member.height + 0.1 * s, fill=WHITE)
        for index, column in enumerate(COLUMNS):
            text = str(getattr(member, column.key))
            if not text:
                continue
            bold = column.key == "name" and member.bold_name
            pen.text(text, layout.column_x(index) + pad, y + layout.cell_pad / 2, size,
                     layout.column_width(column) - 2 * pad, bold=bold)
        if member.notes:
            main = max(len(pen.lines(str(getattr(member, c.key)), size,
                                     layout.column_width(c) - 2 * pad,
                                     c.key == "name" and member.bold_name))
                       for c in COLUMNS)
            note_top = y + main * pen.line_height(size) + layout.cell_pad
            pen.text("备注：" + member.notes, layout.column_x(1) + pad,
                     note_top + layout.cell_pad / 2, layout.small,
                     width - layout.column_x(1) - 2 * pad, colour=GREY)
        y += member.height
        pen.hline(0, width, y, RULE, 0.2 * s)
    bottom = layout.members_bottom
    pitch = layout.row_pitch
    below = bottom - y
    partial = below - pitch * int(below / pitch)
    if partial > 0.05 and y < bottom:  # no sliver of a ruled row under the last member
        pen.rect(0, y + 0.1 * s, width, partial - 0.1 * s, fill=WHITE)
    if page.continued and y + continued_note(layout) <= bottom + 1e-6:
        pen.text(f"接续页 {page.number + 1}/{card.page_count}", 0, y + 1 * s, layout.small,
                 width, colour=GREY)


def _visit(pen: Pen, card: Card, layout: Layout, s: float) -> None:
    top = layout.members_bottom + layout.gap + 1.2 * s
    size = layout.font
    x = 0.0
    for label, value in (("走访频次", card.visit), ("成员", f"{card.member_count} 人")):
        label_width = pen.ts.width(label + " ", bold=True) * size * PT
        pen.text(label, x, top, size, label_width + 1, bold=True)
        value_width = pen.ts.width(value) * size * PT
        room = layout.content_width - x - label_width
        pen.fitted(value, x + label_width, top, size, room)
        x += label_width + min(value_width, room) + 8 * s


def _footer(pen: Pen, card: Card, layout: Layout, s: float, words: PageWords,
            page_number: int) -> None:
    place = f"{card.community} {card.grid} · 编号 {card.ledger_number}".strip()
    footer(pen, layout, words, place, card.emergency, page_number)


def footer(pen: Pen, layout: Layout, words: PageWords, place: str, emergency: bool,
           page_number: int) -> None:
    """The line at the foot of every page: place, date and mode, confidentiality, page."""
    size = layout.small
    top = layout.content_height - pen.line_height(size)
    third = layout.content_width / 3
    pen.fitted(place, 0, top, size, third, colour=GREY)
    mode = words.emergency if emergency else words.routine
    pen.fitted(f"打印 {words.date} · {mode}", third, top, size, third, colour=GREY,
               align="center")
    tail = f" · 第 {page_number} 页"
    tail_width = pen.ts.width(tail) * size * PT
    pen.fitted(tail, layout.content_width - tail_width, top, size, tail_width + 0.1,
               colour=GREY)
    pen.fitted(words.confidential, 2 * third, top, size, third - tail_width, bold=True,
               colour=(0, 0, 0), align="right")


def draw_index_page(canvas: Canvas, title: str, rows: list[IndexRow], number: int,
                    of: int, page_number: int, emergency: bool, layout: Layout,
                    typesetter: Typesetter, words: PageWords, verso: bool,
                    palette: dict[str, str]) -> None:
    """One page of a ledger's index: number, household, address, head, colour, flags, page."""
    s = layout.paper.scale
    left = layout.margin_right if verso else layout.margin_left
    pen = Pen(canvas, typesetter, left, layout.margin_top, layout.line)
    width = layout.content_width
    heading = f"索引 · {title}" + (f"（{number}/{of}）" if of > 1 else "")
    pen.fitted(heading, 0, 0, 12 * s, width, bold=True)
    size = INDEX_FONT * s
    xs = []
    x = 0.0
    for column in INDEX_COLUMNS:
        xs.append(x)
        x += width * column.share
    head_top = INDEX_TITLE_HEIGHT * s
    for column, x in zip(INDEX_COLUMNS, xs, strict=True):
        pen.text(column.title, x + s, head_top + INDEX_HEAD * s - pen.line_height(size) - s,
                 size, width * column.share - 2 * s, bold=True)
    y = head_top + INDEX_HEAD * s
    pen.hline(0, width, y, (0.13, 0.13, 0.13), 0.5 * s)
    for row in rows:
        texts = {"no": row.number, "hid": row.household_id, "addr": row.address,
                 "head": row.head, "fl": row.flags, "pg": str(row.page) if row.page else ""}
        for column, x in zip(INDEX_COLUMNS, xs, strict=True):
            if column.key == "col" and not row.colour:  # a retired number: no colour
                continue
            if column.key == "col":
                dot = 5 * s
                colour = palette[row.colour]
                pen.rect(x + s, y + INDEX_PAD * s / 2 - 0.3 * s, dot, dot, fill=rgb(colour),
                         radius=dot / 2)
                pen.text(row.char, x + s, y + INDEX_PAD * s / 2 - 0.3 * s + (dot - pen.line_height(
                    7 * s)) / 2, 7 * s, dot, bold=True, colour=rgb(ink_for(colour)),
                    align="center")
                continue
            pen.text(texts[column.key], x + s, y + INDEX_PAD * s / 2, size,
                     width * column.share - 2 * s)
        y += row.height
        pen.hline(0, width, y, RULE, 0.2 * s)
    footer(pen, layout, words, title, emergency, page_number)
