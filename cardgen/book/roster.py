"""The emergency kit planned: the roster (应急名单) of who needs help first, where they live,
in walking order; each household's emergency plan (安置点, route, signal) by estate or
building; and per grid what the kit's three files hold (`plan_kit`).

A person is on the roster for a flag in [emergency] needs, or for an age ([emergency]
aged_at_least, aged_under); the roster lists them by estate, building, unit, floor and room
(the order is [emergency] order), so a worker can walk it door by door. The floor comes from
the room number (1201室 → 12层, 1-2-302 → 3层); a basement (B1, 地下室, 地下2层, 负1层) is
below ground (-1, -2: walked first, where water comes first), a 平房 is on the ground
(1层). Need words print as flags print (a red sub-type as 重点人员); no ID number is ever
part of an entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cardgen.book.ledger import grid_group, natural_key, safe_file_name
from cardgen.config import PLAN_KEYS, Config, Plan
from cardgen.data.flags import shown_flag
from cardgen.data.model import Category, Household, Member
from cardgen.errors import ConfigError
from cardgen.i18n import _
from cardgen.layout.printed import card_order
from cardgen.text import fold

# a building or unit numbered in Chinese numerals (三号楼, 十二栋, 二单元) is the same as in digits
_HAN_DIGITS = "〇零一二两三四五六七八九十"
_NUMBER = rf"[0-9A-Za-z]+|[{_HAN_DIGITS}]+"
_BUILDING = re.compile(rf"({_NUMBER})\s*(?:号楼|栋|幢|号院|#楼|＃楼|座)")
# a building as a column or a plan's key writes it: 3, 3号楼, 3栋, 3幢, 3#, 3号, A座, 三号楼 are one
_BUILDING_WORD = re.compile(rf"({_NUMBER})\s*(?:号楼|栋|幢|#楼|＃楼|#|＃|号|楼|座)?")
_PLAN_BUILDING = re.compile(rf"({_NUMBER})\s*(?:号楼|栋|幢|#楼|＃楼|#|＃|号|楼|座)$")
_UNIT = re.compile(rf"({_NUMBER})\s*单元")
_FLOOR = re.compile(r"(-?\d+)\s*层")
_DASHED = re.compile(r"(\d+)\s*[-－—]\s*(\d+)(?:\s*[-－—]\s*(\d+))?\s*(?:室|号)?\s*$")
_ROOM = re.compile(r"((?<![A-Za-z])[Bb]?[0-9]+)\s*(?:室|号|户)?\s*$")
# below ground: 地下室, 地下2层, 负1层 (in the address or the room), B1 / B2 (the room)
_BELOW = re.compile(r"(?:地下|负)\s*(\d*)\s*(?:层|室)")
_BELOW_ROOM = re.compile(r"^[Bb]\s*(\d)\s*(?:室|层)?$")
_GROUND = "平房"  # a single-storey house: its floor is the ground floor
# a street's or village's door number (建设路1208号, 幸福村3组115号): not a room, no floor
_DOOR = re.compile(r"(?:路|街|道|巷|弄|里|村|组|屯|胡同)\s*(\d+)\s*号\s*$")
_DIGITS = re.compile(r"\d+")
_ID_LIKE = re.compile(r"\d{17}[\dX]|\d{15}")  # what an ID number looks like (normalised)


@dataclass(frozen=True)
class Location:
    """Where a household lives, as a worker walks to it."""

    estate: str  # 小区 ("" when the address names none)
    building: str  # the building as written: 3 (号楼), A (栋)
    unit: str
    floor: int | None
    room: str

    @property
    def building_name(self) -> str:
        """The estate and building as a plan's key or a warning names them: 锦绣家园3号楼."""
        building = (f"{self.building}号楼" if self.building.isascii() and self.building.isalnum()
                    else self.building)
        return f"{self.estate}{building}"


def locate(household: Household) -> Location:
    """A household's estate, building, unit, floor and room: from those columns when the
    register has them, else read from its address (阳光花园2号楼1单元302, 1-2-302, 1201室)."""
    address = household.address or ""
    estate, building, unit, room = (household.estate, household.building, household.unit,
                                    household.room)
    found = _BUILDING.search(address)
    if found:
        building = building or found[1]
        estate = estate or address[:found.start()].strip()
    found = _UNIT.search(address)
    if found:
        unit = unit or found[1]
    dashed = _DASHED.search(address)
    if dashed and not room:
        parts = [p for p in dashed.groups() if p]
        room = parts[-1]
        if len(parts) == 3:
            building, unit = building or parts[0], unit or parts[1]
        else:
            building = building or parts[0]
        estate = estate or address[:dashed.start()].strip()
    if not room:
        found = _ROOM.search(address)
        if found:
            room = found[1]
    return Location(estate.strip(), bare_building(building), arabic(_plain(unit, "单元")),
                    floor_of(address, room), _plain(room, "室"))


def floor_of(address: str, room: str) -> int | None:
    """The floor a household lives on: written (12层, 地下2层), a basement (地下室, B1: -1),
    a 平房 (1), else from the room number (1201 → 12, 302 → 3, but a street's door number
    such as 建设路1208号 is no room); None when none says."""
    below = _BELOW.search(f"{address} {room}") or _BELOW_ROOM.match(room.strip())
    if below:
        return -int(below[1] or 1)
    found = _FLOOR.search(f"{address} {room}")
    if found:
        return int(found[1])
    if _GROUND in address or _GROUND in room:
        return 1
    door = _DOOR.search(address)
    digits = _DIGITS.findall(room)
    if digits and len(digits[-1]) >= 3 and not (door and door[1] == digits[-1]):
        return int(digits[-1][:-2])
    return None


def bare_building(value: str) -> str:
    """`3号楼`, `3栋`, `3幢`, `3#`, `3号` → `3`, `A座` → `A`: a building's own number or
    letter, however the register writes it (else as written)."""
    found = _BUILDING_WORD.fullmatch(value.strip())
    return arabic(found[1]) if found else value.strip()


def arabic(number: str) -> str:
    """`三` → `3`, `十二` → `12`, `二十` → `20`, `一〇一` → `101`: a building's or unit's number
    written in Chinese numerals, in digits (as written when it is not one: `A`, `3`)."""
    value = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
    if not number or any(c not in _HAN_DIGITS for c in number):
        return number
    if "十" not in number:  # digit by digit: 一〇一
        return "".join(str(value[c]) for c in number)
    tens, _, ones = number.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return number
    return str(value.get(tens, 1) * 10 + value.get(ones, 0))


def plan_key(key: str) -> str:
    """A plan's key as building names compare: 锦绣家园3栋 and 锦绣家园3#楼 are
    锦绣家园3号楼 (a household's `building_name`)."""
    found = _PLAN_BUILDING.search(key)
    return f"{key[:found.start()]}{arabic(found[1])}号楼" if found else key


def _plain(value: str, suffix: str) -> str:
    """`3号楼` → `3`: the part's own number or name, as the columns usually hold it."""
    return value.strip().removesuffix(suffix).strip()


@dataclass(frozen=True)
class RosterEntry:
    """One person on the roster, as the roster prints them and `--format json` gives them."""

    number: str  # the household's book number, 017
    household_id: str
    group: str  # the grid's book (grid_group)
    location: Location
    address: str
    name: str
    age: int | None
    needs: tuple[str, ...]
    phone: str
    family_phone: str
    shown_id: str = ""  # the 户号 as the kit shows it (shown_household_id), if not as is

    def as_dict(self) -> dict[str, object]:
        return {"number": self.number, "household_id": self.shown_id or self.household_id,
                "building": self.location.building_name, "unit": self.location.unit,
                "floor": self.location.floor, "name": self.name, "age": self.age,
                "needs": list(self.needs), "phone": self.phone,
                "family_phone": self.family_phone}


def shown_household_id(household_id: str, config: Config) -> str:
    """The 户号 as the kit prints and gives it: a register keyed by the head's ID number
    (户号 = 身份证号) would put an ID number on every 明白卡 and in the JSON, so a 户号 of 15
    or 18 ID characters is masked like an ID on the card (unless [privacy] full_id)."""
    from cardgen.data.idnumber import mask_id, normalise_id

    number = normalise_id(household_id)
    if config.privacy.full_id or not _ID_LIKE.fullmatch(number):
        return household_id
    return mask_id(number)


def needs_of(member: Member, config: Config, today: dt.date) -> tuple[str, ...]:
    """Why a person needs help first, in need words ([emergency]; flags as they print);
    nothing for one who does not live there ([residence] non_resident: 外出, 空挂): a worker
    knocking finds nobody, and the roster's count would be wrong."""
    settings = config.emergency
    if member.residence in config.spellings.non_resident:
        return ()
    words = [shown_flag(flag, config) for need in settings.needs for flag in member.flags
             if flag == need]
    age = member.age_on(today)
    if age is not None and age >= settings.aged_at_least:
        words.append(settings.old_word)
    if age is not None and age < settings.aged_under:
        words.append(settings.young_word)
    return tuple(dict.fromkeys(words))


def own_phone(member: Member) -> str:
    """The person's numbers to call: the mobile and the landline (电话 beside 手机), as the
    card prints them; an old person often has the landline alone."""
    return " ".join(number for number in (member.phone, member.landline) if number)


def family_phone(household: Household, member: Member) -> str:
    """A family member's phone to call when the person does not answer: the head's, else the
    first other member's that differs from the person's own (a mobile, else a landline)."""
    others = card_order(m for m in household.members if m is not member)
    own = {member.phone, member.landline}
    return next((number for m in others for number in (m.phone or m.landline,)
                 if number and number not in own), "")


def walk_key(entry: RosterEntry, order: tuple[str, ...]) -> tuple[object, ...]:
    """The order a worker walks: the configured parts, in natural order (2 before 10), a
    floor unknown last; then the book number."""
    place = entry.location
    parts: dict[str, object] = {
        "estate": natural_key(place.estate), "building": natural_key(place.building),
        "unit": natural_key(place.unit),
        "floor": (place.floor is None, place.floor or 0), "room": natural_key(place.room)}
    return (*(parts[key] for key in order), int(entry.number))


def make_roster(households: list[Household], numbers: Mapping[str, str], config: Config,
                today: dt.date) -> list[RosterEntry]:
    """The people who need help first among `households`, grid by grid, in walking order."""
    entries = []
    for household in households:
        location = locate(household)
        for member in household.members:
            needs = needs_of(member, config, today)
            if not needs:
                continue
            entries.append(RosterEntry(
                numbers[household.household_id], household.household_id,
                grid_group(household), location, household.full_address, member.name,
                member.age_on(today), needs, own_phone(member), family_phone(household, member),
                shown_household_id(household.household_id, config)))
    order = config.emergency.order
    return sorted(entries, key=lambda e: (natural_key(e.group), walk_key(e, order)))


def plan_for(household: Household, config: Config) -> Plan | None:
    """The household's emergency plan: the [emergency.plans] key its building or estate
    starts with, the longest (most specific) winning; a building however written (3号楼,
    3栋, 3幢, 3#楼, A座) in the key or the register."""
    location = locate(household)
    texts = {fold(location.building_name), fold(location.estate),
             fold(household.full_address), fold(household.estate + household.full_address)}
    best = ""
    for key in config.emergency.plans:
        wanted = (key, fold(plan_key(key)))  # 锦绣家园3栋 is the building 锦绣家园3号楼
        if len(key) > len(best) and any(text.startswith(w) for text in texts if text
                                        for w in wanted):
            best = key
    return config.emergency.plans.get(best) if best else None


def without_plan(households: list[Household], config: Config) -> list[str]:
    """The buildings (or estates, or addresses, or 户号 where there is no address) of the
    households no plan covers, in natural order: a warning names them."""
    names = {locate(h).building_name or h.full_address
             or config.card.words.format("no_address", household_id=h.household_id)
             for h in households if h.members and plan_for(h, config) is None}
    return sorted(names, key=natural_key)


def check_plans(config: Config, fonts: Sequence[frozenset[int]]) -> None:
    """Every character of the emergency plans must print, as the register's must (`fonts`:
    the configured fonts' coverage)."""
    from cardgen.data.glyphs import describe_char, uncovered

    for key, plan in config.emergency.plans.items():
        for setting in PLAN_KEYS:
            missing = uncovered(getattr(plan, setting), fonts)
            if missing:
                raise ConfigError(_(
                    "the setting emergency.plans.{key}.{field} has {char}; no configured font "
                    "has it; correct the character, or add a font that has it to [fonts] "
                    "fallback in the config").format(key=key, field=setting,
                                                     char=describe_char(missing[0])))


@dataclass(frozen=True)
class GridKit:
    """What the kit holds for one grid: its roster, and the households its files show."""

    group: str  # the grid's book (grid_group)
    name: str  # the grid in the files' names: 第3网格
    worker: str  # the grid worker and phone, as the roster's header shows them
    households: list[Household]  # in book order: one 明白卡 each (but a vacant dwelling)
    roster: list[RosterEntry]
    tabbed: list[Household]  # the cards with tabs on top: the roster's, and [emergency] colours
    without_plan: list[str]


def plan_kit(groups: Mapping[str, list[Household]], numbers: Mapping[str, str],
             categories: Mapping[str, Category], config: Config,
             today: dt.date) -> list[GridKit]:
    """The kit, grid by grid (`groups`: the households of each grid's book, in book order)."""
    grids = [households[0].grid for households in groups.values()]
    taken: set[str] = set()
    kits = []
    for group, households in groups.items():
        grid = households[0].grid
        # the grid alone names the files, unless two communities have a grid of that name
        name = grid if grid and grids.count(grid) == 1 else group
        roster = make_roster(households, numbers, config, today)
        on_roster = {entry.household_id for entry in roster}
        worker = Counter((h.grid_worker, h.grid_worker_phone) for h in households)
        kits.append(GridKit(
            group, safe_file_name(name, False, taken).removesuffix(".pdf"),
            " ".join(part for part in worker.most_common(1)[0][0] if part), households,
            roster, [h for h in households if h.household_id in on_roster
                     or categories[h.household_id].key in config.emergency.card_colours],
            without_plan(households, config)))
    return kits
