"""The monthly update of a book: what changed per grid, the packets (change list, new and
changed cards, new cover and index), the labels they need, and the new book."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cardgen.book.changes import PENDING, Change, GridChanges, Packet, change_sheet, compare
from cardgen.book.fit import Renamed, check_one_grid
from cardgen.book.folder import Writing, check_book_folder, earlier_files
from cardgen.book.ledger import (
    LedgerPlan,
    Slot,
    grid_group,
    ledger_order,
    plan_ledger,
    safe_file_name,
    update_file_names,
)
from cardgen.book.numbers import GridNumbers
from cardgen.book.publish import folders_locked, publication
from cardgen.book.record import (
    CONTENT,
    MANIFEST,
    Entry,
    GridBook,
    card_content,
    refuse_contradicting,
)
from cardgen.config import Config
from cardgen.data.model import Household
from cardgen.data.select import Selection, select_households
from cardgen.errors import DataRefused, Problem, UsageError
from cardgen.frame.render import Frame
from cardgen.i18n import _, ngettext
from cardgen.layout.cards import has_visit_log
from cardgen.layout.change_pages import change_list
from cardgen.layout.geometry import PrintOptions
from cardgen.pipeline.cards import write_labels
from cardgen.pipeline.ledgers import (
    add_index_page,
    book_entry,
    grid_book,
    partial_selection,
    write_record,
)
from cardgen.pipeline.register import Loaded, check_file, open_book
from cardgen.printing.run import (
    PrintRun,
    add_card,
    add_cover,
    add_drawn_page,
    card_frames,
    change_page_data,
    drawn_cards,
    index_page,
    make_cards,
)
from cardgen.write import atomic_file, check_folder

if TYPE_CHECKING:
    from cardgen.printing.stickers import Label


@dataclass(frozen=True)
class UpdateRequest:
    """What `cardgen update` prints (the changes since `book` of the selected households or
    grids), how (emergency tabs, templates) and where (`out`, a folder beside the book)."""

    book: Path
    out: Path
    selection: Selection = field(default_factory=Selection)
    renames: tuple[tuple[str, str], ...] = ()  # --rename-grid OLD=NEW
    skip_invalid: bool = False  # hold back the households with errors, update the rest
    emergency: bool = False
    templates: Path | None = None
    force: bool = False  # write over an earlier run's files in `out`


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
        """The change list as data (docs/cli.md, `update --format json`)."""
        return {"grids": [grid.as_dict() for grid in self.grids]}


def update(loaded: Loaded, request: UpdateRequest) -> UpdateRun:
    """The monthly update of the books in `request.book` from the register, written to
    `request.out`: per grid that changed, a packet (change list, the new and changed cards in
    number order, the new cover and index) and a sheet of the labels the changes need; and
    the new book.

    Like a ledger, it stops when a household in it has errors, unless `skip_invalid`: then
    those households are held back (their old cards and numbers stay; the change list says
    暂缓) and the rest is written.

    The old book is only read. A selection of households (not whole grids) updates those
    households only: nobody else's number is given or retired."""
    started = time.perf_counter()
    book, out = request.book, request.out
    if out.resolve() == book.resolve():
        raise UsageError(_("update writes the new book beside the old one: give -o a new "
                           "folder (for example {example}); {book} stays as it is").format(
            example=book.parent / f"{book.name}-{loaded.today.isoformat()}", book=book),
            code="book.update_in_place")
    check_folder(out)
    with folders_locked(out, book):
        return _update(loaded, request, started)


def _update(loaded: Loaded, request: UpdateRequest, started: float) -> UpdateRun:
    book, out, selection, force = request.book, request.out, request.selection, request.force
    cache = loaded.cache
    check_file(loaded, "update")
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    chosen_ids = {h.household_id for h in chosen}
    partial = bool(partial_selection(selection, loaded))
    # the book first, as a ledger does: a --date before its last update is said as such,
    # not as the birth dates that date makes impossible
    numbering = open_book(loaded, book, admitted=chosen_ids if partial else None,
                          legacy=False, force=force, writes=True, renames=request.renames,
                          only=selection.grids)
    blocking = loaded.errors_of(chosen)
    if blocking and not request.skip_invalid:
        count = len({p.household_id for p in blocking})
        raise DataRefused(ngettext(
            "update: {count} household has errors; nothing was written (fix it, or use "
            "--skip-invalid to hold it back and update the rest)",
            "update: {count} households have errors; nothing was written (fix them, or use "
            "--skip-invalid to hold them back and update the rest)", count).format(
            count=count), blocking, code="data.household_errors")
    previous = numbering.book
    assert previous is not None
    numbers = numbering.numbers
    by_id = {h.household_id: h for h in loaded.dataset.households}
    bad = {p.household_id for p in loaded.dataset.errors}
    covered = list(dict.fromkeys(grid_group(h) for h in ledger_order(chosen)))
    check_one_grid(numbering, previous, str(loaded.source), covered)  # --grid, --household
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
            options = book_options(old, loaded.config)
            printing = runs.get(options)
            if printing is None:
                printing = runs[options] = PrintRun.start(loaded.config, options, request.templates,
                                                          loaded.today, cache)
            packet_name, labels_name = names[changes.group]
            new_book, plan = plan_update(changes, grid, old, by_id, loaded, numbers,
                                         printing, request.emergency)
            books[changes.group] = new_book
            labels = update_labels(changes, by_id, loaded, numbers)
            stickers_file = (labels_name, len(labels)) if labels else None
            contexts = packet_contexts(plan, changes, by_id, loaded, stickers_file,
                                       new_book.duplex)
            if labels:
                write_labels(labels, loaded.config.stickers.sheet(), 0,
                             work / labels_name,
                             loaded.config.card.words.format("pdf_stickers", what=changes.group),
                             loaded,
                             cache, printing.typesetter)
                files.append(out / labels_name)
            compose_packet(plan, contexts, printing, new_book.duplex, work / packet_name)
            files.insert(len(files) - bool(labels), out / packet_name)
        manifest = out / MANIFEST  # the record last, then all at once
        refuse_contradicting(list(books.values()), book)  # before it is published
        write_record(work, list(books.values()))
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
    duplex = old.duplex if old is not None else False
    # the cards reprinted are drawn as they are made (one-sided), unless cards are made to
    # count pages only
    made = make_cards(build, loaded.categories, dict(numbers), printing, emergency,
                      drawn_single=not duplex and not recount)
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
    file_name = old.file if old is not None else safe_file_name(grid.group, False, set())
    plan = plan_ledger(grid.group, slots, {grid.group: grid.retired}, [grid.edition],
                       loaded.config, printing.index_layout, printing.typesetter, False, duplex, "",
                       [loaded.config.card.words.format(
                           "skipped_household", household_id=h.household_id,
                           number=numbers[h.household_id]) for h in unprinted],
                       file_name)
    entries = []
    for slot in plan.slots:
        if slot.household_id in reprinted:
            entries.append(book_entry(slot.household, slot, loaded, printing, duplex))
            continue
        first, count = printing.sheets(slot.first_page, slot.page_count, duplex)
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
    from cardgen.printing.stickers import FlagLabel, TabLabel, labels_for

    words = loaded.config.card.words
    slot_of = {also: slot for slot, alsos in loaded.config.flags.also.items() for also in alsos}

    def shown(flag: str) -> str:  # as labels_for words it: a flag filling a slot with the slot
        return (words.format("slot_also", flag=slot_of[flag], also=flag) if flag in slot_of
                else flag)

    def needed(label: Label, change: Change) -> bool:
        if isinstance(label, TabLabel):
            return change.tab == "new"
        return isinstance(label, FlagLabel) and any(
            label.flag == shown(flag) for flag in change.stickers_added)

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
    pages = change_list(contexts, config.book.list, config.card.words["unfilled"],
                        printing.words.date, printing.index_layout, printing.typesetter,
                        palette)
    change_pages = len(pages)
    place = config.book.list["footer"].format(group=plan.title)
    frames = [Frame("", verso=duplex and page % 2 == 0) for page in (1, 2)]
    frames += [frame for card in plan.cards for frame in card_frames(printing, card, duplex)]
    with atomic_file(out) as handle:
        composer = printing.composer(handle, duplex)
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
                add_index_page(composer, printing, index_page(
                    plan, page, duplex and page % 2 == 0, printing.config.card.words))
            composer.finish(printing.words.words.format("pdf_update", title=plan.title),
                            printing.words.date,
                            printing.options.pdf_variant)
            return composer.pages_written
        finally:
            composer.close()


def book_options(book: GridBook | None, config: Config) -> PrintOptions:
    """How a grid's book was printed (paper, imposition): its update packet matches. The
    paper is said as a ledger says it when it was not asked for (None: the configuration's,
    or the imposition's): the same paper, and the same print options, which name the
    run's entries in the cache (cache.KINDS), so the update finds what the book's ledger
    drew there (its index pages' rows: printing/index_pages.py)."""
    if book is None:
        return PrintOptions()
    paper = book.paper or None
    if book.impose or paper == config.papers.default:
        paper = None
    return PrintOptions(paper=paper, impose=book.impose or None)
