"""The ledger: the order cards stand in a grid's book, the groups printed as one PDF, the
ledger's page plan (cover, index with its retired numbers, cards) and the cover's counts."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cardgen.book.record import Edition, Retired, format_number
from cardgen.config import Config, PaletteColour
from cardgen.data.model import Household
from cardgen.layout.cards import Card, has_visit_log
from cardgen.layout.geometry import Layout
from cardgen.layout.index import IndexRow, index_rows, paginate_index, retired_row
from cardgen.layout.printed import PrintedHousehold, flag_order, printed_household, ranked
from cardgen.layout.typeset import Typesetter

_DIGITS = re.compile(r"(\d+)")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


@functools.lru_cache(maxsize=65536)  # a run sorts the same addresses several times
def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 2号楼 before 10号楼: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdecimal() else (1, part)
                 for part in _DIGITS.split(text) if part)


def address_key(household: Household) -> tuple[object, ...]:
    return natural_key(household.full_address), natural_key(household.household_id)


def grid_group(household: Household) -> str:
    """The name of the grid's book a household belongs in: ``恒安社区 第3网格``."""
    return " ".join(p for p in (household.community, household.grid) if p) or "未分网格"


def ledger_order(households: list[Household],
                 numbers: Mapping[str, str] | None = None) -> list[Household]:
    """Grid by grid, then by book number (address order without numbers, as in a first
    print): the order cards stand in a book."""
    if numbers is None:
        return sorted(households, key=lambda h: (natural_key(h.community),
                                                 natural_key(h.grid), *address_key(h)))
    return sorted(households, key=lambda h: (natural_key(h.community), natural_key(h.grid),
                                             int(numbers[h.household_id])))


def group_households(households: list[Household], by: str,
                     numbers: Mapping[str, str] | None = None) -> dict[str, list[Household]]:
    """Households per ledger, in book order: one per grid (default), per community, or all
    in one."""
    groups: dict[str, list[Household]] = {}
    for household in ledger_order(households, numbers):
        if by == "all":
            name = "全部"
        elif by == "community":
            name = household.community or "未填社区"
        else:
            name = grid_group(household)
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


def update_file_names(groups: list[str]) -> dict[str, tuple[str, str]]:
    """The files an update writes for each grid: its packet and its label sheet."""
    taken: set[str] = set()
    return {group: (safe_file_name(f"{group} 变更", False, taken),
                    safe_file_name(f"{group} 贴纸", False, taken)) for group in groups}


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
class Slot:
    """A card's place in a ledger: the household, its book number, colour and pages."""

    household: Household
    number: str
    colour: PaletteColour
    page_count: int
    first_page: int = 0  # set by plan_ledger

    @property
    def household_id(self) -> str:
        return self.household.household_id


@dataclass
class LedgerPlan:
    """One ledger PDF: what its cover says, its index pages, and its cards' pages.

    `slots` are the cards in book order; `cards` the ones drawn (all of them in a ledger,
    the new and changed ones in an update packet)."""

    title: str
    file_name: str
    community: str
    grid: str
    grid_worker: str
    grid_worker_phone: str
    emergency: bool
    selection: str
    slots: list[Slot]
    colour_counts: list[ColourCount]
    flag_counts: list[FlagCount]
    skipped: list[str]
    member_count: int
    editions: list[Edition]
    retired_count: int
    index_pages: list[list[IndexRow]] = field(default_factory=list)
    index_first_page: int = 2
    blank_pages: list[int] = field(default_factory=list)  # 1-based, duplex padding
    total_pages: int = 0
    cards: list[Card] = field(default_factory=list)

    @property
    def household_count(self) -> int:
        return len(self.slots)

    @property
    def number_range(self) -> str:
        """``001–043``: the lowest and highest numbers in the ledger (on the cover)."""
        numbers = sorted({s.number for s in self.slots}, key=int)
        if len(numbers) < 2:
            return "".join(numbers)
        return f"{numbers[0]}–{numbers[-1]}"


def _most_common(values: list[str]) -> str:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else ""


COVER_FLAG_COLUMNS = 12  # beyond this the cover's table would be unreadable
OTHER = ""  # the count of the flags past the table's width (no flag is spelt "")


def colours_chosen(config: Config, colours: tuple[str, ...]) -> str:
    """The cover's line for a print of some colours only (颜色：红、橙)."""
    return config.card.words.format("selection_colours", colours="、".join(
        config.palette[c].char for c in colours))


def cover_colours(config: Config) -> list[ColourCount]:
    """The cover's colour rows, in the palette's order (their counts 0: see plan_ledger)."""
    return [ColourCount(c.key, c.char, c.name, c.meaning, 0)
            for c in sorted(config.palette.values(), key=lambda c: c.order)]


def _flag_counts(printed: list[PrintedHousehold], config: Config) -> list[FlagCount]:
    """People and households per flag for the cover, flags as they print
    (layout/printed.py): the sticker slots and the known flags in flag order; free-text
    flags (and known ones past the table's width) are counted together, as [card.words]
    other_flags says."""
    order = flag_order(config)
    present = {flag for p in printed for flag in p.flags}
    known = {*config.flags.known, *config.flags.sticker_slots}
    shown = list(ranked((set(config.flags.sticker_slots) | present) & known, order))
    folded = present - set(shown)
    if len(shown) > COVER_FLAG_COLUMNS:
        folded |= set(shown[COVER_FLAG_COLUMNS - 1:])
        shown = shown[:COVER_FLAG_COLUMNS - 1]
    people: Counter[str] = Counter()
    homes: Counter[str] = Counter()
    for household in printed:
        seen = set()
        for member in household.members:
            flags = set(member.flags)
            names = {f for f in flags if f in shown} | ({OTHER} if flags & folded else set())
            people.update(names)
            seen |= names
        homes.update(seen)
    rows = [FlagCount(flag, people[flag], homes[flag]) for flag in shown]
    if folded:
        rows.append(FlagCount(config.card.words.format("other_flags", n=len(folded)),
                              people[OTHER], homes[OTHER]))
    return rows


def plan_ledger(group: str, slots: list[Slot], retired: Mapping[str, list[Retired]],
                editions: list[Edition], config: Config, layout: Layout,
                typesetter: Typesetter, emergency: bool, duplex: bool, selection: str,
                skipped: list[str], file_name: str) -> LedgerPlan:
    """Number every page: cover, index (the retired numbers among the households, by
    number), then each card (on a right-hand page in duplex, followed by its visit log
    where its last page's back would be blank).

    `retired` holds each grid's retired numbers by grid group."""
    households = [slot.household for slot in slots]
    printed = [printed_household(h, config) for h in households]  # for the cover and index
    colours = Counter(slot.colour.key for slot in slots)
    flag_rows = _flag_counts(printed, config)
    colour_rows = [ColourCount(row.key, row.char, row.name, row.meaning, colours[row.key])
                   for row in cover_colours(config)]
    communities = list(dict.fromkeys(h.community for h in households))
    grids = list(dict.fromkeys(h.grid for h in households))
    groups = list(dict.fromkeys(grid_group(h) for h in households))
    gone = [r for name in groups for r in retired.get(name, [])]
    plan = LedgerPlan(
        title=group, file_name=file_name,
        community="、".join(c for c in communities if c), grid="、".join(g for g in grids if g),
        grid_worker=_most_common([h.grid_worker for h in households]),
        grid_worker_phone=_most_common([h.grid_worker_phone for h in households]),
        emergency=emergency, selection=selection, slots=slots, colour_counts=colour_rows,
        flag_counts=flag_rows, skipped=skipped,
        member_count=sum(len(h.members) for h in households),
        # what the cover prints of an edition: a new register alone leaves it (cached) as is
        editions=list(dict.fromkeys(Edition(e.number, e.date) for e in editions)),
        retired_count=len(gone))

    page = 2
    if duplex:  # the cover's back stays blank
        plan.blank_pages.append(page)
        page += 1
    rows = _index_rows(slots, printed, groups, retired, config, layout, typesetter)
    plan.index_pages = paginate_index(rows, layout)
    plan.index_first_page = page
    page += len(plan.index_pages)
    for slot in slots:
        if duplex and page % 2 == 0:  # every card starts on a right-hand page
            plan.blank_pages.append(page)
            page += 1
        slot.first_page = page
        page += slot.page_count
        if has_visit_log(slot.page_count, config, duplex):  # its back: the visit log
            page += 1
    plan.total_pages = page - 1
    first_pages = {slot.household_id: slot.first_page for slot in slots}
    plan.index_pages = [[replace(row, page=first_pages.get(row.household_id, 0))
                         if row.colour else row for row in index_page]
                        for index_page in plan.index_pages]
    return plan


def _index_rows(slots: list[Slot], printed: list[PrintedHousehold], groups: list[str],
                retired: Mapping[str, list[Retired]], config: Config, layout: Layout,
                typesetter: Typesetter) -> list[IndexRow]:
    """The index's rows, grid by grid in number order: the households (`printed`, as
    `slots` has them), and each retired number where it stood (已迁出/注销 and the date)."""
    rows = index_rows(printed, [s.number for s in slots], [s.colour for s in slots], config,
                      layout, typesetter)
    by_group: dict[str, list[tuple[int, IndexRow]]] = {name: [] for name in groups}
    for slot, row in zip(slots, rows, strict=True):
        by_group[grid_group(slot.household)].append((int(slot.number), row))
    for name in groups:
        for gone in retired.get(name, []):
            text = f"{config.book.retired} {gone.since}"
            by_group[name].append((gone.number, retired_row(
                format_number(gone.number), gone.household_id, text, layout, typesetter)))
    return [row for name in groups
            for _, row in sorted(by_group[name], key=lambda item: item[0])]
