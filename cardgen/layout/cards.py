"""What a card shows, page by page: the household seen through privacy rules and the layout.

The layout (every position in millimetres) is computed here, once per paper size, and used
three times: by the frame's stylesheet, by the data layer (cardgen/pdf/draw.py) and by the
pagination that decides which members go on a continuation page (续页). Row heights come
from the same typesetter that draws the rows, so a planned page holds exactly what it shows.
The household block is measured the same way: long values make it taller (a card's first
page then has a frame whose members table starts lower, see Layout.grown).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import astuple, dataclass, replace
from typing import Any

from cardgen.config import Colour, Config
from cardgen.data.flags import shown_flag
from cardgen.data.idnumber import mask_id
from cardgen.data.model import Category, Household, Member
from cardgen.layout.geometry import COLUMNS, PT, Layout
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
    height: float  # mm, as drawn
    bold_name: bool = False


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
class Mark:
    label: str
    checked: bool


@dataclass(frozen=True, slots=True)
class CardPage:
    number: int  # 1-based within the card
    members: tuple[MemberLine, ...]
    continued: bool  # more members follow on the next page


@dataclass(slots=True)
class Card:
    """Everything one household's card prints, already masked and paginated."""

    household_id: str
    colour: Colour
    category: Category
    reasons: str
    visit: str
    community: str
    grid: str
    address: str
    housing: str
    marks: tuple[Mark, ...]
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
    source_key: str = ""  # what the card was made from (cache key), set by the pipeline

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def to_data(self) -> Any:
        """Plain values (for marshal): what the card cache stores."""
        return (self.household_id, self.colour.key, astuple(self.category),
                self.reasons, self.visit, self.community, self.grid, self.address,
                self.housing, tuple(astuple(m) for m in self.marks),
                self.show_owner, self.owner, self.owner_phone, self.grid_worker,
                self.grid_worker_phone, self.vacant,
                tuple(astuple(x) for x in self.stickers),
                tuple(astuple(x) for x in self.chips),
                tuple((p.number, tuple(astuple(m) for m in p.members), p.continued)
                      for p in self.pages),
                self.ledger_number, self.emergency, self.member_count,
                self.household_grow)

    @classmethod
    def from_data(cls, data: tuple[Any, ...], config: Config) -> Card:
        data = _shared(data)  # a ledger holds 20,000 cards: one object per repeated text
        (household_id, colour, category, reasons, visit, community, grid, address, housing,
         marks, show_owner, owner, owner_phone, grid_worker, grid_worker_phone, vacant,
         stickers, chips, pages, ledger_number, emergency, member_count,
         household_grow) = data
        return cls(
            household_id, config.palette[colour], Category(*category), reasons, visit,
            community, grid, address, housing, tuple(Mark(*m) for m in marks), show_owner,
            owner, owner_phone, grid_worker, grid_worker_phone, vacant,
            tuple(Sticker(*x) for x in stickers), tuple(Chip(*x) for x in chips),
            tuple(CardPage(number, tuple(MemberLine(*m) for m in members), continued)
                  for number, members, continued in pages),
            ledger_number, emergency, member_count=member_count,
            household_grow=household_grow)


def _shared(value: Any) -> Any:
    if type(value) is str:
        return sys.intern(value) if len(value) <= 32 else value
    if type(value) is tuple:
        return tuple(_shared(item) for item in value)
    return value


def cell_lines(typesetter: Typesetter, text: str, width_mm: float, size_pt: float,
               bold: bool = False) -> int:
    """How many lines `text` takes in a cell `width_mm` wide (padding already taken off)."""
    width_em = width_mm / (size_pt * PT)
    if "\n" not in text and typesetter.width(text, bold) <= width_em:
        return 1
    return len(typesetter.lines(text, width_em, bold))


def clip_lines(typesetter: Typesetter, text: str, width_mm: float, size_pt: float,
               most: int, bold: bool = False, prefix: str = "") -> str:
    """`text` cut short with "…" so that `prefix + text` takes at most `most` lines
    `width_mm` wide; unchanged when it does already. The cut keeps as much as fits."""
    if cell_lines(typesetter, prefix + text, width_mm, size_pt, bold) <= most:
        return text

    def fits(length: int) -> bool:
        cut = prefix + text[:length].rstrip() + ELLIPSIS
        return cell_lines(typesetter, cut, width_mm, size_pt, bold) <= most

    low, high = 0, len(text) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


# The household block (DOMAIN §4): its rows wrap and the block is as tall as they are, up to
# HOUSEHOLD_GROW_MAX ruled rows taller than the layout's household_height (taken from the
# members table below). A value past its lines here is cut short with "…": a phone is one
# number, printed as written, so one line; a name two; the address four.
HOUSEHOLD_LINES = {"address": 4, "housing": 1, "owner": 2, "owner_phone": 1,
                   "grid_worker": 2, "grid_worker_phone": 1}
HOUSEHOLD_GROW_MAX = 2
FACT_TITLE = 4.3  # mm (x scale): the frame's section title above the rows
FACT_PAD = 0.5  # mm (x scale): above and below a row's text
FACT_LABEL = 20.0  # mm (x scale): a label's width; its value starts there
HOUSING_WIDTH = 34.0  # mm (x scale): the housing value is short, the marks get the room


@dataclass(frozen=True, slots=True)
class Fact:
    """One labelled value of the household block and its place (mm in the content box)."""

    label: str
    value: str  # as printed
    field: str  # the Card attribute it shows; "" for the marks
    x: float  # of the label; the value starts FACT_LABEL further right
    width: float  # the value's


def household_facts(card: Card, layout: Layout) -> list[list[Fact]]:
    """The household block's rows: what draw.py prints and build_card measures."""
    s = layout.paper.scale
    label = FACT_LABEL * s
    marks = "  ".join(("▣ " if m.checked else "□ ") + m.label for m in card.marks)
    rows: list[tuple[float, list[tuple[str, str]]]] = [
        (layout.content_width, [("地址", "address")]),
        (label + HOUSING_WIDTH * s, [("房屋状态", "housing"), ("标注", "")]),
    ]
    half = layout.content_width / 2
    if card.show_owner:
        rows.append((half, [("房主", "owner"), ("房主电话", "owner_phone")]))
    rows.append((half, [("网格员", "grid_worker"), ("网格员电话", "grid_worker_phone")]))
    facts = []
    for split, row in rows:
        line = []
        for index, (title, field) in enumerate(row):
            x = index * split
            room = split if index == 0 and len(row) > 1 else layout.content_width - x
            value = str(getattr(card, field)) if field else marks
            if not value and field != "address":
                value = "未填"
            line.append(Fact(title, value, field, x, room - label - 2 * s))
        facts.append(line)
    return facts


def household_height(card: Card, layout: Layout, typesetter: Typesetter) -> float:
    """The household block's height (mm) with its rows wrapped as they print."""
    s = layout.paper.scale
    height = FACT_TITLE * s
    for row in household_facts(card, layout):
        lines = max(cell_lines(typesetter, fact.value, fact.width, layout.font)
                    for fact in row)
        height += lines * layout.line_height(layout.font) + 2 * FACT_PAD * s
    return height


def _fit_household(card: Card, layout: Layout, typesetter: Typesetter) -> int:
    """Cut the card's over-long household values short; returns how many ruled rows the
    household block grows by. Past HOUSEHOLD_GROW_MAX rows, the value that takes the most
    lines loses lines until the block fits (only a value far over the limits gets there)."""

    def clip(fact: Fact, most: int) -> None:
        value = getattr(card, fact.field)
        setattr(card, fact.field, clip_lines(typesetter, value, fact.width, layout.font,
                                             most))

    for row in household_facts(card, layout):
        for fact in row:
            if fact.field:
                clip(fact, HOUSEHOLD_LINES[fact.field])
    most = layout.household_height + HOUSEHOLD_GROW_MAX * layout.row_pitch
    height = household_height(card, layout, typesetter)
    while height > most + 1e-6:
        lines, fact = max(((cell_lines(typesetter, f.value, f.width, layout.font), f)
                           for row in household_facts(card, layout) for f in row
                           if f.field), key=lambda item: item[0])
        if lines <= 1:
            break
        clip(fact, lines - 1)
        height = household_height(card, layout, typesetter)
    grow = math.ceil((height - layout.household_height) / layout.row_pitch - 1e-6)
    return min(HOUSEHOLD_GROW_MAX, max(0, grow))


PHONE_LINES = 2  # a member's phone cell holds two numbers; more is cut short with "…"
NOTES_PREFIX = "备注："


def _row_lines(line: MemberLine, layout: Layout, typesetter: Typesetter) -> tuple[int, int]:
    """Lines of a member's row: its tallest cell's, and its notes' (0 without notes)."""
    pad = 2 * layout.paper.scale
    main = max(cell_lines(typesetter, str(getattr(line, c.key)), layout.column_width(c) - pad,
                          layout.font, bold=c.key == "name" and line.bold_name)
               for c in COLUMNS)
    notes = 0
    if line.notes:
        notes = cell_lines(typesetter, NOTES_PREFIX + line.notes, _notes_width(layout),
                           layout.small)
    return main, notes


def _notes_width(layout: Layout) -> float:
    return layout.content_width - layout.column_x(1) - 2 * layout.paper.scale


def _row_height(layout: Layout, main: int, notes: int) -> float:
    height = main * layout.line_height(layout.font) + layout.cell_pad
    if notes:
        height += notes * layout.line_height(layout.small) + layout.cell_pad
    return height


def continued_note(layout: Layout) -> float:
    """Height (mm) of the 接续页 note under the last row of a page that continues."""
    return layout.paper.scale + layout.line_height(layout.small)


def _fit_row(line: MemberLine, layout: Layout, typesetter: Typesetter) -> MemberLine:
    """A row no taller than a 续页 holds: while it is taller, the taller of its tallest
    cells and its notes loses a line; the cut cells end in "…"."""
    main, notes = _row_lines(line, layout, typesetter)
    limit = layout.rows_room(first=False)
    if _row_height(layout, main, notes) <= limit:
        return line
    while _row_height(layout, main, notes) > limit and (main > 1 or notes > 1):
        notes_height = notes * layout.line_height(layout.small)
        if notes > 1 and (main == 1 or notes_height > main * layout.line_height(layout.font)):
            notes -= 1
        else:
            main -= 1
    pad = 2 * layout.paper.scale
    cut: dict[str, Any] = {
        c.key: clip_lines(typesetter, getattr(line, c.key), layout.column_width(c) - pad,
                          layout.font, main, bold=c.key == "name" and line.bold_name)
        for c in COLUMNS if c.key != "number"}  # the number is one line
    if line.notes:
        cut["notes"] = clip_lines(typesetter, line.notes, _notes_width(layout), layout.small,
                                  notes, prefix=NOTES_PREFIX)
    return replace(line, **cut)


def _member_line(number: int, member: Member, config: Config, layout: Layout,
                 today: dt.date, typesetter: Typesetter) -> MemberLine:
    age = member.age_on(today)
    age_text = "" if age is None else str(age)
    if config.show_birth_date and member.birth_date:
        age_text = f"{age_text}（{member.birth_date.isoformat()}）"
    id_text = member.id_number if config.full_id else mask_id(member.id_number)
    flags = "、".join(dict.fromkeys(shown_flag(f, config) for f in member.flags))
    line = MemberLine(
        number=number, name=member.name, relation=member.relation, sex=member.sex,
        ethnicity=member.ethnicity, age=age_text, id_text=id_text if member.id_number else "",
        phone=member.phone, residence=member.residence, flags=flags, notes=member.notes,
        height=0.0, bold_name=member.is_head)
    phone = next(c for c in COLUMNS if c.key == "phone")
    line = replace(line, phone=clip_lines(typesetter, line.phone,
                                          layout.column_width(phone) - 2 * layout.paper.scale,
                                          layout.font, PHONE_LINES))
    line = _fit_row(line, layout, typesetter)
    return replace(line, height=_row_height(layout, *_row_lines(line, layout, typesetter)))


def paginate(lines: list[MemberLine], layout: Layout) -> tuple[CardPage, ...]:
    """Members onto pages: as many as fit on the first page, the rest on 续页. A row that
    does not fit goes whole to the next page (the first row too: a 续页 has more room than
    a first page), and a page that continues keeps room for its 接续页 note (but for a
    row that fills a 续页 alone: the note is left out there, see draw._members)."""
    note = continued_note(layout)
    pages: list[list[MemberLine]] = [[]]
    room = layout.rows_room(first=True)
    for index, line in enumerate(lines):
        need = line.height + (note if index < len(lines) - 1 else 0.0)
        if need > room + 1e-9 and (pages[-1] or len(pages) == 1):
            pages.append([])
            room = layout.rows_room(first=False)
        pages[-1].append(line)
        room -= line.height
    return tuple(CardPage(number, tuple(members), continued=number < len(pages))
                 for number, members in enumerate(pages, 1))


def build_card(household: Household, category: Category, config: Config, layout: Layout,
               today: dt.date, ledger_number: str, emergency: bool,
               typesetter: Typesetter) -> Card:
    """The card of one household, ready to draw."""
    members = sorted(household.members, key=lambda m: not m.is_head)
    lines = [_member_line(n, m, config, layout, today, typesetter)
             for n, m in enumerate(members, 1)]
    vacant = not household.members
    card = Card(
        household_id=household.household_id,
        colour=config.palette[category.key],
        category=category,
        reasons="、".join(category.reasons),
        visit=f"{category.visit}（{category.visit_because}）",
        community=household.community,
        grid=household.grid,
        address=household.full_address,
        housing=household.housing,
        marks=(Mark("一人多套房", household.multiple_homes),
               Mark("经常变换居住地", household.moves_often),
               Mark("拟出租", household.plan == "出租"),
               Mark("拟出售", household.plan == "出售")),
        show_owner=vacant or household.housing in ("出租", "空置") or bool(household.owner),
        owner=household.owner,
        owner_phone=household.owner_phone,
        grid_worker=household.grid_worker,
        grid_worker_phone=household.grid_worker_phone,
        vacant=vacant,
        stickers=_stickers(members, config),
        chips=_chips(members, config),
        pages=(),
        ledger_number=ledger_number,
        emergency=emergency,
        member_count=len(members),
    )
    card.household_grow = _fit_household(card, layout, typesetter)
    card.pages = paginate(lines, layout.grown(card.household_grow))
    return card


def _stickers(members: list[Member], config: Config) -> tuple[Sticker, ...]:
    stickers = []
    for slot in config.sticker_slots:
        also = config.flag_also.get(slot, ())
        direct = [m.name for m in members if slot in m.flags]
        via = [m.name for m in members if slot not in m.flags and set(also) & set(m.flags)]
        label = slot
        if via and not direct:
            label = f"{slot}（{'、'.join(also)}）"
        names = direct + via
        stickers.append(Sticker(label, bool(names), "、".join(names)))
    return tuple(stickers)


def _chips(members: list[Member], config: Config) -> tuple[Chip, ...]:
    # a flag that only also fills a slot (特困 in 三无's) keeps its chip too (DOMAIN §3)
    in_slots = set(config.sticker_slots)
    order = {flag: index for index, flag in enumerate(config.known_flags)}
    holders: dict[str, list[str]] = {}
    for member in members:
        for flag in member.flags:
            if flag in in_slots:
                continue
            shown = shown_flag(flag, config)
            names = holders.setdefault(shown, [])
            if member.name not in names:
                names.append(member.name)
    ranked = sorted(holders, key=lambda f: (order.get(f, len(order)), f))
    return tuple(Chip(flag, "、".join(holders[flag])) for flag in ranked)
