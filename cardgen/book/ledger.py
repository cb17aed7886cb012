"""Assemble stage: books of cards — grouping, address order, page plan, merging, manifest."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace

from cardgen.config import Config
from cardgen.data.flags import shown_flag
from cardgen.data.model import Household
from cardgen.layout.cards import Card
from cardgen.layout.geometry import Layout
from cardgen.layout.index import IndexRow, index_rows, paginate_index
from cardgen.layout.typeset import Typesetter

_DIGITS = re.compile(r"(\d+)")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')

def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 2号楼 before 10号楼: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdecimal() else (1, part)
                 for part in _DIGITS.split(text) if part)


def address_key(household: Household) -> tuple[object, ...]:
    return natural_key(household.full_address), natural_key(household.household_id)


def book_key(household: Household) -> tuple[str, str]:
    """The book a household belongs in: its community and grid."""
    return household.community, household.grid


def ledger_numbers(households: list[Household]) -> dict[str, str]:
    """``017/203``: each household's position in its grid's whole book, in address order."""
    books: dict[tuple[str, str], list[Household]] = {}
    for household in households:
        books.setdefault(book_key(household), []).append(household)
    numbers = {}
    for members in books.values():
        ordered = sorted(members, key=address_key)
        total = len(ordered)
        for position, household in enumerate(ordered, 1):
            numbers[household.household_id] = f"{position:03d}/{total:03d}"
    return numbers


def ledger_order(households: list[Household]) -> list[Household]:
    """Grid by grid, then address order: the order cards stand in a book."""
    return sorted(households, key=lambda h: (natural_key(h.community), natural_key(h.grid),
                                             *address_key(h)))


def group_households(households: list[Household], by: str) -> dict[str, list[Household]]:
    """Households per ledger: one per grid (default), per community, or all in one."""
    groups: dict[str, list[Household]] = {}
    for household in ledger_order(households):
        if by == "all":
            name = "全部"
        elif by == "community":
            name = household.community or "未填社区"
        else:
            name = " ".join(p for p in (household.community, household.grid) if p) or "未分网格"
        groups.setdefault(name, []).append(household)
    return groups


def safe_file_name(group: str, emergency: bool, taken: set[str]) -> str:
    """A file name from the group's name: no path separators, no control characters."""
    name = unicodedata.normalize("NFC", group)
    name = _UNSAFE.sub("_", name).strip(" .") or "ledger"
    name = "-".join(name.split())[:80]
    if emergency:
        name += "-应急"
    candidate, counter = name, 2
    while candidate.lower() in taken:
        candidate, counter = f"{name}-{counter}", counter + 1
    taken.add(candidate.lower())
    return candidate + ".pdf"


@dataclass(frozen=True)
class ColourCount:
    key: str
    char: str
    name: str
    meaning: str
    count: int


@dataclass(frozen=True)
class FlagCount:
    flag: str
    people: int
    households: int


@dataclass
class LedgerPlan:
    """One ledger PDF: what its cover says, its index pages, and its cards' pages."""

    title: str
    file_name: str
    community: str
    grid: str
    grid_worker: str
    grid_worker_phone: str
    emergency: bool
    selection: str
    cards: list[Card]
    colour_counts: list[ColourCount]
    flag_counts: list[FlagCount]
    skipped: list[str]
    member_count: int
    index_pages: list[list[IndexRow]] = field(default_factory=list)
    index_first_page: int = 2
    blank_pages: list[int] = field(default_factory=list)  # 1-based, duplex padding
    total_pages: int = 0

    @property
    def household_count(self) -> int:
        return len(self.cards)


def _most_common(values: list[str]) -> str:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else ""


def _colour_meanings() -> dict[str, str]:
    return {"red": "重点人员所在户", "orange": "空巢独居老人、低保、特困、大病、残疾等",
            "yellow": "一般关注户", "blue": "租房户、流动暂住人员", "green": "空置房屋"}


COVER_FLAG_COLUMNS = 12  # beyond this the cover's table would be unreadable


def _flag_counts(households: list[Household], config: Config) -> list[FlagCount]:
    """People and households per flag for the cover: the sticker slots and the known
    flags in their order; free-text flags (and known ones past the table's width) are
    counted together as 其他."""
    order = {flag: index for index, flag in enumerate(config.known_flags)}
    present = {shown_flag(f, config) for h in households for m in h.members for f in m.flags}
    shown = sorted((set(config.sticker_slots) | present) & (set(order) | set(config.sticker_slots)),
                   key=lambda f: (order.get(f, len(order)), f))
    folded = present - set(shown)
    if len(shown) > COVER_FLAG_COLUMNS:
        folded |= set(shown[COVER_FLAG_COLUMNS - 1:])
        shown = shown[:COVER_FLAG_COLUMNS - 1]
    people: Counter[str] = Counter()
    homes: Counter[str] = Counter()
    for household in households:
        seen = set()
        for member in household.members:
            flags = {shown_flag(f, config) for f in member.flags}
            names = {f for f in flags if f in shown} | ({"其他"} if flags & folded else set())
            people.update(names)
            seen |= names
        homes.update(seen)
    rows = [FlagCount(flag, people[flag], homes[flag]) for flag in shown]
    if folded:
        rows.append(FlagCount(f"其他 {len(folded)} 项", people["其他"], homes["其他"]))
    return rows


def plan_ledger(group: str, households: list[Household], cards: list[Card], config: Config,
                layout: Layout, typesetter: Typesetter, emergency: bool, duplex: bool,
                selection: str, skipped: list[str], taken_names: set[str]) -> LedgerPlan:
    """Number every page: cover, index, then each card (on a right-hand page in duplex)."""
    meanings = _colour_meanings()
    colours = Counter(card.colour.key for card in cards)
    flag_rows = _flag_counts(households, config)
    colour_rows = [ColourCount(c.key, c.char, c.name, meanings.get(c.key, ""), colours[c.key])
                   for c in sorted(config.palette.values(), key=lambda c: c.order)]
    communities = list(dict.fromkeys(h.community for h in households))
    grids = list(dict.fromkeys(h.grid for h in households))
    plan = LedgerPlan(
        title=group, file_name=safe_file_name(group, emergency, taken_names),
        community="、".join(c for c in communities if c), grid="、".join(g for g in grids if g),
        grid_worker=_most_common([h.grid_worker for h in households]),
        grid_worker_phone=_most_common([h.grid_worker_phone for h in households]),
        emergency=emergency, selection=selection, cards=cards, colour_counts=colour_rows,
        flag_counts=flag_rows, skipped=skipped,
        member_count=sum(len(h.members) for h in households))

    rows = index_rows(households, cards, config, layout, typesetter)
    plan.index_pages = paginate_index(rows, layout)
    page = 2
    if duplex:  # the cover's back stays blank
        plan.blank_pages.append(page)
        page += 1
    plan.index_first_page = page
    page += len(plan.index_pages)
    for card in cards:
        if duplex and page % 2 == 0:  # every card starts on a right-hand page
            plan.blank_pages.append(page)
            page += 1
        card.first_page = page
        page += card.page_count
    plan.total_pages = page - 1
    first_pages = {card.household_id: card.first_page for card in cards}
    plan.index_pages = [[replace(row, page=first_pages[row.household_id])
                         for row in index_page] for index_page in plan.index_pages]
    return plan


def card_hash(card: Card) -> str:
    """A content hash of what a card prints: its source (the household's data and everything
    that shapes the card: version, config, templates, fonts, options, date) and its page."""
    return hashlib.sha256(f"{card.source_key}|{card.first_page}".encode()).hexdigest()


def manifest_entry(plan: LedgerPlan, group: str,
                   page_of: dict[str, tuple[int, int]] | None = None) -> dict[str, object]:
    """The manifest's record of one ledger file (DOMAIN §6)."""
    households = []
    for card in plan.cards:
        first, count = (page_of or {}).get(card.household_id,
                                           (card.first_page, card.page_count))
        households.append({
            "household_id": card.household_id, "number": card.ledger_number,
            "first_page": first, "page_count": count, "colour": card.colour.key,
            "hash": card_hash(card),
        })
    return {"file": plan.file_name, "group": group, "households": households}
