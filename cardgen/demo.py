"""`cardgen demo`: the bundled samples rendered routine and emergency, as a new user's tour."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cardgen import resources
from cardgen.cache import Cache
from cardgen.config import load_config
from cardgen.errors import UsageError
from cardgen.pipeline import load, reprint
from cardgen.select import Selection


def showcase(loaded_households: list, categories: dict) -> tuple[str, ...]:  # type: ignore[type-arg]
    """One household of each colour, the largest one, and one with a "·" in a name."""
    chosen: dict[str, str] = {}
    for household in loaded_households:
        chosen.setdefault(categories[household.household_id].key, household.household_id)
    largest = max(loaded_households, key=lambda h: len(h.members))
    picks = [*chosen.values(), largest.household_id]
    dotted = next((h for h in loaded_households if any("·" in m.name for m in h.members)), None)
    if dotted is not None:
        picks.append(dotted.household_id)
    return tuple(dict.fromkeys(picks))


def run_demo(out: Path, today: dt.date) -> list[tuple[Path, str]]:
    out.mkdir(parents=True, exist_ok=True)
    if not out.is_dir():
        raise UsageError(f"{out} is not a folder")
    config = load_config()
    loaded = load(resources.SAMPLES / "households.xlsx", config, today)
    picks = showcase(loaded.dataset.households, loaded.categories)
    cache = Cache.open(max_mb=config.cache_max_mb)
    written = []
    routine = reprint(loaded, Selection(households=picks), out / "routine.pdf", cache=cache)
    written.append((routine.path, f"{routine.households} sample cards, tab on the right"))
    emergency = reprint(loaded, Selection(colours=("red", "orange")), out / "emergency.pdf",
                        emergency=True, cache=cache)
    written.append((emergency.path, f"{emergency.households} red and orange cards, tab on top"))
    return written
