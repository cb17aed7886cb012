"""The desk's worker processes: a spawn pool for the quick work (read a register, draw a card,
its preview or its stickers, check an upload) and one spawned process per job (a grid's
ledger, an emergency batch, a sticker sheet), so that the server stays responsive while
WeasyPrint draws.

Pool workers keep the registers they read, keyed by the file's stamp, and answer with bytes
or a `Failure`. A job process reports its progress through a pipe — the stage it is at
(STAGES) and the households drawn so far — and is terminated when its job is cancelled: by
the page, or because nobody asked about it for a while (the page asks twice a second; its
tab was closed).

A job of every grid is no bigger in memory than its biggest grid: the ledger draws one grid's
book at a time, and the zip is written a grid's PDF at a time (each deleted once in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import tempfile
import time
import zipfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal

from cardgen.config import Config
from cardgen.data.read import SheetChoice
from cardgen.errors import CardgenError
from cardgen.memory import give_back
from cardgen.web.failures import Busy, Failed, Failure, NotFound, failure_of, internal_failure

Stamp = tuple[int, int, int]
PREVIEW_DPI = 96  # an A4 card 794 px wide: sharp in the page's preview at 1366×768
KEPT_REGISTERS = 4  # registers (versions) a pool worker keeps read
DRAWN_KEPT_MB = 16  # drawings the server keeps: ~170 previews (94 KB) or ~500 cards (33 KB)


def stamp_of(path: Path) -> Stamp | None:
    """What tells that a register file changed: its modification time, size and inode."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


@dataclass(frozen=True)
class Settings:
    """What every process of the desk reads registers and draws cards with."""

    config: Config
    templates: Path | None
    date: dt.date | None  # --date; None: the day of each request
    sheet_name: SheetChoice | str | None  # --sheet-name
    book: Path | None  # --book: the book of record reprints will carry the numbers of
    language: str
    scratch: Path  # the desk's private temporary folder (mode 0700), removed at exit

    def today(self) -> dt.date:
        return self.date or dt.date.today()


# ---- in a pool worker ----------------------------------------------------------------------

_settings: Settings | None = None
_registers: dict[tuple[Path, Stamp | None, dt.date], Any] = {}  # -> pipeline.Loaded


def _start_worker(settings: Settings) -> None:
    global _settings
    from cardgen.i18n import set_language
    from cardgen.printing.workers import leave_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    leave_with_parent()
    set_language(settings.language)
    _settings = settings
    import cardgen.pipeline  # WeasyPrint and Pango load once, before a request
    cardgen.pipeline.import_all()
    from cardgen.frame.render import keep_renderers

    keep_renderers()  # the styles parsed and the fonts loaded once a worker, not once a card


def _read(path: Path, today: dt.date, stamp: Stamp | None = None) -> Any:
    """The register at `path` as of `today`, read again when its file changed."""
    from cardgen.cache import Cache
    from cardgen.pipeline.register import load

    assert _settings is not None
    stamp = stamp or stamp_of(path)
    found = _registers.get((path, stamp, today))
    if found is None:
        config = _settings.config
        found = load(path, config, today, _settings.sheet_name,
                     Cache.open(config, _settings.templates))
        for kept in [k for k in _registers if k[0] == path]:  # an older version
            del _registers[kept]
        while len(_registers) >= KEPT_REGISTERS:
            del _registers[next(iter(_registers))]
        _registers[(path, stamp, today)] = found
        give_back()  # what reading took beyond what it keeps
    return found


def _answer(work: Callable[[], Any]) -> Any:
    """`work()`, or the Failure that tells the browser why not."""
    try:
        return work()
    except CardgenError as error:
        return failure_of(error)
    except Exception as error:
        return internal_failure(error)


def read_register(path: Path, stamp: Stamp | None, today: dt.date) -> Any:
    """A served register, read (and kept) in a worker: the server's copy for searching."""
    return _answer(lambda: _read(path, today, stamp))


def check_upload(path: Path, today: dt.date) -> Any:
    """An uploaded spreadsheet read and validated: (the loaded data or None, the
    `validate --format json` object); the file is the caller's to delete."""
    from cardgen.cache import Cache
    from cardgen.errors import InputError
    from cardgen.pipeline.register import load
    from cardgen.pipeline.reports import validation_report
    from cardgen.problems import register_failure

    assert _settings is not None
    config = _settings.config

    def check() -> tuple[Any, dict[str, object]]:
        try:
            loaded = load(path, config, today, None, Cache.open(config, _settings.templates))
        except InputError as error:
            return None, register_failure(error.code, str(error), str(path))
        return loaded, validation_report(loaded)
    try:
        return _answer(check)
    finally:
        give_back()


Drawing = Literal["card", "preview", "stickers"]


@dataclass(frozen=True)
class CardWork:
    """One household's card (PDF), preview (PNG) or stickers (PDF), routine or emergency."""

    path: Path
    stamp: Stamp | None
    today: dt.date
    household: str
    drawing: Drawing
    emergency: bool


def draw(work: CardWork) -> Any:
    """The bytes `cardgen reprint` (preview, stickers) writes for the same household and
    options, --book included."""
    from cardgen.data.select import Selection
    from cardgen.layout.geometry import PrintOptions
    from cardgen.pipeline.cards import preview, reprint, stickers

    assert _settings is not None
    settings = _settings

    def drawn() -> bytes:
        loaded = _read(work.path, work.today, work.stamp)
        chosen = Selection(households=(work.household,))
        with tempfile.TemporaryDirectory(dir=settings.scratch) as folder:
            out = Path(folder) / "drawn"
            if work.drawing == "card":
                reprint(loaded, chosen, out, work.emergency, settings.templates,
                        PrintOptions(), loaded.cache, settings.book)
            elif work.drawing == "preview":
                preview(loaded, work.household, out, PREVIEW_DPI, work.emergency,
                        settings.templates, PrintOptions(), loaded.cache, settings.book)
            else:
                config = loaded.config
                stickers(loaded, chosen, out, config.stickers.sheet(), 0,
                         loaded.cache, settings.book)
            return out.read_bytes()
    try:
        return _answer(drawn)
    finally:
        give_back()


def warm(paths: list[Path], today: dt.date, geometry: bool = False) -> None:
    """Read the registers in a fresh worker, and make ready what drawing any card needs —
    the fonts' metrics, PDFium, Pillow and the font subsetters loaded, the numbers worked
    out (a first print's, or --book's) — so that the first card asked for is quick (its
    CPU 0.17–0.26 s → 0.12–0.14 s without a book, measured on 1,000 households with the
    frames cached); `geometry`: then the geometry pass (`warm_geometry`)."""
    for path in paths:
        _answer(partial(_read, path, today))
    _answer(_ready_to_draw)
    if geometry:
        warm_geometry(today)


def _ready_to_draw() -> None:
    # what a card's font subsets use (cardgen/pdf/subset.py): 0.1-0.2 s of the first card
    import fontTools.cffLib
    import fontTools.ttLib  # noqa: F401
    import pypdfium2  # noqa: F401
    import uharfbuzz  # noqa: F401
    from PIL import Image  # noqa: F401

    from cardgen.layout.fonts import font_set
    from cardgen.pipeline.register import numbered

    assert _settings is not None
    for loaded in _registers.values():
        font_set(loaded.config, loaded.cache)
        with contextlib.suppress(CardgenError):  # a book that cannot be used: said per card
            numbered(loaded, _settings.book)


def warm_geometry(today: dt.date) -> None:
    """The geometry pass of routine cards (frame/render.py `probe`), which every card drawn
    needs first, laid out while the desk starts when the cache (or `cardgen prepare`) does
    not have it, by one worker as it warms up (the others answer the first requests: no
    task of its own waits in the pool's queue before them); the
    Renderer it makes is kept for that worker's frames (keep_renderers). Emergency cards
    (the desk's other mode) are left to their first card; a template mistake is said by
    the first card, too."""
    _answer(partial(_geometry, today))


def _geometry(today: dt.date) -> None:
    from cardgen.cache import Cache
    from cardgen.layout.geometry import PrintOptions
    from cardgen.printing.run import PrintRun

    assert _settings is not None
    config = _settings.config
    cache = next((loaded.cache for loaded in _registers.values()), None) or \
        Cache.open(config, _settings.templates)
    if cache.folder is None:  # nowhere to keep it: the first card lays it out
        return
    PrintRun.start(config, PrintOptions(), _settings.templates, today, cache).geometry(False)


# ---- in the server -------------------------------------------------------------------------

class Pool:
    """The spawn pool, with a bound on the work waiting for it."""

    def __init__(self, settings: Settings, workers: int, waiting: int) -> None:
        self.workers = workers
        self.waiting = waiting
        self.pending = 0
        context = multiprocessing.get_context("spawn")  # never fork a process with Pango
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                         initializer=_start_worker, initargs=(settings,))

    def start(self, paths: list[Path], today: dt.date) -> None:
        """Start every worker now (one task each) and let it read the registers; then one
        of them lays out the cards' geometry (the others are free for the first requests).
        Without it and without prepared frames, both workers laid out the geometry at their
        first card, and each made a Renderer for every card whose frame it lacked: 20
        previews asked for at once waited a median 0.5-0.8x as long with it, on a busy
        machine (benchmarks/serve.py; the first search came later, see the commit)."""
        for worker in range(self.workers):
            self._pool.submit(warm, paths, today, worker == 0)

    def give_back(self) -> None:
        """Have the worker hand back the memory it freed after answering: a register sent
        to the server is pickled after the task (and its give_back) ended, which left a
        worker of 10,000 households at 141 MiB instead of 119 (benchmarks/desk_job.py).
        Not waited for; queued behind the work asked before it; nothing once the pool
        is shut down (the desk stopping while a register was being read)."""
        with contextlib.suppress(RuntimeError):
            self._pool.submit(give_back)

    async def call(self, function: Callable[..., Any], *args: Any,
                   gone: Callable[[], Awaitable[None]] | None = None) -> Any:
        """`function(*args)` in a worker; a Failure it returns is raised as Failed. When
        `gone` (the client went away) finishes first, work not yet started is dropped."""
        if self.pending >= self.waiting:
            raise Busy(_busy_message())
        self.pending += 1
        future = self._pool.submit(function, *args)
        waiter = asyncio.wrap_future(future)
        watcher = asyncio.ensure_future(gone()) if gone else None
        try:
            if watcher is not None:
                await asyncio.wait({waiter, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if not waiter.done():
                    future.cancel()
                    raise ClientGone
            answer = await waiter
        finally:
            self.pending -= 1
            if watcher is not None:
                watcher.cancel()
        if isinstance(answer, Failure):
            raise Failed(answer)
        return answer

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


DrawnKey = tuple["CardWork", "Stamp | None"]  # what was drawn, from which book's manifest


class Drawn:
    """The drawings made lately (cards, previews, stickers), kept in the server by all they
    were drawn from — the register file's stamp, the day, the book's manifest, the household
    and mode — so that one asked for again is answered without waiting for a worker: twenty
    grid workers looking at cards share two CPUs, and a preview takes a worker ~0.1 s
    (measured: PNG encoding and PDFium rendering). The oldest go when more than `most` bytes
    are kept; a changed register or book has new keys, so nothing stale is answered."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.size = 0
        self._kept: OrderedDict[DrawnKey, bytes] = OrderedDict()

    def get(self, key: DrawnKey) -> bytes | None:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: DrawnKey, data: bytes) -> None:
        if len(data) > self.most // 4 or key in self._kept:
            return
        self._kept[key] = data
        self.size += len(data)
        while self.size > self.most:
            self.size -= len(self._kept.popitem(last=False)[1])


class ClientGone(Exception):
    """The browser closed the connection before its answer was ready."""


def _busy_message() -> str:
    from cardgen.i18n import _

    return _("the server is busy; try again in a moment")


# ---- jobs ----------------------------------------------------------------------------------

JobKind = Literal["ledger", "emergency", "update", "stickers", "emergency_kit"]
JOB_KINDS: tuple[JobKind, ...] = ("ledger", "emergency", "update", "stickers", "emergency_kit")
# What a job is doing, in order (the page says each in words): its process starting and
# taking the register over, the page layouts (slow only the first time: then cached), the
# households' cards laid out and drawn one by one (a grid's all laid out, then drawn), the
# PDF and zip being finished, the update packet compared and written, the stickers drawn,
# the emergency kit (roster, 明白卡 and cards, grid by grid) made.
STAGES = ("reading", "preparing", "layout", "cards", "merging", "packet", "stickers", "kit")
GATE = "CARDGEN_TEST_JOB_GATE"  # tests only: a folder; a job waits at its second household
# until a file `go` is in it, so that a test sees progress between 0 and the end


@dataclass(frozen=True)
class JobSpec:
    kind: JobKind
    selection: Any  # data.select.Selection
    skip_invalid: bool
    book: Path | None  # the book it continues (ledger, emergency, stickers) or updates


@dataclass(frozen=True)
class Result:
    path: Path
    media_type: str
    file_name: str
    changed: bool | None = None  # an update: whether anything changed since the book
    report: dict[str, Any] | None = None  # an update: its change list, per grid


@dataclass
class Job:
    id: str
    spec: JobSpec
    folder: Path
    total: int
    seen: float
    loaded: Any = None  # pipeline.Loaded, handed to the process when it starts
    state: str = "queued"  # queued running done failed cancelled
    stage: str = "reading"  # one of STAGES, while running
    done: int = 0  # households through the stage
    fraction: float = 0.0  # of the whole job, as the bar shows it
    finished: float | None = None
    process: BaseProcess | None = None
    pipe: Connection | None = None
    result: Result | None = None
    failure: Failure | None = None

    def status(self) -> dict[str, object]:
        answer: dict[str, object] = {"state": self.state, "stage": self.stage,
                                     "done": self.done, "total": self.total,
                                     "fraction": round(self.fraction, 4),
                                     "kind": self.spec.kind}
        if self.result is not None and self.result.changed is not None:
            answer["changed"] = self.result.changed
        if self.result is not None and self.result.report is not None:
            answer["report"] = self.result.report
        if self.failure is not None:
            answer["error"] = self.failure.body()
        return answer


def job_register(loaded: Any, chosen: list[Any], kind: JobKind, book: Path | None) -> Any:
    """The part of the register (a pipeline.Loaded) a job is handed: the grids of the
    households it prints (`chosen`), with every problem about them and about the file —
    what the job's checks and a first print's numbers look at, as the server found them in
    the whole register (a duplicate ID across grids included). Numbers continued from a book
    (and the update, which compares with one) look at every grid, so those jobs get it all.

    The job's process holds what it is handed, and the server pickles it to hand it over:
    with a grid of a 10,000-household register, the server's peak went 131 -> 94 MiB and
    the job's 239 -> ~218 MiB (benchmarks/desk_job.py)."""
    from cardgen.book.ledger import grid_group
    from cardgen.data.model import Dataset

    if book is not None or kind == "update":
        return loaded
    dataset = loaded.dataset
    grids = {grid_group(household) for household in chosen}
    households = [h for h in dataset.households if grid_group(h) in grids]
    if len(households) == len(dataset.households):
        return loaded
    ids = {h.household_id for h in households}
    problems = [p for p in dataset.problems if p.household_id is None or p.household_id in ids]
    return dataclasses.replace(
        loaded, dataset=Dataset(households, problems, dataset.sources),
        categories={key: category for key, category in loaded.categories.items()
                    if key in ids}, numberings={})


def run_job(settings: Settings, spec: JobSpec, loaded: Any, folder: Path,
            pipe: Connection) -> None:
    """A job in its own process: the output written in `folder`, told through `pipe` as
    ("progress", stage, done, total, fraction), then ("done", Result) or ("failed", Failure)."""
    from cardgen.i18n import set_language

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_language(settings.language)
    reporter = Reporter(pipe, os.environ.get(GATE))
    answer = _answer(lambda: _make(settings, spec, loaded, folder, reporter))
    pipe.send(("failed", answer) if isinstance(answer, Failure) else ("done", answer))
    pipe.close()


class Reporter:
    """A job's progress told to the server: a stage as soon as it starts, households a few
    times a second (not one message a card). A ledger's households count twice on the bar:
    laid out, then drawn."""

    def __init__(self, pipe: Connection, gate: str | None = None) -> None:
        self.pipe = pipe
        self.gate = Path(gate) if gate else None
        self.stage = ""
        self.laid = self.drawn = 0
        self.told = 0.0
        self.tell("reading", 0, 0)

    def tell(self, stage: str, done: int, total: int, fraction: float = 0.0) -> None:
        now = time.monotonic()
        changed = stage != self.stage
        self.stage = stage
        if changed or done in (0, total) or now - self.told >= 0.2:
            self.told = now
            self.pipe.send(("progress", stage, done, total, fraction))
        if self.gate is not None and stage == "cards" and done == 1 < total:
            self.pipe.send(("progress", stage, done, total, fraction))
            while not (self.gate / "go").exists():  # tests only (GATE)
                time.sleep(0.02)

    def _fraction(self, total: int) -> float:
        return (self.laid + self.drawn) / (2 * total) if total else 0.0

    def laid_out(self, laid: int, total: int) -> None:
        """A card laid out: the bar moves; the count stays that of the households drawn
        (finished), so that it never goes back when a grid's cards are laid out."""
        self.laid = laid
        self.tell("layout", self.drawn, total, self._fraction(total))

    def households(self, done: int, total: int) -> None:
        """The ledger's cards drawn: 0 before the first (the layouts come first)."""
        self.drawn = done
        if done == 0:
            self.tell("preparing", 0, total)
        else:
            self.tell("cards", done, total, self._fraction(total))


def _make(settings: Settings, spec: JobSpec, loaded: Any, folder: Path,
          reporter: Reporter) -> Result:
    from cardgen.layout.geometry import PrintOptions
    from cardgen.pipeline.cards import stickers
    from cardgen.pipeline.kit import KitRequest, emergency_kit
    from cardgen.pipeline.ledgers import LedgerRequest, ledger
    from cardgen.pipeline.updates import UpdateRequest, update

    if spec.kind == "stickers":
        out = folder / "stickers.pdf"
        config = loaded.config
        reporter.tell("stickers", 0, 0)
        printed = stickers(loaded, spec.selection, out, config.stickers.sheet(), 0,
                           loaded.cache, spec.book)
        reporter.tell("stickers", printed.households, printed.households)
        return Result(out, "application/pdf", "五色户卡贴纸.pdf")
    if spec.kind == "update":
        assert spec.book is not None
        reporter.tell("packet", 0, 0)
        updated = update(loaded, UpdateRequest(spec.book, folder / "update", spec.selection,
                                               skip_invalid=spec.skip_invalid,
                                               templates=settings.templates))
        changes = folder / "changes.json"  # the change list as `update --format json` says it
        report = updated.as_dict()
        changes.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                           encoding="utf-8")
        reporter.tell("merging", 0, 0)
        return Result(zipped(folder / "update.zip", [*updated.files, updated.manifest, changes]),
                      "application/zip", "五色户卡更新包.zip", updated.changed,
                      packet_report(report, updated.files))
    if spec.kind == "emergency_kit":
        reporter.tell("kit", 0, 0)
        kit = emergency_kit(loaded, KitRequest(
            folder / "kit", spec.selection, book=spec.book, skip_invalid=spec.skip_invalid,
            options=PrintOptions(), templates=settings.templates))
        reporter.tell("merging", 0, 0)
        roster = folder / "roster.json"  # the roster as `emergency --format json` says it
        roster.write_text(json.dumps(kit.as_dict(), ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")
        return Result(zipped(folder / "kit.zip", [*kit.files, roster]), "application/zip",
                      "五色户卡应急包.zip")
    books = folder / "books"
    run = ledger(loaded, LedgerRequest(
        books, spec.selection, book=spec.book, skip_invalid=spec.skip_invalid,
        emergency=spec.kind == "emergency", options=PrintOptions(),
        templates=settings.templates, jobs=1), reporter.households, reporter.laid_out)
    reporter.tell("merging", run.cards, run.cards, 1.0)
    if len(run.files) == 1:
        return Result(run.files[0], "application/pdf", run.files[0].name)
    name = "五色户卡应急台账.zip" if spec.kind == "emergency" else "五色户卡台账.zip"
    return Result(zipped(folder / "ledgers.zip", [*run.files, run.manifest]),
                  "application/zip", name)


def packet_report(report: dict[str, Any], files: list[Path]) -> dict[str, Any]:
    """The update's change list as the page shows it: per grid, how many of each kind of
    change and the changes themselves, and the packet's files."""
    return {**report, "files": [path.name for path in files]}


def zipped(archive: Path, files: list[Path]) -> Path:
    """The files in a zip, each deleted once in it: a district's ledgers take the disk once,
    and zipfile copies them in chunks (memory stays small)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:  # PDFs are compressed
        for path in files:
            out.write(path, path.name)
            path.unlink()
    return archive


class JobBoard:
    """The jobs: at most `running` at a time, `waiting` queued or running, results kept
    for `keep` seconds, a job nobody asked about for `abandon` seconds cancelled."""

    def __init__(self, settings: Settings, running: int = 1, waiting: int = 8,
                 abandon: float = 90.0, keep: float = 900.0) -> None:
        self.settings = settings
        self.running = running
        self.waiting = waiting
        self.abandon = abandon
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._context = multiprocessing.get_context("spawn")

    def active(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.state in ("queued", "running")]

    def submit(self, spec: JobSpec, loaded: Any, total: int) -> Job:
        if len(self.active()) >= self.waiting:
            raise Busy(_busy_message())
        job_id = secrets.token_urlsafe(12)
        folder = self.settings.scratch / "jobs" / job_id
        folder.mkdir(parents=True)
        job = Job(job_id, spec, folder, total, time.monotonic(), loaded)
        self.jobs[job_id] = job
        self.tick()
        return job

    def get(self, job_id: str) -> Job:
        """The job (its client is still there: it asked)."""
        job = self.jobs.get(job_id)
        if job is None:
            from cardgen.i18n import _

            raise NotFound(_("no such job (finished jobs are kept for {minutes} minutes)")
                           .format(minutes=round(self.keep / 60)))
        job.seen = time.monotonic()
        return job

    def cancel(self, job: Job) -> None:
        if job.state in ("queued", "running"):
            self._stop(job, "cancelled")

    def tick(self) -> None:
        """Hear the running jobs, start queued ones, drop abandoned and expired ones."""
        now = time.monotonic()
        for job in list(self.jobs.values()):
            if job.state == "running":
                self._hear(job)
            if job.state in ("queued", "running") and now - job.seen > self.abandon:
                self._stop(job, "cancelled")
            if job.finished is not None and now - job.finished > self.keep:
                shutil.rmtree(job.folder, ignore_errors=True)
                del self.jobs[job.id]
        for job in self.jobs.values():
            if job.state == "queued" and sum(
                    1 for other in self.jobs.values() if other.state == "running") < self.running:
                self._start(job)

    def _start(self, job: Job) -> None:
        receiving, sending = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_job, args=(self.settings, job.spec, job.loaded, job.folder, sending),
            name=f"cardgen-job-{job.spec.kind}", daemon=True)
        process.start()
        sending.close()
        job.process, job.pipe, job.loaded = process, receiving, None
        job.state = "running"
        give_back()  # what pickling the job's register took

    def _hear(self, job: Job) -> None:
        assert job.pipe is not None and job.process is not None
        try:
            while job.pipe.poll():
                message = job.pipe.recv()
                if message[0] == "progress":
                    job.stage, job.done, job.fraction = message[1], message[2], message[4]
                    job.total = message[3] or job.total
                elif message[0] == "done":
                    job.result = message[1]
                    job.done = job.total
                    self._end(job, "done")
                    return
                else:
                    job.failure = message[1]
                    self._end(job, "failed")
                    return
        except (EOFError, OSError):
            pass
        if not job.process.is_alive():  # it died without a word (killed, out of memory)
            from cardgen.i18n import _

            job.failure = Failure(500, "internal", _("the job's process ended unexpectedly"))
            self._end(job, "failed")

    def _end(self, job: Job, state: str) -> None:
        job.state = state
        job.finished = time.monotonic()
        if job.pipe is not None:
            job.pipe.close()
            job.pipe = None
        if job.process is not None:
            job.process.join(timeout=5)
            job.process = None

    def _stop(self, job: Job, state: str) -> None:
        if job.process is not None and job.process.is_alive():
            job.process.terminate()
            job.process.join(timeout=5)
            if job.process.is_alive():
                job.process.kill()
        job.loaded = None
        self._end(job, state)
        shutil.rmtree(job.folder, ignore_errors=True)

    def close(self) -> None:
        for job in self.active():
            self._stop(job, "cancelled")
        with contextlib.suppress(OSError):
            shutil.rmtree(self.settings.scratch / "jobs")


def private_folder() -> Path:
    """A folder only this user can enter (mkdtemp makes it 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="cardgen-serve-"))
    os.chmod(folder, 0o700)
    return folder

