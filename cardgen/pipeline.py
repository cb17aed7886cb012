"""The one place the stages meet: read → validate → categorise → render → assemble → write."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cardgen import __version__
from cardgen.assemble import (
    group_households,
    ledger_numbers,
    ledger_order,
    manifest_entry,
    merge_pdfs,
    plan_ledger,
)
from cardgen.batch import Chunk, RenderJob, render_chunks, split
from cardgen.cards import Card, build_card
from cardgen.categorise import categorise_all
from cardgen.config import Config
from cardgen.errors import DataRefused, NothingSelected, UsageError
from cardgen.glyphs import missing_glyphs
from cardgen.model import Category, Dataset, Household, Problem, Severity
from cardgen.read import read_records
from cardgen.render import DocInfo, PrintOptions, Renderer, font_files
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


def describe_selection(selection: Selection, loaded: Loaded) -> str:
    parts = []
    if selection.colours:
        parts.append("颜色 " + "、".join(loaded.config.palette[c].char for c in selection.colours))
    if selection.flags:
        parts.append("特殊情况 " + "、".join(dict.fromkeys(selection.flags)))
    if selection.grids:
        parts.append("网格 " + "、".join(selection.grids))
    if selection.households:
        parts.append(f"指定 {len(selection.households)} 户")
    return "；".join(parts)


def prepare_folder(folder: Path) -> None:
    """The output folder must exist or be creatable in an existing parent, and be writable."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder; give a folder with -o")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise UsageError(f"{folder.parent} does not exist; create it first or choose "
                             "another output folder")
        try:
            folder.mkdir()
        except OSError as exc:
            raise UsageError(f"cannot create {folder} ({exc.strerror})") from None
    probe = folder / ".cardgen-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        raise UsageError(f"{folder} is not writable; choose another output folder") from None


def ledger(loaded: Loaded, selection: Selection, folder: Path, by: str = "grid",
           emergency: bool = False, duplex: bool = False, skip_invalid: bool = False,
           jobs: int = 1, templates: Path | None = None, options: PrintOptions | None = None,
           progress: Callable[[int, int], None] | None = None) -> LedgerRun:
    """One PDF per group: cover, index, then the cards in address order; and a manifest."""
    started = time.perf_counter()
    options = options or PrintOptions()
    prepare_folder(folder)
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    blocking = loaded.errors_of(chosen) + missing_glyphs(chosen, loaded.config)
    bad_ids = {p.household_id for p in blocking}
    if blocking and not skip_invalid:
        raise DataRefused(f"ledger: {len(bad_ids)} household(s) have errors; nothing was "
                          "written (fix them, or use --skip-invalid to print the rest)",
                          blocking)
    printable = [h for h in chosen if h.household_id not in bad_ids]
    skipped_households = [h for h in chosen if h.household_id in bad_ids]
    if not printable:
        raise NothingSelected("ledger: every selected household has errors; nothing was "
                              "written")

    renderer = Renderer(loaded.config, templates, options)
    render_key = "|".join([__version__, loaded.config.fingerprint, repr(options),
                           renderer.template_fingerprint])
    groups = group_households(printable, by)
    skipped_by_group = group_households(skipped_households, by)
    taken: set[str] = set()
    plans = []
    for name, households in groups.items():
        cards = make_cards(loaded, households, renderer, emergency)
        skipped = [f"{h.household_id}（{loaded.numbers[h.household_id]}）"
                   for h in ledger_order(skipped_by_group.get(name, []))]
        plans.append(plan_ledger(name, households, cards, loaded.config, renderer.layout,
                                 emergency, duplex, describe_selection(selection, loaded),
                                 skipped, taken))

    total_cards = sum(len(plan.cards) for plan in plans)
    done = 0

    def advance(cards: int) -> None:
        nonlocal done
        done += cards
        if progress:
            progress(done, total_cards)

    work = Path(tempfile.mkdtemp(prefix=".cardgen-", dir=folder))
    try:
        doc = DocInfo("五色户卡台账", loaded.today, duplex)
        chunks: dict[int, list[Chunk]] = {}
        for number, plan in enumerate(plans):
            chunks[number] = [Chunk((number, index), cards, work / f"{number}-{index}.pdf")
                              for index, cards in enumerate(split(plan.cards))]
        job = RenderJob(loaded.config, templates, options, doc)
        if progress:
            progress(0, total_cards)
        render_chunks([c for group in chunks.values() for c in group], job, jobs, advance,
                      renderer)
        files, entries, pages = [], [], 0
        paper = renderer.layout.paper
        page_size = (paper.width / 25.4 * 72, paper.height / 25.4 * 72)
        for number, plan in enumerate(plans):
            front = work / f"{number}-front.pdf"
            front.write_bytes(renderer.front_pdf(plan, DocInfo(
                f"五色户卡台账 {plan.title}", loaded.today, duplex)))
            staged = work / plan.file_name
            pages += merge_pdfs([front, *(c.path for c in chunks[number])], plan.blank_pages,
                                page_size, staged, f"五色户卡台账 {plan.title}",
                                loaded.today.isoformat(), font_files(loaded.config))
            entries.append(manifest_entry(plan, plan.title, render_key))
            files.append(folder / plan.file_name)
        for plan in plans:
            (work / plan.file_name).replace(folder / plan.file_name)
        manifest = folder / "manifest.json"
        write_atomic(manifest, (json.dumps({"ledgers": entries}, ensure_ascii=False,
                                           indent=2) + "\n").encode())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    chosen_ids = {h.household_id for h in chosen}
    elsewhere = {p.household_id for p in loaded.dataset.errors} - chosen_ids
    skipped_problems = [p for p in blocking if p.severity is Severity.ERROR]
    return LedgerRun(folder, files, total_cards, pages, time.perf_counter() - started,
                     skipped_problems, len(elsewhere), manifest)
