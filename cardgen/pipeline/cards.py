"""Cards of selected households: one PDF (`reprint`), a PNG of one card (`preview`), and
label sheets (`stickers`)."""

from __future__ import annotations

import contextlib
import io
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cardgen.book.ledger import ledger_order
from cardgen.cache import Cache
from cardgen.config import LabelSheet
from cardgen.data.model import Household
from cardgen.data.select import Selection, select_households
from cardgen.errors import CardgenError, Problem, UsageError
from cardgen.i18n import _
from cardgen.layout.cards import Card
from cardgen.layout.fonts import font_set
from cardgen.layout.geometry import MM, PrintOptions
from cardgen.layout.typeset import Typesetter
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.compose import Composer
from cardgen.pipeline.register import Loaded, check_in_book, check_printable, numbered, warnings_of
from cardgen.printing.run import PrintRun, add_card, card_frame, drawn_cards, make_cards
from cardgen.write import atomic_file, check_output, write_atomic

if TYPE_CHECKING:
    from cardgen.frame.helper import FrameHelper
    from cardgen.printing.stickers import Label


@dataclass
class Printed:
    """What a command wrote, for its summary line."""

    path: Path
    households: int
    pages: int
    errors_elsewhere: int = 0
    warnings: list[Problem] = field(default_factory=list)


def cards_document(loaded: Loaded, chosen: list[Household], printing: PrintRun, emergency: bool,
                   out: IO[bytes], numbers: Mapping[str, str] | None = None,
                   helper: FrameHelper | None = None) -> list[Card]:
    """The cards of `chosen`, in that order, as one finished PDF (imposed if asked);
    `helper`: the process laying out the geometry and frames (frame/helper.py)."""
    if helper is not None:
        ready_to_subset(printing)  # while the helper lays out the geometry
        helper.geometry()  # in the cache now (or not: the run lays it out itself)
    cards = make_cards(chosen, loaded.categories, dict(numbers or loaded.numbers), printing,
                       emergency)
    frames = list(dict.fromkeys(card_frame(printing, card, page.number, False)
                                for card in cards for page in card.pages))
    if helper is not None:
        helper.ask(frames)
    drawn = drawn_cards(cards, printing, duplex=False)
    # the first cards drawn while the helper lays out their frames (a few: drawn pages are
    # not held for a long reprint)
    ahead = list(itertools.islice(drawn, DRAWN_AHEAD)) if helper is not None else []
    if helper is not None:
        helper.frames()
    composer = printing.composer(out)
    try:
        composer.add_frames(printing.frames(frames))
        for data in itertools.chain(ahead, drawn):
            add_card(composer, printing, data)
        words = loaded.config.card.words
        title = words.format("pdf_cards", what=chosen[0].household_id if len(chosen) == 1
                             else words.format("pdf_count", n=len(chosen)))
        composer.finish(title, loaded.today.isoformat(), printing.options.pdf_variant)
    finally:
        composer.close()
    return cards


DRAWN_AHEAD = 10  # cards drawn before their frames are there, when a helper lays them out


def ready_to_subset(printing: PrintRun) -> None:
    """Load what the font subsets of a PDF use when the cache has no glyph outlines for
    them (pdf/subset.py `subset_font`: HarfBuzz, fontTools, the font files): a run with a
    FrameHelper has a cache without the frames, so without the outlines too, and this
    process has nothing else to do until the helper has the geometry. A font that cannot
    be read is said when the subset is made."""
    import fontTools.cffLib
    import fontTools.misc.psCharStrings
    import fontTools.pens.recordingPen
    import fontTools.pens.t2CharStringPen
    import fontTools.ttLib  # noqa: F401
    import uharfbuzz  # noqa: F401

    from cardgen.pdf.subset import font_cids, open_face

    fonts = printing.typesetter.fonts
    for face in dict.fromkeys((*fonts.regular, *fonts.bold)):
        with contextlib.suppress(CardgenError):
            open_face(face.path)
            font_cids(face.path)


def reprint(loaded: Loaded, selection: Selection, out: Path, emergency: bool = False,
            templates: Path | None = None, options: PrintOptions | None = None,
            cache: Cache | None = None, book: Path | None = None,
            helper: FrameHelper | None = None) -> Printed:
    """The selected households' cards as one PDF, in input order, with the book's numbers
    (`book`: the folder of the grid's book; without it, a first print's); `helper`: see
    `cards_document`."""
    check_output(out, [loaded.source])
    cache = cache or Cache.off()
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "reprint")
    numbering = numbered(loaded, book)
    check_in_book(numbering, chosen, book)
    printing = PrintRun.start(loaded.config, options, templates, loaded.today, cache)
    with atomic_file(out) as handle:
        cards = cards_document(loaded, chosen, printing, emergency, handle, numbering.numbers,
                               helper)
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
    cache = cache or Cache.off()
    chosen = select_households(loaded.dataset.households, loaded.categories,
                               Selection(households=(household,)))
    check_printable(loaded, chosen, "preview")
    numbering = numbered(loaded, book)
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
    # pHYs: prints at size. zlib level 3: the same pixels in 0.6x the time of the default
    # level 6 and 6 % fewer bytes (measured on a card at 96 dpi: 29 ms, 85.7 KB against
    # 48 ms, 91.1 KB)
    sheet.save(buffer, format="PNG", optimize=False, compress_level=3, dpi=(dpi, dpi))
    write_atomic(out, buffer.getvalue())
    return Printed(out, 1, len(images), 0, warnings_of(loaded, chosen))


def stickers(loaded: Loaded, selection: Selection, out: Path, sheet: LabelSheet, skip: int = 0,
             cache: Cache | None = None, book: Path | None = None) -> Printed:
    """Label sheets: a colour-tab label and flag stickers per household, in book order,
    with the book's numbers (`book`, as for `reprint`)."""
    from cardgen.printing.stickers import labels_for

    check_output(out, [loaded.source])
    check_skip(sheet, skip)
    cache = cache or Cache.off()
    chosen = select_households(loaded.dataset.households, loaded.categories, selection)
    check_printable(loaded, chosen, "stickers")
    numbering = numbered(loaded, book)
    check_in_book(numbering, chosen, book)
    numbers = numbering.numbers
    chosen = ledger_order(chosen, numbers)
    labels = labels_for(chosen, loaded.categories, numbers, loaded.config)
    words = loaded.config.card.words
    title = words.format("pdf_stickers", what=words.format("pdf_count", n=len(chosen)))
    pages = write_labels(labels, sheet, skip, out, title, loaded, cache)
    return Printed(out, len(chosen), pages, 0, warnings_of(loaded, chosen))


def check_skip(sheet: LabelSheet, skip: int) -> None:
    if not 0 <= skip < sheet.labels:
        raise UsageError(_("--skip {skip}: a {sheet} sheet has {labels} labels; skip 0 to "
                           "{last}").format(skip=skip, sheet=sheet.name, labels=sheet.labels,
                                            last=sheet.labels - 1), code="stickers.skip")


def write_labels(labels: list[Label], sheet: LabelSheet, skip: int, out: Path, title: str,
                 loaded: Loaded, cache: Cache, typesetter: Typesetter | None = None) -> int:
    """Labels on sheets as one PDF, written atomically; returns the sheets."""
    from cardgen.printing.stickers import draw_sheet, place

    typesetter = typesetter or Typesetter(font_set(loaded.config, cache))
    with atomic_file(out) as handle:
        composer = Composer(handle, (sheet.page[0] * MM, sheet.page[1] * MM),
                            typesetter.fonts.by_family(), cache)
        try:
            for placed in place(labels, sheet, skip):
                canvas = Canvas(sheet.page[1], composer.log)
                draw_sheet(canvas, sheet, placed, typesetter, loaded.config.card.words,
                           loaded.config.card.smallest_text)
                composer.add_data_page(canvas.content())
            composer.finish(title, loaded.today.isoformat())
            return composer.page_count
        finally:
            composer.close()
