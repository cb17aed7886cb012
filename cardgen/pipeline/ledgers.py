"""The bound ledgers: one PDF per group (cover, index, cards in book order) and the book
of record (manifest.json), published in one step."""

from __future__ import annotations

import marshal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cardgen.book.fit import Renamed
from cardgen.book.folder import Writing, check_book_folder, earlier_files, replaced_files
from cardgen.book.ledger import (
    LedgerPlan,
    Slot,
    colours_chosen,
    grid_group,
    group_households,
    natural_key,
    plan_ledger,
    safe_file_name,
)
from cardgen.book.numbers import GridNumbers
from cardgen.book.publish import folders_locked, publication
from cardgen.book.record import (
    MANIFEST,
    Entry,
    GridBook,
    entry_data,
    entry_values,
    manifest_bytes,
    refuse_contradicting,
)
from cardgen.data.flags import shown_flag
from cardgen.data.model import Household
from cardgen.data.select import Selection, select_households
from cardgen.errors import DataRefused, NothingSelected, Problem, Severity
from cardgen.frame.render import Frame, check_options
from cardgen.i18n import _, ngettext
from cardgen.layout.cards import has_visit_log
from cardgen.layout.geometry import Geometry, PrintOptions
from cardgen.pdf.compose import Composer
from cardgen.pipeline.register import Loaded, check_file, open_book
from cardgen.printing.run import (
    IndexPage,
    Parallel,
    PrintRun,
    add_card,
    add_cover,
    add_drawn_page,
    card_frames,
    drawn_cards,
    index_page,
    index_page_data,
    make_cards,
)
from cardgen.write import check_folder, write_atomic

if TYPE_CHECKING:
    import datetime as dt

    from cardgen.cache import Cache
    from cardgen.config import Config
    from cardgen.printing.workers import Workers


# A ledger of this many pages or more is a large file (pdf/writer.Writer's `large`: its
# object streams compressed faster and smaller, by libdeflate): a 1,000-household grid's
# book is; the samples' ledgers (60 households at most) are not, and keep their bytes.
LARGE_BOOK = 500
# a large book of fewer pages than this writes its cards while its index is drawn
# (_compose_ledger); a larger one lets its workers go first
FRONT_BELOW = 5000


@dataclass(frozen=True)
class LedgerRequest:
    """What `cardgen ledger` prints (the selection, grouped `by` grid, community or all, with
    the numbers of `book`), how (emergency tabs, duplex, the print options, templates, worker
    processes) and where (`folder`)."""

    folder: Path
    selection: Selection = field(default_factory=Selection)
    by: str = "grid"
    book: Path | None = None  # the folder of a previous book: its numbers
    renumber: bool = False  # with `book`: a new edition, numbered in address order
    renames: tuple[tuple[str, str], ...] = ()  # --rename-grid OLD=NEW
    skip_invalid: bool = False
    emergency: bool = False
    duplex: bool = False
    options: PrintOptions | None = None
    templates: Path | None = None
    jobs: int = 1
    force: bool = False  # write over another book's files in `folder`


@dataclass
class LedgerRun:
    """What `cardgen ledger` wrote, for its summary."""

    folder: Path
    files: list[Path]
    cards: int
    pages: int
    seconds: float
    skipped: list[Problem]
    errors_elsewhere: int
    manifest: Path
    unprinted_groups: dict[str, list[str]]  # group -> its households, all skipped: no ledger
    books: list[GridNumbers] = field(default_factory=list)  # the grid books printed
    renamed: list[Renamed] = field(default_factory=list)  # grids read as the book spells them


def describe_selection(selection: Selection, loaded: Loaded) -> str:
    parts = []
    words = loaded.config.card.words
    if selection.colours:
        parts.append(colours_chosen(loaded.config, selection.colours))
    if selection.flags:
        shown = (shown_flag(flag, loaded.config) for flag in selection.flags)
        parts.append(words.format("selection_flags",  # sub-types stay hidden
                                  flags="、".join(dict.fromkeys(shown))))
    if selection.grids:
        parts.append(words.format("selection_grids", grids="、".join(selection.grids)))
    if selection.households:
        parts.append(words.format("selection_households", n=len(selection.households)))
    return "；".join(parts)


def partial_selection(selection: Selection, loaded: Loaded) -> str:
    """What a selection picks within grids (colours, flags, households): a print of some
    households, not whole books; "" when it takes whole grids."""
    return describe_selection(replace(selection, grids=()), loaded)


class LedgerWorkers:
    """A ledger's worker processes (printing/workers.Workers), made, and their module
    imported, only when cards are handed to them: a ledger whose cards the cache has needs
    none, and importing the module (multiprocessing with it) took 16 ms of a one-change
    ledger and of an update (python -X importtime, session 8)."""

    def __init__(self, setup: tuple[Any, ...], jobs: int) -> None:
        self.setup = setup  # printing/workers.Setup's fields
        self.jobs = jobs
        self._workers: Workers | None = None

    def workers(self) -> Workers:
        if self._workers is None:
            from cardgen.printing.workers import Setup, Workers

            self._workers = Workers(Setup(*self.setup), self.jobs)
        return self._workers

    def builder(self) -> Parallel | None:
        """Card building in the workers (Workers.builder), or None with one job."""
        return self._parallel(lambda workers: workers.builder())

    def drawer(self) -> Parallel | None:
        """Card drawing in the workers (Workers.drawer), or None with one job."""
        return self._parallel(lambda workers: workers.drawer())

    def _parallel(self, which: Callable[[Workers], Parallel | None]) -> Parallel | None:
        if self.jobs <= 1:
            return None

        def handed(items: Iterable[Any], geometries: dict[bool, Geometry]) -> Iterator[bytes]:
            parallel = which(self.workers())
            assert parallel is not None  # more than one job
            return parallel(items, geometries)

        return handed

    def start(self) -> None:
        if self.jobs > 1:
            self.workers().start()

    def index_drawer(self, work: list[IndexPage],
                     geometries: dict[bool, Geometry]) -> Iterator[bytes] | None:
        """`work` drawn by the workers (Workers.index_drawer) when they are running and it is
        worth it; else None, and the pages are drawn here. A ledger whose cards the cache had
        started none, and its index pages mostly come from the cache too."""
        if self._workers is None or not self._workers.running or len(work) < 2 * self.jobs:
            return None
        return self._workers.index_drawer(work, geometries)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()


# A register of this many bytes or more (some 4,500 households as a CSV) starts its
# ledger's workers before it is read (`early_workers`): forked from the process as it is
# then, small, they need not import cardgen, and they are ready when the first cards are
# handed over. Started after the register was read, a 10,000-household ledger's main
# process held 70 MiB or more and spawned them (workers.forking), each importing for some
# 0.35 s of CPU while the cards waited. A smaller register starts them after it is read,
# only if some cards are not in the cache (a one-change ledger starts none).
EARLY_FROM = 2 * 2**20


def early_workers(source: Path, config: Config, options: PrintOptions | None,
                  templates: Path | None, today: dt.date, cache: Cache,
                  jobs: int) -> LedgerWorkers | None:
    """A large register's ledger workers, started now (EARLY_FROM), or None. The caller
    hands them to `ledger` and closes them."""
    try:
        large = source.stat().st_size >= EARLY_FROM
    except OSError:
        return None  # read, and said, with the register
    if jobs <= 1 or not large:
        return None
    workers = LedgerWorkers((config, options or PrintOptions(), templates, today, cache,
                             entry_data), jobs)
    workers.start()
    return workers


def ledger_frames(plan: LedgerPlan, printing: PrintRun, duplex: bool) -> list[Frame]:
    """The frames a ledger's pages stand on (the cover has its own page, a blank back page
    none)."""
    frames = [Frame("", verso=duplex and (plan.index_first_page + i) % 2 == 0)
               for i in range(len(plan.index_pages))]
    frames += [frame for card in plan.cards for frame in card_frames(printing, card, duplex)]
    return list(dict.fromkeys(frames))


def compose_ledger(plan: LedgerPlan, printing: PrintRun,
                   duplex: bool, out: Path,
                   advance: Callable[[int], None] | None,
                   workers: LedgerWorkers | None = None, last: bool = False) -> int:
    """One ledger PDF: cover, index, cards (and duplex blanks) in planned page order.
    `last`: no ledger follows, so the workers are closed as soon as this one's cards need
    them no more."""
    # its cover and index pages drawn here put in the cache as one pack (cache.Cache.packed)
    with out.open("wb") as handle, printing.cache.packed("ledger-pages"):
        return _compose_ledger(plan, printing, duplex, handle, advance, workers, last)


def _compose_ledger(plan: LedgerPlan, printing: PrintRun,
                    duplex: bool, out: IO[bytes], advance: Callable[[int], None] | None,
                    workers: LedgerWorkers | None, last: bool = False) -> int:
    large = plan.total_pages >= LARGE_BOOK
    composer = printing.composer(out, duplex, large=large)
    # a large book's cards are written first, while the workers draw its index, then its
    # cover and index go in front of them (Composer.in_front): a 1,000-card book's main
    # process waited 0.14 s for its 23 index pages before writing a card, one core idle
    # while it composed them after (in pairs 0.96x for 1,000 households after the demo,
    # 10 pairs, session 10: the machine has two cores). Smaller books keep their order,
    # and the samples their bytes. So do books of FRONT_BELOW pages or more: their workers
    # would be kept while all their cards are composed (a 20,000-card book's peak went
    # from 256 to 316-320 MiB, over its goal of 300), for 0.985x at 10,000 (4 pairs).
    front = large and composer.imposition is None and plan.total_pages < FRONT_BELOW
    try:
        # the workers draw the cards while the frames and the cover are laid out here; the
        # last ledger lets them go once they have nothing more to draw for it (at once when
        # its cards were drawn as they were built, make_cards' drawn_single): idle, they
        # held 2 x 86 MiB while a 20,000-card book was composed and its fonts embedded,
        # the peak of the whole run (benchmarks/bench.py: 610 MiB, main process 426)
        frames = ledger_frames(plan, printing, duplex)
        # the pages each card takes, by its first page (its visit log's included)
        taken = {card.first_page: card.page_count + has_visit_log(card.page_count,
                                                                  printing.config, duplex)
                 for card in plan.cards}
        first_card = min(taken, default=plan.total_pages + 1)
        # the index pages, drawn by the workers when they are there (the cards were drawn
        # as they were built, so they are idle while the rest of the book is composed), all
        # read before the workers are let go
        index = [index_page(plan, page, duplex and page % 2 == 0, printing.config.card.words)
                 for page in range(plan.index_first_page,
                                   plan.index_first_page + len(plan.index_pages))]
        by_workers = None
        if workers is not None and index:
            for verso in {i.verso for i in index}:
                printing.geometry(False, verso)  # here, once, before the workers need it
            by_workers = workers.index_drawer(index, printing.geometries)
        index_drawn: dict[int, bytes] = {}

        def read_index() -> None:
            nonlocal by_workers
            if by_workers is not None:
                index_drawn.update(zip((i.page for i in index), by_workers, strict=True))
                by_workers = None

        def let_go() -> None:
            read_index()
            if workers is not None:
                workers.close()

        # a large book lets its workers go once its index is read (below), after its cards
        drawn = drawn_cards(plan.cards, printing, duplex, workers.drawer() if workers else None,
                            let_go if workers and last and not front else None)
        # drawn_cards lets go of each card once it is written, this plan of none: a
        # 10,000-card book's cards took 20 MiB of the main process (1.5-2 KB a card,
        # tracemalloc), which the file's growth as it is written now reuses
        plan.cards = []
        composer.add_frames(printing.frames(frames))
        index_pages = {i.page: i for i in index}

        def write(page: int, stop: int) -> None:
            """The pages from `page` up to `stop` but the cover."""
            while page < stop:
                if page in plan.blank_pages:
                    composer.add_data_page(b"")  # a blank back page: nothing on it
                    page += 1
                elif page in index_pages:
                    read_index()
                    add_index_page(composer, printing, index_pages[page],
                                   index_drawn.pop(page, b""))
                    page += 1
                else:
                    add_card(composer, printing, next(drawn))  # and its visit log
                    if advance:
                        advance(1)
                    page += taken[page]

        if front:
            write(first_card, plan.total_pages + 1)
            composer.in_front()
            add_cover(composer, printing, plan)
            write(2, first_card)
            if workers is not None and last:
                let_go()
        else:
            add_cover(composer, printing, plan)
            write(2, plan.total_pages + 1)
        composer.finish(printing.words.words.format("pdf_ledger", title=plan.title),
                        printing.words.date,
                        printing.options.pdf_variant)
        return composer.pages_written
    finally:
        composer.close()


def add_index_page(composer: Composer, printing: PrintRun, index: IndexPage,
                   drawn: bytes = b"") -> None:
    """A ledger's index page (run.index_page), `drawn` already by the workers or drawn
    here."""
    add_drawn_page(composer, printing, drawn or index_page_data(index, printing),
                   Frame("", verso=index.verso))


def book_entry(household: Household, slot: Slot, loaded: Loaded,
               printing: PrintRun, duplex: bool = False,
               data: bytes | None = None) -> Entry:
    """A printed household's record in its grid's book; `data`: its entry_data, kept with
    its card."""
    values = marshal.loads(data) if data is not None else entry_values(
        household, loaded.categories[household.household_id], loaded.config)
    colour, flags, members, content_hash, parts, address, head = values
    first, count = printing.sheets(slot.first_page, slot.page_count, duplex)
    return Entry(household.household_id, int(slot.number), colour, flags, members,
                 content_hash, parts, first, count, address=address, head=head)


def grid_book(grid: GridNumbers, file: str, entries: list[Entry], printing: PrintRun,
              duplex: bool, selection: str = "") -> GridBook:
    return GridBook(grid.group, file, grid.edition, sorted(entries, key=lambda e: e.number),
                    grid.retired, grid.community, grid.grid, printing.paper.name,
                    duplex, selection, printing.options.impose or "")


def ledger(loaded: Loaded, request: LedgerRequest,
           progress: Callable[[int, int], None] | None = None,
           laid_out: Callable[[int, int], None] | None = None,
           workers: LedgerWorkers | None = None) -> LedgerRun:
    """One PDF per group: cover, index, then the cards in book order; and the book of record
    (manifest.json). `request.book` continues a previous book (the households keep their
    numbers), `renumber` starts its new edition; `force` writes over another book in the
    folder. `progress` is told the cards drawn so far, `laid_out` the cards laid out (both
    of all the cards): a group's cards are laid out before they are drawn. `workers`: those
    `early_workers` started, which the run uses (and closes) instead of its own.

    The folder and the book are locked for the run, and the folder is published in one
    step (book/publish.py)."""
    check_options(loaded.config, request.options or PrintOptions())
    check_folder(request.folder)
    with folders_locked(request.folder, request.book):
        return _ledger(loaded, request, progress, laid_out, workers)


def _ledger(loaded: Loaded, request: LedgerRequest,
            progress: Callable[[int, int], None] | None,
            laid_out: Callable[[int, int], None] | None,
            early: LedgerWorkers | None = None) -> LedgerRun:
    started = time.perf_counter()
    cache = loaded.cache
    selection, folder, book, by = request.selection, request.folder, request.book, request.by
    emergency, duplex, force = request.emergency, request.duplex, request.force
    check_file(loaded, "ledger")  # --skip-invalid cannot skip these
    numbering = open_book(loaded, book, request.renumber, force=force, writes=True,
                          renames=request.renames, only=selection.grids)
    numbers = numbering.numbers
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    blocking = loaded.errors_of(chosen)
    bad_ids = {p.household_id for p in blocking}
    if blocking and not request.skip_invalid:
        raise DataRefused(ngettext(
            "ledger: {count} household has errors; nothing was written (fix it, or use "
            "--skip-invalid to print the rest)",
            "ledger: {count} households have errors; nothing was written (fix them, or use "
            "--skip-invalid to print the rest)", len(bad_ids)).format(count=len(bad_ids)),
            blocking, code="data.household_errors")
    printable = [h for h in chosen if h.household_id not in bad_ids]
    skipped_households = [h for h in chosen if h.household_id in bad_ids]
    if not printable:
        raise NothingSelected(_("ledger: every selected household has errors; nothing was "
                                "written"), code="selection.all_errors")
    partial = partial_selection(selection, loaded)
    # a grid's own ledger is its whole book: a --grid that picked it is no scope to print
    described = partial if by == "grid" else describe_selection(selection, loaded)
    groups = group_households(printable, by, numbers)
    skipped_by_group = group_households(skipped_households, by, numbers)
    # the households are in book order now: the sort keys of every address and household
    # number (numbering sorted by them) would stay in natural_key's cache for the whole run,
    # 9 MiB of a 10,000-household book's main process (tracemalloc at Composer.finish)
    natural_key.cache_clear()
    taken: set[str] = set()
    file_names = {name: safe_file_name(name, emergency, taken) for name in groups}
    printed_grids = list(dict.fromkeys(grid_group(h) for hs in groups.values() for h in hs))
    previous = numbering.book
    carried = []
    if previous is not None and not partial and previous.folder.resolve() == folder.resolve():
        carried = [g for name, g in previous.grids.items() if name not in printed_grids]
    if not force:
        fresh = None if book is not None else {
            name: grid.numbers for name, grid in numbering.grids.items()}
        check_book_folder(folder, Writing(
            frozenset(printed_grids) | {g.group for g in carried}
            | {r.book for r in numbering.renamed if r.explicit},  # its old names
            frozenset([*file_names.values(), MANIFEST]), bool(partial), fresh))
    earlier = replaced_files(folder) | earlier_files(folder)

    printing = PrintRun.start(loaded.config, request.options, request.templates, loaded.today,
                              cache)
    total_cards = len(printable)
    done = 0

    def advance(cards: int) -> None:
        nonlocal done
        done += cards
        if progress:
            progress(done, total_cards)

    laid = 0

    def lay(n: int = 1) -> None:
        nonlocal laid
        laid += n
        if laid_out:
            laid_out(laid, total_cards)

    if progress:
        progress(0, total_cards)
    workers = early or LedgerWorkers((loaded.config, printing.options, request.templates,
                                      loaded.today, printing.cache, entry_data),
                                     request.jobs)
    books: list[GridBook] = []
    try:
        renamed = {previous.grids[r.register].file for r in numbering.renamed
                   if r.explicit and previous is not None and r.register in previous.grids}
        with publication(folder, earlier, {g.file for g in carried}, force,
                         renamed) as staged:  # a renamed grid's ledger goes with its name
            staged.refuse_earlier({*file_names.values(), MANIFEST})  # before any drawing
            work = staged.folder
            files, pages = [], 0
            for position, (name, households) in enumerate(groups.items()):
                # one ledger at a time: memory per ledger
                cards = make_cards(households, loaded.categories, numbers, printing,
                                   emergency, workers.builder(), lay if laid_out else None,
                                   workers.start, drawn_single=not duplex,
                                   describe=entry_data)
                # each book entry's data as kept with its card (found in the cache, or
                # worked out where it was made): none to work out again here
                kept_data = {card.household_id: card.described for card in cards
                               if card.described is not None}
                slots = [Slot(h, numbers[h.household_id], card.colour, card.page_count)
                         for h, card in zip(households, cards, strict=True)]
                grids_here = list(dict.fromkeys(grid_group(h) for h in households))
                skipped_here = skipped_by_group.get(name, [])
                plan = plan_ledger(
                    name, slots, {g: numbering.grids[g].retired for g in grids_here},
                    [numbering.grids[g].edition for g in grids_here], loaded.config,
                    printing.index_layout, printing.typesetter, emergency, duplex, described,
                    [loaded.config.card.words.format(
                        "skipped_household", household_id=h.household_id,
                        number=numbers[h.household_id]) for h in skipped_here],
                    file_names[name])
                for card, slot in zip(cards, slots, strict=True):
                    card.first_page = slot.first_page
                plan.cards, cards = cards, []  # the plan's alone: let go as they are written
                pages += compose_ledger(plan, printing, duplex, work / plan.file_name,
                                        advance, workers, position == len(groups) - 1)
                for group in grids_here:
                    entries = [book_entry(s.household, s, loaded, printing, duplex,
                                          kept_data.get(s.household.household_id))
                               for s in slots if grid_group(s.household) == group]
                    entries += [Entry(h.household_id, int(numbers[h.household_id]))
                                for h in skipped_here if grid_group(h) == group]
                    books.append(grid_book(numbering.grids[group], plan.file_name, entries,
                                           printing, duplex, partial))
                files.append(folder / plan.file_name)
                del cards, plan, slots, kept_data
            manifest = folder / MANIFEST  # the record last, then all at once
            if previous is not None:  # before it is published
                refuse_contradicting([*carried, *books], previous.folder)
            write_record(work, [*carried, *books])
            staged.publish()
    finally:
        workers.close()
    cache.prune()
    chosen_ids = {h.household_id for h in chosen}
    elsewhere = {p.household_id for p in loaded.dataset.errors} - chosen_ids
    skipped_problems = [p for p in blocking if p.severity is Severity.ERROR]
    unprinted = {name: [h.household_id for h in households]
                 for name, households in skipped_by_group.items() if name not in groups}
    return LedgerRun(folder, files, total_cards, pages, time.perf_counter() - started,
                     skipped_problems, len(elsewhere), manifest, unprinted,
                     [numbering.grids[g] for g in printed_grids], numbering.renamed)


def book_order(books: list[GridBook]) -> list[GridBook]:
    """Grid books in natural order of their names: the manifest's order."""
    return sorted(books, key=lambda b: natural_key(b.group))


def write_record(folder: Path, books: list[GridBook]) -> None:
    """The book of record (manifest.json) in `folder`, the grids in the manifest's order,
    written all at once (a run writes it last)."""
    write_atomic(folder / MANIFEST, manifest_bytes(book_order(books)))
