"""Categorise stage: each household's colour with the reasons for it, and its visit frequency."""

from __future__ import annotations

import datetime as dt

from cardgen.config import ColourRule, Config
from cardgen.data import vocabulary
from cardgen.data.flags import shown_flag
from cardgen.data.model import Category, Household, Member
from cardgen.errors import Problem, Severity
from cardgen.i18n import N_, _

COLOUR_WORDS = (N_("red"), N_("orange"), N_("yellow"), N_("blue"), N_("green"))  # for _(key)


def categorise(household: Household, config: Config, today: dt.date) -> Category:
    """The colour the card is printed in: the data's 户卡颜色 if any, else the first rule."""
    ruled, reasons = colour_by_rules(household, config, today)
    if household.colour:
        key, explicit = household.colour, True
        reasons = (vocabulary.REASON_EXPLICIT,) if key != ruled else reasons
    else:
        key, explicit = ruled, False
    visit, because = visit_frequency(household, key, config)
    return Category(key=key, reasons=reasons, explicit=explicit, visit=visit,
                    visit_because=because)


def categorise_all(households: list[Household], config: Config,
                   today: dt.date) -> tuple[dict[str, Category], list[Problem]]:
    """Categories by household number, and a warning wherever the data overrides the rules."""
    categories: dict[str, Category] = {}
    problems = []
    for household in households:
        category = categorise(household, config, today)
        categories[household.household_id] = category
        if category.explicit:
            ruled, reasons = colour_by_rules(household, config, today)
            if ruled != category.key:
                problems.append(Problem(
                    Severity.WARNING, household.source, household.first_row or None, None,
                    "colour", config.palette[category.key].char, _(
                        "household {household} is printed {colour} as the data says, but the "
                        "rules would make it {ruled} ({why}); check the 户卡颜色 column").format(
                        household=household.household_id,
                        colour=_(category.key), ruled=_(ruled), why=explain(ruled, reasons)),
                    household.household_id, "colour.overrides_rules"))
    return categories, problems


def explain(key: str, reasons: tuple[str, ...]) -> str:
    """``橙色：张秀英 低保`` (``orange: 张秀英 低保``) — the colour and why, as `validate`
    lists it, in the current language."""
    return _("{colour}: {reasons}").format(colour=_(key), reasons="、".join(reasons))


def residents(household: Household, config: Config) -> list[Member]:
    return [m for m in household.members if m.residence not in config.spellings.non_resident]


def colour_by_rules(household: Household, config: Config,
                    today: dt.date) -> tuple[str, tuple[str, ...]]:
    living = residents(household, config)
    for rule in config.rules:
        reasons = _match(rule, household, living, config, today)
        if reasons is not None:
            return rule.colour, reasons
    return config.default_colour, (vocabulary.REASON_DEFAULT,)


def _match(rule: ColourRule, household: Household, living: list[Member], config: Config,
           today: dt.date) -> tuple[str, ...] | None:
    """The reasons the rule holds for the household (whose residents are `living`), or None
    when it does not."""
    reasons: list[str] = []
    if rule.housing:
        if household.housing not in rule.housing:
            return None
        reasons.append(vocabulary.REASON_HOUSING.format(housing=household.housing))
    if rule.no_residents is not None:
        if (not living) != rule.no_residents:
            return None
        if rule.no_residents:
            reasons.append(vocabulary.REASON_NO_RESIDENTS)
    if rule.any_member_flag:
        hits = []
        for member in household.members:
            if not member.flags:  # most people: no generator for them (a rule of flags
                continue  # is tried on every household: 1,000 of them took 2 ms less)
            shown = list(dict.fromkeys(shown_flag(f, config) for f in member.flags
                                       if f in rule.any_member_flag))
            if shown:
                hits.append(f"{member.name} {'、'.join(shown)}")
        if not hits:
            return None
        reasons.extend(hits)
    if rule.all_residents_aged_at_least is not None:
        ages = [m.age_on(today) for m in living]
        if not ages or any(a is None or a < rule.all_residents_aged_at_least for a in ages):
            return None
        reasons.append(vocabulary.REASON_ALL_AGED.format(age=rule.all_residents_aged_at_least))
    if rule.all_residents_residence:
        if not living or any(m.residence not in rule.all_residents_residence for m in living):
            return None
        reasons.append(vocabulary.REASON_ALL_RESIDENCE.format(
            residence="/".join(rule.all_residents_residence)))
    return tuple(reasons) if reasons else None


def visit_frequency(household: Household, key: str, config: Config) -> tuple[str, str]:
    """The strictest visit frequency of the colour and the members' flags, and what sets it."""
    name = config.visits.colour[key]
    because = config.palette[key].name
    frequencies = config.visits.frequencies
    for member in household.members:
        for flag in member.flags:
            candidate = config.visits.flag.get(flag)
            if candidate and frequencies[candidate].days < frequencies[name].days:
                name, because = candidate, shown_flag(flag, config)
    label = frequencies[name].label
    extra = config.visits.extra.get(key)
    return (f"{label}；{extra}" if extra else label), because
