"""The change list (变更清单) of an update packet, laid out by cardgen as the index is.

A grid's change list used to be a WeasyPrint template; it is laid out here because it is
new every month, and WeasyPrint's import, styles, layout and font subsetting cost a monthly
update more than a whole ledger rebuild after one change (issue 10, item 7: measured 1.45 s
against 1.1–1.4 s). Its words are the config's (`[book.list]`), its type the index's; its
pages stand on the plain frame, whose footer the frame template places.

The layout is data: each page a tuple of positioned texts, boxes and rules (mm from the
content box's top-left corner, sizes in points on this paper), which cardgen/pdf/draw.py
draws as they are and the cache keys on. The rows are in book-number order, as the worker
goes through the binder; a row never splits across pages, and the table's head repeats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cardgen.layout.colours import ink_for
from cardgen.layout.geometry import PT, Layout
from cardgen.layout.typeset import Typesetter, baseline_drop

ACTIONS = ("add", "insert", "replace", "remove", "pending")
# The table's columns: their keys, the word of [book.list] heading each, their share of the
# content width (A4: the old template's widths in mm).
COLUMNS = (("tick", "", 0.04), ("no", "col_number", 0.07), ("hid", "col_household", 0.105),
           ("act", "col_action", 0.095), ("addr", "col_address", 0.205),
           ("why", "col_reasons", 0.215), ("tab", "col_tab", 0.135),
           ("stk", "col_stickers", 0.135))
# Type sizes, pt on A4 (scaled to the paper, never under the smallest text)
KICKER, TITLE, GROUP, FACTS, COUNT, STEPS, BODY, NUMBER, HEAD, NOTE = (
    8.0, 20.0, 13.0, 9.0, 10.0, 8.5, 8.5, 10.0, 7.0, 7.0)
GREY = "#444444"
FAINT = "#555555"


@dataclass(frozen=True)
class Text:
    """Text set in lines no wider than `width`, its first line's top at `y`."""

    text: str
    x: float
    y: float
    size: float  # pt
    width: float
    bold: bool = False
    colour: str = ""  # hex; black when empty
    align: str = "left"
    name: bool = False  # a name: broken only between its parts (layout/typeset.py)


@dataclass(frozen=True)
class Shape:
    """A box: a checkbox, a count's outline, a colour swatch (filled with a palette colour),
    the pending note's bar (filled grey)."""

    x: float
    y: float
    width: float
    height: float
    colour: str = ""  # hex fill; outlined when empty
    dash: bool = False
    radius: float = 0.0


@dataclass(frozen=True)
class Rule:
    """A rule across the content width: under the table's head (heavy) or a row."""

    y: float
    heavy: bool = False


Item = Text | Shape | Rule


def _moved(items: Sequence[Item], dy: float) -> list[Item]:
    return [replace(item, y=round(item.y + dy, 3)) for item in items]


class _Setter:
    """Measures and places text the way the pen will draw it (the same line breaks)."""

    def __init__(self, layout: Layout, typesetter: Typesetter) -> None:
        self.layout = layout
        self.ts = typesetter
        self.s = layout.paper.scale

    def size(self, pt: float) -> float:
        return round(self.layout.type(pt), 3)

    def line(self, size: float) -> float:
        return self.layout.line_height(size)

    def height(self, text: str, size: float, width: float, bold: bool = False,
               name: bool = False) -> float:
        return len(self.ts.lines(text, width / (size * PT), bold, name)) * self.line(size)

    def width(self, text: str, size: float, bold: bool = False) -> float:
        return self.ts.width(text, bold) * size * PT

    def baseline(self, size: float) -> float:
        """From a line's top to its baseline (mm), as the pen sets it."""
        return baseline_drop(self.ts.fonts, size, self.line(size))


def change_pages(sheet: Mapping[str, Any], words: Mapping[str, str], unfilled: str,
                 date: str, layout: Layout, typesetter: Typesetter,
                 palette: Mapping[str, tuple[str, str]]) -> list[tuple[Item, ...]]:
    """The change list's pages: its head (what the packet holds and what to do), then the
    table, one row per card to add, replace or take out; `palette`: each colour's hex and
    its character."""
    setter = _Setter(layout, typesetter)
    s = setter.s
    width = layout.content_width
    room = layout.footer_top - 2 * s
    columns = _columns(width)
    head = _table_head(words, columns, setter)
    pages: list[list[Item]] = []
    top = _first_head(sheet, words, unfilled, date, width, setter)
    page, y = list(top), top_height(top, setter)
    header_height = _height(head, setter) + 1.2 * s
    headed = False  # the table's head is on this page
    for row in sheet["rows"]:
        items, height = _row(row, words, columns, palette, setter)
        fresh = bool(pages) and not headed and len(page) == 1  # a page with its heading only
        if y + height + (0 if headed else header_height) > room and not fresh:
            pages.append(page)
            heading = Text(words["continued"].format(group=sheet["group"]), 0, 0,
                           setter.size(12), width, bold=True)
            page, y, headed = [heading], setter.line(heading.size) + 2 * s, False
        if not headed:
            page += _moved(head, y)
            y += header_height
            page.append(Rule(round(y, 3), heavy=True))
            headed = True
        page += _moved(items, y)
        y += height
        page.append(Rule(round(y, 3)))
    if sheet["counts"].get("pending"):
        note = words["pending_note"]
        size = setter.size(8)
        height = setter.height(note, size, width - 4 * s) + 1.5 * s
        y += 3 * s
        if y + height > room:
            pages.append(page)
            page, y = [], 0.0
        page += [Shape(0, round(y, 3), round(0.8 * s, 3), round(height, 3), colour="#999999"),
                 Text(note, 3 * s, round(y + 0.75 * s, 3), size, width - 4 * s,
                      colour="#333333")]
    pages.append(page)
    return [tuple(p) for p in pages]


def top_height(items: Sequence[Item], setter: _Setter) -> float:
    return _height(items, setter) + 3 * setter.s


def _height(items: Sequence[Item], setter: _Setter) -> float:
    """How far down the items reach."""
    bottom = 0.0
    for item in items:
        if isinstance(item, Text):
            bottom = max(bottom, item.y + setter.height(item.text, item.size, item.width,
                                                        item.bold, item.name))
        elif isinstance(item, Shape):
            bottom = max(bottom, item.y + item.height)
        else:
            bottom = max(bottom, item.y)
    return bottom


def _columns(width: float) -> dict[str, tuple[float, float]]:
    """Each column's left edge and width."""
    found, x = {}, 0.0
    for key, _word, share in COLUMNS:
        found[key] = (round(x, 3), round(width * share, 3))
        x += width * share
    return found


def _first_head(sheet: Mapping[str, Any], words: Mapping[str, str], unfilled: str,
                date: str, width: float, setter: _Setter) -> list[Item]:
    """The first page's head: the kicker, the title and the grid, the facts, the counts
    and the steps to take."""
    s = setter.s
    items: list[Item] = []
    kicker = setter.size(KICKER)
    items.append(Text(words["kicker"], 0, 0, kicker, width, colour=FAINT))
    y = setter.line(kicker) + 1 * s
    title, group = setter.size(TITLE), setter.size(GROUP)
    title_width = setter.width(words["title"], title, True)
    items.append(Text(words["title"], 0, round(y, 3), title, title_width + 1, bold=True))
    items.append(Text(str(sheet["group"]), round(title_width + 4 * s, 3),
                      round(y + setter.baseline(title) - setter.baseline(group), 3), group,
                      round(width - title_width - 4 * s, 3), bold=True))
    y += setter.line(title) + 2 * s
    edition = sheet["edition"]
    book = (words["edition_since"] if edition["date"] else words["edition"]).format(
        number=edition["number"], date=edition["date"])
    worker = " ".join(part for part in (sheet["worker"] or unfilled,
                                        sheet["worker_phone"]) if part)
    facts = ((words["worker"], worker, words["book"], book),
             (words["updated"], date, words["households"],
              words["household_change"].format(before=sheet["before"], after=sheet["after"])))
    size = setter.size(FACTS)
    label, half = 18 * s, width / 2
    for row in facts:
        height = 0.0
        for column, (name, value) in enumerate(((row[0], row[1]), (row[2], row[3]))):
            x = column * half
            items.append(Text(name, round(x, 3), round(y + 0.6 * s, 3), size, label,
                              colour=GREY))
            value_width = round(half - label - 2 * s, 3)
            person = name == words["worker"]  # the worker's name breaks between its parts
            items.append(Text(value, round(x + label, 3), round(y + 0.6 * s, 3), size,
                              value_width, name=person))
            height = max(height, setter.height(value, size, value_width, name=person))
        y += height + 1.2 * s
    y += 2 * s
    size = setter.size(COUNT)
    x = 0.0
    for action in ACTIONS:
        count = sheet["counts"].get(action)
        if not count:
            continue
        text = words["count"].format(action=words[action], n=count)
        chip = setter.width(text, size, True) + 5 * s
        if x and x + chip > width:
            x, y = 0.0, y + setter.line(size) + 2 * s
        items.append(Shape(round(x, 3), round(y, 3), round(chip, 3),
                          round(setter.line(size) + 1 * s, 3),
                          dash=action in ("remove", "pending"), radius=round(1 * s, 3)))
        items.append(Text(text, round(x + 2.5 * s, 3), round(y + 0.5 * s, 3), size, chip,
                          bold=True))
        x += chip + 2 * s
    y += setter.line(size) + 3 * s
    size = setter.size(STEPS)
    for number, step in enumerate(_steps(sheet, words), 1):
        items.append(Text(f"{number}.", 0, round(y, 3), size, 5 * s))
        items.append(Text(step, round(5 * s, 3), round(y, 3), size, round(width - 5 * s, 3)))
        y += setter.height(step, size, width - 5 * s) + 0.6 * s
    return items


def _steps(sheet: Mapping[str, Any], words: Mapping[str, str]) -> list[str]:
    """What the worker does with the packet, in order."""
    counts = sheet["counts"]
    steps = []
    if counts.get("remove"):
        steps.append(words["step_remove"])
    if counts.get("replace") or counts.get("insert"):
        steps.append(words["step_replace"])
    if counts.get("add"):
        steps.append(words["step_add"])
    packet = sheet["packet"]
    steps.append(words["step_cover"].format(cover=packet["cover"], index=packet["index"]))
    if sheet["stickers"]:
        steps.append(words["step_stickers"].format(file=sheet["stickers"]["file"],
                                                   labels=sheet["stickers"]["labels"]))
    return steps


def _table_head(words: Mapping[str, str], columns: Mapping[str, tuple[float, float]],
                setter: _Setter) -> list[Item]:
    s = setter.s
    size = setter.size(HEAD)
    return [Text(words[word], round(columns[key][0] + s, 3), round(0.6 * s, 3), size,
                 round(columns[key][1] - 2 * s, 3), bold=True)
            for key, word, _share in COLUMNS if word]


def _row(row: Mapping[str, Any], words: Mapping[str, str],
         columns: Mapping[str, tuple[float, float]], palette: Mapping[str, tuple[str, str]],
         setter: _Setter) -> tuple[list[Item], float]:
    """One card's row, from its top, and its height."""
    s = setter.s
    body, note = setter.size(BODY), setter.size(NOTE)
    action = row["action"]
    shade = "#333333" if action == "remove" else FAINT if action == "pending" else ""
    # each cell's pieces: text, size, bold, colour, a name
    cells: dict[str, list[tuple[str, float, bool, str, bool]]] = {
        "no": [(row["number"], setter.size(NUMBER), True, shade, False)],
        "hid": [(row["household_id"], body, False, shade, False)],
        "act": [(words[action], body, True, shade, False)],
        "addr": [(row["address"], body, False, shade, False),
                 ("· " + row["head"] if row["head"] else "", body, False, shade, True)],
        "why": [("；".join(row["reasons"]), body, False, shade, False)],
        "tab": [], "stk": [],
    }
    if action == "add":
        cells["act"].append((words["at_back"], note, False, GREY, False))
    if row["page"]:
        cells["act"].append((words["page"].format(page=row["page"]), note, False, GREY, False))
    if row["since"]:
        cells["why"].append((row["since"], note, False, GREY, False))
    if row["tab"] == "move":
        cells["tab"].append((words["move_tab"], body, False, shade, False))
    elif row["action"] == "remove":
        cells["tab"].append((words["remove_tab"], body, False, shade, False))
    for flag in row["stickers_added"]:
        cells["stk"].append((words["put"].format(flag=flag), body, False, shade, False))
    for flag in row["stickers_removed"]:
        cells["stk"].append((words["take_off"].format(flag=flag), body, False, GREY, False))
    if action == "replace" and not row["stickers_added"] and not row["stickers_removed"] \
            and row.get("old_stickers"):  # only a card that had stickers has any to move
        cells["stk"].append((words["move_stickers"], body, False, shade, False))
    items: list[Item] = []
    pad = 1 * s
    box = round(4 * s, 3)
    items.append(Shape(round(columns["tick"][0] + pad, 3), round(pad, 3), box, box))
    height = box
    swatch = round(4.6 * s, 3)
    for key, pieces in cells.items():
        x, column_width = columns[key]
        y = pad
        if key == "tab" and row["tab"] == "new":
            sx = x + pad
            colours = [row["old_colour"], row["colour"]] if row["old_colour"] else [row["colour"]]
            for index, colour in enumerate(colours):
                if index:
                    items.append(Text("→", round(sx, 3), round(y + (swatch - setter.line(body))
                                                               / 2, 3), body, 3 * s))
                    sx += setter.width("→", body) + 0.3 * s
                hex_colour, char = palette[colour]
                items.append(Shape(round(sx, 3), round(y, 3), swatch, swatch,
                                  colour=hex_colour, radius=round(0.8 * s, 3)))
                char_size = setter.size(7.5)
                items.append(Text(char, round(sx, 3), round(y + (swatch - setter.line(
                    char_size)) / 2, 3), char_size, swatch, bold=True,
                    colour=ink_for(hex_colour), align="center"))
                sx += swatch + 0.3 * s
            y += swatch + 0.4 * s
            pieces = [(words["new_tab"], body, False, shade, False)]
        for text, size, bold, colour, name in pieces:
            if not text:
                continue
            text_width = round(column_width - 2 * pad, 3)
            items.append(Text(text, round(x + pad, 3), round(y, 3), size, text_width, bold,
                              colour, name=name))
            y += setter.height(text, size, text_width, bold, name)
        height = max(height, y - pad)
    return items, round(height + 2 * pad, 3)


def change_list(contexts: Sequence[Mapping[str, Any]], words: Mapping[str, str], unfilled: str,
                date: str, layout: Layout, typesetter: Typesetter,
                palette: Mapping[str, tuple[str, str]]) -> list[tuple[Item, ...]]:
    """The change list's pages. It names the packet's pages after it (the cover, the
    index, each card's): `contexts[n - 1]` is its sheet when it takes n pages, so it is
    laid out again until its length holds (a longer list than the contexts give up)."""
    pages = 1
    laid: list[tuple[Item, ...]] = []
    for _attempt in range(len(contexts)):
        laid = change_pages(contexts[pages - 1], words, unfilled, date, layout, typesetter, palette)
        if len(laid) == pages or len(laid) > len(contexts):
            break
        pages = len(laid)
    return laid
