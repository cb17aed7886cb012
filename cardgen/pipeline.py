"""The one place the stages meet: read → validate → categorise → layout → number → draw/compose
→ assemble → write. The CLI and the web page call these functions only; each command that
prints numbers takes `book` (the folder of a previous book, or None for a first print)."""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cardgen.book.changes import PENDING, Change, GridChanges, Packet, change_sheet, compare
from cardgen.book.fit import Renamed, align, check_fit, rename_grids
from cardgen.book.folder import Writing, check_book_folder, earlier_files, replaced_files
from cardgen.book.ledger import (
    LedgerPlan,
    Slot,
    grid_group,
    group_households,
    ledger_order,
    natural_key,
    plan_ledger,
    safe_file_name,
    update_file_names,
)
from cardgen.book.numbers import GridNumbers, Numbering, number_books
from cardgen.book.publish import folders_locked, publication
from cardgen.book.record import (
    CONTENT,
    MANIFEST,
    BookError,
    Content,
    Entry,
    GridBook,
    card_content,
    manifest_bytes,
    read_book,
    register_hash,
)
from cardgen.book.roster import RosterEntry
from cardgen.cache import Cache
from cardgen.config import Config, Sheet
from cardgen.data.categorise import categorise_all
from cardgen.data.flags import shown_flag
from cardgen.data.model import Category, Dataset, Household
from cardgen.data.read import SheetChoice, read_records
from cardgen.data.select import Selection, find_households, select_households
from cardgen.data.validate import validate_records
from cardgen.errors import (
    CardgenError,
    DataRefused,
    NothingSelected,
    Problem,
    Severity,
    UsageError,
)
from cardgen.frame.render import (
    Frame,
    PrintOptions,
    check_options,
)
from cardgen.i18n import _, ngettext
from cardgen.layout.cards import Card, has_visit_log
from cardgen.layout.changes import change_list
from cardgen.layout.fonts import coverage, font_set
from cardgen.layout.geometry import MM
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.compose import Composer
from cardgen.pdf.print_run import (
    PrintRun,
    add_card,
    add_cover,
    add_drawn_page,
    card_frame,
    card_frames,
    change_page_data,
    drawn_cards,
    index_page_data,
    make_cards,
)
from cardgen.workers import Setup, Workers
from cardgen.write import (
    atomic_file,
    check_output,
    private_folder,
    publish_folder,
    write_atomic,
)

if TYPE_CHECKING:
    from cardgen.pdf.stickers import Label


@dataclass
class Loaded:
    """The input after the read, validate and categorise stages, numbered as a first print
    would number it (the commands given a book number it again, with the book)."""

    source: Path
    config: Config
    today: dt.date
    dataset: Dataset
    categories: dict[str, Category]
    cache: Cache = field(default_factory=lambda: Cache(None))

    @functools.cached_property
    def numbering(self) -> Numbering:
        """A first print's numbers: each grid in address order."""
        return number_books(self.dataset.households, self.today)

    @property
    def numbers(self) -> dict[str, str]:
        """Household number -> book number ``017`` (a first print's)."""
        return self.numbering.numbers

    def errors_of(self, households: list[Household]) -> list[Problem]:
        chosen = {h.household_id for h in households}
        return [p for p in self.dataset.errors if p.household_id in chosen]


def load(source: Path, config: Config, today: dt.date,
         sheet_name: SheetChoice | str | None = None, cache: Cache | None = None) -> Loaded:
    """Read, validate (characters no configured font has included) and categorise;
    `sheet_name`: the sheet of a workbook to read, or a `SheetChoice` of several."""
    records = read_records(source, config, sheet_name)
    dataset = validate_records([records], config, today, coverage(config, cache))
    categories, problems = categorise_all(dataset.households, config, today)
    dataset.problems.extend(problems)
    return Loaded(source, config, today, dataset, categories, cache or Cache(None))


def open_book(loaded: Loaded, book: Path | None, renumber: bool = False,
              admitted: set[str] | None = None, legacy: bool = True, force: bool = False,
              writes: bool = False, renames: tuple[tuple[str, str], ...] = (),
              only: tuple[str, ...] = ()) -> Numbering:
    """The households' numbers: a first print's without a book, else the book's (DOMAIN
    §8). A print of selected households is no book; `legacy` False refuses a book in the
    first manifest format (it has numbers, but not what the cards showed).

    The book is checked (record.check_book; a new edition, `renumber`, only takes its
    edition's number from it), the register must fit it (book/fit.py: its households are
    read with the book's spelling of their grids), and a run that `writes` a book may not
    go back in time unless `force`. `renames` (--rename-grid OLD=NEW) gives grids of the
    book their new names: their numbers stay. `only` (--grid) are the grids the run
    changes: only they must fit."""
    register = register_hash(loaded.source) if loaded.source.is_file() else ""
    if book is None:
        if renumber:
            raise UsageError(_("--renumber starts a new edition of a book: give the book "
                               "with --book DIR"), code="book.renumber_without_book")
        return number_books(loaded.dataset.households, loaded.today, register)
    previous = read_book(book, check=not renumber)
    partial = sorted({g.selection for g in previous.grids.values() if g.selection})
    if partial:
        raise BookError(_("{folder} holds a print of selected households ({selection}), "
                          "not a whole book; give the folder of the grid's ledger").format(
            folder=book, selection="；".join(partial)), code="book.partial")
    if previous.legacy and not legacy:
        raise BookError(_(
            "{folder} holds a book written by an older cardgen: it keeps the numbers but not "
            "what each card showed, so an update cannot tell what changed. Bring it up to "
            "date once with `cardgen ledger INPUT --book {folder} -o {folder}` (the numbers "
            "stay), then update from it").format(folder=book), code="book.legacy_update")
    last = previous.last_update
    if writes and not force and last and loaded.today.isoformat() < last:
        raise UsageError(_(
            "--date {date} is before the book's last update ({last}, in {folder}): a book's "
            "dates go forward, or a retired number would be dated before it left. Give a "
            "later --date (or none: today), or add --force if the earlier date is meant"
            ).format(date=loaded.today.isoformat(), last=last, folder=book),
            code="book.date_backwards")
    renamed = [*rename_grids(previous, renames), *align(loaded.dataset.households, previous)]

    @functools.cache
    def content_of(household_id: str) -> Content:
        household = by_id[household_id]
        return card_content(household, loaded.categories[household_id], loaded.config)

    by_id = {h.household_id: h for h in loaded.dataset.households}
    check_fit(loaded.dataset.households, previous, str(loaded.source),
              lambda h: content_of(h.household_id), renumber, writes, only)
    numbering = number_books(loaded.dataset.households, loaded.today, register, previous,
                             renumber, admitted, lambda h: content_of(h.household_id))
    numbering.renamed = renamed
    numbering.content = lambda h: content_of(h.household_id)
    return numbering


def check_in_book(numbering: Numbering, chosen: list[Household], book: Path | None) -> None:
    """Refuse households the book does not have (new since it was printed)."""
    if book is None:
        return
    missing = [h.household_id for h in chosen if numbering.grid_of(h.household_id) is None
               or h.household_id in numbering.unbooked]
    if missing:
        raise NothingSelected(ngettext(
            "household {ids} is not in the book in {book} (it is new since the book was "
            "printed); run `cardgen update INPUT --book {book} -o NEWDIR` to give it a number "
            "and a card",
            "households {ids} are not in the book in {book} (they are new since the book was "
            "printed); run `cardgen update INPUT --book {book} -o NEWDIR` to give them "
            "numbers and cards", len(missing)).format(ids=_(", ").join(missing), book=book),
            code="book.not_in_book")


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
        raise DataRefused(_("{what}: the file itself has errors (not one household's); "
                            "nothing was written").format(what=what), errors,
                          code="data.file_errors")


def check_printable(loaded: Loaded, households: list[Household], what: str) -> None:
    """Refuse to draw households that have errors (characters no font has among them)."""
    check_file(loaded, what)
    errors = loaded.errors_of(households)
    if errors:
        raise DataRefused(ngettext(
            "{what}: {count} selected household has errors; nothing was written",
            "{what}: {count} selected households have errors; nothing was written",
            len({p.household_id for p in errors})).format(
            what=what, count=len({p.household_id for p in errors})), errors,
            code="data.household_errors")


def warnings_of(loaded: Loaded, chosen: list[Household]) -> list[Problem]:
    """The warnings that concern the chosen households, and those about the whole file."""
    ids = {h.household_id for h in chosen}
    return [p for p in loaded.dataset.warnings if p.household_id is None or p.household_id in ids]


def cards_document(loaded: Loaded, chosen: list[Household], printing: PrintRun, emergency: bool,
                   out: IO[bytes], numbers: Mapping[str, str] | None = None) -> list[Card]:
    """The cards of `chosen`, in that order, as one finished PDF (imposed if asked)."""
    cards = make_cards(chosen, loaded.categories, dict(numbers or loaded.numbers), printing,
                       emergency)
    frames = list(dict.fromkeys(card_frame(printing, card, page.number, False)
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
            cache: Cache | None = None, book: Path | None = None) -> Printed:
    """The selected households' cards as one PDF, in input order, with the book's numbers
    (`book`: the folder of the grid's book; without it, a first print's)."""
    check_output(out, [loaded.source])
    cache = cache or Cache(None)
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "reprint")
    numbering = open_book(loaded, book)
    check_in_book(numbering, chosen, book)
    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
    with atomic_file(out) as handle:
        cards = cards_document(loaded, chosen, printing, emergency, handle, numbering.numbers)
    elsewhere = {p.household_id for p in loaded.dataset.errors} - \
        {h.household_id for h in chosen}
    pages = sum(c.page_count for c in cards)
    return Printed(out, len(chosen), printing.sheets(1, pages)[1], len(elsewhere),
                   warnings_of(loaded, chosen))


def preview(loaded: Loaded, household: str, out: Path, dpi: int = 110,
            emergency: bool = False, templates: Path | None = None,
            options: PrintOptions | None = None, cache: Cache | None = None,
            book: Path | None = None) -> Printed:
    """A PNG of one household's card (its pages one under another), drawn in-process, with
    the book's number (a household new since the book shows the number it would get)."""
    import pypdfium2
    from PIL import Image

    check_output(out, [loaded.source])
    cache = cache or Cache(None)
    chosen = select_households(loaded.dataset.households, loaded.categories,
                               Selection(households=(household,)))
    check_printable(loaded, chosen, "preview")
    numbering = open_book(loaded, book)
    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
    pdf = io.BytesIO()
    cards_document(loaded, chosen, printing, emergency, pdf, numbering.numbers)
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
    sheet.save(buffer, format="PNG", optimize=False, dpi=(dpi, dpi))  # pHYs: prints at size
    write_atomic(out, buffer.getvalue())
    return Printed(out, 1, len(images), 0, warnings_of(loaded, chosen))


def stickers(loaded: Loaded, selection: Selection, out: Path, sheet: Sheet, skip: int = 0,
             cache: Cache | None = None, book: Path | None = None) -> Printed:
    """Label sheets: a colour-tab label and flag stickers per household, in book order,
    with the book's numbers (`book`, as for `reprint`)."""
    from cardgen.pdf.stickers import labels_for

    check_output(out, [loaded.source])
    check_skip(sheet, skip)
    cache = cache or Cache(None)
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "stickers")
    numbering = open_book(loaded, book)
    check_in_book(numbering, chosen, book)
    numbers = numbering.numbers
    chosen = ledger_order(chosen, numbers)
    labels = labels_for(chosen, loaded.categories, numbers, loaded.config)
    pages = write_labels(labels, sheet, skip, out, f"五色户卡贴纸 {len(chosen)}户", loaded,
                         cache)
    return Printed(out, len(chosen), pages, 0, warnings_of(loaded, chosen))


def check_skip(sheet: Sheet, skip: int) -> None:
    if not 0 <= skip < sheet.labels:
        raise UsageError(_("--skip {skip}: a {sheet} sheet has {labels} labels; skip 0 to "
                           "{last}").format(skip=skip, sheet=sheet.name, labels=sheet.labels,
                                            last=sheet.labels - 1), code="stickers.skip")


def write_labels(labels: list[Label], sheet: Sheet, skip: int, out: Path, title: str,
                 loaded: Loaded, cache: Cache, typesetter: Typesetter | None = None) -> int:
    """Labels on sheets as one PDF, written atomically; returns the sheets."""
    from cardgen.pdf.stickers import draw_sheet, place

    typesetter = typesetter or Typesetter(font_set(loaded.config, cache))
    with atomic_file(out) as handle:
        composer = Composer(handle, (sheet.page[0] * MM, sheet.page[1] * MM),
                            typesetter.fonts.by_family(), cache)
        try:
            for placed in place(labels, sheet, skip):
                canvas = Canvas(sheet.page[1], composer.log)
                draw_sheet(canvas, sheet, placed, typesetter, loaded.config.smallest_text)
                composer.add_data_page(canvas.content())
            composer.finish(title, loaded.today.isoformat())
            return composer.page_count
        finally:
            composer.close()


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


def partial_selection(selection: Selection, loaded: Loaded) -> str:
    """What a selection picks within grids (colours, flags, households): a print of some
    households, not whole books; "" when it takes whole grids."""
    return describe_selection(replace(selection, grids=()), loaded)


def check_folder(folder: Path) -> None:
    """The output folder must exist or be creatable in an existing parent, and be writable.

    Nothing is created here: a ledger refused for its data leaves no empty folder."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(_("{folder} is a file, not a folder; give a folder with -o").format(
            folder=folder), code="output.not_a_folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise UsageError(_("{parent} does not exist; create it first or choose another "
                           "output folder").format(parent=folder.parent),
                         code="output.no_folder")
    if not os.access(folder if folder.exists() else folder.parent, os.W_OK | os.X_OK):
        raise UsageError(_("{folder} is not writable; choose another output folder").format(
            folder=folder if folder.exists() else folder.parent), code="output.not_writable")


def prepare_folder(folder: Path) -> None:
    """Create the (checked) output folder and make sure a file can be written in it."""
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(_("cannot create {folder} ({error})").format(
            folder=folder, error=exc.strerror), code="output.not_writable") from None
    probe = folder / ".cardgen-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        raise UsageError(_("{folder} is not writable; choose another output folder").format(
            folder=folder), code="output.not_writable") from None


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
                   workers: Workers | None = None) -> int:
    """One ledger PDF: cover, index, cards (and duplex blanks) in planned page order."""
    with out.open("wb") as handle:
        return _compose_ledger(plan, printing, duplex, handle, advance, workers)


def _compose_ledger(plan: LedgerPlan, printing: PrintRun,
                    duplex: bool, out: IO[bytes], advance: Callable[[int], None] | None,
                    workers: Workers | None) -> int:
    composer = printing.composer(out)
    try:
        composer.add_frames(printing.frames(ledger_frames(plan, printing, duplex)))
        add_cover(composer, printing, plan)
        index_pages = dict(enumerate(plan.index_pages, plan.index_first_page))
        first_pages = {card.first_page: card for card in plan.cards}
        drawn = drawn_cards(plan.cards, printing, duplex, workers.drawer() if workers else None)
        page = 2
        while page <= plan.total_pages:
            verso = duplex and page % 2 == 0
            if page in plan.blank_pages:
                composer.add_data_page(b"")  # a blank back page: nothing on it
                page += 1
            elif page in index_pages:
                add_index_page(composer, printing, plan, page, verso)
                page += 1
            else:
                add_card(composer, printing, next(drawn))  # and its visit log
                if advance:
                    advance(1)
                page += first_pages[page].page_count + has_visit_log(
                    first_pages[page].page_count, printing.config, duplex)
        composer.finish(f"五色户卡台账 {plan.title}", printing.words.date,
                        printing.options.pdf_variant)
        return printing.sheets(1, composer.page_count)[1]
    finally:
        composer.close()


def add_index_page(composer: Composer, printing: PrintRun, plan: LedgerPlan, page: int,
                   verso: bool) -> None:
    """The ledger's index page that is page `page` of the book."""
    position = page - plan.index_first_page
    add_drawn_page(composer, printing, index_page_data(
        plan, plan.index_pages[position], position + 1, page, verso, printing),
        Frame("", verso=verso))


def book_entry(household: Household, slot: Slot, loaded: Loaded,
               printing: PrintRun) -> Entry:
    """A printed household's record in its grid's book."""
    content = card_content(household, loaded.categories[household.household_id],
                           loaded.config)
    first, count = printing.sheets(slot.first_page, slot.page_count)
    return Entry(household.household_id, int(slot.number), content.colour, content.flags,
                 content.members, content.hash, content.parts, first, count,
                 address=content.address, head=content.head)


def grid_book(grid: GridNumbers, file: str, entries: list[Entry], printing: PrintRun,
              duplex: bool, selection: str = "") -> GridBook:
    return GridBook(grid.group, file, grid.edition, sorted(entries, key=lambda e: e.number),
                    grid.retired, grid.community, grid.grid, printing.paper.name,
                    duplex, selection, printing.options.impose or "")


def ledger(loaded: Loaded, selection: Selection, folder: Path, by: str = "grid",
           emergency: bool = False, duplex: bool = False, skip_invalid: bool = False,
           jobs: int = 1, templates: Path | None = None, options: PrintOptions | None = None,
           progress: Callable[[int, int], None] | None = None,
           cache: Cache | None = None, book: Path | None = None, renumber: bool = False,
           force: bool = False, renames: tuple[tuple[str, str], ...] = (),
           laid_out: Callable[[int, int], None] | None = None) -> LedgerRun:
    """One PDF per group: cover, index, then the cards in book order; and the book of record
    (manifest.json). `book` continues a previous book (the households keep their numbers),
    `renumber` starts its new edition; `force` writes over another book in `folder`.
    `progress` is told the cards drawn so far, `laid_out` the cards laid out (both of all
    the cards): a group's cards are laid out before they are drawn.

    The folder and the book are locked for the run, and the folder is published in one
    step (book/publish.py)."""
    check_options(loaded.config, options or PrintOptions(), duplex)
    check_folder(folder)
    with folders_locked(folder, book):
        return _ledger(loaded, selection, folder, by, emergency, duplex, skip_invalid, jobs,
                       templates, options, progress, cache, book, renumber, force, renames,
                       laid_out)


def _ledger(loaded: Loaded, selection: Selection, folder: Path, by: str, emergency: bool,
            duplex: bool, skip_invalid: bool, jobs: int, templates: Path | None,
            options: PrintOptions | None, progress: Callable[[int, int], None] | None,
            cache: Cache | None, book: Path | None, renumber: bool,
            force: bool, renames: tuple[tuple[str, str], ...],
            laid_out: Callable[[int, int], None] | None) -> LedgerRun:
    started = time.perf_counter()
    cache = cache or Cache(None)
    check_file(loaded, "ledger")  # --skip-invalid cannot skip these
    numbering = open_book(loaded, book, renumber, force=force, writes=True, renames=renames,
                          only=selection.grids)
    numbers = numbering.numbers
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    blocking = loaded.errors_of(chosen)
    bad_ids = {p.household_id for p in blocking}
    if blocking and not skip_invalid:
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

    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
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
    workers = Workers(Setup(loaded.config, printing.options, templates, loaded.today,
                            cache.folder, cache.max_bytes // 2**20, cache.scope), jobs)
    books: list[GridBook] = []
    try:
        renamed = {previous.grids[r.register].file for r in numbering.renamed
                   if r.explicit and previous is not None and r.register in previous.grids}
        with publication(folder, earlier, {g.file for g in carried}, force,
                         renamed) as staged:  # a renamed grid's ledger goes with its name
            staged.refuse_earlier({*file_names.values(), MANIFEST})  # before any drawing
            work = staged.folder
            files, pages = [], 0
            for name, households in groups.items():  # one ledger at a time: memory per ledger
                cards = make_cards(households, loaded.categories, numbers, printing,
                                   emergency, workers.builder(), lay if laid_out else None)
                slots = [Slot(h, numbers[h.household_id], card.colour, card.page_count)
                         for h, card in zip(households, cards, strict=True)]
                grids_here = list(dict.fromkeys(grid_group(h) for h in households))
                skipped_here = skipped_by_group.get(name, [])
                plan = plan_ledger(
                    name, slots, {g: numbering.grids[g].retired for g in grids_here},
                    [numbering.grids[g].edition for g in grids_here], loaded.config,
                    printing.index_layout, printing.typesetter, emergency, duplex, described,
                    [f"{h.household_id}（{numbers[h.household_id]}）" for h in skipped_here],
                    file_names[name])
                for card, slot in zip(cards, slots, strict=True):
                    card.first_page = slot.first_page
                plan.cards = cards
                pages += compose_ledger(plan, printing, duplex, work / plan.file_name,
                                        advance, workers)
                for group in grids_here:
                    entries = [book_entry(s.household, s, loaded, printing) for s in slots
                               if grid_group(s.household) == group]
                    entries += [Entry(h.household_id, int(numbers[h.household_id]))
                                for h in skipped_here if grid_group(h) == group]
                    books.append(grid_book(numbering.grids[group], plan.file_name, entries,
                                           printing, duplex, partial))
                files.append(folder / plan.file_name)
                del cards, plan, slots
            manifest = folder / MANIFEST  # the record last, then all at once
            write_atomic(work / MANIFEST, manifest_bytes(book_order([*carried, *books])))
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


@dataclass
class UpdateRun:
    """What `cardgen update` found and wrote, for its summary and `--format json`."""

    folder: Path
    grids: list[GridChanges]
    files: list[Path]
    manifest: Path
    seconds: float
    pending: list[Problem]  # the errors that hold households back
    warnings: list[Problem]
    renamed: list[Renamed] = field(default_factory=list)  # grids read as the book spells them

    @property
    def changed(self) -> bool:
        return any(not grid.empty for grid in self.grids)

    def as_dict(self) -> dict[str, object]:
        """The change list as data (DOMAIN §8)."""
        return {"grids": [grid.as_dict() for grid in self.grids]}


def update(loaded: Loaded, book: Path, out: Path, selection: Selection | None = None,
           emergency: bool = False, templates: Path | None = None,
           cache: Cache | None = None, force: bool = False,
           skip_invalid: bool = False, renames: tuple[tuple[str, str], ...] = ()) -> UpdateRun:
    """The monthly update of the books in `book` from the register, written to `out`: per
    grid that changed, a packet (change list, the new and changed cards in number order, the
    new cover and index) and a sheet of the labels the changes need; and the new book.

    Like a ledger, it stops when a household in it has errors, unless `skip_invalid`: then
    those households are held back (their old cards and numbers stay; the change list says
    暂缓) and the rest is written.

    The old book is only read. A selection of households (not whole grids) updates those
    households only: nobody else's number is given or retired."""
    started = time.perf_counter()
    cache = cache or Cache(None)
    selection = selection or Selection()
    if out.resolve() == book.resolve():
        raise UsageError(_("update writes the new book beside the old one: give -o a new "
                           "folder (for example {example}); {book} stays as it is").format(
            example=book.parent / f"{book.name}-{loaded.today.isoformat()}", book=book),
            code="book.update_in_place")
    check_folder(out)
    with folders_locked(out, book):
        return _update(loaded, book, out, selection, emergency, templates, cache, force,
                       skip_invalid, started, renames)


def _update(loaded: Loaded, book: Path, out: Path, selection: Selection, emergency: bool,
            templates: Path | None, cache: Cache, force: bool, skip_invalid: bool,
            started: float, renames: tuple[tuple[str, str], ...]) -> UpdateRun:
    check_file(loaded, "update")
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    blocking = loaded.errors_of(chosen)
    if blocking and not skip_invalid:
        count = len({p.household_id for p in blocking})
        raise DataRefused(ngettext(
            "update: {count} household has errors; nothing was written (fix it, or use "
            "--skip-invalid to hold it back and update the rest)",
            "update: {count} households have errors; nothing was written (fix them, or use "
            "--skip-invalid to hold them back and update the rest)", count).format(
            count=count), blocking, code="data.household_errors")
    chosen_ids = {h.household_id for h in chosen}
    partial = bool(partial_selection(selection, loaded))
    numbering = open_book(loaded, book, admitted=chosen_ids if partial else None,
                          legacy=False, force=force, writes=True, renames=renames,
                          only=selection.grids)
    previous = numbering.book
    assert previous is not None
    numbers = numbering.numbers
    by_id = {h.household_id: h for h in loaded.dataset.households}
    bad = {p.household_id for p in loaded.dataset.errors}
    covered = list(dict.fromkeys(grid_group(h) for h in ledger_order(chosen)))
    content = numbering.content or (lambda h: card_content(
        h, loaded.categories[h.household_id], loaded.config))
    contents = {hid: content(by_id[hid]) for group in covered
                for hid in numbering.grids[group].numbers}
    grids = []
    for group in covered:
        grid = numbering.grids[group]
        scope = chosen_ids if partial else set(grid.numbers)
        changes = compare(grid, contents, {hid for hid in scope if hid not in bad},
                          loaded.config)
        if partial:
            changes.changes = [c for c in changes.changes if c.household_id in chosen_ids]
        grids.append(changes)

    names = update_file_names([g.group for g in grids if not g.empty])
    if not force:
        check_book_folder(out, Writing(
            frozenset(previous.grids) | frozenset(covered)
            | {r.book for r in numbering.renamed if r.explicit},
            frozenset([MANIFEST, *(name for pair in names.values() for name in pair)]),
            False))
    books = {name: g for name, g in previous.grids.items() if name not in covered}
    files = []
    runs: dict[PrintOptions, PrintRun] = {}
    with publication(out, earlier_files(out), set(), force) as staged:
        staged.refuse_earlier({MANIFEST, *(name for pair in names.values() for name in pair)})
        work = staged.folder
        for changes in grids:
            grid = numbering.grids[changes.group]
            old = None if grid.new_edition else grid.previous
            if changes.empty:
                books[changes.group] = kept_book(grid, old, numbers, by_id, loaded)
                continue
            options = book_options(old)
            printing = runs.get(options)
            if printing is None:
                printing = runs[options] = PrintRun.start(loaded.config, options, templates,
                                                          loaded.today, cache)
            packet_name, labels_name = names[changes.group]
            new_book, plan = plan_update(changes, grid, old, by_id, loaded, numbers,
                                         printing, emergency)
            books[changes.group] = new_book
            labels = update_labels(changes, by_id, loaded, numbers)
            stickers_file = (labels_name, len(labels)) if labels else None
            contexts = packet_contexts(plan, changes, by_id, loaded, stickers_file,
                                       new_book.duplex)
            if labels:
                write_labels(labels, loaded.config.sheets[loaded.config.default_sheet], 0,
                             work / labels_name, f"五色户卡贴纸 {changes.group}", loaded,
                             cache, printing.typesetter)
                files.append(out / labels_name)
            compose_packet(plan, contexts, printing, new_book.duplex, work / packet_name)
            files.insert(len(files) - bool(labels), out / packet_name)
        manifest = out / MANIFEST  # the record last, then all at once
        write_atomic(work / MANIFEST, manifest_bytes(book_order(list(books.values()))))
        staged.publish()
    cache.prune()
    held = {c.household_id for g in grids for c in g.of(PENDING)}
    reprinted = {c.household_id for g in grids for c in g.changes if c.printed}
    return UpdateRun(out, grids, files, manifest, time.perf_counter() - started,
                     [p for p in loaded.dataset.errors if p.household_id in held],
                     [p for p in loaded.dataset.warnings if p.household_id in reprinted],
                     numbering.renamed)


def refreshed(entry: Entry, household: Household | None, loaded: Loaded) -> Entry:
    """A kept card's record with its content hash made as this version makes it (members
    as a set) and the address and head its card shows, when its card has not changed: a
    book written before them is migrated as it is carried on (record.py's docstring)."""
    if household is None or not entry.printed or (entry.content >= CONTENT and entry.address):
        return entry
    content = card_content(household, loaded.categories[household.household_id],
                           loaded.config)
    if entry.hash != content.hash_for(entry):
        return entry  # held back with errors: its card (and record) stay as they were
    return replace(entry, hash=content.hash, parts=content.parts, content=CONTENT,
                   address=content.address, head=content.head)


def kept_book(grid: GridNumbers, old: GridBook | None, numbers: Mapping[str, str],
              by_id: Mapping[str, Household], loaded: Loaded) -> GridBook:
    """A grid's book where no card changed: its entries as they were, the newcomers held back
    by errors with their numbers, the edition's register and date brought up to date."""
    if old is None:  # a grid new to the book whose every household has errors
        old = GridBook(grid.group, safe_file_name(grid.group, False, set()), grid.edition, [],
                       [], grid.community, grid.grid)
    entries = [refreshed(e, by_id.get(e.household_id), loaded) for e in old.entries]
    known = {e.household_id for e in entries}
    entries += [Entry(hid, int(numbers[hid])) for hid in grid.numbers if hid not in known]
    return replace(old, edition=grid.edition, entries=sorted(entries, key=lambda e: e.number),
                   retired=grid.retired)


def plan_update(changes: GridChanges, grid: GridNumbers, old: GridBook | None,
                by_id: Mapping[str, Household], loaded: Loaded, numbers: Mapping[str, str],
                printing: PrintRun, emergency: bool) -> tuple[GridBook, LedgerPlan]:
    """The grid's new book, and its ledger planned as the binder now holds it: the pages of
    the cards kept come from the book (their content has not changed, nor their pages), the
    new and changed cards are made now. An imposed book counts sheets: its cards are made
    again to count their pages."""
    reprinted = {c.household_id for c in changes.changes if c.printed}
    households = [by_id[hid] for hid in sorted(grid.numbers, key=grid.numbers.__getitem__)]
    entry_of = {e.household_id: e for e in old.entries} if old is not None else {}
    bad = {p.household_id for p in loaded.dataset.errors}
    recount = old is not None and bool(old.impose)
    build = [h for h in households if h.household_id in reprinted
             or (recount and h.household_id not in bad and h.household_id in entry_of)]
    made = make_cards(build, loaded.categories, dict(numbers), printing, emergency)
    card_of = {card.household_id: card for card in made}
    slots, unprinted = [], []
    for household in households:
        hid = household.household_id
        entry = entry_of.get(hid)
        if hid in card_of:
            card = card_of[hid]
            slots.append(Slot(household, numbers[hid], card.colour, card.page_count))
        elif entry is not None and entry.printed:
            slots.append(Slot(household, numbers[hid], loaded.config.palette[entry.colour],
                              entry.page_count))
        else:
            unprinted.append(household)
    duplex = old.duplex if old is not None else False
    file_name = old.file if old is not None else safe_file_name(grid.group, False, set())
    plan = plan_ledger(grid.group, slots, {grid.group: grid.retired}, [grid.edition],
                       loaded.config, printing.index_layout, printing.typesetter, False, duplex, "",
                       [f"{h.household_id}（{numbers[h.household_id]}）" for h in unprinted],
                       file_name)
    entries = []
    for slot in plan.slots:
        if slot.household_id in reprinted:
            entries.append(book_entry(slot.household, slot, loaded, printing))
            continue
        first, count = printing.sheets(slot.first_page, slot.page_count)
        entries.append(replace(refreshed(entry_of[slot.household_id], slot.household, loaded),
                               first_page=first, page_count=count))
    entries += [entry_of.get(h.household_id) or Entry(h.household_id, int(numbers[h.household_id]))
                for h in unprinted]
    plan.cards = [card_of[s.household_id] for s in plan.slots if s.household_id in reprinted]
    for card in plan.cards:
        card.first_page = next(s.first_page for s in plan.slots
                               if s.household_id == card.household_id)
    return grid_book(grid, file_name, entries, printing, duplex), plan


def update_labels(changes: GridChanges, by_id: Mapping[str, Household], loaded: Loaded,
                  numbers: Mapping[str, str]) -> list[Label]:
    """The labels the changes need: a tab label for a new card or a new colour, a sticker
    for each flag a card gains."""
    from cardgen.pdf.stickers import FlagLabel, TabLabel, labels_for

    def needed(label: Label, change: Change) -> bool:
        if isinstance(label, TabLabel):
            return change.tab == "new"
        return isinstance(label, FlagLabel) and any(
            label.flag == flag or label.flag.endswith(f"（{flag}）")
            for flag in change.stickers_added)

    return [label for change in changes.changes if change.printed
            for label in labels_for([by_id[change.household_id]], loaded.categories,
                                    dict(numbers), loaded.config)
            if needed(label, change)]


def packet_pages(change_pages: int, plan: LedgerPlan, duplex: bool,
                 config: Config | None = None) -> Packet:
    """Where the cards, the cover and the index fall in an update packet that opens with
    `change_pages` pages of change list (in duplex, each card and the cover on a
    right-hand page, as in the book)."""
    page = change_pages + 1
    cards = {}
    for card in plan.cards:
        if duplex and page % 2 == 0:
            page += 1
        cards[card.household_id] = page
        page += card.page_count
        if config is not None and has_visit_log(card.page_count, config, duplex):
            page += 1
    if duplex and page % 2 == 0:
        page += 1
    cover = page
    first = cover + (2 if duplex else 1)
    return Packet(cards, cover, (first, first + len(plan.index_pages) - 1))


def packet_contexts(plan: LedgerPlan, changes: GridChanges, by_id: Mapping[str, Household],
                    loaded: Loaded, stickers_file: tuple[str, int] | None,
                    duplex: bool) -> list[dict[str, object]]:
    """The change list's context when it takes 1, 2 or 3 pages (it names the pages after
    it); a longer one gives up naming them right."""
    worker = (plan.grid_worker, plan.grid_worker_phone)
    return [change_sheet(changes, by_id, loaded.config,
                         packet_pages(pages, plan, duplex, loaded.config),
                         worker, stickers_file) for pages in (1, 2, 3)]


def compose_packet(plan: LedgerPlan, contexts: list[dict[str, object]], printing: PrintRun,
                   duplex: bool, out: Path) -> int:
    """A grid's update packet: the change list (`contexts`: its sheet when it takes 1, 2 or
    3 pages), the new and changed cards in number order, the new cover and the index
    pages. Returns its pages."""
    config = printing.config
    palette = {key: (colour.hex, colour.char) for key, colour in config.palette.items()}
    pages = change_list(contexts, config.book_list, config.words["unfilled"],
                        printing.words.date, printing.index_layout, printing.typesetter,
                        palette)
    change_pages = len(pages)
    place = config.book_list["footer"].format(group=plan.title)
    frames = [Frame("", verso=duplex and page % 2 == 0) for page in (1, 2)]
    frames += [frame for card in plan.cards for frame in card_frames(printing, card, duplex)]
    with atomic_file(out) as handle:
        composer = printing.composer(handle)
        try:
            composer.add_frames(printing.frames(list(dict.fromkeys(frames))))
            for number, items in enumerate(pages, 1):
                verso = duplex and number % 2 == 0
                add_drawn_page(composer, printing, change_page_data(
                    items, number, place, plan.emergency, verso, printing),
                    Frame("", verso=verso))
            position = change_pages + 1

            def pad() -> int:
                if duplex and position % 2 == 0:
                    composer.add_data_page(b"", Frame("", verso=True))
                    return 1
                return 0

            for data in drawn_cards(plan.cards, printing, duplex):
                position += pad()
                position += add_card(composer, printing, data)  # and its visit log
            position += pad()
            add_cover(composer, printing, plan)
            if duplex:  # the cover's back, as in the book
                composer.add_data_page(b"", Frame("", verso=True))
            for offset in range(len(plan.index_pages)):
                page = plan.index_first_page + offset
                add_index_page(composer, printing, plan, page, duplex and page % 2 == 0)
            composer.finish(f"五色户卡变更包 {plan.title}", printing.words.date,
                            printing.options.pdf_variant)
            return composer.page_count
        finally:
            composer.close()


def book_options(book: GridBook | None) -> PrintOptions:
    """How a grid's book was printed (paper, imposition): its update packet matches."""
    if book is None:
        return PrintOptions()
    return PrintOptions(paper=book.paper or None, impose=book.impose or None)


def validation_report(loaded: Loaded) -> dict[str, object]:
    """What `validate --format json` prints (DOMAIN §6): counts and every problem."""
    dataset = loaded.dataset
    return {"ok": not dataset.errors, "households": len(dataset.households),
            "members": sum(len(h.members) for h in dataset.households),
            "problems": [p.as_dict() for p in dataset.problems]}


def unreadable_report(error: CardgenError, source: str) -> dict[str, object]:
    """The `validate --format json` object of a file, sheet or setting that cannot be read."""
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


def search(loaded: Loaded, query: str, limit: int,
           numbers: Mapping[str, str] | None = None) -> tuple[list[Found], int]:
    """The first `limit` households found by 户编号, name or address, and how many there are;
    with the book numbers of `numbers` (`open_book(...).numbers`), else a first print's."""
    numbers = numbers or loaded.numbers
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
        listed.append(Found(number, numbers[number], household.community, household.grid,
                            household.full_address, head.name if head else "",
                            loaded.categories[number].key, tuple(dict.fromkeys(flags)),
                            errors.get(number, 0)))
    return listed, len(found)


# ---- the emergency kit (README, "The emergency kit"): book/roster.py and pdf/kit.py --------

@dataclass
class KitGrid:
    """What the kit holds for one grid."""

    group: str
    files: list[Path]
    roster: list[RosterEntry]
    households: int
    without_plan: list[str]

    def as_dict(self) -> dict[str, object]:
        """The grid's part of `emergency --format json` (no ID numbers)."""
        return {"grid": self.group, "roster": [e.as_dict() for e in self.roster],
                "households": self.households, "without_plan": self.without_plan}


@dataclass
class KitRun:
    """What `cardgen emergency` wrote."""

    folder: Path
    grids: list[KitGrid]
    seconds: float
    warnings: list[Problem]
    skipped: list[Problem]  # the errors of the households left out (--skip-invalid)

    @property
    def files(self) -> list[Path]:
        return [path for grid in self.grids for path in grid.files]

    def as_dict(self) -> dict[str, object]:
        return {"grids": [grid.as_dict() for grid in self.grids]}


def emergency_kit(loaded: Loaded, selection: Selection, out: Path,
                  templates: Path | None = None, options: PrintOptions | None = None,
                  cache: Cache | None = None, book: Path | None = None, duplex: bool = False,
                  copies: int = 1, force: bool = False, jobs: int = 1,
                  skip_invalid: bool = False) -> KitRun:
    """Per grid, the roster of who needs help first, the 明白卡 and the emergency cards,
    written into a private folder that becomes `out` in one step (`out` must be new or
    empty, unless `force`). Households with errors stop it, unless `skip_invalid`: then
    the kit leaves them out and says which (an emergency must not wait for a typo)."""
    from cardgen.book.roster import check_plans, plan_kit
    from cardgen.pdf.kit import mingbai_cards, write_cards, write_mingbai, write_roster

    started = time.perf_counter()
    cache = cache or Cache(None)
    config = loaded.config
    check_options(config, options or PrintOptions(), duplex)
    check_plans(config, coverage(config, cache))
    check_folder(out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(_("{folder} is not empty; give a new folder with -o, or add --force "
                           "to replace what is in it").format(folder=out),
                         code="output.not_empty")
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_file(loaded, "emergency")
    skipped = loaded.errors_of(chosen)
    if skipped and not skip_invalid:
        count = len({p.household_id for p in skipped})
        raise DataRefused(ngettext(
            "emergency: {count} household has errors; nothing was written (fix it, or use "
            "--skip-invalid to make the kit without it)",
            "emergency: {count} households have errors; nothing was written (fix them, or use "
            "--skip-invalid to make the kit without them)", count).format(count=count),
            skipped, code="data.household_errors")
    chosen = [h for h in chosen if h.household_id not in {p.household_id for p in skipped}]
    if not chosen:
        raise NothingSelected(_("emergency: every selected household has errors; nothing was "
                                "written"), code="selection.all_errors")
    numbering = open_book(loaded, book)
    check_in_book(numbering, chosen, book)
    numbers = numbering.numbers
    plans = plan_kit(group_households(chosen, "grid", numbers), numbers, loaded.categories,
                     config, loaded.today)
    printing = PrintRun.start(config, options, templates, loaded.today, cache)
    work = private_folder(out)
    workers = Workers(Setup(config, printing.options, templates, loaded.today,
                            cache.folder, cache.max_bytes // 2**20, cache.scope), jobs)
    grids = []
    try:
        for kit in plans:
            files = [out / f"{kit.name}-应急名单.pdf", out / f"{kit.name}-明白卡.pdf"]
            write_roster(work / files[0].name, printing, kit.group, kit.worker, kit.roster,
                         len(kit.households))
            write_mingbai(work / files[1].name, printing,
                          mingbai_cards(kit.households, numbers, config, loaded.today, copies),
                          config.emergency.cards_across, config.emergency.cards_down,
                          f"避险转移明白卡 {kit.group}")
            if kit.tabbed:
                made = make_cards(kit.tabbed, loaded.categories, numbers, printing, True,
                                  workers.builder())
                files.append(out / f"{kit.name}-应急户卡.pdf")
                write_cards(work / files[2].name, printing, made, duplex,
                            f"五色户卡 应急 {kit.group}", workers.drawer())
            grids.append(KitGrid(kit.group, files, kit.roster, len(kit.households),
                                 kit.without_plan))
        publish_folder(work, out)
    finally:
        workers.close()
        shutil.rmtree(work, ignore_errors=True)
    cache.prune()
    return KitRun(out, grids, time.perf_counter() - started, warnings_of(loaded, chosen),
                  [p for p in skipped if p.severity is Severity.ERROR])
