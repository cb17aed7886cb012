"""Which households a command prints (--household, --colour, --flag and --grid), and which a
search by 户编号, name or address finds."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from cardgen.config import COLOUR_KEYS, Config
from cardgen.data.flags import read_flag, shown_flags
from cardgen.data.model import Category, Household
from cardgen.errors import NothingSelected, UsageError
from cardgen.i18n import _
from cardgen.text import fold, place_key


@dataclass(frozen=True)
class Selection:
    """Options combine with AND; the values of one option combine with OR."""

    households: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not (self.households or self.colours or self.flags or self.grids)


def make_selection(config: Config, households: tuple[str, ...] = (),
                   colours: tuple[str, ...] = (), flags: tuple[str, ...] = (),
                   grids: tuple[str, ...] = ()) -> Selection:
    """Check colour and flag names against the config (a wrong one is a usage error)."""
    keys = []
    for colour in colours:
        key = config.colour_spellings.get(fold(colour))
        if key is None:
            raise UsageError(_("--colour {colour} is no colour; use one of: {colours} (or 红 "
                               "橙 黄 蓝 绿)").format(colour=repr(colour),
                                                    colours=", ".join(COLOUR_KEYS)),
                             code="usage.colour")
        keys.append(key)
    canonical = []
    for flag in flags:
        reading = read_flag(flag, config)
        known = reading.flag if reading.known and reading.how != "words" else None
        if known is None:
            raise UsageError(_("--flag {flag} is no flag cardgen knows; use one of: "
                               "{flags}").format(flag=repr(flag), flags=shown_flags(config)),
                             code="usage.flag")
        canonical.append(known)
        canonical.extend(config.flag_also.get(known, ()))
    return Selection(tuple(h.strip() for h in households), tuple(keys), tuple(canonical),
                     tuple(g.strip() for g in grids))


def select_households(households: list[Household], categories: dict[str, Category],
                      selection: Selection) -> list[Household]:
    """The households the selection names, in input order; an unknown number is an error."""
    if not households:
        raise NothingSelected(_("the input holds no household records; `cardgen validate` "
                                "shows what was read"), code="selection.no_records")
    known = {h.household_id for h in households}
    missing = [h for h in selection.households if h not in known]
    if missing:
        raise NothingSelected(_("no household numbered {numbers} in the input; check the 户编号 "
                                "column").format(numbers=", ".join(missing)),
                              code="selection.no_household")
    chosen = [h for h in households if _matches(h, categories[h.household_id], selection)]
    if not chosen:
        raise NothingSelected(_("no household matches the selection; `cardgen validate` lists "
                                "the households with their colours"), code="selection.empty")
    return chosen


def _matches(household: Household, category: Category, selection: Selection) -> bool:
    if selection.households and household.household_id not in selection.households:
        return False
    if selection.colours and category.key not in selection.colours:
        return False
    if selection.flags:
        flags = {flag for member in household.members for flag in member.flags}
        if not flags.intersection(selection.flags):
            return False
    return not selection.grids or place_key(household.grid) in {
        place_key(grid) for grid in selection.grids}  # 第四网格 picks 第4网格


def _folded(text: str) -> str:
    """Text as a search compares it: full-width letters and digits as half-width, any case."""
    return unicodedata.normalize("NFKC", text).casefold()


def find_households(households: list[Household], query: str) -> list[Household]:
    """The households whose 户编号, address or a member's name holds every word of `query`,
    in input order; a household whose 户编号 is the query comes first."""
    words = _folded(query).split()
    if not words:
        return []
    whole = " ".join(words)
    exact: list[Household] = []
    found: list[Household] = []
    for household in households:
        number = _folded(household.household_id)
        texts = (number, _folded(household.full_address),
                 *(_folded(member.name) for member in household.members))
        if all(any(word in text for text in texts) for word in words):
            (exact if number == whole else found).append(household)
    return exact + found
