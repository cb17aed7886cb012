"""Parallel card work: building and drawing the cards the cache does not have, in chunks,
across spawned worker processes that each set up their fonts once."""

from __future__ import annotations

import datetime as dt
import marshal
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cardgen.config import Config
from cardgen.model import Category, Household

CHUNK = 100  # cards per task: big enough to amortise the hand-over, small enough to share
PARALLEL_FROM = 300  # fewer cards than this are done in the main process

T = TypeVar("T")


@dataclass(frozen=True)
class Setup:
    """What a worker needs to make the same cards as the main process."""

    config: Config
    options: Any  # PrintOptions
    templates: Path | None
    today: dt.date
    cache_folder: Path | None
    cache_max_mb: int


_press: Any = None


def _start(setup: Setup) -> None:
    global _press
    from cardgen.cache import Cache
    from cardgen.pipeline import Press

    _press = Press.start(setup.config, setup.options, setup.templates, setup.today,
                         Cache(setup.cache_folder, setup.cache_max_mb * 2**20))


def build_chunk(work: list[tuple[Household, Category, str, bool, str]]) -> list[bytes]:
    """Card data (marshal) for (household, category, ledger number, emergency, key)."""
    from cardgen.cards import build_card

    built = []
    for household, category, number, emergency, source in work:
        card = build_card(household, category, _press.config, _press.layout, _press.today,
                          number, emergency, _press.typesetter)
        data = marshal.dumps(card.to_data())
        _press.cache.put("cards", source, data)
        built.append(data)
    return built


def draw_chunk(work: list[tuple[bytes, str, int, bool, str]]) -> list[bytes]:
    """Drawn pages (marshal, as the cache keeps them) for (card data, key, first page, …)."""
    from cardgen.cards import Card
    from cardgen.pipeline import draw_card_data

    drawn = []
    for data, source, first_page, duplex, name in work:
        card = Card.from_data(marshal.loads(data), _press.config)
        card.source_key = source
        card.first_page = first_page
        stored = draw_card_data(card, _press, duplex)
        _press.cache.put("cards", name, stored)
        drawn.append(stored)
    return drawn


class Workers:
    """A pool of spawned processes, started on first use and closed by the caller."""

    def __init__(self, setup: Setup, jobs: int) -> None:
        self.setup = setup
        self.jobs = jobs
        self._pool: Executor | None = None

    @property
    def enabled(self) -> bool:
        return self.jobs > 1

    def map(self, function: Callable[[list[Any]], list[T]], items: list[Any]) -> Iterator[T]:
        """`function` over chunks of `items`, results in order, chunk by chunk."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # never fork a process with Pango
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                             initializer=_start, initargs=(self.setup,))
        chunks = [items[start:start + CHUNK] for start in range(0, len(items), CHUNK)]
        for results in self._pool.map(function, chunks):
            yield from results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
