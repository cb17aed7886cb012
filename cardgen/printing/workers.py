"""Parallel card work: building and drawing the cards the cache does not have, in chunks,
across worker processes (forked from a small run, else spawned) that each set up their fonts
once."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import gc
import marshal
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from cardgen.cache import Cache
from cardgen.config import Config
from cardgen.data.model import Category, Household
from cardgen.frame.helper import may_fork
from cardgen.layout.cards import Card
from cardgen.layout.geometry import Geometry, PrintOptions
from cardgen.memory import give_back, keep_large_apart, resident_bytes
from cardgen.printing.run import (
    Describe,
    IndexPage,
    Parallel,
    PrintRun,
    build_one,
    card_bundle,
    draw_card_data,
    index_page_data,
)

CHUNK = 25  # cards per task: big enough to amortise the hand-over, small enough to share
# (a card built and drawn takes some 2.5 ms: 100 a task left one worker up to 0.25 s alone
# at the end of a 1,000-card ledger, session 6)
INDEX_CHUNK = 2  # index pages per task: one takes about as long as drawing 25 cards (18 ms)

T = TypeVar("T")


@dataclass(frozen=True)
class Setup:
    """What a worker needs to make the same cards as the main process."""

    config: Config
    options: PrintOptions
    templates: Path | None
    today: dt.date
    cache: Cache  # the main process's, named alike (it is a folder, a bound and names)
    describe: Describe | None = None  # what a bundle keeps of its household (make_cards)


_printing: PrintRun | None = None
_describe: Describe | None = None


def _leave() -> None:
    """A worker's end (at exit, once its pool let it go): its streams flushed, no teardown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def leave_with_parent() -> None:
    """A worker ends when the process that started it is gone. A pool's workers share its
    queues' pipes, so when the main process is killed (kill -9, the OOM killer, a task
    manager's 结束进程) none of them sees the pipes close: they waited forever, each holding
    its fonts and caches (some 75 MB; seen after kill -9 of a ledger, session 7). The
    parent's sentinel (multiprocessing.parent_process) becomes readable when it dies, also
    under a subreaper, where the parent's pid would not say so."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


# Signals held back while workers start (Workers._handed_over), and let through in each
# worker once it has its own way with them (_start)
STOPPING = {signal.SIGINT, signal.SIGTERM}


def _start(setup: Setup) -> None:
    global _printing, _describe
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    # a forked worker has the main process's handler, which raises where the worker is
    # (a traceback on the terminal): a worker told to end just ends, as a spawned one does.
    # (Ignored, a SIGKILL of the other worker, the OOM killer's, left the pool's thread
    # waiting for this one for ever: it ends a broken pool's workers with SIGTERM.)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
    leave_with_parent()
    # a worker's work is in the cache and handed back when the pool closes: it leaves at
    # once rather than tear down its modules and caches one by one, which the main process
    # waited for at the end of every ledger (Workers.close: 0.16-0.37 s, session 6)
    atexit.register(_leave)
    _printing = PrintRun.start(setup.config, setup.options, setup.templates, setup.today,
                               setup.cache)
    _describe = setup.describe


def build_chunk(geometries: dict[bool, Geometry],
                work: list[tuple[Household, Category, str, bool, str, bool]]) -> list[bytes]:
    """Card data (marshal) for (household, category, ledger number, emergency, key,
    bundled): each card built, or, `bundled`, drawn too (one-sided) and handed back with
    its drawn pages as one cache entry's bytes (run.card_bundle): drawing it here as it is
    built spares handing it back and forth (session 6).

    The main process puts what comes back in the cache, not the workers (it waits for them
    meanwhile): two workers creating files in one cache folder at once, on a disk still
    busy with a deleted cache (the bench empties it before each cold case), took 0.6 ms a
    file, 1.2 s of a cold 1,000-card ledger's 5.6 s of worker time (cProfile, session 9).
    In 10 pairs that ledger took 0.92x the wall time so; on a quiet disk, the same."""
    assert _printing is not None
    _printing.geometries.update(geometries)  # the main process's: no second geometry pass
    built = []
    for household, category, number, emergency, source, bundled in work:
        card = build_one(household, category, number, emergency, _printing)
        data = marshal.dumps(card.to_data())
        if bundled:
            card.source_key = source
            values = (_describe(household, category, _printing.config)
                      if _describe is not None else None)
            data = card_bundle(card, data, draw_card_data(card, _printing, False), values)
        built.append(data)
    return built


def draw_chunk(geometries: dict[bool, Geometry],
               work: list[tuple[bytes, str, int, bool]]) -> list[bytes]:
    """Drawn pages (marshal, as the cache keeps them) for (card data, key, first page,
    duplex); the main process puts them in the cache (build_chunk)."""
    assert _printing is not None
    _printing.geometries.update(geometries)
    drawn = []
    for data, source, first_page, duplex in work:
        card = Card.from_data(marshal.loads(data), _printing.config)
        card.source_key = source
        card.first_page = first_page
        drawn.append(draw_card_data(card, _printing, duplex))
    return drawn


def index_chunk(geometries: dict[bool, Geometry], work: list[IndexPage]) -> list[bytes]:
    """Ledger index pages drawn (run.index_page_data, kept in the cache as the main process
    keeps them): the workers are idle while a ledger is composed, and its index pages were
    drawn in the main process alone, 229 of them (18 ms each) in a 10,000-household book."""
    assert _printing is not None
    _printing.geometries.update(geometries)
    with _printing.cache.packed("ledger-pages"):  # a pack, not two files a page
        return [index_page_data(index, _printing) for index in work]


def _in_order(futures: deque[Future[list[T]]]) -> Iterator[T]:
    """The tasks' results, task by task; the tasks not yet read are cancelled if the
    reader stops (as Executor.map's)."""
    try:
        while futures:
            # each task (and its results) let go of once read, not held to the last: a
            # 20,000-card book's card data came to 40 MiB of the main process (session 8)
            future = futures.popleft()
            yield from future.result()
    finally:
        for future in futures:
            future.cancel()


# A worker forked from this process shares its memory page by page: it starts at once, with
# every module and the fonts already here (a spawned worker imported cardgen for 0.2 s of
# CPU each: a cold 1,000-card ledger took 0.92x the wall time, 0.91x the CPU forked, in 10
# pairs, session 9), but the pages it shares count in its resident memory too. Forked only
# while this process is small: a 20,000-household book's main process held 129 MiB when
# its workers started, and forked workers took the book's peak (the sum over its processes,
# as benchmarks/bench.py measures it) from 289 to 409 MiB; a 1,000-household one held 52.
FORK_UNDER = 64 * 2**20  # bytes resident


def stopping() -> bool:
    """Whether a stop goes by where this is called (in a `finally` block): an exception that
    is no Exception, such as KeyboardInterrupt (Ctrl-C) or the CLI's Terminated (SIGTERM)."""
    error = sys.exc_info()[1]
    return error is not None and not isinstance(error, Exception)


def forking() -> bool:
    """Whether workers are forked from this process (else spawned): where the frame helper
    may be (frame/helper.may_fork: Linux, no other thread, no WeasyPrint loaded) and while
    this process is small (FORK_UNDER)."""
    if not may_fork():
        return False
    resident = resident_bytes()
    return resident is not None and resident < FORK_UNDER


class Workers:
    """A pool of worker processes (forked or spawned: `forking`), started on first use and
    closed by the caller."""

    def __init__(self, setup: Setup, jobs: int) -> None:
        self.setup = setup
        self.jobs = jobs
        # a run with workers is a long one (a ledger, a kit): this process's large blocks
        # (object streams, the offsets' arrays, a book's parent tree) mapped on their own
        keep_large_apart()
        self._pool: Executor | None = None

    def builder(self) -> Parallel | None:
        """Card building in the workers, or None with one job."""
        return partial(self._shared, build_chunk) if self.jobs > 1 else None

    def drawer(self) -> Parallel | None:
        """Card drawing in the workers, or None with one job."""
        return partial(self._shared, draw_chunk) if self.jobs > 1 else None

    @property
    def running(self) -> bool:
        """Whether the workers were started (and not closed)."""
        return self._pool is not None

    def index_drawer(self, work: list[IndexPage],
                     geometries: dict[bool, Geometry]) -> Iterator[bytes]:
        """`work`'s index pages drawn in the workers, in order, a few pages a task."""
        return self.map(partial(index_chunk, geometries), work, INDEX_CHUNK)

    def _shared(self, function: Callable[..., list[T]], items: Iterable[Any],
                geometries: dict[bool, Geometry]) -> Iterator[T]:
        return self.map(partial(function, geometries), items)

    def start(self) -> None:
        """Start every worker now, without waiting for them: they import and set up their
        fonts while this process does something else (the geometry pass, the frames). With
        one job, nothing."""
        if self.jobs > 1:
            self._pool_started(self.jobs)

    def _pool_started(self, tasks: int) -> Executor:
        if self._pool is None:
            give_back()  # what reading the register took and let go of, before the cards
            forked = forking()
            pool = ProcessPoolExecutor(max_workers=self.jobs,
                                       mp_context=multiprocessing.get_context(
                                           "fork" if forked else "spawn"),
                                       initializer=_start, initargs=(self.setup,))
            # a spawned pool starts a worker per task handed over while none is idle: one
            # empty task per worker starts them all at once; a forked pool starts them all
            # with its first task, here, with this process's objects frozen (gc.freeze): a
            # worker's collector then leaves the pages it shares with this process alone
            if forked:
                gc.freeze()
            try:
                self._handed_over(
                    lambda: [pool.submit(int) for _ in range(min(tasks, self.jobs))])
            finally:
                if forked:
                    gc.unfreeze()
            self._pool = pool
        return self._pool

    @staticmethod
    def _handed_over(hand_over: Callable[[], T]) -> T:
        # workers start as tasks are handed over, Ctrl-C and SIGTERM held back (a terminal
        # sends Ctrl-C to every process of the group) until each has set its own handling
        # (_start): the main process stops them, quietly. Held back here, not ignored: a
        # Ctrl-C ignored here while a task was handed over was lost, and the ledger went on
        # to the end (tests/reading/test_hostile_input.py, session 9)
        if not hasattr(signal, "pthread_sigmask"):  # no such system forks workers
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                return hand_over()
            finally:
                signal.signal(signal.SIGINT, previous)
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
        try:
            return hand_over()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def map(self, function: Callable[[list[Any]], list[T]],
            items: Iterable[Any], size: int = 0) -> Iterator[T]:
        """`function` over chunks of `items`, results in order, chunk by chunk. Each chunk
        is handed over as soon as `items` gives it (the workers start on it at once, while
        the rest is worked out: make_cards hashes households as it hands them over), the
        results come as the returned iterator is read. `size`: items a chunk (CHUNK)."""
        size = size or CHUNK
        tasks = -(-len(items) // size) if isinstance(items, Sized) else self.jobs
        pool = self._pool_started(tasks)
        futures: list[Future[list[T]]] = []
        chunk: list[Any] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == size:
                futures.append(self._handed_over(partial(pool.submit, function, chunk)))
                chunk = []
        if chunk:
            futures.append(self._handed_over(partial(pool.submit, function, chunk)))
        return _in_order(deque(futures))

    def close(self) -> None:
        """Close the pool: its tasks not begun cancelled, then the workers' ends waited for,
        but when it is closed as a stop goes by (`stopping`: Ctrl-C, SIGTERM, in a `finally`
        block). The same signal, sent to the whole process group, may have ended a worker
        halfway through handing back a result, and the pool's thread waited for the rest of
        it for ever, and this process with it (a CI run, and by hand 2 runs in 13 with the
        signal 1.8-2.0 s into a 1,500-household ledger, session 11). A stopped process
        leaves at once (cli/commands._leave), and a worker still there leaves as it sees its
        parent gone (leave_with_parent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=not stopping(), cancel_futures=True)
            self._pool = None
            give_back()  # what the cards' hand-over took (a ledger: before its file is written)
