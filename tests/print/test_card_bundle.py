"""A card that a ledger's workers build and draw at once (one-sided) is one cache entry, the
bundle (printing/run.py, card_bundle): found again only for the same household, date and
number, and drawn as drawing it alone draws it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import marshal
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cardgen.cache import Cache
from cardgen.config import load_config
from cardgen.layout.geometry import Geometry
from cardgen.pipeline.register import load
from cardgen.printing import run as run_module
from cardgen.printing import workers
from cardgen.printing.run import PrintRun, draw_card_data, drawn_cards, make_cards
from cardgen.samplegen import generate, to_csv
from tests.conftest import DATE, cache_entries, own_process


@pytest.fixture
def printing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrintRun]:
    """A print run with an empty card cache of its own (the suite's frames), which
    `workers.build_chunk` uses in this process, as a worker would."""
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(run_module, "PARALLEL_FROM", 1)
    config = load_config()
    today = dt.date.fromisoformat(DATE)
    printing = PrintRun.start(config, None, None, today, Cache.open(config, None))
    monkeypatch.setattr(workers, "_printing", printing)
    yield printing


def built_by(asked: list[int]) -> Any:
    """A `build` for make_cards: workers.build_chunk here, counting the cards asked for."""
    def build(items: Iterable[Any], geometries: dict[bool, Geometry]) -> Iterator[bytes]:
        work = list(items)
        asked.append(len(work))
        return iter(workers.build_chunk(geometries, work))
    return build


def test_a_bundled_card_is_found_for_its_household_only(printing: PrintRun,
                                                        tmp_path: Path) -> None:
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(6, seed=7, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    households = loaded.dataset.households
    asked: list[int] = []
    cards = make_cards(households, loaded.categories, loaded.numbers, printing, False,
                       built_by(asked), drawn_single=True)
    assert asked == [len(households)]
    # drawn where built: the same pages as drawing each card alone (marshal's bytes of
    # the same values may differ: it marks objects referred to twice)
    assert [marshal.loads(data) for data in drawn_cards(cards, printing, False)] == [
        marshal.loads(draw_card_data(card, printing, False)) for card in cards]
    again = make_cards(households, loaded.categories, loaded.numbers, printing, False,
                       built_by(asked), drawn_single=True)
    assert asked == [len(households)]  # every card from its bundle
    assert [card.to_data() for card in again] == [card.to_data() for card in cards]
    # one phone changed: that card alone is built (and drawn) again
    first = households[0]
    member = dataclasses.replace(first.members[0], phone="13900000000")
    changed = [dataclasses.replace(first, members=[member, *first.members[1:]]),
               *households[1:]]
    make_cards(changed, loaded.categories, loaded.numbers, printing, False,
               built_by(asked), drawn_single=True)
    assert asked == [len(households), 1]
    # another date: every card again
    later = dataclasses.replace(printing, today=printing.today + dt.timedelta(days=1))
    make_cards(households, loaded.categories, loaded.numbers, later, False,
               built_by(asked), drawn_single=True)
    assert asked == [len(households), 1, len(households)]


def test_cards_made_here_for_one_sided_printing_are_kept_as_bundles(
        printing: PrintRun, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Cards made in this process (too few for the workers: an update's) for one-sided
    printing are drawn as they are built and kept as one entry each, a bundle, whose pages
    drawn_cards takes without drawing or reading them again; the next run finds them."""
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(3, seed=12, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    households = loaded.dataset.households
    cards = make_cards(households, loaded.categories, loaded.numbers, printing, False,
                       drawn_single=True)
    folder = tmp_path / "cache"
    assert len(cache_entries(folder, "cards")) == len(cards)  # one entry a card
    reads: list[tuple[str, str]] = request.getfixturevalue("cache_reads")
    pages = [marshal.loads(data) for data in drawn_cards(cards, printing, False)]
    assert reads == [] and len(cache_entries(folder, "cards")) == len(cards)
    assert pages == [marshal.loads(draw_card_data(card, printing, False)) for card in cards]
    later = dataclasses.replace(printing, bundled=set(), held={})
    again = make_cards(households, loaded.categories, loaded.numbers, later, False,
                       drawn_single=True)
    assert all(isinstance(card, run_module.StoredCard) for card in again)
    assert [card.to_data() for card in again] == [card.to_data() for card in cards]


def test_drawing_workers_are_let_go_once_their_last_card_is_read(printing: PrintRun,
                                                                tmp_path: Path) -> None:
    """drawn_cards' `done`: as the last card drawn by `draw` is read, not before; at once
    when `draw` is handed nothing (every card's pages in the cache)."""
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(4, seed=7, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    households = loaded.dataset.households
    cards = make_cards(households, loaded.categories, loaded.numbers, printing, False)
    done: list[int] = []
    read: list[bytes] = []

    def draw(items: Iterable[Any], geometries: dict[bool, Geometry]) -> Iterator[bytes]:
        return iter(workers.draw_chunk(geometries, list(items)))

    read.extend(drawn_cards(cards, printing, True, draw, lambda: done.append(len(read))))
    assert done == [len(cards) - 1]  # called while the last card was read
    done.clear()
    drawn = drawn_cards(cards, printing, True, draw, lambda: done.append(-1))
    assert done == [-1]  # before any card is read
    assert len(list(drawn)) == len(cards)


def test_drawn_cards_lets_go_of_each_card_once_read(printing: PrintRun, tmp_path: Path) -> None:
    """A ledger keeps no card of its own while it writes them (pipeline/ledgers.py): each
    is let go once drawn_cards has given its pages."""
    import sys

    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(3, seed=7, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    cards = make_cards(loaded.dataset.households, loaded.categories, loaded.numbers,
                       printing, False)
    first = cards[0]
    drawn = drawn_cards(cards, printing, False)
    del cards
    held = sys.getrefcount(first)  # here, and in drawn_cards' list
    next(drawn)
    next(drawn)  # the second card in hand
    assert sys.getrefcount(first) == held - 1


@pytest.mark.parametrize("held", [True, False])
def test_a_bundle_is_read_once_for_its_card_and_its_pages(
        printing: PrintRun, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch, held: bool) -> None:
    """A ledger from the cache reads each card's bundle once: its built card (make_cards)
    and its pages, kept for drawn_cards (PrintRun.hold); not again to see it is there.
    Past HELD_PAGES the pages are not kept, and read again when the card's turn comes.
    The pages are those drawing the card alone gives."""
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(5, seed=8, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    households = loaded.dataset.households
    make_cards(households, loaded.categories, loaded.numbers, printing, False,
               built_by([]), drawn_single=True)
    if not held:
        monkeypatch.setattr(run_module, "HELD_PAGES", 100)
    later = dataclasses.replace(printing, bundled=set(), held={})  # the next run
    reads: list[tuple[str, str]] = request.getfixturevalue("cache_reads")
    cards = make_cards(households, loaded.categories, loaded.numbers, later, False,
                       built_by([]), drawn_single=True)
    assert later.held_bytes == (sum(map(len, later.held.values())) if held else 0)
    pages = [marshal.loads(data) for data in drawn_cards(cards, later, False)]
    names = [name for _, name in reads]
    bundles = [run_module.bundle_name(card.source_key) for card in cards]
    assert [names.count(name) for name in bundles] == [1 if held else 2] * len(cards)
    assert later.held == {} and later.held_bytes == 0  # let go of as written
    assert pages == [marshal.loads(draw_card_data(card, later, False)) for card in cards]


def counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What Card.from_data is asked to build in this process, as it is asked."""
    asked: list[object] = []
    real = run_module.Card.from_data

    def counted(data: Any, config: Any) -> Any:
        asked.append(data)
        return real(data, config)

    monkeypatch.setattr(run_module.Card, "from_data", counted)
    return asked


def test_a_card_from_its_bundle_is_built_when_more_than_its_summary_is_read(
        printing: PrintRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A card found as a bundle (run.StoredCard) is not built while a ledger plans and
    writes it, and is the card Card.from_data builds once anything else is read of it."""
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(8, seed=9, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    households = loaded.dataset.households
    built = make_cards(households, loaded.categories, loaded.numbers, printing, False,
                       built_by([]), drawn_single=True)
    built_data, built_pages = [c.to_data() for c in built], [c.pages for c in built]
    from_data = counting_builds(monkeypatch)
    later = dataclasses.replace(printing, bundled=set(), held={})
    cards = make_cards(households, loaded.categories, loaded.numbers, later, False,
                       built_by([]), drawn_single=True)
    assert all(isinstance(card, run_module.StoredCard) for card in cards)
    # what a ledger reads of its cards: no card built
    for card, made in zip(cards, built, strict=True):
        assert (card.household_id, card.colour, card.emergency, card.household_grow,
                card.page_count, card.first_page, card.source_key) == (
            made.household_id, made.colour, made.emergency, made.household_grow,
            made.page_count, made.first_page, made.source_key)
        assert run_module.card_frames(later, card, False) == run_module.card_frames(
            printing, made, False)
    list(drawn_cards(cards, later, False))
    assert from_data == []
    # anything else: built, as from its data
    assert [card.to_data() for card in cards] == built_data
    assert len(from_data) == len(cards)
    assert [card.pages for card in cards] == built_pages
    assert len(from_data) == len(cards)  # once each


def test_cards_the_workers_built_and_drew_are_not_built_again_here(
        printing: PrintRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A card built and drawn by a worker (one-sided) comes back as its summary
    (run.StoredCard), as when found in the cache: the main process builds none of them
    while a ledger plans and writes it (20,000 built cards held 45 MiB of it), and one
    built when more is read is the card the worker built."""
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(6, seed=31, grids=1))), encoding="utf-8")
    loaded = load(source, printing.config, printing.today)
    households = loaded.dataset.households
    from_data = counting_builds(monkeypatch)
    build_one = run_module.build_one

    def building(*args: Any) -> Any:
        from_data.append(args)
        return build_one(*args)

    monkeypatch.setattr(run_module, "build_one", building)  # the main process's, not the
    asked: list[int] = []  # workers' (printing/workers imported its own)
    cards = make_cards(households, loaded.categories, loaded.numbers, printing, False,
                       built_by(asked), drawn_single=True)
    assert asked == [len(households)]  # all made by the "workers"
    assert all(isinstance(card, run_module.StoredCard) for card in cards)
    drawn = list(drawn_cards(cards, printing, False))
    assert from_data == []
    again = [build_one(h, loaded.categories[h.household_id], loaded.numbers[h.household_id],
                       False, printing) for h in households]
    assert [card.to_data() for card in cards] == [card.to_data() for card in again]
    assert len(from_data) == len(cards)  # built now, once each
    # the same pages (marshal's bytes may differ for equal values: shared references)
    assert [marshal.loads(pages) for pages in drawn] == [
        marshal.loads(draw_card_data(card, printing, False)) for card in cards]


def test_a_print_run_makes_each_frame_variant_once(printing: PrintRun) -> None:
    """PrintRun.frame and frame_of give the frame asked for, made once a variant (a
    ledger asks for one for each of its pages, twice)."""
    from cardgen.frame.render import Frame

    first = printing.frame("red", False, False, True, 1)
    assert printing.frame("red", False, False, True, 1) is first
    assert (first.colour, first.emergency, first.verso, first.first, first.grow) == (
        "red", False, False, True, 1)
    following = printing.frame("red", False, False, False, 1)
    assert (following.first, following.grow) == (False, 0)  # a 续页: no household rows
    assert printing.frame("", False, True, True) == Frame("", verso=True)
    values = run_module.plain_values(first)
    assert printing.frame_of(values) == first
    assert printing.frame_of(values) is printing.frame_of(list(values))


# a ledger as a user runs it, in a process of its own (the test runner has imported
# everything), cards handed to workers from the first card on; then what it had imported
LEDGER = own_process("cardgen.printing.workers",
                     before="from cardgen.printing import run\nrun.PARALLEL_FROM = 1")


def test_a_ledger_imports_its_workers_only_to_hand_them_cards(tmp_path: Path) -> None:
    """pipeline/ledgers.LedgerWorkers: a ledger whose cards the cache has makes no workers
    and does not import their module (multiprocessing with it); one with cards to make
    does, and both write the same file."""
    import json
    import os
    import subprocess
    import sys

    import cardgen

    source = tmp_path / "grid.csv"
    # households of their own: the suite's cache (shared by its processes) has none of them
    source.write_text(to_csv(list(generate(4, seed=2026120711, grids=1))), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(cardgen.__file__).parents[1])}
    made = []
    for run in (1, 2):
        out = tmp_path / f"ledger-{run}"
        done = subprocess.run([sys.executable, "-c", LEDGER, "ledger", str(source), "-o",
                               str(out), "--by", "all", "--jobs", "2", "--date", DATE],
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        said = json.loads(done.stdout.strip().splitlines()[-1])
        assert said["code"] == 0, done.stderr
        made.append((said["loaded"]["cardgen.printing.workers"], (out / "全部.pdf").read_bytes()))
    assert [workers for workers, _ in made] == [True, False]
    assert made[0][1] == made[1][1]


# the same ledger, saying whether its workers were forked (printing/workers.forking)
FORKED = own_process(before="""from cardgen.printing import run, workers
run.PARALLEL_FROM = 1
decide = workers.forking
def forking():
    decided = decide()
    print("forked" if decided else "spawned")
    return decided
workers.forking = forking""")


def test_workers_forked_from_a_small_run_draw_what_one_process_draws(tmp_path: Path) -> None:
    """A ledger's workers are forked from a command line run holding a small register
    (printing/workers.FORK_UNDER): they start at once, with what the run has imported and
    laid out, and the book is the same bytes as the one drawn in one process."""
    import json
    import os
    import subprocess
    import sys

    import cardgen

    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(30, seed=2026120901, grids=1))), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(cardgen.__file__).parents[1]),
           "CARDGEN_CACHE_DIR": str(tmp_path / "cache")}  # no card in it: all drawn
    books = []
    for jobs in ("2", "1"):
        out = tmp_path / f"ledger-{jobs}"
        done = subprocess.run([sys.executable, "-c", FORKED, "ledger", str(source), "-o",
                               str(out), "--by", "all", "--jobs", jobs, "--date", DATE],
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        lines = done.stdout.strip().splitlines()
        assert json.loads(lines[-1])["code"] == 0, done.stderr
        assert lines[:-1] == (["forked"] if jobs == "2" else []), done.stdout
        books.append((out / "全部.pdf").read_bytes())
        shutil.rmtree(tmp_path / "cache")
    assert books[0] == books[1]


def test_workers_are_spawned_from_a_large_run_or_where_forking_is_unsafe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked workers share the run's pages and count them in their own resident memory:
    a run holding a large register spawns them (20,000 households: the book's peak went
    from 289 to 409 MiB forked), as does one where forking is unsafe (frame/helper.may_fork:
    another thread, WeasyPrint loaded, not Linux)."""
    monkeypatch.setattr(workers, "may_fork", lambda: True)
    monkeypatch.setattr(workers, "resident_bytes", lambda: workers.FORK_UNDER - 1)
    assert workers.forking() is True
    monkeypatch.setattr(workers, "resident_bytes", lambda: workers.FORK_UNDER)
    assert workers.forking() is False
    monkeypatch.setattr(workers, "resident_bytes", lambda: None)  # unknown: spawned
    assert workers.forking() is False
    monkeypatch.setattr(workers, "resident_bytes", lambda: 1)
    monkeypatch.setattr(workers, "may_fork", lambda: False)
    assert workers.forking() is False
