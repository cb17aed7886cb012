"""A print run: what drawing needs for one run (geometry, fonts, words, cache, frames), and
the cards made and drawn with it — from the cache when it has them, by workers when given."""

from __future__ import annotations

import datetime as dt
import marshal
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cardgen.cache import Cache, key
from cardgen.config import Config, Paper, Words
from cardgen.data.model import Category, Household
from cardgen.frame.render import COVER_WORDS, Frame, PlaceStyle, paper_for
from cardgen.layout.cards import Card, build_card, has_visit_log, plain_values
from cardgen.layout.fonts import font_set
from cardgen.layout.geometry import MM, Geometry, Layout, Places, PrintOptions, grown, index_layout
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas, GlyphLog
from cardgen.pdf.compose import Composer, Prepared, prepare_content
from cardgen.pdf.draw import (
    PageWords,
    draw_card_page,
    draw_change_page,
    draw_cover,
    draw_index_page,
    draw_log_page,
)
from cardgen.printing.index_pages import draw_index

if TYPE_CHECKING:
    from cardgen.book.ledger import ColourCount, LedgerPlan
    from cardgen.layout.change_pages import Item
    from cardgen.layout.index import IndexRow

# Hands work to other processes: (items, geometries) -> results in the same order
# (cardgen/printing/workers.py)
Parallel = Callable[[Iterable[Any], dict[bool, Geometry]], Iterator[bytes]]
PARALLEL_FROM = 300  # fewer cards than this are made in this process
# A ledger from the cache reads each card's bundle (card_bundle) for its built card, then
# its drawn pages as the card is written: up to this many bytes of pages are kept from the
# first read (PrintRun.hold) and not read again. A card's pages are some 9 KB: a 1,000-card
# ledger keeps all of them (9 MB), a 20,000-card book the first 3,500 or so.
HELD_PAGES = 32 * 2**20


@dataclass
class PrintRun:
    """What drawing needs for one run: geometry, fonts, words, the cache, WeasyPrint's part.
    Its cache names each entry with what of the run it depends on (cache.KINDS): the names
    made here hold only what else does."""

    config: Config
    options: PrintOptions
    templates: Path | None
    paper: Paper
    typesetter: Typesetter
    words: PageWords
    cache: Cache
    today: dt.date
    geometries: dict[bool, Geometry] = field(default_factory=dict)  # by emergency
    _renderer: Any = None
    # ruled rows of each kind of card page (emergency, verso, first, grow): Frame.rows
    _frame_rows: dict[tuple[bool, bool, bool, int], int] = field(default_factory=dict)
    # each frame variant made once (`frame`, `frame_of`), by what it was asked as: a
    # ledger asks for one for each of its 1,000 pages twice (its frames, then each page),
    # and making and hashing a new Frame each time took 30 ms of a one-change ledger (py-spy,
    # session 8)
    _frames: dict[tuple[Any, ...], Frame] = field(default_factory=dict)
    # the cards (their source keys) `make_cards` found or had put as bundles (card_bundle),
    # so `drawn_cards` reads each once more, for its pages, not twice (a bundle was read
    # three times a card, some 2,000 needless reads of a one-change ledger's 1,000;
    # session 7)
    bundled: set[str] = field(default_factory=set)
    # the drawn pages of the bundles `make_cards` read, by source key, kept for
    # `drawn_cards` up to HELD_PAGES bytes in all (`hold`)
    held: dict[str, bytes] = field(default_factory=dict)
    held_bytes: int = 0

    def hold(self, source: str, pages: bytes) -> None:
        """Keep a card's drawn pages, read with its built card, for `drawn_cards`, unless
        the pages kept already reach HELD_PAGES: that card's bundle is then read again."""
        if self.held_bytes + len(pages) <= HELD_PAGES:
            self.held[source] = pages
            self.held_bytes += len(pages)

    def held_pages(self, source: str) -> bytes | None:
        """A card's pages `hold` kept, let go of here (None: not kept)."""
        pages = self.held.pop(source, None)
        if pages is not None:
            self.held_bytes -= len(pages)
        return pages

    @classmethod
    def start(cls, config: Config, options: PrintOptions | None, templates: Path | None,
              today: dt.date, cache: Cache,
              geometries: dict[bool, Geometry] | None = None) -> PrintRun:
        """A print run with `cache` (opened for `config` and `templates`: Cache.open)."""
        options = options or PrintOptions()
        paper = paper_for(config, options)
        # what a Renderer takes of the options: the paper and the bleed; the cards and pages
        # are named by the options with the paper they resolve to, so that `--paper A4`
        # finds what the default (A4) drew, and the demo's cache serves both
        cache = cache.printing((paper, options.bleed), replace(options, paper=paper.name))
        return cls(config, options, templates, paper, Typesetter(font_set(config, cache)),
                   PageWords(today.isoformat(), config.card.words),
                   cache, today, dict(geometries or {}))

    def renderer(self) -> Any:
        if self._renderer is None:
            from cardgen.frame.render import renderer_for  # WeasyPrint loads on a miss only

            self._renderer = renderer_for(self.config, self.templates, self.options,
                                          self.cache.scope)
        return self._renderer

    def geometry(self, emergency: bool, verso: bool = False) -> Geometry:
        """The places of every kind of page in this mode, from the frame template (the
        geometry pass, see frame/render.py), cached like the frames; `verso` adds the back
        pages' places (duplex)."""

        geometry = self.geometries.get(emergency)
        if geometry is not None and (not verso or (True, 0, True) in geometry.pages):
            return geometry
        pages = dict(geometry.pages) if geometry else {}
        plain = dict(geometry.plain) if geometry else {}
        log = geometry.log if geometry else None
        for side in (False, True) if verso else (False,):
            if (True, 0, side) in pages:
                continue
            name = key("geometry", emergency, side)
            stored = self.cache.get("frames", name)
            if stored is None:
                probed = self.renderer().probe(emergency, side)  # and checked
                stored = marshal.dumps(tuple(places.as_data() for places in probed))
                self.cache.put("frames", name, stored)
            first, following, plain[side], *back = (Places.from_data(data)
                                                    for data in marshal.loads(stored))
            if back:
                log = back[0]
            for grow in range(self.config.card.household_grow + 1):
                pages[(True, grow, side)] = grown(first, grow)
            pages[(False, 0, side)] = following
        geometry = Geometry(self.paper, pages, plain, self.config.card.text, self.config.card.lines,
                            self.config.card.line_factor, self.config.card.inset,
                            self.config.card.household_grow, self.config.card.smallest_text,
                            self.config.card.smallest_rule, log)
        self.geometries[emergency] = geometry
        return geometry

    @property
    def index_layout(self) -> Layout:
        """Index pages stand on the plain frame (the same in both modes)."""
        return index_layout(self.geometry(False))

    def frame(self, colour: str, emergency: bool, verso: bool, first: bool,
              grow: int = 0, log: bool = False) -> Frame:
        """A frame variant, with as many ruled rows as its page kind holds (a visit log is
        a back page: its rows are the template's own)."""
        asked = (colour, emergency, verso, first, grow, log)
        found = self._frames.get(asked)
        if found is None:
            found = self._frames[asked] = self._frame(colour, emergency, verso, first, grow,
                                                      log)
        return found

    def frame_of(self, values: Sequence[Any]) -> Frame:
        """The frame a drawn page names by its fields' values (draw_card_data)."""
        asked = ("values", *values)
        found = self._frames.get(asked)
        if found is None:
            found = self._frames[asked] = Frame(*values)
        return found

    def _frame(self, colour: str, emergency: bool, verso: bool, first: bool, grow: int,
               log: bool) -> Frame:
        if not colour:
            return Frame("", verso=verso)
        if log:
            places = self.geometry(emergency, True).log
            assert places is not None
            return Frame(colour, emergency, True, True, 0, len(places.rows_inside()), log=True)
        # counted once a page kind: counting for each page drawn took 6 % of the workers'
        # drawing (py-spy, session 5)
        kind = (emergency, verso, first, grow)
        rows = self._frame_rows.get(kind)
        if rows is None:
            rows = self._frame_rows[kind] = len(
                self.geometry(emergency, verso).page(first, grow, verso).rows_inside())
        return Frame(colour, emergency, verso, first, grow if first else 0, rows)

    def frames(self, frames: list[Frame]) -> dict[Frame, bytes]:
        """One single-page PDF per frame variant (without font programs: the composer embeds
        the fonts), from the cache or rendered (WeasyPrint is loaded only then). A rendered
        frame's places must be those of the geometry pass."""
        from cardgen.frame.render import check_frame

        names = {frame: self.frame_name(frame) for frame in dict.fromkeys(frames)}
        found: dict[Frame, bytes] = {}
        for frame, name in names.items():
            data = self.cache.get("frames", name)
            if data is not None:
                found[frame] = data
        missing = [frame for frame in names if frame not in found]
        for frame in missing:  # each alone: a page of a batch would depend on the batch
            from cardgen.pdf.prepare import prepare_pages  # pikepdf: only to make frames

            pdf, places = self.renderer().frame_pdf(frame)
            geometry = self.geometry(frame.emergency, frame.verso)
            expected = (geometry.plain[frame.verso] if not frame.colour
                        else geometry.log if frame.log
                        else geometry.page(frame.first, frame.grow, frame.verso))
            assert expected is not None
            check_frame(places, expected, frame, self.renderer().frame_source())
            data = prepare_pages(pdf, self.typesetter.fonts.by_family())
            self.cache.put("frames", names[frame], data)
            found[frame] = data
        return {frame: found[frame] for frame in names}  # the same order, cached or not

    @staticmethod
    def frame_name(frame: Frame) -> str:
        """A frame's name in the cache (`cardgen prepare` reads its frames back by it)."""
        return key("frame", frame)

    def cover_frame(self, plan: LedgerPlan) -> PlacedFrame:
        """A ledger's cover frame: what stays from month to month (cover_view), from the
        cache or rendered. The counts, date and pages are drawn over it (cover_page_data),
        so a monthly update finds the frame its ledger left and needs no WeasyPrint.

        (`update` used to start WeasyPrint in a process of its own as the command started,
        for the change list and cover it had to lay out. With the cover frame cached, that
        process made an update 1.13x slower on two cores (medians of 9 pairs, 1.65 s
        against 1.43 s): it went. A cover frame the cache lacks costs a WeasyPrint start,
        as a ledger's first run does.)"""
        return self.cover_frame_of(cover_view(plan))

    def cover_frame_of(self, view: dict[str, object]) -> PlacedFrame:
        """The cover frame of a cover_view, from the cache (or the frames `cardgen prepare`
        laid out) or rendered."""
        doc = {"title": COVER_TITLE, "confidential": self.config.card.confidential}
        name = key("cover-frame", view, doc)
        return self.placed_frame(name, lambda: self.renderer().cover_frame_pdf(view, doc))

    def placed_frame(self, name: str, lay_out: Callable[[], tuple[bytes, Places,
                                                               dict[str, PlaceStyle]]],
                     ) -> PlacedFrame:
        """A frame whose places cardgen fills (a cover, the kit's roster and 明白卡): from
        the cache under `name`, or laid out by `lay_out` (WeasyPrint) and stored there."""
        stored = self.cache.get("placed-frames", name)
        if stored is None:
            from cardgen.pdf.prepare import prepare_pages  # pikepdf: only to make frames

            pdf, places, styles = lay_out()
            made_frame: Any = (prepare_pages(pdf, self.typesetter.fonts.by_family()),
                               places.as_data(), styles)
            stored = marshal.dumps(made_frame)
            self.cache.put("placed-frames", name, stored)
        pdf, places, styles = marshal.loads(stored)
        return PlacedFrame(name, bytes(pdf), Places.from_data(places), dict(styles))

    def composer(self, out: IO[bytes], duplex: bool = False, large: bool = False) -> Composer:
        """A composer writing this run's pages (imposed on sheets when asked, each sheet
        followed by its back when `duplex`) to `out`; `large`: a large file's (Writer)."""
        imposition = (self.config.papers.impositions[self.options.impose] if self.options.impose
                      else None)
        return Composer(out, (self.paper.width * MM, self.paper.height * MM),
                        self.typesetter.fonts.by_family(), self.cache, self.options.bleed,
                        self.options.marks, imposition, duplex,
                        smallest=self.options.pdf_variant is not None, large=large)

    def sheets(self, first_page: int, page_count: int,
               duplex: bool = False) -> tuple[int, int]:
        """A card's first page and page count as the output counts them (sheets if imposed;
        printed duplex, a front sheet holds the odd pages, the back sheet after it their
        backs)."""
        if not self.options.impose:
            return first_page, page_count
        slots = len(self.config.papers.impositions[self.options.impose].slots)

        def sheet(page: int) -> int:
            if duplex:
                return 2 * ((page - 1) // 2 // slots) + 1 + (page - 1) % 2
            return (page - 1) // slots + 1

        first = sheet(first_page)
        return first, sheet(first_page + page_count - 1) - first + 1


NO_PLACE = "—"  # a cover's community or grid when the register has none (as before)
COVER_TITLE = "五色户卡台账"  # the cover frame's own PDF title (never shown: no data)


@dataclass(frozen=True)
class PlacedFrame:
    """A frame laid out once whose places cardgen fills (a ledger's cover, the kit's roster
    and 明白卡): its cache key, one-page PDF, places and their type."""

    key: str
    pdf: bytes
    places: Places
    styles: dict[str, PlaceStyle]


def cover_view(plan: LedgerPlan) -> dict[str, object]:
    """What a ledger's cover frame shows (cover.html.j2 reads it as `ledger`), as plain
    values: what stays from grid to grid and month to month. The grid's own words (title,
    community, grid, grid worker, editions) and the counts are drawn (cover_values), so
    grids of one shape share a frame, and `cardgen prepare` lays out the usual ones."""
    return cover_shape(plan.emergency, bool(plan.editions), plan.colour_counts,
                       len(plan.flag_counts), plan.selection, plan.skipped)


def cover_shape(emergency: bool, has_editions: bool, colours: Sequence[ColourCount],
                flag_columns: int, selection: str = "",
                skipped: Sequence[str] = ()) -> dict[str, object]:
    """A cover frame's view (cover_view) from its parts: the colours (the configuration's),
    how many flag columns (their names are drawn), an emergency ledger's look, whether the
    ledger has editions, a selection's and skipped households' lines."""
    return {"emergency": emergency, "selection": selection, "has_editions": has_editions,
            "colours": [{"key": row.key, "char": row.char, "name": row.name,
                         "meaning": row.meaning} for row in colours],
            "flag_columns": flag_columns, "skipped": list(skipped)}


def cover_values(plan: LedgerPlan, words: PageWords,
                 edition_words: Mapping[str, str]) -> dict[str, str]:
    """What cardgen draws on a ledger's cover frame, by the place's id."""
    table = words.words
    mode = table["emergency"] if plan.emergency else table["routine"]
    values = {"cover-title": plan.title, "cover-footer-title": plan.title,
              "cover-community": plan.community or NO_PLACE,
              "cover-grid": plan.grid or NO_PLACE,
              "cover-worker": plan.grid_worker or table["unfilled"],
              "cover-phone": plan.grid_worker_phone or table["unfilled"],
              "cover-editions": table["separator"].join(
                  edition_words["edition_since" if e.date else "edition"].format(
                      number=e.number, date=e.date) for e in plan.editions),
              "cover-households": table.format("household_count", n=plan.household_count),
              "cover-members": table.format("people_count", n=plan.member_count),
              "cover-date": words.date,
              "cover-pages": table.format("page_count", n=plan.total_pages),
              "cover-footer": table.format("footer_date", date=words.date, mode=mode)}
    if plan.editions:
        retired = (table.format("retired_count", n=plan.retired_count) if plan.retired_count
                   else "")
        values["cover-numbers"] = plan.number_range + retired
    values.update({f"count-{row.key}": table.format("household_count", n=row.count)
                   for row in plan.colour_counts})
    for number, row in enumerate(plan.flag_counts, 1):
        values[f"flag-name-{number}"] = row.flag
        values[f"flag-people-{number}"] = table.format("people_count", n=row.people)
        values[f"flag-households-{number}"] = table.format("household_count", n=row.households)
    return values


def cover_page_data(plan: LedgerPlan, frame: PlacedFrame, printing: PrintRun) -> bytes:
    """A ledger's cover drawn over its frame (cached like index pages)."""
    values = cover_values(plan, printing.words, printing.config.book.list)
    return drawn_page(printing, key("cover", frame.key, values),
                      lambda canvas: draw_cover(
                          canvas, values, frame.places, frame.styles, printing.typesetter,
                          printing.config.card.line_factor, printing.config.card.smallest_text,
                          frozenset((*COVER_WORDS, "cover-editions", *(
                              f"flag-name-{n}" for n in range(1, len(plan.flag_counts) + 1))))))


def add_cover(composer: Composer, printing: PrintRun, plan: LedgerPlan) -> None:
    """A ledger's cover page: its frame, the counts drawn over it."""
    frame = printing.cover_frame(plan)
    composer.add_frames({frame.key: frame.pdf})
    add_drawn_page(composer, printing, cover_page_data(plan, frame, printing), frame.key)


# What a run keeps beside each card drawn one-sided (card_bundle): data of the household
# worked out where the card is built (a ledger's book entry: book/record.entry_data)
Describe = Callable[[Household, Category, Config], bytes]


def make_cards(households: list[Household], categories: dict[str, Category],
               numbers: dict[str, str], printing: PrintRun, emergency: bool,
               build: Parallel | None = None,
               laid_out: Callable[[], None] | None = None,
               start_workers: Callable[[], None] | None = None,
               drawn_single: bool = False, describe: Describe | None = None) -> list[Card]:
    """Cards in the given order, each knowing the page it starts on (1, 2, … as drawn).

    Cards the cache has are read from it; the rest are built here, or by `build` (other
    processes) when there are many, whose `start_workers` starts them before the geometry
    pass. `laid_out` is called as each card is ready (the desk's progress).

    `drawn_single`: the cards will be drawn for one-sided printing, so each card is drawn
    as it is built (by the workers, or here) and both are kept in one cache entry, the
    bundle (`card_bundle`), which `drawn_cards` then finds; with `describe`'s data of the
    household, which a card found or made so has as `described` (the workers' own
    `describe` is their Setup's)."""
    with printing.cache.packed("cards"):  # what is made put a pack at a time (cache.PACKS)
        return _make_cards(households, categories, numbers, printing, emergency, build,
                           laid_out, start_workers, drawn_single, describe)


def _make_cards(households: list[Household], categories: dict[str, Category],
                numbers: dict[str, str], printing: PrintRun, emergency: bool,
                build: Parallel | None, laid_out: Callable[[], None] | None,
                start_workers: Callable[[], None] | None, drawn_single: bool,
                describe: Describe | None) -> list[Card]:
    told = laid_out or (lambda: None)
    sources: list[str] = []
    found: list[Card | None] = []

    def look_up(household: Household) -> bool:
        """The household's card from the cache, if it has it (`found`, `sources`)."""
        source = key("model", printing.today, emergency, numbers[household.household_id],
                     categories[household.household_id], printed_fields(household))
        sources.append(source)
        card: Card | None = None
        # built and drawn at once (by a ledger's workers), or built alone; a run that
        # draws cards one-sided (a ledger) looks for the bundle first, as it usually finds
        bundle = printing.cache.get("cards", bundle_name(source)) if drawn_single else None
        stored = printing.cache.get("cards", source) if bundle is None else None
        if stored is not None:
            card = Card.from_data(marshal.loads(stored), printing.config)
        else:
            if bundle is None and not drawn_single:
                bundle = printing.cache.get("cards", bundle_name(source))
            if bundle is not None:
                model, pages, summary, values = marshal.loads(bundle)
                card = StoredCard.of(summary, model, printing.config, values)
                printing.bundled.add(source)
                printing.hold(source, pages)
        found.append(card)
        if card is not None:
            told()
        return card is not None

    missing: list[int] = []
    left = iter(enumerate(households))
    for index, household in left:
        if not look_up(household):
            missing.append(index)
            if build is not None and len(missing) >= PARALLEL_FROM:
                break  # the rest is looked up as the cards are handed over
    if build is not None and len(missing) >= PARALLEL_FROM:
        # enough cards to make: the workers start, and get the cards to make a chunk at a
        # time while the rest is looked up here (hashing a household for its key took
        # some 0.1 ms, which they waited for: session 6)
        if start_workers is not None:
            start_workers()
        printing.geometry(emergency)  # here, once, before any worker needs it
        bundled = drawn_single and printing.cache.enabled

        def work(index: int) -> tuple[Household, Category, str, bool, str, bool]:
            household = households[index]
            return (household, categories[household.household_id],
                    numbers[household.household_id], emergency, sources[index], bundled)

        def handed_over() -> Iterator[tuple[Household, Category, str, bool, str, bool]]:
            yield from (work(index) for index in list(missing))
            for index, household in left:
                if not look_up(household):
                    missing.append(index)
                    yield work(index)

        results = build(handed_over(), printing.geometries)
        # put here, not by the workers (workers.build_chunk), while they make the rest
        for index, data in zip(missing, results, strict=True):
            if bundled:  # if the disk lets it: see _drawn_in_order
                printing.cache.put("cards", bundle_name(sources[index]), data)
                # a ledger reads no more of it than its summary, as when found in the
                # cache: 20,000 built cards held 45 MiB of the main process (2.3 KB each,
                # tracemalloc), their data alone half of it (session 8)
                household = households[index]
                _, _, summary, values = marshal.loads(data)
                found[index] = StoredCard.of(summary, partial(
                    build_one, household, categories[household.household_id],
                    numbers[household.household_id], emergency, printing), printing.config,
                    values)
                printing.bundled.add(sources[index])
            else:
                printing.cache.put("cards", sources[index], data)
                found[index] = Card.from_data(marshal.loads(data), printing.config)
            told()
    else:
        if missing:
            printing.geometry(emergency)
        # drawn here as built, one-sided, and kept as one entry (a bundle), as the workers
        # do: one entry, not two
        bundled = drawn_single and printing.cache.enabled
        for index in missing:
            card = build_one(households[index], categories[households[index].household_id],
                             numbers[households[index].household_id], emergency, printing)
            model = marshal.dumps(card.to_data())
            if bundled:
                source = card.source_key = sources[index]
                pages = draw_card_data(card, printing, False)
                household = households[index]
                values = describe(household, categories[household.household_id],
                                  printing.config) if describe is not None else None
                card.described = values
                printing.cache.put("cards", bundle_name(source),
                                   card_bundle(card, model, pages, values))
                printing.bundled.add(source)
                printing.hold(source, pages)
            else:
                printing.cache.put("cards", sources[index], model)
            found[index] = card
            told()
    cards = []
    page = 1
    for source, made in zip(sources, found, strict=True):
        assert made is not None
        made.source_key = source
        made.first_page = page
        page += made.page_count
        cards.append(made)
    return cards


def card_bundle(card: Card, model: bytes, pages: bytes, values: bytes | None = None) -> bytes:
    """A card built and drawn (one-sided) in one go, as one cache entry keeps both (under
    `bundle_name`): the built card (`Card.to_data`, marshalled), its drawn pages
    (`draw_card_data`), what a ledger plans with (`StoredCard.summary`) and the data
    make_cards' `describe` gave of its household (None without). One entry, not two:
    creating a file in the cache folder took 0.5 ms of system time here, a cold
    1,000-card ledger's 2,000 entries 1.0–1.4 s (session 6)."""
    return marshal.dumps((model, pages, StoredCard.summary(card), values))


class StoredCard(Card):
    """A card read from its bundle (card_bundle) that is built (`Card.from_data`) only when
    something is read of it beyond what a ledger plans, lays out and writes it with: its
    household, colour, mode, page count and household rows (the summary) and where it
    stands (first_page, source_key). A ledger whose cards all come from the cache then
    builds none: building 1,000 cards took 40 ms of a one-change ledger's main process,
    and unmarshalling them 14 ms (timeit, session 8). Any other field builds the whole card,
    whose fields are then those of `Card.from_data`.

    A card a worker built and drew (make_cards) is one too, its model not its data but how
    to build it again (build_one, the same card): 20,000 cards' data held 23 MiB of the
    main process at the peak of the book's run (session 8)."""

    __slots__ = ("_config", "_count", "_model")
    _model: bytes | Callable[[], Card]
    _config: Config
    _count: int

    @staticmethod
    def summary(card: Card) -> tuple[str, str, bool, int, int]:
        return (card.household_id, card.colour.key, card.emergency, card.household_grow,
                card.page_count)

    @classmethod
    def of(cls, summary: tuple[str, str, bool, int, int], model: bytes | Callable[[], Card],
           config: Config, values: bytes | None = None) -> StoredCard:
        card = cls.__new__(cls)  # its other fields stay unset until read (__getattr__)
        household_id, colour, emergency, household_grow, count = summary
        card.household_id, card.colour = household_id, config.palette[colour]
        card.emergency, card.household_grow = emergency, household_grow
        card._model, card._config, card._count = model, config, count
        card.described = values
        return card

    def __getattr__(self, name: str) -> Any:
        """A field not set yet (Python asks only then): the whole card, built now."""
        if name.startswith("_") or not hasattr(self, "_model"):  # its own, or made by
            raise AttributeError(name)  # __init__ (dataclasses.replace): all set
        model = self._model
        built = model() if callable(model) else Card.from_data(marshal.loads(model),
                                                                self._config)
        for each in fields(Card):
            try:
                object.__getattribute__(self, each.name)
            except AttributeError:
                object.__setattr__(self, each.name, getattr(built, each.name))
        del self._model
        return object.__getattribute__(self, name)

    @property
    def page_count(self) -> int:
        try:
            return self._count
        except AttributeError:  # made by __init__ (dataclasses.replace)
            return len(self.pages)


def bundle_name(source: str) -> str:
    """The cache name of a `card_bundle`: the drawn pages' own (one-sided), marked."""
    return key("bundle", _drawn_key(source, "", False))


def bundle_part(printing: PrintRun, source: str, part: int) -> bytes | None:
    """From the cache, the built card (0) or the drawn pages (1) of a `card_bundle`."""
    stored = printing.cache.get("cards", bundle_name(source))
    return None if stored is None else marshal.loads(stored)[part]


def build_one(household: Household, category: Category, number: str, emergency: bool,
              printing: PrintRun) -> Card:
    return build_card(household, category, printing.config, printing.geometry(emergency),
                      printing.today, number, emergency, printing.typesetter)


def printed_fields(household: Household) -> tuple[object, ...]:
    """A household's values without its place in the input file (rows may shift), as a
    card's cache key takes them: the values of its fields and of its members' fields, in
    field order, without the fields' names (the code, in every entry's scope, says them).
    With the names, the key's repr of 1,000 households took 18 ms, without them 5 ms
    (timeit, session 8)."""
    return (_values_of(household, ("source", "first_row", "rows", "members")),
            tuple([_values_of(member, ("row", "sheet")) for member in household.members]))


# by dataclass and the fields left out: a getter of the values of the others
_GETTERS: dict[tuple[type, tuple[str, ...]], Callable[[Any], tuple[Any, ...]]] = {}


def _values_of(value: Any, left_out: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of each field of a dataclass but those `left_out`, in field order.
    (dataclasses.fields for each household and member took 0.2 s of 1,000 households'
    card keys, which the workers wait for: cProfile, session 6.)"""
    get = _GETTERS.get((type(value), left_out))
    if get is None:
        names = tuple(f.name for f in fields(value) if f.name not in left_out)
        getter = attrgetter(*names)
        get = _GETTERS[(type(value), left_out)] = (
            getter if len(names) > 1 else lambda v: (getter(v),))
    return get(value)


def card_frame(printing: PrintRun, card: Card, page_number: int, duplex: bool) -> Frame:
    page_no = card.first_page + page_number - 1
    return printing.frame(card.colour.key, card.emergency, duplex and page_no % 2 == 0,
                          page_number == 1, card.household_grow)


def card_frames(printing: PrintRun, card: Card, duplex: bool) -> list[Frame]:
    """The frames of every page a card prints on, its visit log's included."""
    frames = [card_frame(printing, card, number, duplex)  # its pages are numbered 1, 2, …
              for number in range(1, card.page_count + 1)]
    if has_visit_log(card.page_count, printing.config, duplex):
        frames.append(printing.frame(card.colour.key, card.emergency, True, True, log=True))
    return frames


def add_glyphs(composer: Composer, printing: PrintRun, glyphs: dict[str, dict[int, str]]) -> None:
    """Note glyphs drawn on pages that came from the cache (keyed by font family)."""
    faces = printing.typesetter.fonts.by_family()
    for family, used in glyphs.items():
        face = faces[family]
        composer.log.name(face)
        composer.log.glyphs[face].update(used)


def draw_card_data(card: Card, printing: PrintRun, duplex: bool) -> bytes:
    """One card's pages drawn: (frame, prepared content) per page and the glyphs used, as
    the cache keeps them (prepared where drawn: see compose.prepare_content)."""
    drawn = []
    log = GlyphLog()
    for page in card.pages:
        frame = card_frame(printing, card, page.number, duplex)
        canvas = Canvas(printing.paper.height, log)
        draw_card_page(canvas, card, page, printing.geometry(card.emergency, frame.verso),
                       printing.typesetter, printing.words, frame.verso)
        drawn.append((plain_values(frame), prepare_content(canvas.content(), canvas.structure())))
    if has_visit_log(card.page_count, printing.config, duplex):
        frame = printing.frame(card.colour.key, card.emergency, True, True, log=True)
        canvas = Canvas(printing.paper.height, log)
        draw_log_page(canvas, card, printing.geometry(card.emergency, True),
                      printing.typesetter, printing.words)
        drawn.append((plain_values(frame), prepare_content(canvas.content(), canvas.structure())))
    glyphs = {face.family: used for face, used in log.glyphs.items()}
    return marshal.dumps((drawn, glyphs))


def drawn_name(card: Card, duplex: bool) -> str:
    """What a card's drawn pages depend on besides the run: its source (the household's data
    and the date, see make_cards) and, printed duplex, whether it starts on a left- or
    right-hand page; not where it is in the book, so a card moved by another's arrival is
    not drawn again."""
    return _drawn_key(card.source_key, card.first_page % 2 if duplex else "", duplex)


def _drawn_key(source: str, side: int | str, duplex: bool) -> str:
    return key("pages", source, side, duplex)


def drawn_cards(cards: list[Card], printing: PrintRun, duplex: bool,
                draw: Parallel | None = None,
                done: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Each card's drawn pages, in order: from the cache, drawn here, or by `draw`. The
    work for `draw` is handed over when this is called (the workers draw while this process
    lays out the frames), the rest is drawn as the pages are read.

    `done` is called once `draw` is needed no more: at once when it is handed nothing,
    else as its last result is read (a ledger's last book then lets its workers go before
    it writes the rest of its file, see pipeline/ledgers.py)."""
    names = [drawn_name(card, duplex) for card in cards]
    # built and drawn at once (make_cards' drawn_single, or found so): read when its turn
    # comes, not held here (20,000 cards' pages); a bundle's pages are the drawn entry's
    bundled = [not duplex and card.source_key in printing.bundled for card in cards]
    stored = [None if bundle else printing.cache.get("cards", name)
              for name, bundle in zip(names, bundled, strict=True)]
    bundled = [bundle or (not duplex and data is None and
                          printing.cache.get("cards", bundle_name(card.source_key)) is not None)
               for card, data, bundle in zip(cards, stored, bundled, strict=True)]
    missing = [index for index, data in enumerate(stored)
               if data is None and not bundled[index]]
    parallel = draw is not None and len(missing) >= PARALLEL_FROM
    drawn: Iterator[bytes] = iter(())
    if parallel and draw is not None:
        for emergency in {cards[i].emergency for i in missing}:
            printing.geometry(emergency, duplex)  # here, once, before any worker needs it
        drawn = draw([(marshal.dumps(cards[i].to_data(shared=False)), cards[i].source_key,
                       cards[i].first_page, duplex) for i in missing],
                     printing.geometries)
    elif done is not None:
        done()
    held: list[Card | None] = list(cards)
    return _drawn_in_order(held, printing, duplex, names, stored, bundled,
                           len(missing) if parallel else 0, drawn, done)


def _drawn_in_order(cards: list[Card | None], printing: PrintRun, duplex: bool,
                    names: list[str], stored: list[bytes | None], bundled: list[bool],
                    parallel: int, drawn: Iterator[bytes], done: Callable[[], None] | None,
                    ) -> Iterator[bytes]:
    """The cards' drawn pages in order; `parallel`: how many of them `drawn` gives (then
    `done` is called as the last of them is read). `cards` is this function's own list:
    each card is let go once its pages are read, so a caller that keeps no card of its
    own (a ledger: pipeline/ledgers.py) holds none it has written. The pages drawn are
    put in the cache a pack at a time (cache.PACKS), the last as the last card is read."""
    packer = printing.cache.packer("cards")
    for index, card in enumerate(cards):
        assert card is not None
        cards[index] = None
        data, stored[index] = stored[index], None  # not kept once used: 20,000 cards' pages
        if bundled[index]:
            data = printing.held_pages(card.source_key)
            if data is None:
                data = bundle_part(printing, card.source_key, 1)
            if data is None:  # gone from the cache since: drawn here
                data = draw_card_data(card, printing, duplex)
        elif data is None and parallel:
            data = next(drawn)
            packer.put(names[index], data)  # here (workers.build_chunk)
            parallel -= 1
            if not parallel and done is not None:
                done()
        elif data is None:
            data = draw_card_data(card, printing, duplex)
            packer.put(names[index], data)
        if index == len(cards) - 1:
            packer.flush()
        yield data


def add_card(composer: Composer, printing: PrintRun, data: bytes) -> int:
    """A drawn card's pages, each over its frame; how many (its visit log's included)."""
    pages, glyphs = marshal.loads(data)
    add_glyphs(composer, printing, glyphs)
    for frame, prepared in pages:
        composer.add_prepared_page(prepared, printing.frame_of(frame))
    return len(pages)


def index_title(plan: LedgerPlan, words: Words) -> str:
    """The index's heading: the ledger and its total (which only the cover and the index
    show: a card's number stays when households come and go)."""
    retired = words.format("index_retired", n=plan.retired_count) if plan.retired_count else ""
    return words.format("index_total", title=plan.title, n=plan.household_count,
                        retired=retired)


@dataclass(frozen=True)
class IndexPage:
    """What one ledger index page is drawn from: all index_page_data needs, so that a worker
    can be handed it (printing/workers.index_chunk)."""

    title: str  # index_title
    rows: list[IndexRow]
    position: int  # 1-based, among the ledger's `count` index pages
    count: int
    page: int  # in the book
    emergency: bool
    verso: bool


def index_page(plan: LedgerPlan, page: int, verso: bool, words: Words) -> IndexPage:
    """The ledger's index page that is page `page` of the book."""
    position = page - plan.index_first_page
    return IndexPage(index_title(plan, words), plan.index_pages[position], position + 1,
                     len(plan.index_pages), page, plan.emergency, verso)


def index_page_data(index: IndexPage, printing: PrintRun) -> bytes:
    """A ledger index page drawn (cached like cards): prepared content and glyphs used."""
    title, rows, position, verso = index.title, index.rows, index.position, index.verso
    name = key("index", title, rows, position, index.count, index.page, index.emergency,
               verso, printing.words)
    palette = {colour_key: colour.hex for colour_key, colour in printing.config.palette.items()}

    def draw(canvas: Canvas, shown: list[IndexRow]) -> None:
        draw_index_page(canvas, title, shown, position, index.count, index.page,
                        index.emergency, printing.geometry(False, verso), printing.typesetter,
                        printing.words, verso, palette)

    # over the rows an earlier run drew, when only their pages changed (index_pages.py)
    return drawn_page(printing, name, lambda canvas: draw(canvas, rows),
                      lambda log: draw_index(log, rows, verso, printing, draw))


def change_page_data(items: tuple[Item, ...], page: int, place: str, emergency: bool,
                     verso: bool, printing: PrintRun) -> bytes:
    """A change list's page drawn (cached like index pages): prepared content, glyphs."""
    name = key("changes", items, page, place, emergency, verso, printing.words)
    return drawn_page(printing, name, lambda canvas: draw_change_page(
        canvas, items, page, place, emergency, printing.geometry(False, verso),
        printing.typesetter, printing.words, verso))


def drawn_page(printing: PrintRun, name: str, draw: Callable[[Canvas], None],
               drawing: Callable[[GlyphLog], Prepared] | None = None) -> bytes:
    """A page cardgen draws whole over a frame (index, change list, cover), from the cache
    under `name` or drawn now: its prepared content and the glyphs it used. `drawing`, if
    given, draws and prepares it (instead of `draw` on a new canvas)."""
    stored = printing.cache.get("ledger-pages", name)
    if stored is None:
        log = GlyphLog()
        if drawing is not None:
            prepared = drawing(log)
        else:
            canvas = Canvas(printing.paper.height, log)
            draw(canvas)
            prepared = prepare_content(canvas.content(), canvas.structure())
        stored = marshal.dumps((prepared,
                                {face.family: glyphs for face, glyphs in log.glyphs.items()}))
        printing.cache.put("ledger-pages", name, stored)
    return stored


def add_drawn_page(composer: Composer, printing: PrintRun, data: bytes,
                   frame: Hashable) -> None:
    """One page drawn by `index_page_data` (or alike), over its frame."""
    prepared, glyphs = marshal.loads(data)
    add_glyphs(composer, printing, glyphs)
    composer.add_prepared_page(prepared, frame)
