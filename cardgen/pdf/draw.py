"""The data layer: what is particular to a household, drawn over its card's frame.

The frame (cardgen/frame/render.py, from templates/frame.html.j2) holds what every card of a
colour and mode shares: band, tab, sticker slots, table header, ruled rows, notes strip.
Everything else is drawn here, as text and simple shapes, into the places the frame
template marks (cardgen/layout/geometry.py): each piece of data inside its place's box, in
the type and with the words of the config. Nothing is painted over the frame: a member is
written on its ruled rows, a filled sticker inside its slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardgen.config import Words
from cardgen.layout.cards import (
    Card,
    CardPage,
    MemberLine,
    clip_lines,
    fact_padding,
    lines_per_row,
)
from cardgen.layout.change_pages import Item, Rule, Shape
from cardgen.layout.colours import BLACK, Colour, ink_for, rgb
from cardgen.layout.geometry import (
    COLUMN_KEYS,
    PT,
    Box,
    Geometry,
    Layout,
    Places,
    index_layout,
)
from cardgen.layout.index import (
    INDEX_FONT,
    INDEX_HEAD,
    INDEX_PAD,
    INDEX_TITLE_HEIGHT,
    WHOLE_PARTS,
    IndexRow,
    index_columns,
)
from cardgen.layout.typeset import Line, Typesetter, baseline_drop
from cardgen.pdf.canvas import Canvas

GREY: Colour = (0.33, 0.33, 0.33)
RULE: Colour = rgb("#999999")  # 40 % grey: a laser or a photocopy keeps it
WHITE: Colour = (1.0, 1.0, 1.0)
TIGHT = 1.15  # a line height, in ems, for names that must close up to fit a sticker


@dataclass(frozen=True)
class PageWords:
    """What every page of a document prints the same: the date, and the words."""

    date: str
    words: Words


class Pen:
    """Typesets and draws text boxes on a canvas, relative to the content box."""

    def __init__(self, canvas: Canvas, typesetter: Typesetter, left: float, top: float,
                 line_factor: float, least: float = 0.0) -> None:
        self.canvas = canvas
        self.ts = typesetter
        self.left = left
        self.top = top
        self.line_factor = line_factor
        self.least = least  # pt: text made smaller to fit stops here ([card.text] smallest)

    def line_height(self, size: float, factor: float | None = None) -> float:
        return size * PT * (factor or self.line_factor)

    def baseline(self, top: float, size: float, factor: float | None = None) -> float:
        return top + baseline_drop(self.ts.fonts, size, self.line_height(size, factor))

    def lines(self, text: str, size: float, width: float, bold: bool = False,
              name: bool = False) -> list[Line]:
        return self.ts.lines(text, width / (size * PT), bold, name)

    def draw(self, lines: list[Line], x: float, top: float, size: float,
             colour: Colour = BLACK, align: str = "left", width: float = 0.0,
             factor: float | None = None) -> float:
        """Draw lines from `top` (content-box mm); returns the height they take."""
        step = self.line_height(size, factor)
        drop = self.ts.baseline_drop(size, step)  # as `baseline` gives it, kept by size
        text = self.canvas.text
        for index, line in enumerate(lines):
            offset = 0.0
            if align == "right":
                offset = width - line.width * size * PT
            elif align == "center":
                offset = (width - line.width * size * PT) / 2
            text(line, self.left + x + offset, self.top + (top + index * step + drop), size,
                 colour)
        return step * len(lines)

    def text(self, text: str, x: float, top: float, size: float, width: float,
             bold: bool = False, colour: Colour = BLACK, align: str = "left",
             factor: float | None = None, name: bool = False) -> float:
        return self.draw(self.lines(text, size, width, bold, name), x, top, size, colour,
                         align, width, factor)

    def fitted(self, text: str, x: float, top: float, size: float, width: float,
               bold: bool = False, colour: Colour = BLACK, align: str = "left",
               smallest: float = 0.6, factor: float | None = None,
               name: bool = False) -> float:
        """One line, made smaller (down to `smallest` of `size`, and never under the pen's
        least size) until it fits `width`."""
        em = self.ts.width(text, bold)
        fitted = size
        width += 0.01  # rounding
        if em * size * PT > width > 0:
            fitted = max(size * smallest, width / (em * PT), min(size, self.least))
        if em * fitted * PT > width:  # still too wide: wrap rather than cut
            return self.text(text, x, top, fitted, width, bold, colour, align, factor, name)
        line = self.ts.line(text, bold)
        return self.draw([line], x, top, fitted, colour, align, width, factor)

    def rect(self, x: float, y: float, width: float, height: float, **style: object) -> None:
        self.canvas.rect(self.left + x, self.top + y, width, height, **style)  # type: ignore[arg-type]

    def hline(self, x1: float, x2: float, y: float, colour: Colour, width: float) -> None:
        self.canvas.hline(self.left + x1, self.left + x2, self.top + y, colour, width)


def summarise(names: list[str], fits: object, more: str, separator: str = "、") -> str:
    """As many names as fit, then `more` ([card.words] more_names: 等{n}人): a summary,
    never a cut-off word."""
    assert callable(fits)
    joined = separator.join(names)
    if fits(joined):
        return joined
    for keep in range(len(names) - 1, 0, -1):
        candidate = separator.join(names[:keep]) + more.format(n=len(names))
        if fits(candidate):
            return candidate
    if not names:
        return ""
    return names[0] + (more.format(n=len(names)) if len(names) > 1 else "")


class StyledPen:
    """Text in a print run's styles, into boxes: a pen that knows the config's type."""

    def __init__(self, pen: Pen, geometry: Geometry, words: Words, ink: Colour) -> None:
        self.pen = pen
        self.geometry = geometry
        self.words = words
        self.ink = ink  # the band's black or white
        # each style's type, once a page: asked some 90 times a card (session 7)
        self._styles: dict[str, tuple[float, bool, Colour]] = {}

    def style(self, name: str) -> tuple[float, bool, Colour]:
        found = self._styles.get(name)
        if found is None:
            style = self.geometry.text[name]
            colour = rgb(style.colour) if style.colour else self.ink
            found = self._styles[name] = (self.geometry.size(name), style.bold, colour)
        return found

    def em(self, name: str) -> float:
        return self.style(name)[0] * PT

    def width(self, text: str, name: str) -> float:
        size, bold, _ = self.style(name)
        return self.pen.ts.width(text, bold) * size * PT

    def line(self, text: str, name: str, box: Box, top: float | None = None,
             align: str = "left", x: float | None = None, width: float | None = None,
             names: bool = False) -> float:
        """One line, made smaller if need be to fit the box's width; vertically centred in
        the box unless `top` is given. Returns the line's height."""
        size, bold, colour = self.style(name)
        height = self.geometry.line_height(name)
        if top is None:
            top = box.y + (box.height - height) / 2
        left = box.x if x is None else x
        room = box.right - left if width is None else width
        return self.pen.fitted(text, left, top, size, room, bold=bold, colour=colour,
                               align=align, factor=self.geometry.line_factor, name=names)

    def lines(self, text: str, name: str, width: float, names: bool = False) -> list[Line]:
        """`text` in a style's lines; `names` (a list of names) broken between names and
        name parts only."""
        size, bold, _ = self.style(name)
        return self.pen.lines(text, size, width, bold, names)

    def draw(self, lines: list[Line], name: str, x: float, top: float) -> float:
        size, _, colour = self.style(name)
        return self.pen.draw(lines, x, top, size, colour, factor=self.geometry.line_factor)


def draw_card_page(canvas: Canvas, card: Card, page: CardPage, geometry: Geometry,
                   typesetter: Typesetter, words: PageWords, verso: bool) -> None:
    """The data layer of one page of a card, into its frame's places."""
    first = page.number == 1
    places = geometry.page(first, card.household_grow, verso)
    pen = Pen(canvas, typesetter, 0.0, 0.0, geometry.line_factor, geometry.smallest)
    out = StyledPen(pen, geometry, words.words, rgb(ink_for(card.colour.hex)))
    # tagged in the order a person reads the card: who it is, the colour, why, the
    # stickers, the household, its members, the visits, the footer
    _band(out, card, page, places)
    if first:
        with canvas.element("Sect"):
            _stickers(out, card, places)
        with canvas.element("Sect"):
            _household(out, card, places)
    _members(out, card, page, places)
    with canvas.element("P"):
        _visit(out, card, places)
    # no page number on a card (docs/templates.md: the footer's places): 编号 finds it in the book,
    # and a page number would go stale in the binder when an update takes a card out before it
    place = words.words.format("footer_place", place=words.words.format(
        "place", community=card.community, grid=card.grid).strip(), number=card.ledger_number)
    with canvas.element("P"):
        footer(out, places, words, place.strip(), card.emergency, None)


def frame_figure(canvas: Canvas, card: Card, words: Words) -> None:
    """The frame's place in the reading order, as a figure: the tab and the colour band
    (and the words the frame prints, described by them)."""
    where = words["tab_top"] if card.emergency else words["tab_side"]
    with canvas.element("Figure", words.format("frame_alt", char=card.colour.char,
                                               category=card.colour.name, tab=where)):
        canvas.frame()


def draw_log_page(canvas: Canvas, card: Card, geometry: Geometry, typesetter: Typesetter,
                  words: PageWords) -> None:
    """A duplex card's visit log (a back page, ruled by its frame): the household's number,
    book number and visit frequency at its head, the footer at its foot."""
    places = geometry.log
    assert places is not None
    pen = Pen(canvas, typesetter, 0.0, 0.0, geometry.line_factor, geometry.smallest)
    out = StyledPen(pen, geometry, words.words, BLACK)
    table = words.words
    with canvas.element("H1"):
        out.line(table.format("household_id", household_id=card.household_id), "band_id",
                 places["household-id"], align="right")
        out.line(table.format("book_number", number=card.ledger_number), "band_number",
                 places["book-number"], align="right")
    frame_figure(canvas, card, table)
    with canvas.element("P"):
        _visit(out, card, places)
    place = table.format("footer_place", place=table.format(
        "place", community=card.community, grid=card.grid).strip(), number=card.ledger_number)
    with canvas.element("P"):
        footer(out, places, words, place.strip(), card.emergency, None)


def _band(out: StyledPen, card: Card, page: CardPage, places: Places) -> None:
    words = out.words
    canvas = out.pen.canvas
    with canvas.element("H1"):
        out.line(words.format("household_id", household_id=card.household_id), "band_id",
                 places["household-id"], align="right")
        out.line(words.format("book_number", number=card.ledger_number), "band_number",
                 places["book-number"], align="right")
        place = words.format("place", community=card.community, grid=card.grid).strip()
        out.line(place, "band", places["place"], align="right")
        if page.number > 1:
            out.line(words.format("continued", page=page.number, pages=card.page_count),
                     "band", places["continued"])
    frame_figure(canvas, card, words)
    canvas.open("P")
    box = places["reasons"]
    prefix = words.format("reasons", reasons="")

    def fits(text: str) -> bool:
        return out.width(prefix + text, "band") <= box.width

    reasons = summarise(list(card.category.reasons), fits, words["more_reasons"],
                        words["separator"])
    out.line(words.format("reasons", reasons=reasons), "band", box)
    canvas.close()


def _stickers(out: StyledPen, card: Card, places: Places) -> None:
    """A filled sticker inside its slot; an empty slot's words only where it is empty."""
    words = out.words
    style = out.geometry.lines["sticker"]
    canvas = out.pen.canvas
    for box, sticker in zip(places.slots(), card.stickers, strict=False):
        canvas.open("P")  # closed below, or where an empty slot's words end
        inset = out.geometry.inset * out.em("sticker")
        inner = Box(box.x + inset, box.y + inset / 2, box.width - 2 * inset,
                    box.height - inset)
        if not sticker.filled:
            top = inner.y + out.line(words.format("empty_slot", flag=sticker.label),
                                     "empty_slot", inner, top=inner.y)
            out.line(words["empty_note"], "empty_note", inner, top=top)
            canvas.close()
            continue
        scale = out.geometry.scale
        out.pen.rect(box.x, box.y, box.width, box.height, fill=rgb(style.fill or "#FFFFFF"),
                     stroke=rgb(style.colour), line=out.geometry.rule(style.width),
                     radius=style.radius * scale)
        top = inner.y + out.line(words.format("filled_slot", flag=sticker.label), "sticker",
                                 inner, top=inner.y)
        size, _, colour = out.style("small")
        # the names' lines may close up (TIGHT) rather than lose a name's second part
        room = max(1, int((inner.bottom - top) / out.pen.line_height(size, TIGHT) + 1e-6))

        def fits(text: str, room: int = room, width: float = inner.width) -> bool:
            return len(out.lines(text, "small", width, names=True)) <= room

        names = summarise(sticker.names.split(words["separator"]), fits, words["more_names"],
                          words["separator"])
        lines = out.lines(names, "small", inner.width, names=True)[:room]
        factor = (out.geometry.line_factor if top + len(lines) * out.geometry.line_height(
            "small") <= inner.bottom + 1e-6 else TIGHT)
        out.pen.draw(lines, inner.x, top, size, colour, factor=factor)
        canvas.close()
    _chips(out, card, places["chips"])


def _chips(out: StyledPen, card: Card, box: Box) -> None:
    """Other flags as outlined chips in rows inside the box; names summarised to fit a
    row; what does not fit is counted in a note at the end."""
    words = out.words
    style = out.geometry.lines["chip"]
    scale = out.geometry.scale
    em = out.em("small")
    pad = out.geometry.inset * em
    height = out.geometry.line_height("small") + pad / 2
    gap = pad / 2
    rows = max(1, int((box.height + gap) / (height + gap) + 1e-6))
    x, row = 0.0, 0
    chips = list(card.chips)
    space = out.width(" ", "small")
    for index, chip in enumerate(chips):
        rest = len(chips) - index
        note = words.format("more_chips", n=rest)
        note_width = out.width(note, "note") + gap
        label = clip_lines(out.pen.ts, chip.label, box.width / 2, out.style("small")[0], 1,
                           bold=True)  # a stray flag
        label_width = out.pen.ts.width(label, True) * out.style("small")[0] * PT
        inner = box.width - 2 * pad - label_width - space

        def fits(text: str, inner: float = inner) -> bool:
            return out.width(text, "small") <= inner

        names = summarise(chip.names.split(words["separator"]), fits, words["more_names"],
                          words["separator"])
        width = label_width + space + out.width(names, "small") + 2 * pad
        if x + width > box.width and x > 0:
            row, x = row + 1, 0.0
        last = row == rows - 1
        if row >= rows or (last and rest > 1 and x + width > box.width - note_width):
            y = box.y + min(row, rows - 1) * (height + gap)
            left = box.x + (x if row < rows else box.width - note_width)
            with out.pen.canvas.element("P"):
                out.line(note, "note", Box(left, y, box.right - left, height))
            return
        y = box.y + row * (height + gap)
        out.pen.rect(box.x + x, y, min(width, box.width), height, stroke=rgb(style.colour),
                     line=out.geometry.rule(style.width), radius=style.radius * scale)
        size, _, colour = out.style("small")
        top = y + (height - out.geometry.line_height("small")) / 2
        out.pen.canvas.open("P")
        out.pen.text(label, box.x + x + pad, top, size, label_width + 1, bold=True,
                     colour=colour, factor=out.geometry.line_factor)
        out.line(names, "small", Box(box.x + x + pad + label_width + space, y,
                                     min(width, box.width) - 2 * pad - label_width - space,
                                     height), names=True)
        out.pen.canvas.close()
        x += width + gap


def _household(out: StyledPen, card: Card, places: Places) -> None:
    """The household block's rows (fitted when the card was made), each as tall as its
    values, a rule under each."""
    box = places["household"]
    geometry = out.geometry
    pad = fact_padding(geometry)
    rule = geometry.lines["fact"]
    top = box.y
    for row in card.facts:
        height = 0.0
        out.pen.canvas.open("P")
        for fact in row:
            x = box.x + fact.x
            out.line(fact.label, "label", box, top=top + pad, x=x, width=fact.label_width)
            lines = out.lines(fact.value, "body", fact.width)
            height = max(height, out.draw(lines, "body", x + fact.label_width, top + pad))
        out.pen.canvas.close()
        top += height + 2 * pad
        out.pen.hline(box.x, box.right, top, rgb(rule.colour), geometry.rule(rule.width))


def _members(out: StyledPen, card: Card, page: CardPage, places: Places) -> None:
    """Each member on its ruled rows: the cells' lines, then the notes' lines, each set
    of lines centred in its row."""
    rows = places.rows_inside()
    geometry = out.geometry
    words = out.words
    index = 0
    if card.vacant:
        with out.pen.canvas.element("P"):
            out.line(words["vacant"], "vacant", rows[0], x=geometry.column("name").x)
        index = 1
    per_body, per_note = lines_per_row(geometry, "body"), lines_per_row(geometry, "note")
    canvas = out.pen.canvas
    if page.members:
        canvas.open("Table")  # a row per member, a cell per column (empty ones too)
    for member in page.members:
        with canvas.element("TR"):
            for key in COLUMN_KEYS:
                with canvas.element("TD"):
                    _member_cell(out, member, key, places[f"col-{key}"],
                                 rows[index:index + member.main], per_body)
        if member.notes and member.note_rows:  # this page's part of them, a row across
            start = places["col-name"].x
            lines = out.lines(words.format("notes", notes=member.notes), "note",
                              places["col-flags"].right - start)
            first = member.note_start * per_note
            note_rows = rows[index + member.main:index + member.rows]
            _full_width(out, places, note_rows)
            with canvas.element("TR"), canvas.element(f"TD:{len(COLUMN_KEYS)}"):
                _on_rows(out, lines[first:first + member.note_rows * per_note], "note",
                         start, note_rows, per_note)
        index += member.rows
    if page.members:
        canvas.close()
    if page.continued and index < len(rows):
        _full_width(out, places, rows[index:index + 1])
        with canvas.element("P"):
            out.line(words.format("continues", page=page.number + 1, pages=card.page_count),
                     "note", rows[index], x=places["col-name"].x)


def _member_cell(out: StyledPen, member: MemberLine, key: str, column: Box,
                 rows: tuple[Box, ...], per_body: int) -> None:
    """One member's value in its column, on the member's ruled rows."""
    text = str(getattr(member, key))
    if not text:
        return
    style = "strong" if key == "name" and member.bold_name else "body"
    if key == "name":  # broken only between its parts, smaller if one is too wide
        size = member.name_size or out.geometry.size(style)
        lines = out.pen.lines(text, size, column.width, member.bold_name, name=True)
        _on_rows(out, lines, style, column.x, rows, per_body, size)
        return
    lines = out.lines(text, style, column.width, names=key == "flags")
    _on_rows(out, lines, style, column.x, rows, per_body)


def _full_width(out: StyledPen, places: Places, rows: tuple[Box, ...]) -> None:
    """Ruled rows made one cell from the name column to the table's right edge: paper
    white over the frame's column rules there (the row's own bottom rule stays), so that
    a note's words run on a row of their own and no rule crosses them."""
    left, right = places["col-name"].x - 0.1, places["col-flags"].right + 0.1
    rule = out.geometry.rule(0.2) + 0.02  # the row's bottom border, inside its box
    for row in rows:
        out.pen.canvas.rect(left, row.y, right - left, row.height - rule, fill=(1.0, 1.0, 1.0))


def _on_rows(out: StyledPen, lines: list[Line], style: str, x: float, rows: tuple[Box, ...],
             per_row: int, size: float = 0.0) -> None:
    """Lines written on ruled rows, `per_row` to a row, centred in it (in the style's
    size, or `size`)."""
    for number, row in enumerate(rows):
        chunk = lines[number * per_row:(number + 1) * per_row]
        if not chunk:
            return
        if size:
            height = len(chunk) * out.pen.line_height(size)
            out.pen.draw(chunk, x, row.y + (row.height - height) / 2, size,
                         out.style(style)[2])
            continue
        height = len(chunk) * out.geometry.line_height(style)
        out.draw(chunk, style, x, row.y + (row.height - height) / 2)


def _visit(out: StyledPen, card: Card, places: Places) -> None:
    box = places["visit"]
    words = out.words
    x = box.x
    for label, value in ((words["visit"], card.visit),
                         (words["members"], words.format("member_count", n=card.member_count))):
        label_width = out.width(label + " ", "strong")
        out.line(label, "strong", box, x=x, width=label_width + 0.1)
        value_width = out.width(value, "body")
        room = box.right - x - label_width
        out.line(value, "body", box, x=x + label_width, width=room)
        x += label_width + min(value_width, room) + 2 * out.em("body")


def footer(out: StyledPen, places: Places, words: PageWords, place: str, emergency: bool,
           page_number: int | None) -> None:
    """The foot of every page: place, date and mode, and the page number of a cover or index
    page (a card has none); the frame prints the rest."""
    table = words.words
    out.line(place, "footer", places["footer-place"])
    mode = table["emergency"] if emergency else table["routine"]
    out.line(table.format("footer_date", date=words.date, mode=mode), "footer",
             places["footer-date"], align="center")
    if page_number is not None:
        out.line(table.format("footer_page", page=page_number), "footer",
                 places["footer-page"])


def draw_index_page(canvas: Canvas, title: str, rows: list[IndexRow], number: int,
                    of: int, page_number: int, emergency: bool, geometry: Geometry,
                    typesetter: Typesetter, words: PageWords, verso: bool,
                    palette: dict[str, str]) -> None:
    """One page of a ledger's index: number, household, address, head, colour, flags, page."""
    layout: Layout = index_layout(geometry, verso)
    s = layout.paper.scale
    pen = Pen(canvas, typesetter, layout.margin_left, layout.margin_top, layout.line,
              geometry.smallest)
    width = layout.content_width
    heading = words.words.format("index_title", title=title) + (
        words.words.format("index_part", number=number, of=of) if of > 1 else "")
    with canvas.element("H1"):
        pen.fitted(heading, 0, 0, 12 * s, width, bold=True)
    size = layout.type(INDEX_FONT)
    xs = []
    x = 0.0
    columns = index_columns(layout, typesetter)
    for column in columns:
        xs.append(x)
        x += width * column.share
    head_top = INDEX_TITLE_HEIGHT * s
    canvas.open("Table")  # the index: a header row, then a row per household
    canvas.open("TR")
    for column, x in zip(columns, xs, strict=True):
        with canvas.element("TH"):
            pen.text(words.words[f"index_{column.key}"], x + s,
                     head_top + INDEX_HEAD * s - pen.line_height(size) - s, size,
                     width * column.share - 2 * s, bold=True)
    canvas.close()
    y = head_top + INDEX_HEAD * s
    pen.hline(0, width, y, (0.13, 0.13, 0.13), geometry.rule(0.5))
    for row in rows:
        texts = {"no": row.number, "hid": row.household_id, "addr": row.address,
                 "head": row.head, "fl": row.flags, "pg": str(row.page) if row.page else ""}
        with canvas.element("TR"):
            for column, x in zip(columns, xs, strict=True):
                with canvas.element("TD"):
                    if column.key == "col" and not row.colour:  # a retired number
                        continue
                    if column.key == "col":
                        dot = 5 * s
                        colour = palette[row.colour]
                        top = y + INDEX_PAD * s / 2 - 0.3 * s
                        pen.rect(x + s, top, dot, dot, fill=rgb(colour), radius=dot / 2)
                        char = layout.type(7)
                        pen.text(row.char, x + s, top + (dot - pen.line_height(char)) / 2,
                                 char, dot, bold=True, colour=rgb(ink_for(colour)),
                                 align="center")
                        continue
                    at = row.head_size or size if column.key == "head" else size
                    pen.text(texts[column.key], x + s, y + INDEX_PAD * s / 2, at,
                             width * column.share - 2 * s, name=column.key in WHOLE_PARTS)
        y += row.height
        pen.hline(0, width, y, RULE, geometry.rule(0.2))
    canvas.close()
    out = StyledPen(Pen(canvas, typesetter, 0.0, 0.0, geometry.line_factor, geometry.smallest),
                 geometry, words.words, BLACK)
    with canvas.element("P"):  # the frame's words: the footer's confidentiality note
        footer(out, geometry.plain[verso], words, title, emergency, page_number)
        canvas.frame()


def draw_change_page(canvas: Canvas, items: tuple[Item, ...], page_number: int, place: str,
                     emergency: bool, geometry: Geometry, typesetter: Typesetter,
                     words: PageWords, verso: bool) -> None:
    """One page of an update packet's change list, laid out by cardgen/layout/change_pages.py:
    its texts, boxes and rules as they are, and the page's footer."""
    layout = index_layout(geometry, verso)
    pen = Pen(canvas, typesetter, layout.margin_left, layout.margin_top, layout.line,
              geometry.smallest)
    for item in items:
        if isinstance(item, Rule):
            pen.hline(0, layout.content_width, item.y, (0.13, 0.13, 0.13) if item.heavy
                      else RULE, geometry.rule(0.5 if item.heavy else 0.25))
        elif isinstance(item, Shape):
            fill = rgb(item.colour) if item.colour else None
            line = geometry.rule(0.35)
            pen.rect(item.x, item.y, item.width, item.height, fill=fill,
                     stroke=(0.13, 0.13, 0.13) if fill is None or item.radius else None,
                     line=geometry.rule(0.25) if fill is not None else line,
                     dash=(1.2 * line * 3, line * 3) if item.dash else None,
                     radius=item.radius)
        else:
            pen.text(item.text, item.x, item.y, item.size, item.width, item.bold,
                     rgb(item.colour) if item.colour else BLACK, item.align, name=item.name)
    out = StyledPen(Pen(canvas, typesetter, 0.0, 0.0, geometry.line_factor, geometry.smallest),
                 geometry, words.words, BLACK)
    footer(out, geometry.plain[verso], words, place, emergency, page_number)


def draw_cover(canvas: Canvas, values: dict[str, str], places: Places,
               styles: dict[str, tuple[float, bool, str, str]], typesetter: Typesetter,
               line_factor: float, smallest: float, words: frozenset[str] = frozenset(),
               ) -> None:
    """A ledger cover's grid words (title, community, grid, grid worker: the places named
    in `words`) and its counts, date and pages, each into its place on the cover frame in
    the type the template gives the place: one line, made smaller to fit its width. A
    word too long for one line even at the smallest text (a 30-character community on
    A5) wraps there, its lines closed up and centred in the place, as a card's names do."""
    pen = Pen(canvas, typesetter, 0.0, 0.0, line_factor, smallest)
    for name, text in values.items():
        if name not in places or name not in styles:  # cover-numbers is optional
            continue
        box = places[name]
        size, bold, colour, align = styles[name]
        if name in words:
            _cover_words(pen, text, box, size, bold, rgb(colour), align,
                         name == "cover-worker")
            continue
        top = box.y + (box.height - pen.line_height(size)) / 2
        pen.fitted(text, box.x, top, size, box.width, bold, rgb(colour), align)


def _cover_words(pen: Pen, text: str, box: Box, size: float, bold: bool, colour: Colour,
                 align: str, name: bool) -> None:
    """One of the grid's words in its cover place: one line as large as fits, down to the
    smallest text; past that, wrapped at the smallest text (a name's parts kept whole)."""
    em = pen.ts.width(text, bold)
    fitted = size if em * size * PT <= box.width + 0.01 else max(
        min(size, pen.least), box.width / (em * PT))
    if em * fitted * PT <= box.width + 0.01:
        top = box.y + (box.height - pen.line_height(fitted)) / 2
        pen.draw([pen.ts.line(text, bold)], box.x, top, fitted, colour, align, box.width)
        return
    fitted = min(size, pen.least)
    lines = pen.lines(text, fitted, box.width, bold, name)
    top = box.y + (box.height - len(lines) * pen.line_height(fitted, TIGHT)) / 2
    pen.draw(lines, box.x, top, fitted, colour, align, box.width, TIGHT)
