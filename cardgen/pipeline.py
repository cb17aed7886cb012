"""The one place the stages meet: read → validate → categorise → render → assemble → write."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardgen import __version__
from cardgen.assemble import (
    LedgerPlan,
    group_households,
    ledger_numbers,
    ledger_order,
    manifest_entry,
    plan_ledger,
)
from cardgen.canvas import Canvas
from cardgen.cards import Card, Layout, build_card
from cardgen.categorise import categorise_all
from cardgen.compose import Composer
from cardgen.config import Config
from cardgen.draw import PageWords, draw_card_page, draw_index_page
from cardgen.errors import DataRefused, NothingSelected, UsageError
from cardgen.fonts import font_files, font_set
from cardgen.glyphs import missing_glyphs
from cardgen.model import Category, Dataset, Household, Problem, Severity
from cardgen.read import read_records
from cardgen.render import DocInfo, Frame, PrintOptions, layout_for_options, template_fingerprint
from cardgen.select import Selection, select_households
from cardgen.typeset import Typesetter
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


@dataclass
class Press:
    """What drawing needs for one run: the layout, the fonts, the words, the frames' maker."""

    config: Config
    options: PrintOptions
    templates: Path | None
    layout: Layout
    typesetter: Typesetter
    words: PageWords

    @classmethod
    def start(cls, config: Config, options: PrintOptions | None, templates: Path | None,
              today: dt.date) -> Press:
        options = options or PrintOptions()
        return cls(config, options, templates, layout_for_options(config, options),
                   Typesetter(font_set(config)),
                   PageWords(date=today.isoformat(), confidential=config.confidential))

    def renderer(self) -> Any:
        from cardgen.render import Renderer  # WeasyPrint is loaded only when frames are made

        return Renderer(self.config, self.templates, self.options)

    def composer(self) -> Composer:
        points = 72 / 25.4
        return Composer((self.layout.width * points, self.layout.height * points),
                        font_files(self.config))

    def canvas(self, composer: Composer) -> Canvas:
        return Canvas(self.layout.height, composer.log, self.options.bleed)

    def render_key(self) -> str:
        return "|".join([__version__, self.config.fingerprint, repr(self.options),
                         template_fingerprint(self.templates)])


def make_cards(loaded: Loaded, households: list[Household], press: Press,
               emergency: bool) -> list[Card]:
    """Cards in the given order, each knowing the page it starts on (1, 2, … as drawn)."""
    cards = []
    page = 1
    for household in households:
        card = build_card(household, loaded.categories[household.household_id], loaded.config,
                          press.layout, loaded.today, loaded.numbers[household.household_id],
                          emergency, press.typesetter)
        card.first_page = page
        page += card.page_count
        cards.append(card)
    return cards


def card_frame(card: Card, page_number: int, duplex: bool) -> Frame:
    page_no = card.first_page + page_number - 1
    return Frame(card.colour.key, card.emergency, duplex and page_no % 2 == 0,
                 page_number == 1)


def draw_cards(composer: Composer, cards: list[Card], press: Press, duplex: bool,
               advance: Callable[[int], None] | None = None) -> None:
    for card in cards:
        for page in card.pages:
            frame = card_frame(card, page.number, duplex)
            canvas = press.canvas(composer)
            draw_card_page(canvas, card, page, press.layout, press.typesetter, press.words,
                           frame.verso)
            composer.add_data_page(canvas.content(), frame)
        if advance:
            advance(1)


def reprint(loaded: Loaded, selection: Selection, out: Path, emergency: bool = False,
            templates: Path | None = None, options: PrintOptions | None = None) -> Printed:
    """The selected households' cards as one PDF, in input order."""
    check_output(out, [loaded.source])
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "reprint")
    press = Press.start(loaded.config, options, templates, loaded.today)
    cards = make_cards(loaded, chosen, press, emergency)
    frames = list(dict.fromkeys(card_frame(card, page.number, False)
                                for card in cards for page in card.pages))
    composer = press.composer()
    try:
        composer.add_frames(press.renderer().frames_pdf(frames), list(frames))
        draw_cards(composer, cards, press, duplex=False)
        title = "五色户卡 " + (chosen[0].household_id if len(chosen) == 1
                             else f"{len(chosen)}户")
        buffer = io.BytesIO()
        composer.save(buffer, title, loaded.today.isoformat())
    finally:
        composer.close()
    write_atomic(out, buffer.getvalue())
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


def ledger_frames(plan: LedgerPlan, duplex: bool) -> list[Frame]:
    """Every frame a ledger's pages stand on, in page order (cover excluded)."""
    frames = [Frame("", verso=duplex and page % 2 == 0) for page in plan.blank_pages]
    frames += [Frame("", verso=duplex and (plan.index_first_page + i) % 2 == 0)
               for i in range(len(plan.index_pages))]
    frames += [card_frame(card, page.number, duplex) for card in plan.cards
               for page in card.pages]
    return frames


def compose_ledger(plan: LedgerPlan, number: int, covers: bytes, frames: bytes,
                   frame_keys: list[Frame], press: Press, duplex: bool, out: Path,
                   advance: Callable[[int], None] | None) -> int:
    """One ledger PDF: cover, index, cards (and duplex blanks) in planned page order."""
    composer = press.composer()
    try:
        composer.add_frames(frames, list(frame_keys))
        composer.add_pdf(covers, page=number)
        palette = {key: colour.hex for key, colour in press.config.palette.items()}
        index_pages = dict(enumerate(plan.index_pages, plan.index_first_page))
        first_pages = {card.first_page: card for card in plan.cards}
        page = 2
        while page <= plan.total_pages:
            verso = duplex and page % 2 == 0
            if page in plan.blank_pages:
                composer.add_data_page(b"", Frame("", verso=verso))
                page += 1
            elif page in index_pages:
                canvas = press.canvas(composer)
                position = page - plan.index_first_page + 1
                draw_index_page(canvas, plan.title, index_pages[page], position,
                                len(plan.index_pages), page, plan.emergency, press.layout,
                                press.typesetter, press.words, verso, palette)
                composer.add_data_page(canvas.content(), Frame("", verso=verso))
                page += 1
            else:
                card = first_pages[page]
                draw_cards(composer, [card], press, duplex, advance)
                page += card.page_count
        composer.save(out, f"五色户卡台账 {plan.title}", press.words.date)
        return composer.page_count
    finally:
        composer.close()


def ledger(loaded: Loaded, selection: Selection, folder: Path, by: str = "grid",
           emergency: bool = False, duplex: bool = False, skip_invalid: bool = False,
           jobs: int = 1, templates: Path | None = None, options: PrintOptions | None = None,
           progress: Callable[[int, int], None] | None = None) -> LedgerRun:
    """One PDF per group: cover, index, then the cards in address order; and a manifest."""
    started = time.perf_counter()
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

    press = Press.start(loaded.config, options, templates, loaded.today)
    groups = group_households(printable, by)
    skipped_by_group = group_households(skipped_households, by)
    taken: set[str] = set()
    plans = []
    for name, households in groups.items():
        cards = make_cards(loaded, households, press, emergency)
        skipped = [f"{h.household_id}（{loaded.numbers[h.household_id]}）"
                   for h in ledger_order(skipped_by_group.get(name, []))]
        plans.append(plan_ledger(name, households, cards, loaded.config, press.layout,
                                 press.typesetter, emergency, duplex,
                                 describe_selection(selection, loaded), skipped, taken))

    total_cards = sum(len(plan.cards) for plan in plans)
    done = 0

    def advance(cards: int) -> None:
        nonlocal done
        done += cards
        if progress:
            progress(done, total_cards)

    if progress:
        progress(0, total_cards)
    all_frames = list(dict.fromkeys(f for plan in plans for f in ledger_frames(plan, duplex)))
    renderer = press.renderer()
    frames = renderer.frames_pdf(all_frames)
    covers = renderer.cover_pdf(plans, DocInfo("五色户卡台账", loaded.today, duplex))
    render_key = press.render_key()
    work = Path(tempfile.mkdtemp(prefix=".cardgen-", dir=folder))
    try:
        files, entries, pages = [], [], 0
        for number, plan in enumerate(plans):
            pages += compose_ledger(plan, number, covers, frames, all_frames, press, duplex,
                                    work / plan.file_name, advance)
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
