"""Which households a command prints (--household, --colour, --flag and --grid), and which a
search by 户编号, name or address finds."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, replace

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
        key = config.spellings.colour.get(fold(colour))
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
        canonical.extend(config.flags.also.get(known, ()))
    return Selection(tuple(h.strip() for h in households), tuple(keys), tuple(canonical),
                     tuple(g.strip() for g in grids))


def select_households(households: list[Household], categories: dict[str, Category],
                      selection: Selection) -> list[Household]:
    """The households the selection names, in input order; an unknown number is an error."""
    if not households:
        raise NothingSelected(_("the input holds no household records; `cardgen validate` "
                                "shows what was read"), code="selection.no_records")
    selection = replace(selection, households=_known_numbers(households, selection.households),
                        grids=_known_grids(households, selection.grids))
    chosen = [h for h in households if _matches(h, categories[h.household_id], selection)]
    if not chosen:
        grids = Counter(h.grid for h in households if h.grid)
        colours = Counter(categories[h.household_id].key for h in households)
        there = _("; ").join(
            [", ".join(f"{grid} {count}" for grid, count in grids.items()),
             ", ".join(f"{_(key)} {colours[key]}" for key in COLOUR_KEYS if key in colours)])
        raise NothingSelected(_("no household matches the selection; the input has {there} "
                                "(`cardgen validate --explain` lists every household with "
                                "its grid and colour)").format(there=there.strip("; ")),
                              code="selection.empty")
    return chosen


def _known_numbers(households: list[Household], asked: tuple[str, ...]) -> tuple[str, ...]:
    """The 户编号 asked for as the input writes them (g01-0004 or Ｇ01-0004 is G01-0004); an
    unknown one is an error that names the close ones."""
    known = {_folded(h.household_id): h.household_id for h in households}
    missing = [number for number in asked if _folded(number) not in known]
    if missing:
        # only for a number that is not there (1 ms of a start; Click imports it too, though,
        # when it parses a short option such as -o)
        import difflib

        # 户号 1 of a register keyed by grid and 户号 is 第1网格-1 (and 第2网格-1 …)
        keyed = [key for number in missing for key in known
                 if key.endswith(f"-{_folded(number)}")]
        close = dict.fromkeys([*keyed, *(
            match for number in missing for match in difflib.get_close_matches(
                _folded(number), list(known), n=3, cutoff=0.5))])
        if close:
            raise NothingSelected(_("no household numbered {numbers} in the input; did you "
                                    "mean {close}?").format(
                numbers=", ".join(missing), close=", ".join(known[c] for c in close)),
                code="selection.no_household")
        raise NothingSelected(_("no household numbered {numbers} in the input; check the 户编号 "
                                "column").format(numbers=", ".join(missing)),
                              code="selection.no_household")
    return tuple(known[_folded(number)] for number in asked)


def _known_grids(households: list[Household], asked: tuple[str, ...]) -> tuple[str, ...]:
    """The grids asked for as the input writes them (any case, full- or half-width, and as a
    person reads grid names: 第四网格 is 第4网格); an unknown one is an error that lists the
    grids there are."""
    known = {_grid_key(h.grid): h.grid for h in households if h.grid}
    missing = [grid for grid in asked if _grid_key(grid) not in known]
    if missing:
        raise NothingSelected(_("no grid named {grids} in the input; its grids are: "
                                "{known}").format(grids=", ".join(missing),
                                                  known=", ".join(known.values())),
                              code="selection.empty")
    return tuple(known[_grid_key(grid)] for grid in asked)


def _grid_key(grid: str) -> str:
    return place_key(_folded(grid))


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
