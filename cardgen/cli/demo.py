"""`cardgen demo`: the bundled samples through every command, as a new user's tour."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cardgen import resources
from cardgen.cache import Cache
from cardgen.config import load_config
from cardgen.data.model import Category, Household
from cardgen.data.select import Selection
from cardgen.errors import UsageError
from cardgen.i18n import _
from cardgen.layout.geometry import PrintOptions
from cardgen.pipeline.cards import preview, reprint, stickers
from cardgen.pipeline.kit import KitRequest, emergency_kit
from cardgen.pipeline.ledgers import LedgerRequest, ledger
from cardgen.pipeline.register import load


def showcase(households: list[Household], categories: dict[str, Category]) -> tuple[str, ...]:
    """One household of each colour, the largest one, and one with a "·" in a name."""
    chosen: dict[str, str] = {}
    for household in households:
        chosen.setdefault(categories[household.household_id].key, household.household_id)
    largest = max(households, key=lambda h: len(h.members))
    picks = [*chosen.values(), largest.household_id]
    dotted = next((h for h in households if any("·" in m.name for m in h.members)), None)
    if dotted is not None:
        picks.append(dotted.household_id)
    return tuple(dict.fromkeys(picks))


def run_demo(out: Path, today: dt.date) -> list[tuple[Path, str]]:
    if out.exists() and not out.is_dir():
        raise UsageError(_("{path} is not a folder").format(path=out), code="output.is_file")
    out.mkdir(parents=True, exist_ok=True)
    config = load_config()
    cache = Cache.open(config, None)
    loaded = load(resources.SAMPLES / "households.xlsx", config, today, cache=cache)
    households = loaded.dataset.households
    picks = showcase(households, loaded.categories)
    largest = max(households, key=lambda h: len(h.members)).household_id
    first_grid = households[0].grid
    written = []
    done = reprint(loaded, Selection(households=picks), out / "routine.pdf", cache=cache)
    written.append((done.path, _("{count} sample cards, tab on the right").format(
        count=done.households)))
    done = reprint(loaded, Selection(colours=("red", "orange")), out / "emergency.pdf",
                   emergency=True, cache=cache)
    written.append((done.path, _("{count} red and orange cards, tab on top").format(
        count=done.households)))
    run = ledger(loaded, LedgerRequest(out / "ledger", Selection(grids=(first_grid,))))
    written.append((run.files[0], _("the bound book of {grid}: cover, index, {count} cards; "
                                    "manifest.json beside it").format(grid=first_grid,
                                                                      count=run.cards)))
    kit = emergency_kit(loaded, KitRequest(out / "kit", Selection(grids=(first_grid,)),
                                           force=True))
    written.append((kit.folder, _("the emergency kit of {grid}: the roster of {count} people "
                                  "who need help first, a 明白卡 per household, the cards "
                                  "with tabs on top").format(
        grid=first_grid, count=sum(len(g.roster) for g in kit.grids))))
    done = stickers(loaded, Selection(grids=(first_grid,)), out / "stickers.pdf",
                    config.stickers.sheet(), cache=cache)
    written.append((done.path, _("tab labels and flag stickers, {count} A4 label "
                                 "sheets").format(count=done.pages)))
    done = reprint(loaded, Selection(households=picks), out / "a5-2up.pdf",
                   options=PrintOptions(impose="a4-2up"), cache=cache)
    written.append((done.path, _("the same cards in A5, two to an A4 sheet ({count})").format(
        count=done.pages)))
    done = preview(loaded, largest, out / "preview.png", dpi=90, cache=cache)
    written.append((done.path, _("the largest household's card as a picture")))
    register = load(resources.SAMPLES / "office-register.xlsx", config, today, cache=cache)
    run = ledger(register, LedgerRequest(out / "register"))
    written.append((run.files[0], _("a 全员人口信息登记表 as an office keeps it (a title, a "
                                    "two-level header, merged cells, a 合计 row), read into a "
                                    "bound book of {count} cards").format(count=run.cards)))
    return written
