"""The one place the stages meet: read → validate → categorise → render → assemble → write."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cardgen.assemble import ledger_numbers
from cardgen.cards import Card, build_card
from cardgen.categorise import categorise_all
from cardgen.config import Config
from cardgen.errors import DataRefused
from cardgen.glyphs import missing_glyphs
from cardgen.model import Category, Dataset, Household, Problem
from cardgen.read import read_records
from cardgen.render import DocInfo, PrintOptions, Renderer
from cardgen.select import Selection, select_households
from cardgen.validate import validate_records
from cardgen.write import check_output, write_atomic


@dataclass
class Loaded:
    """The input after the read, validate and categorise stages."""

    source: Path
    config: Config
    today: dt.date
    dataset: Dataset
    categories: dict[str, Category]
    numbers: dict[str, str]  # household number -> ledger number NNN/MMM

    def errors_of(self, households: list[Household]) -> list[Problem]:
        chosen = {h.household_id for h in households}
        return [p for p in self.dataset.errors if p.household_id in chosen]


def load(source: Path, config: Config, today: dt.date, sheet_name: str | None = None) -> Loaded:
    records = read_records(source, config, sheet_name)
    dataset = validate_records([records], config, today)
    categories, problems = categorise_all(dataset.households, config, today)
    dataset.problems.extend(problems)
    return Loaded(source, config, today, dataset, categories,
                  ledger_numbers(dataset.households))


@dataclass
class Printed:
    """What a command wrote, for its summary line."""

    path: Path
    households: int
    pages: int
    errors_elsewhere: int = 0
    warnings: list[Problem] = field(default_factory=list)


def check_printable(loaded: Loaded, households: list[Household], what: str) -> None:
    """Refuse to draw households that have errors or characters no font has."""
    errors = loaded.errors_of(households)
    if errors:
        raise DataRefused(f"{what}: {len({p.household_id for p in errors})} selected "
                          f"household(s) have errors; nothing was written", errors)
    glyphs = missing_glyphs(households, loaded.config)
    if glyphs:
        raise DataRefused(f"{what}: characters that no configured font has; nothing was "
                          "written", glyphs)


def make_cards(loaded: Loaded, households: list[Household], renderer: Renderer,
               emergency: bool, first_page: int = 1) -> list[Card]:
    """Cards in the given order, each knowing the page it starts on."""
    cards = []
    page = first_page
    for household in households:
        card = build_card(household, loaded.categories[household.household_id], loaded.config,
                          renderer.layout, loaded.today, loaded.numbers[household.household_id],
                          emergency)
        card.first_page = page
        page += card.page_count
        cards.append(card)
    return cards


def reprint(loaded: Loaded, selection: Selection, out: Path, emergency: bool = False,
            templates: Path | None = None, options: PrintOptions | None = None) -> Printed:
    """The selected households' cards as one PDF, in input order."""
    check_output(out, [loaded.source])
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "reprint")
    renderer = Renderer(loaded.config, templates, options)
    cards = make_cards(loaded, chosen, renderer, emergency)
    title = "五色户卡 " + (chosen[0].household_id if len(chosen) == 1 else f"{len(chosen)}户")
    pdf = renderer.pdf(cards, DocInfo(title, loaded.today))
    write_atomic(out, pdf)
    elsewhere = {p.household_id for p in loaded.dataset.errors} - \
        {h.household_id for h in chosen}
    return Printed(out, len(chosen), sum(c.page_count for c in cards), len(elsewhere),
                   loaded.dataset.warnings)
