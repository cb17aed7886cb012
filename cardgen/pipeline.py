"""The one place the stages meet: read → validate → categorise → layout → draw/compose →
assemble → write. The CLI and the web page call these functions only."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cardgen.book.ledger import (
    LedgerPlan,
    group_households,
    ledger_numbers,
    ledger_order,
    manifest_entry,
    plan_ledger,
)
from cardgen.cache import Cache
from cardgen.config import Config, Sheet
from cardgen.data.categorise import categorise_all
from cardgen.data.flags import shown_flag
from cardgen.data.model import Category, Dataset, Household
from cardgen.data.read import read_records
from cardgen.data.select import Selection, find_households, select_households
from cardgen.data.validate import validate_records
from cardgen.errors import (
    DataRefused,
    InputError,
    NothingSelected,
    Problem,
    Severity,
    UsageError,
)
from cardgen.frame.render import (
    DocInfo,
    Frame,
    PrintOptions,
    check_options,
)
from cardgen.layout.cards import Card
from cardgen.layout.fonts import coverage, font_set
from cardgen.layout.geometry import MM
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.compose import Composer
from cardgen.pdf.print_run import (
    PrintRun,
    add_card,
    add_drawn_page,
    card_frame,
    drawn_cards,
    index_page_data,
    make_cards,
)
from cardgen.workers import Setup, Workers
from cardgen.write import atomic_file, check_output, write_atomic


@dataclass
class Loaded:
    """The input after the read, validate and categorise stages."""

    source: Path
    config: Config
    today: dt.date
    dataset: Dataset
    categories: dict[str, Category]
    numbers: dict[str, str]  # household number -> ledger number NNN/MMM
    cache: Cache = field(default_factory=lambda: Cache(None))

    def errors_of(self, households: list[Household]) -> list[Problem]:
        chosen = {h.household_id for h in households}
        return [p for p in self.dataset.errors if p.household_id in chosen]


def load(source: Path, config: Config, today: dt.date, sheet_name: str | None = None,
         cache: Cache | None = None) -> Loaded:
    """Read, validate (characters no configured font has included) and categorise."""
    records = read_records(source, config, sheet_name)
    dataset = validate_records([records], config, today, coverage(config, cache))
    categories, problems = categorise_all(dataset.households, config, today)
    dataset.problems.extend(problems)
    return Loaded(source, config, today, dataset, categories,
                  ledger_numbers(dataset.households), cache or Cache(None))


@dataclass
class Printed:
    """What a command wrote, for its summary line."""

    path: Path
    households: int
    pages: int
    errors_elsewhere: int = 0
    warnings: list[Problem] = field(default_factory=list)


def check_file(loaded: Loaded, what: str) -> None:
    """Refuse to print from a file with errors that belong to no household (two columns
    meaning one field, a wrong JSON shape): every card could come out wrong."""
    errors = [p for p in loaded.dataset.errors if p.household_id is None]
    if errors:
        raise DataRefused(f"{what}: the file itself has errors (not one household's); "
                          "nothing was written", errors)


def check_printable(loaded: Loaded, households: list[Household], what: str) -> None:
    """Refuse to draw households that have errors (characters no font has among them)."""
    check_file(loaded, what)
    errors = loaded.errors_of(households)
    if errors:
        raise DataRefused(f"{what}: {len({p.household_id for p in errors})} selected "
                          f"household(s) have errors; nothing was written", errors)


def warnings_of(loaded: Loaded, chosen: list[Household]) -> list[Problem]:
    """The warnings that concern the chosen households, and those about the whole file."""
    ids = {h.household_id for h in chosen}
    return [p for p in loaded.dataset.warnings if p.household_id is None or p.household_id in ids]


def cards_document(loaded: Loaded, chosen: list[Household], printing: PrintRun, emergency: bool,
                   out: IO[bytes]) -> list[Card]:
    """The cards of `chosen`, in that order, as one finished PDF (imposed if asked)."""
    cards = make_cards(chosen, loaded.categories, loaded.numbers, printing, emergency)
    frames = list(dict.fromkeys(card_frame(card, page.number, False)
                                for card in cards for page in card.pages))
    composer = printing.composer(out)
    try:
        composer.add_frames(printing.frames(frames))
        for data in drawn_cards(cards, printing, duplex=False):
            add_card(composer, printing, data)
        title = "五色户卡 " + (chosen[0].household_id if len(chosen) == 1
                             else f"{len(chosen)}户")
        composer.finish(title, loaded.today.isoformat(), printing.options.pdf_variant)
    finally:
        composer.close()
    return cards


def reprint(loaded: Loaded, selection: Selection, out: Path, emergency: bool = False,
            templates: Path | None = None, options: PrintOptions | None = None,
            cache: Cache | None = None) -> Printed:
    """The selected households' cards as one PDF, in input order."""
    check_output(out, [loaded.source])
    cache = cache or Cache(None)
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "reprint")
    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
    with atomic_file(out) as handle:
        cards = cards_document(loaded, chosen, printing, emergency, handle)
    elsewhere = {p.household_id for p in loaded.dataset.errors} - \
        {h.household_id for h in chosen}
    pages = sum(c.page_count for c in cards)
    return Printed(out, len(chosen), printing.sheets(1, pages)[1], len(elsewhere),
                   warnings_of(loaded, chosen))


def preview(loaded: Loaded, household: str, out: Path, dpi: int = 110,
            emergency: bool = False, templates: Path | None = None,
            options: PrintOptions | None = None, cache: Cache | None = None) -> Printed:
    """A PNG of one household's card (its pages one under another), drawn in-process."""
    import pypdfium2
    from PIL import Image

    check_output(out, [loaded.source])
    cache = cache or Cache(None)
    chosen = select_households(loaded.dataset.households, loaded.categories,
                               Selection(households=(household,)))
    check_printable(loaded, chosen, "preview")
    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
    pdf = io.BytesIO()
    cards_document(loaded, chosen, printing, emergency, pdf)
    document = pypdfium2.PdfDocument(pdf.getvalue())
    try:
        images = [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()
    gap = max(1, dpi // 10)
    sheet = Image.new("RGB", (max(i.width for i in images),
                              sum(i.height for i in images) + gap * (len(images) - 1)),
                      (200, 200, 200))
    top = 0
    for image in images:
        sheet.paste(image, (0, top))
        top += image.height + gap
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=False)
    write_atomic(out, buffer.getvalue())
    return Printed(out, 1, len(images), 0, warnings_of(loaded, chosen))


def stickers(loaded: Loaded, selection: Selection, out: Path, sheet: Sheet, skip: int = 0,
             cache: Cache | None = None) -> Printed:
    """Label sheets: a colour-tab label and flag stickers per household, in ledger order."""
    from cardgen.pdf.stickers import draw_sheet, labels_for, place

    check_output(out, [loaded.source])
    if not 0 <= skip < sheet.labels:
        raise UsageError(f"--skip {skip}: a {sheet.name} sheet has {sheet.labels} labels; "
                         f"skip 0 to {sheet.labels - 1}")
    cache = cache or Cache(None)
    chosen = ledger_order(select_households(loaded.dataset.households, loaded.categories,
                                            selection))
    check_printable(loaded, chosen, "stickers")
    typesetter = Typesetter(font_set(loaded.config, cache))
    labels = labels_for(chosen, loaded.categories, loaded.numbers, loaded.config)
    with atomic_file(out) as handle:
        composer = Composer(handle, (sheet.page[0] * MM, sheet.page[1] * MM),
                            typesetter.fonts.by_family(), cache)
        try:
            for placed in place(labels, sheet, skip):
                canvas = Canvas(sheet.page[1], composer.log)
                draw_sheet(canvas, sheet, placed, typesetter)
                composer.add_data_page(canvas.content())
            composer.finish(f"五色户卡贴纸 {len(chosen)}户", loaded.today.isoformat())
            pages = composer.page_count
        finally:
            composer.close()
    return Printed(out, len(chosen), pages, 0, warnings_of(loaded, chosen))


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


def describe_selection(selection: Selection, loaded: Loaded) -> str:
    parts = []
    if selection.colours:
        parts.append("颜色 " + "、".join(loaded.config.palette[c].char for c in selection.colours))
    if selection.flags:
        shown = (shown_flag(flag, loaded.config) for flag in selection.flags)
        parts.append("特殊情况 " + "、".join(dict.fromkeys(shown)))  # sub-types stay hidden
    if selection.grids:
        parts.append("网格 " + "、".join(selection.grids))
    if selection.households:
        parts.append(f"指定 {len(selection.households)} 户")
    return "；".join(parts)


def check_folder(folder: Path) -> None:
    """The output folder must exist or be creatable in an existing parent, and be writable.

    Nothing is created here: a ledger refused for its data leaves no empty folder."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder; give a folder with -o")
    if not folder.exists() and not folder.parent.is_dir():
        raise UsageError(f"{folder.parent} does not exist; create it first or choose "
                         "another output folder")
    if not os.access(folder if folder.exists() else folder.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{folder if folder.exists() else folder.parent} is not writable; "
                         "choose another output folder")


def prepare_folder(folder: Path) -> None:
    """Create the (checked) output folder and make sure a file can be written in it."""
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {folder} ({exc.strerror})") from None
    probe = folder / ".cardgen-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        raise UsageError(f"{folder} is not writable; choose another output folder") from None


def ledger_frames(plan: LedgerPlan, duplex: bool) -> list[Frame]:
    """The frames a ledger's pages stand on (the cover has its own page)."""
    frames = [Frame("", verso=duplex and page % 2 == 0) for page in plan.blank_pages]
    frames += [Frame("", verso=duplex and (plan.index_first_page + i) % 2 == 0)
               for i in range(len(plan.index_pages))]
    frames += [card_frame(card, page.number, duplex) for card in plan.cards
               for page in card.pages]
    return list(dict.fromkeys(frames))


def compose_ledger(plan: LedgerPlan, number: int, covers: bytes, printing: PrintRun,
                   duplex: bool, out: Path,
                   advance: Callable[[int], None] | None,
                   workers: Workers | None = None) -> int:
    """One ledger PDF: cover, index, cards (and duplex blanks) in planned page order."""
    with out.open("wb") as handle:
        return _compose_ledger(plan, number, covers, printing, duplex, handle, advance, workers)


def _compose_ledger(plan: LedgerPlan, number: int, covers: bytes, printing: PrintRun,
                    duplex: bool, out: IO[bytes], advance: Callable[[int], None] | None,
                    workers: Workers | None) -> int:
    composer = printing.composer(out)
    try:
        composer.add_frames(printing.frames(ledger_frames(plan, duplex)))
        composer.add_pdf(covers, page=number)
        index_pages = dict(enumerate(plan.index_pages, plan.index_first_page))
        first_pages = {card.first_page: card for card in plan.cards}
        drawn = drawn_cards(plan.cards, printing, duplex, workers.drawer() if workers else None)
        page = 2
        while page <= plan.total_pages:
            verso = duplex and page % 2 == 0
            if page in plan.blank_pages:
                composer.add_data_page(b"", Frame("", verso=verso))
                page += 1
            elif page in index_pages:
                position = page - plan.index_first_page + 1
                add_drawn_page(composer, printing, index_page_data(
                    plan, index_pages[page], position, page, verso, printing),
                    Frame("", verso=verso))
                page += 1
            else:
                card = first_pages[page]
                add_card(composer, printing, next(drawn))
                if advance:
                    advance(1)
                page += card.page_count
        composer.finish(f"五色户卡台账 {plan.title}", printing.words.date,
                        printing.options.pdf_variant)
        return printing.sheets(1, composer.page_count)[1]
    finally:
        composer.close()


def ledger(loaded: Loaded, selection: Selection, folder: Path, by: str = "grid",
           emergency: bool = False, duplex: bool = False, skip_invalid: bool = False,
           jobs: int = 1, templates: Path | None = None, options: PrintOptions | None = None,
           progress: Callable[[int, int], None] | None = None,
           cache: Cache | None = None) -> LedgerRun:
    """One PDF per group: cover, index, then the cards in address order; and a manifest."""
    started = time.perf_counter()
    cache = cache or Cache(None)
    check_options(loaded.config, options or PrintOptions(), duplex)
    check_folder(folder)
    check_file(loaded, "ledger")  # --skip-invalid cannot skip these
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    blocking = loaded.errors_of(chosen)
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
    prepare_folder(folder)

    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
    groups = group_households(printable, by)
    skipped_by_group = group_households(skipped_households, by)
    total_cards = len(printable)
    done = 0

    def advance(cards: int) -> None:
        nonlocal done
        done += cards
        if progress:
            progress(done, total_cards)

    if progress:
        progress(0, total_cards)
    doc = DocInfo("五色户卡台账", loaded.today, duplex)
    taken: set[str] = set()
    workers = Workers(Setup(loaded.config, printing.options, templates, loaded.today,
                            cache.folder, cache.max_bytes // 2**20), jobs)
    work = Path(tempfile.mkdtemp(prefix=".cardgen-", dir=folder))
    try:
        files, entries, pages = [], [], 0
        for name, households in groups.items():  # one ledger at a time: memory per ledger
            cards = make_cards(households, loaded.categories, loaded.numbers, printing,
                               emergency, workers.builder())
            skipped = [f"{h.household_id}（{loaded.numbers[h.household_id]}）"
                       for h in ledger_order(skipped_by_group.get(name, []))]
            plan = plan_ledger(name, households, cards, loaded.config, printing.layout,
                               printing.typesetter, emergency, duplex,
                               describe_selection(selection, loaded), skipped, taken)
            covers = printing.covers([plan], doc)
            pages += compose_ledger(plan, 0, covers, printing, duplex, work / plan.file_name,
                                    advance, workers)
            entries.append(manifest_entry(plan, plan.title, {
                card.household_id: printing.sheets(card.first_page, card.page_count)
                for card in plan.cards}))
            files.append(folder / plan.file_name)
            del cards, plan
        for path in files:
            (work / path.name).replace(path)
        manifest = folder / "manifest.json"
        write_atomic(manifest, (json.dumps({"ledgers": entries}, ensure_ascii=False,
                                           indent=2) + "\n").encode())
    finally:
        workers.close()
        shutil.rmtree(work, ignore_errors=True)
    cache.prune()
    chosen_ids = {h.household_id for h in chosen}
    elsewhere = {p.household_id for p in loaded.dataset.errors} - chosen_ids
    skipped_problems = [p for p in blocking if p.severity is Severity.ERROR]
    unprinted = {name: [h.household_id for h in ledger_order(households)]
                 for name, households in skipped_by_group.items() if name not in groups}
    return LedgerRun(folder, files, total_cards, pages, time.perf_counter() - started,
                     skipped_problems, len(elsewhere), manifest, unprinted)


def validation_report(loaded: Loaded) -> dict[str, object]:
    """What `validate --format json` prints (DOMAIN §6): counts and every problem."""
    dataset = loaded.dataset
    return {"ok": not dataset.errors, "households": len(dataset.households),
            "members": sum(len(h.members) for h in dataset.households),
            "problems": [p.as_dict() for p in dataset.problems]}


def unreadable_report(error: InputError, source: str) -> dict[str, object]:
    """The `validate --format json` object of a file that cannot be read at all."""
    return {"ok": False, "households": 0, "members": 0, "problems": [
        {"severity": "error", "code": error.code, "source": source, "sheet": None, "row": None,
         "column": None, "field": None, "value": None, "message": str(error)}]}


@dataclass(frozen=True)
class Found:
    """A household as a search lists it: what tells it apart, sensitive flags as their
    category (重点人员), and whether it has errors (then it cannot be printed)."""

    household_id: str
    number: str
    community: str
    grid: str
    address: str
    head: str
    colour: str
    flags: tuple[str, ...]
    errors: int


def search(loaded: Loaded, query: str, limit: int) -> tuple[list[Found], int]:
    """The first `limit` households found by 户编号, name or address, and how many there are."""
    found = find_households(loaded.dataset.households, query)
    errors: dict[str | None, int] = {}
    for problem in loaded.dataset.errors:
        errors[problem.household_id] = errors.get(problem.household_id, 0) + 1
    listed = []
    for household in found[:limit]:
        number = household.household_id
        head = household.head
        flags = (shown_flag(flag, loaded.config) for member in household.members
                 for flag in member.flags)
        listed.append(Found(number, loaded.numbers[number], household.community, household.grid,
                            household.full_address, head.name if head else "",
                            loaded.categories[number].key, tuple(dict.fromkeys(flags)),
                            errors.get(number, 0)))
    return listed, len(found)
