"""What a card shows, page by page: the household seen through privacy rules and fitted to
the places of its frame (cardgen/layout/geometry.py: the boxes the frame template marks).

Every line is measured by the same typesetter that draws it, so a planned page holds
exactly what it shows. A member takes whole ruled rows of the members table; the members
that do not fit go to a continuation page (续页). The household block is measured the same
way: long values make it taller by whole ruled rows (the frame variant with that growth),
up to the configured limit; what is still too long is cut short with "…". A member's notes
are never cut: notes longer than a 续页 holds continue on the next page. The words come
from the config ([card.words]).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import Any

from cardgen.config import Config, PaletteColour, Words
from cardgen.data.model import Category, Household
from cardgen.layout.geometry import COLUMN_KEYS, PT, Geometry
from cardgen.layout.printed import PrintedMember, chips, printed_household, slot_fills
from cardgen.layout.typeset import Typesetter

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class MemberLine:
    number: int
    name: str
    relation: str
    sex: str
    ethnicity: str
    age: str
    id_text: str
    phone: str
    residence: str
    flags: str
    notes: str
    main: int = 1  # ruled rows its cells take
    note_rows: int = 0  # ruled rows its notes take
    bold_name: bool = False
    name_size: float = 0.0  # pt, when the name is set smaller than the body to fit
    note_start: int = 0  # the first ruled row of its notes this page shows (long notes
    # continue on the next page: there the member's number and name head the rest)

    @property
    def rows(self) -> int:
        return self.main + self.note_rows


@dataclass(frozen=True, slots=True)
class Sticker:
    label: str
    filled: bool
    names: str


@dataclass(frozen=True, slots=True)
class Chip:
    label: str
    names: str


@dataclass(frozen=True, slots=True)
class Checkbox:
    label: str
    checked: bool


@dataclass(frozen=True, slots=True)
class Fact:
    """One labelled value of the household block and its place: mm from the block's
    left edge; the value starts `label_width` right of the label."""

    label: str
    value: str  # as printed
    field: str  # the Card attribute it shows; "" for the marks
    x: float
    label_width: float
    width: float  # the value's


@dataclass(frozen=True, slots=True)
class CardPage:
    number: int  # 1-based within the card
    members: tuple[MemberLine, ...]
    continued: bool  # more members follow on the next page


@dataclass(slots=True)
class Card:
    """Everything one household's card prints, already masked and paginated."""

    household_id: str
    colour: PaletteColour
    category: Category
    reasons: str
    visit: str
    community: str
    grid: str
    address: str
    housing: str
    marks: tuple[Checkbox, ...]
    show_owner: bool
    owner: str
    owner_phone: str
    grid_worker: str
    grid_worker_phone: str
    vacant: bool
    stickers: tuple[Sticker, ...]
    chips: tuple[Chip, ...]
    pages: tuple[CardPage, ...]
    ledger_number: str
    emergency: bool
    first_page: int = 1  # page number of the card's first page in its document
    member_count: int = 0
    household_grow: int = 0  # ruled rows the household block takes from the members table
    facts: tuple[tuple[Fact, ...], ...] = ()  # the household block's rows, as printed
    source_key: str = ""  # what the card was made from (cache key), set by the pipeline
    # values of its household a run kept with it (printing/run.make_cards' `describe`)
    described: bytes | None = None

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def to_data(self, shared: bool = True) -> Any:
        """Plain values (for marshal): what the card cache stores. `shared`: its short
        texts interned, so marshal marks them so and `from_data`'s marshal.loads interns
        them again: a ledger holds 20,000 cards, one object per repeated text. (Interning
        them as a card was read back, in Python, took 0.45 s of a 1,000-card ledger whose
        cards all came from the cache: cProfile, session 5.) A card handed to a worker to
        be drawn, gone once drawn, needs not be."""
        data = (self.household_id, self.colour.key, plain_values(self.category),
                self.reasons, self.visit, self.community, self.grid, self.address,
                self.housing, tuple(plain_values(m) for m in self.marks),
                self.show_owner, self.owner, self.owner_phone, self.grid_worker,
                self.grid_worker_phone, self.vacant,
                tuple(plain_values(x) for x in self.stickers),
                tuple(plain_values(x) for x in self.chips),
                tuple((p.number, tuple(plain_values(m) for m in p.members), p.continued)
                      for p in self.pages),
                self.ledger_number, self.emergency, self.member_count,
                self.household_grow,
                tuple(tuple(plain_values(f) for f in row) for row in self.facts))
        return _shared(data) if shared else data

    @classmethod
    def from_data(cls, data: tuple[Any, ...], config: Config) -> Card:
        """A card from `to_data` read back by marshal (its short texts interned)."""
        (household_id, colour, category, reasons, visit, community, grid, address, housing,
         marks, show_owner, owner, owner_phone, grid_worker, grid_worker_phone, vacant,
         stickers, chips, pages, ledger_number, emergency, member_count,
         household_grow, facts) = data
        return cls(
            household_id, config.palette[colour], Category(*category), reasons, visit,
            community, grid, address, housing, tuple(Checkbox(*m) for m in marks), show_owner,
            owner, owner_phone, grid_worker, grid_worker_phone, vacant,
            tuple(Sticker(*x) for x in stickers), tuple(Chip(*x) for x in chips),
            tuple(CardPage(number, tuple(MemberLine(*m) for m in members), continued)
                  for number, members, continued in pages),
            ledger_number, emergency, member_count=member_count,
            household_grow=household_grow,
            facts=tuple(tuple(Fact(*f) for f in row) for row in facts))


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def plain_values(value: Any) -> tuple[Any, ...]:
    """`dataclasses.astuple` of a dataclass whose fields hold plain values (texts, numbers,
    tuples of texts): the same values, without astuple's deep copy of each (125,000 calls
    took 0.48 s of a 1,000-card ledger's 9.5 s: cProfile, session 6)."""
    getter = _GETTERS.get(type(value))
    if getter is None:
        names = [f.name for f in fields(value)]
        get = attrgetter(*names)
        getter = _GETTERS[type(value)] = (
            get if len(names) > 1 else lambda v: (get(v),))
    return getter(value)


def _shared(value: Any) -> Any:
    """`value` with its texts of 32 characters or fewer interned. (A call for each tuple,
    not for each value in it: 148,000 calls took 0.2 s of a worker's 3.0 s for 1,000 cards,
    cProfile, session 7.)"""
    if type(value) is str:
        return sys.intern(value) if len(value) <= 32 else value
    if type(value) is not tuple:
        return value
    return tuple([_shared(item) if type(item) is tuple
                  else sys.intern(item) if type(item) is str and len(item) <= 32 else item
                  for item in value])


def cell_lines(typesetter: Typesetter, text: str, width_mm: float, size_pt: float,
               bold: bool = False, name: bool = False) -> int:
    """How many lines `text` takes in a place `width_mm` wide (a `name` broken only
    between its parts)."""
    width_em = width_mm / (size_pt * PT)
    if "\n" not in text and typesetter.width(text, bold) <= width_em:
        return 1
    return len(typesetter.lines(text, width_em, bold, name))


def name_size(typesetter: Typesetter, name: str, width_mm: float, size_pt: float,
              least: float, bold: bool = False) -> float:
    """The size a name prints at in a place `width_mm` wide: `size_pt`, or smaller (down
    to `least`) where one part of it would not fit a line whole. A name that does not
    fit even then (no real one gets there) breaks inside a part."""
    widest = typesetter.widest_unit(name, bold) * PT
    if widest * size_pt <= width_mm + 0.01:
        return size_pt
    return max(min(size_pt, least), width_mm / widest)


def clip_lines(typesetter: Typesetter, text: str, width_mm: float, size_pt: float,
               most: int, bold: bool = False, prefix: str = "", name: bool = False) -> str:
    """`text` cut short with "…" so that `prefix + text` takes at most `most` lines
    `width_mm` wide; unchanged when it does already. The cut keeps as much as fits."""
    if cell_lines(typesetter, prefix + text, width_mm, size_pt, bold, name) <= most:
        return text

    def fits(length: int) -> bool:
        cut = prefix + text[:length].rstrip() + ELLIPSIS
        return cell_lines(typesetter, cut, width_mm, size_pt, bold, name) <= most

    low, high = 0, len(text) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def lines_per_row(geometry: Geometry, style: str) -> int:
    """Lines of a text style one ruled row holds (one, unless the template's rows are
    taller than two lines)."""
    row = geometry.rows(False)[0].height
    return max(1, int(row / geometry.line_height(style) + 1e-6))


# The household block (README, "The card"): its rows wrap and the block is as tall as they are; it
# grows by whole ruled rows (up to [card] household_grow). A value past its lines here is
# cut short with "…": a phone is one number, printed as written, so one line; a name three;
# the address four.
HOUSEHOLD_LINES = {"address": 4, "housing": 1, "owner": 3, "owner_phone": 1,
                   "grid_worker": 3, "grid_worker_phone": 1}


def fact_padding(geometry: Geometry) -> float:
    """Above and below the text of a household row, mm: a quarter of the inset."""
    return geometry.inset * geometry.size("body") * PT / 4


def household_facts(card: Card, geometry: Geometry, typesetter: Typesetter,
                    words: Words) -> tuple[tuple[Fact, ...], ...]:
    """The household block's rows, each fact placed in the block's width: what draw.py
    prints and the fitting measures. Labels take the widest label's width and an em."""
    width = geometry.page(True)["household"].width
    size = geometry.size("body")
    em = size * PT
    marks = "  ".join(words.format("checked" if m.checked else "unchecked", mark=m.label)
                      for m in card.marks)
    rows: list[list[tuple[str, str]]] = [[("address", "address")],
                                         [("housing", "housing"), ("marks", "")]]
    if card.show_owner:
        rows.append([("owner", "owner"), ("owner_phone", "owner_phone")])
    rows.append([("grid_worker", "grid_worker"), ("grid_worker_phone", "grid_worker_phone")])
    label = max(typesetter.width(words[name]) for row in rows for name, _ in row) * em + em
    housing = label + max(typesetter.width(card.housing or words["unfilled"]) * em, 3 * em) + em
    facts = []
    for row in rows:
        split = housing if row[0][0] == "housing" else width / 2
        line = []
        for index, (name, field) in enumerate(row):
            x = index * split
            room = split if index == 0 and len(row) > 1 else width - x
            value = str(getattr(card, field)) if field else marks
            if not value and field != "address":
                value = words["unfilled"]
            line.append(Fact(words[name], value, field, x, label, room - label - em))
        facts.append(tuple(line))
    return tuple(facts)


def household_height(facts: tuple[tuple[Fact, ...], ...], geometry: Geometry,
                     typesetter: Typesetter) -> float:
    """The household block's height (mm) with its rows wrapped as they print."""
    size = geometry.size("body")
    height = 0.0
    for row in facts:
        lines = max(cell_lines(typesetter, fact.value, fact.width, size) for fact in row)
        height += lines * geometry.line_height("body") + 2 * fact_padding(geometry)
    return height


def _fit_household(card: Card, geometry: Geometry, typesetter: Typesetter,
                   words: Words) -> int:
    """Cut the card's over-long household values short; returns how many ruled rows the
    household block grows by. Past the last growth, the value that takes the most lines
    loses lines until the block fits (only a value far over the limits gets there)."""
    size = geometry.size("body")

    def clip(fact: Fact, most: int) -> None:
        value = getattr(card, fact.field)
        setattr(card, fact.field, clip_lines(typesetter, value, fact.width, size, most))

    for row in household_facts(card, geometry, typesetter, words):
        for fact in row:
            if fact.field:
                clip(fact, HOUSEHOLD_LINES[fact.field])
    boxes = [geometry.page(True, grow)["household"].height
             for grow in range(geometry.grow_max + 1)]
    while True:
        facts = household_facts(card, geometry, typesetter, words)
        height = household_height(facts, geometry, typesetter)
        for grow, room in enumerate(boxes):
            if height <= room + 1e-6:
                card.facts = facts
                return grow
        lines, fact = max(((cell_lines(typesetter, f.value, f.width, size), f)
                           for row in facts for f in row if f.field), key=lambda item: item[0])
        if lines <= 1:
            card.facts = facts
            return geometry.grow_max
        clip(fact, lines - 1)


# Cells broken only between their parts: a name between its parts, the flags between flags
# (空巢、/ 独居, never 空巢、独 / 居).
WHOLE_PARTS = frozenset({"name", "flags"})
PHONE_LINES = 2  # a member's phone cell holds two numbers; more is cut short with "…"


def _line_counts(line: MemberLine, geometry: Geometry, typesetter: Typesetter,
                 words: Words) -> tuple[int, int]:
    """Lines of a member's cells (the tallest cell's) and of its notes (0 without notes)."""
    size = geometry.size("body")
    main = max(cell_lines(typesetter, str(getattr(line, key)), geometry.column(key).width,
                          line.name_size or size if key == "name" else size,
                          bold=key == "name" and line.bold_name, name=key in WHOLE_PARTS)
               for key in COLUMN_KEYS)
    notes = 0
    if line.notes:
        notes = cell_lines(typesetter, words.format("notes", notes=line.notes),
                           geometry.notes_width, geometry.size("note"))
    return main, notes


def _rows(geometry: Geometry, main: int, notes: int) -> tuple[int, int]:
    """Ruled rows taken by `main` lines of cells and `notes` lines of notes."""
    body, note = lines_per_row(geometry, "body"), lines_per_row(geometry, "note")
    return -(-main // body), -(-notes // note)


def _fit_row(line: MemberLine, geometry: Geometry, typesetter: Typesetter,
             words: Words) -> tuple[MemberLine, tuple[int, int] | None]:
    """Cells no taller than a 续页 holds, with a row for the start of the notes and one
    for 接续页: taller cells are cut to that many lines and end in "…" (only a cell far
    past any real value gets there). The notes are never cut: they continue on the next
    page (see `paginate`). With the row, its `_line_counts` when it is not cut (None when
    it is): the caller would count them again (0.12 s of a worker's 3.0 s for 1,000
    cards, cProfile, session 7)."""
    counts = _line_counts(line, geometry, typesetter, words)
    body = lines_per_row(geometry, "body")
    limit = max(1, len(geometry.rows(False)) - 2) * body
    if counts[0] <= limit:
        return line, counts
    size = geometry.size("body")
    cut: dict[str, Any] = {
        key: clip_lines(typesetter, getattr(line, key), geometry.column(key).width,
                        line.name_size or size if key == "name" else size, limit,
                        bold=key == "name" and line.bold_name, name=key in WHOLE_PARTS)
        for key in COLUMN_KEYS if key != "number"}  # the number is one line
    return replace(line, **cut), None


def _heading(line: MemberLine, geometry: Geometry, typesetter: Typesetter,
             words: Words) -> int:
    """Ruled rows a member's number and name take where its notes continue on a page."""
    # `_line_counts` of the line with its other cells and notes empty (a line each, none):
    # counted here, without making that line (dataclasses.replace, session 7)
    size = geometry.size("body")
    main = max(cell_lines(typesetter, str(line.number), geometry.column("number").width, size,
                          name="number" in WHOLE_PARTS),
               cell_lines(typesetter, line.name, geometry.column("name").width,
                          line.name_size or size, bold=line.bold_name, name=True))
    return _rows(geometry, main, 0)[0]


def _member_line(number: int, printed: PrintedMember, config: Config, geometry: Geometry,
                 today: dt.date, typesetter: Typesetter) -> MemberLine:
    words = config.card.words
    member = printed.member
    age = member.age_on(today)
    age_text = "" if age is None else str(age)
    if config.privacy.birth_date and member.birth_date:
        age_text = f"{age_text}（{member.birth_date.isoformat()}）"
    # the phone cut short and the name's size worked out before the line is made, not
    # put in with dataclasses.replace (7,965 of them took 0.68 s of a worker's 20.7 s for
    # 1,000 cards under cProfile, session 7)
    phone = clip_lines(typesetter, "\n".join(n for n in (member.phone, member.landline) if n),
                       geometry.column("phone").width, geometry.size("body"), PHONE_LINES)
    size = geometry.size("strong" if member.is_head else "body")
    fitted = name_size(typesetter, member.name, geometry.column("name").width, size,
                       geometry.smallest, member.is_head)
    line = MemberLine(
        number=number, name=member.name, relation=member.relation, sex=member.sex,
        ethnicity=member.ethnicity, age=age_text, id_text=printed.id_text, phone=phone,
        residence=member.residence, flags=words["separator"].join(printed.flags),
        notes=member.notes,
        bold_name=member.is_head, name_size=round(fitted, 2) if fitted < size else 0.0)
    line, counts = _fit_row(line, geometry, typesetter, words)
    main, notes = _rows(geometry, *(counts or _line_counts(line, geometry, typesetter, words)))
    return replace(line, main=main, note_rows=notes)


def continuation(line: MemberLine, heading: int, start: int, rows: int) -> MemberLine:
    """The part of a member's notes that continues on a page: its number and name in
    `heading` rows, then `rows` rows of notes from row `start`."""
    return replace(line, relation="", sex="", ethnicity="", age="", id_text="", phone="",
                   residence="", flags="", main=heading, note_start=start, note_rows=rows)


def has_visit_log(page_count: int, config: Config, duplex: bool) -> bool:
    """Printed duplex, a card starts on a right-hand page; one with an odd number of pages
    would leave its last back blank: that page is its visit log (走访记录), unless
    [duplex] verso = "blank". (A two-page card prints its 续页 there.)"""
    return duplex and config.duplex.verso == "visits" and page_count % 2 == 1


def paginate(lines: list[MemberLine], first_rows: int, next_rows: int,
             headings: list[int] | None = None) -> tuple[CardPage, ...]:
    """Members onto pages of ruled rows: as many as fit on the first page, the rest on 续页.
    A member that does not fit goes whole to the next page (the first one too: a 续页 has
    more rows than a first page), and a page that continues keeps a row for its 接续页 note
    (but for a member that fills a 续页 alone: the note is left out there, see draw).
    A member with notes longer than a whole 续页 holds starts where it is and its notes
    continue on the next pages, each part headed by its number and name (`headings`:
    the rows that takes, per member)."""
    pages: list[list[MemberLine]] = [[]]
    room = first_rows
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        need = line.rows + (0 if last else 1)
        if line.note_rows and need > next_rows:  # too long for any page: it continues
            heading = headings[index] if headings else 1
            start, main = 0, line.main
            while True:
                rest = line.note_rows - start
                if main + rest + (0 if last else 1) <= room:
                    pages[-1].append(line if start == 0 else continuation(
                        line, main, start, rest))
                    room -= main + rest
                    break
                take = room - main - 1  # a row stays for 接续页
                if take >= 1 or (not pages[-1] and len(pages) > 1):
                    take = max(take, 1)
                    pages[-1].append(replace(line, note_rows=take) if start == 0
                                     else continuation(line, main, start, take))
                    start += take
                    main = heading
                pages.append([])
                room = next_rows
            continue
        if need > room and (pages[-1] or len(pages) == 1):
            pages.append([])
            room = next_rows
        pages[-1].append(line)
        room -= line.rows
    return tuple(CardPage(number, tuple(members), continued=number < len(pages))
                 for number, members in enumerate(pages, 1))


def build_card(household: Household, category: Category, config: Config, geometry: Geometry,
               today: dt.date, ledger_number: str, emergency: bool,
               typesetter: Typesetter) -> Card:
    """The card of one household, fitted to its frame's places, ready to draw."""
    words = config.card.words
    printed = printed_household(household, config)
    lines = [_member_line(n, m, config, geometry, today, typesetter)
             for n, m in enumerate(printed.members, 1)]
    vacant = not household.members
    card = Card(
        household_id=household.household_id,
        colour=config.palette[category.key],
        category=category,
        reasons=words["separator"].join(category.reasons),
        visit=words.format("visit_value", frequency=category.visit,
                           because=category.visit_because),
        community=household.community,
        grid=household.grid,
        address=household.full_address,
        housing=household.housing,
        marks=(Checkbox(words["multiple_homes"], household.multiple_homes),
               Checkbox(words["moves_often"], household.moves_often),
               Checkbox(words["to_rent"], household.plan == "出租"),
               Checkbox(words["to_sell"], household.plan == "出售")),
        show_owner=vacant or household.housing in ("出租", "空置") or bool(household.owner),
        owner=household.owner,
        owner_phone=household.owner_phone,
        grid_worker=household.grid_worker,
        grid_worker_phone=household.grid_worker_phone,
        vacant=vacant,
        stickers=tuple(Sticker(fill.label, bool(fill.names), words["separator"].join(fill.names))
                       for fill in slot_fills(printed, config)),
        chips=tuple(Chip(flag, words["separator"].join(names))
                    for flag, names in chips(printed, config).items()),
        pages=(),
        ledger_number=ledger_number,
        emergency=emergency,
        member_count=len(printed.members),
    )
    card.household_grow = _fit_household(card, geometry, typesetter, words)
    card.pages = paginate(lines, len(geometry.rows(True, card.household_grow)),
                          len(geometry.rows(False)),
                          [_heading(line, geometry, typesetter, words) for line in lines])
    return card
