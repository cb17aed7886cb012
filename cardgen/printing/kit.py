"""The emergency kit drawn: the roster's pages and the 明白卡 sheets, each over its frame.

The frames (templates/roster.html.j2 and mingbai.html.j2, styled by kit.css.j2 and an
office's custom.css) are laid out by WeasyPrint once and cached, like a ledger's cover;
the people's data is drawn here into the places the frames mark, in each place's own type.
So a kit for a thousand households costs one layout per frame, not one per page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardgen.book.roster import RosterEntry, needs_of, plan_for, shown_household_id
from cardgen.cache import key
from cardgen.config import Config, Plan, Words
from cardgen.data.model import Household
from cardgen.frame.render import PlaceStyle
from cardgen.layout.cards import Card, has_visit_log
from cardgen.layout.colours import BLACK, rgb
from cardgen.layout.geometry import MM, Box, Places
from cardgen.pdf.canvas import Canvas
from cardgen.pdf.compose import Composer
from cardgen.pdf.draw import Pen, summarise
from cardgen.printing.run import (
    Parallel,
    PlacedFrame,
    PrintRun,
    add_card,
    card_frames,
    drawn_cards,
)
from cardgen.write import atomic_file

ROSTER_SIZE = (297.0, 210.0)  # mm: A4 landscape
SHEET_SIZE = (210.0, 297.0)  # mm: A4 portrait
ROSTER_PROBE_ROWS = 40  # rows laid out; those that fit whole are used
ROSTER_COLUMNS = ("number", "address", "floor", "name", "age", "needs", "phone", "family",
                  "contacted", "moved", "whereto")
MINGBAI_FIELDS = ("number", "address", "head", "members", "needs", "shelter",
                  "shelter-address", "route", "signal", "person", "person-phone", "worker",
                  "worker-phone")
GROUP_FILL = rgb("#E6E6E6")
RULE_GAP = 0.8  # mm between text written on a rule and the rule
LIST_LEAST = 0.7  # a list of people is made no smaller than this of its place's type


def kit_frame(printing: PrintRun, template: str, context: Mapping[str, Any]) -> PlacedFrame:
    """A kit frame from the cache, or laid out by WeasyPrint (and checked to have every
    place cardgen fills)."""
    from cardgen.errors import RenderRefused
    from cardgen.i18n import _

    def lay_out() -> tuple[bytes, Places, dict[str, PlaceStyle]]:
        pdf, places, styles = printing.renderer().kit_frame_pdf(template, context)
        required = (["roster-grid", "roster-worker", "roster-date", "roster-counts",
                     "roster-page", "roster-rows", "roster-row-1",
                     *(f"rcol-{c}" for c in ROSTER_COLUMNS)] if template.startswith("roster")
                    else [f"mb-{n}-{f}" for n in context["cards"] for f in MINGBAI_FIELDS])
        for place in required:
            if place not in places:
                raise RenderRefused(_(
                    "{file} has no element with id “{id}”: cardgen prints the emergency "
                    "kit's data there (docs/templates.md lists the ids)").format(
                    file=printing.renderer().template_file(template), id=place),
                    code="template.missing_id")
        return pdf, places, styles

    return printing.placed_frame(key("kit-frame", template, dict(context)), lay_out)


def roster_frame(printing: PrintRun) -> PlacedFrame:
    """The roster's page frame: the same for every grid (its words are drawn into places),
    so `cardgen prepare` lays it out at install."""
    words = printing.config.card.words
    doc = {"title": words["roster_title"], "confidential": printing.config.card.confidential}
    return kit_frame(printing, "roster.html.j2", {"rows": ROSTER_PROBE_ROWS, "doc": doc})


def mingbai_frame(printing: PrintRun, across: int, down: int) -> PlacedFrame:
    """The 明白卡 sheet's frame, `across` × `down` cards: the same for every grid, so
    `cardgen prepare` lays out the configured one at install."""
    doc = {"title": printing.config.card.words["mingbai_title"],
           "confidential": printing.config.card.confidential}
    return kit_frame(printing, "mingbai.html.j2",
                     {"cards": list(range(1, across * down + 1)), "across": across,
                      "down": down, "doc": doc})


def fitting(pen: Pen, items: list[str], box: Box, style: PlaceStyle, smallest: float,
            more: str, separator: str = "、", name: bool = False) -> str:
    """As many of `items` as fit `box` in type no smaller than `LIST_LEAST` of the place's
    (names stay readable), then `more` (等{n}人): a list of people summarised, never cut
    mid-name."""
    size, bold, _colour, _align = style
    least = max(smallest, size * LIST_LEAST)
    room = max(1, int((box.height + 0.01) // pen.line_height(least)))
    return summarise(items, lambda text: len(pen.lines(text, least, box.width, bold, name))
                     <= room, more, separator)


def fill(pen: Pen, text: str, box: Box, style: PlaceStyle, smallest: float,
         on_rule: bool = False, name: bool = False) -> None:
    """`text` in `box`, in the place's type, wrapped and made smaller until it fits its
    height (never under `smallest` pt), centred on the box's height (or, `on_rule`, on the
    box's bottom: written on the rule under it); a `name` breaks only between its parts."""
    if not text:
        return
    size, bold, colour, align = style
    while True:
        lines = pen.lines(text, size, box.width, bold, name)
        height = len(lines) * pen.line_height(size)
        if height <= box.height + 0.01 or size <= smallest:
            break
        size = max(smallest, size - 0.5)
    lines = lines[:max(1, int((box.height + 0.01) // pen.line_height(size)))]
    free = box.height - len(lines) * pen.line_height(size)
    top = box.y + (free - RULE_GAP if on_rule else free / 2)
    pen.draw(lines, box.x, top, size, rgb(colour) if colour else BLACK, align, box.width)


# ---- the roster ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterLine:
    """A row of the roster as printed: a group's heading (building and unit) or a person."""

    heading: str = ""
    entry: RosterEntry | None = None


def roster_lines(entries: list[RosterEntry], per_page: int,
                 words: Words) -> list[list[RosterLine]]:
    """The roster's rows, page by page: a heading before each building and unit (again,
    with 续, atop a page that starts inside one), never a heading last on a page."""
    pages: list[list[RosterLine]] = [[]]
    current = None
    for entry in entries:
        place = entry.location
        group = (place.estate, place.building, place.unit)
        page = pages[-1]
        room = per_page - len(page)
        if group != current:
            if room < 2:
                pages.append([])
            pages[-1].append(RosterLine(heading=group_words(entry, words)))
            current = group
        elif room < 1:
            pages.append([RosterLine(heading=words.format(
                "roster_continued", heading=group_words(entry, words)))])
        pages[-1].append(RosterLine(entry=entry))
    return pages


def group_words(entry: RosterEntry, words: Words) -> str:
    place = entry.location
    parts = [place.building_name or words["no_building"]]
    if place.unit:
        parts.append(words.format("unit", unit=place.unit))
    return " ".join(parts)


def write_roster(out: Path, printing: PrintRun, group: str, worker: str,
                 entries: list[RosterEntry], households: int) -> int:
    """A grid's roster as one PDF (written atomically); returns its pages."""
    words = printing.config.card.words
    frame = roster_frame(printing)
    places = frame.places
    area = places["roster-rows"]
    rows = [places[f"roster-row-{n}"] for n in range(1, ROSTER_PROBE_ROWS + 1)
            if f"roster-row-{n}" in places
            and places[f"roster-row-{n}"].bottom <= area.bottom + 0.01]
    pages = roster_lines(entries, len(rows), words) if entries else [[]]
    people_households = len({e.household_id for e in entries})
    counts = words.format("roster_counts", people=len(entries), households=people_households,
                          total=households)
    smallest = printing.config.card.smallest_text
    faces = printing.typesetter.fonts.by_family()
    variant = printing.options.pdf_variant  # the kit's three files alike (PDF/A, press)
    with atomic_file(out) as handle:
        composer = Composer(handle, (ROSTER_SIZE[0] * MM, ROSTER_SIZE[1] * MM), faces,
                            printing.cache, smallest=variant is not None)
        try:
            composer.add_frames({frame.key: frame.pdf})
            for number, lines in enumerate(pages, 1):
                canvas = Canvas(ROSTER_SIZE[1], composer.log)
                pen = Pen(canvas, printing.typesetter, 0.0, 0.0,
                          printing.config.card.line_factor, smallest)
                values = {"roster-grid": group, "roster-worker": worker,
                          "roster-date": printing.words.date, "roster-counts": counts,
                          "roster-page": words.format("roster_page", page=number,
                                                      pages=len(pages))}
                for name, text in values.items():
                    fill(pen, text, places[name], frame.styles[name], smallest)
                if not entries:  # said across the row, as a heading (not over the rules)
                    draw_roster_line(pen, RosterLine(heading=words["roster_nobody"]), rows[0],
                                     places, frame.styles, smallest, words)
                for row, line in zip(rows, lines, strict=False):
                    draw_roster_line(pen, line, row, places, frame.styles, smallest, words)
                composer.add_data_page(canvas.content(), frame.key)
            composer.finish(words.format("pdf_roster", group=group), printing.words.date, variant)
        finally:
            composer.close()
    return len(pages)


def row_address(entry: RosterEntry) -> str:
    """The address as a row prints it: without the estate its group's heading names (a long
    estate name squeezed the door number into small type), else as written."""
    estate = entry.location.estate
    if estate and entry.address.startswith(estate) and len(entry.address) > len(estate):
        return entry.address[len(estate):].strip()
    return entry.address


def floor_words(floor: int | None, words: Words) -> str:
    """The floor as the roster prints it: 12层, a basement 地下1层, unknown blank."""
    if floor is None:
        return ""
    return (words.format("floor", floor=floor) if floor > 0
            else words.format("floor_below", floor=-floor or 1))


def draw_roster_line(pen: Pen, line: RosterLine, row: Box, places: Places,
                     styles: Mapping[str, PlaceStyle], smallest: float, words: Words) -> None:
    size, _bold, colour, _align = styles["roster-row-1"]
    if line.entry is None:
        pen.rect(row.x + 0.3, row.y + 0.3, row.width - 0.6, row.height - 0.8, fill=GROUP_FILL)
        fill(pen, line.heading, Box(row.x + 2, row.y, row.width - 4, row.height),
             (size, True, colour, "left"), smallest)
        return
    entry = line.entry
    values = {"number": entry.number, "address": row_address(entry),
              "floor": floor_words(entry.location.floor, words),
              "name": entry.name, "age": "" if entry.age is None else str(entry.age),
              "needs": "、".join(entry.needs), "phone": entry.phone,
              "family": entry.family_phone}
    centred = {"number", "floor", "age"}
    for column in ROSTER_COLUMNS:
        head = places[f"rcol-{column}"]
        cell = Box(head.x, row.y + 0.4, head.width, row.height - 0.8)
        if column in ("contacted", "moved"):
            side = min(6.0, row.height - 3.0)
            pen.rect(cell.x + (cell.width - side) / 2, row.y + (row.height - side) / 2, side,
                     side, stroke=BLACK, line=0.35)
            continue
        bold = column in ("name", "needs")
        fill(pen, values.get(column, ""), cell,
             (size, bold, colour, "center" if column in centred else "left"), smallest,
             name=column == "name")


# ---- the 明白卡 ----------------------------------------------------------------------------

# A 明白卡's value: a text, or a list of people (summarised with 等N人 where they do not fit)
CardValue = str | tuple[str, ...]
LISTS = {"members": "、", "needs": "；"}  # the lists' separators


def mingbai_values(household: Household, number: str, plan: Plan | None,
                   needs: Mapping[str, tuple[str, ...]], words: Words,
                   household_id: str | None = None) -> dict[str, CardValue]:
    """What one household's 明白卡 says, by field (a plan's fields empty without one;
    `household_id`: the 户号 as shown, if not as written)."""
    head = household.head
    members = tuple(words.format("member_relation", name=m.name, relation=m.relation)
                    if m.relation else m.name for m in household.members)
    helped = tuple(words.format("person_needs", name=name, needs="、".join(said))
                   for name, said in needs.items())
    person, phone = ((household.cadre, household.cadre_phone) if household.cadre
                     else (household.grid_worker, household.grid_worker_phone))
    values: dict[str, CardValue] = {
              "number": words.format("mingbai_number", number=number,
                                     household_id=household_id or household.household_id),
              "address": household.full_address, "head": head.name if head else "",
              "members": members, "needs": helped or words["no_needs"], "person": person,
              "person-phone": phone, "worker": household.grid_worker,
              "worker-phone": household.grid_worker_phone}
    if plan is not None:
        values.update({"shelter": plan.shelter, "shelter-address": plan.shelter_address,
                       "route": plan.route, "signal": plan.signal})
    return values


def mingbai_cards(households: list[Household], numbers: Mapping[str, str], config: Config,
                  today: dt.date, copies: int) -> list[dict[str, CardValue]]:
    """The 明白卡 of `households` (a vacant dwelling has none), `copies` of each together."""
    cards = []
    for household in households:
        if not household.members:
            continue
        needs = {member.name: words for member in household.members
                 if (words := needs_of(member, config, today))}
        values = mingbai_values(household, numbers[household.household_id],
                                plan_for(household, config), needs, config.card.words,
                                shown_household_id(household.household_id, config))
        cards += [values] * copies
    return cards


def write_mingbai(out: Path, printing: PrintRun, cards: list[dict[str, CardValue]], across: int,
                  down: int, title: str) -> int:
    """The 明白卡 on A4 sheets (`cards`: each card's values, copies included, in order);
    returns the sheets."""
    slots = list(range(1, across * down + 1))
    frame = mingbai_frame(printing, across, down)
    smallest = printing.config.card.smallest_text
    faces = printing.typesetter.fonts.by_family()
    sheets = [cards[i:i + len(slots)] for i in range(0, len(cards), len(slots))] or [[]]
    more = printing.config.card.words["more_names"]
    variant = printing.options.pdf_variant  # as the roster

    def draw(pen: Pen, values: dict[str, CardValue], slot: int) -> None:
        for field in MINGBAI_FIELDS:
            place = f"mb-{slot}-{field}"
            box, style = frame.places[place], frame.styles[place]
            value = values.get(field, "")
            names = field == "members"  # break between people, and a name between its parts
            text = value if isinstance(value, str) else fitting(
                pen, list(value), box, style, smallest, more, LISTS.get(field, "、"), names)
            fill(pen, text, box, style, smallest, on_rule=field != "number", name=names)

    with atomic_file(out) as handle:
        composer = Composer(handle, (SHEET_SIZE[0] * MM, SHEET_SIZE[1] * MM), faces,
                            printing.cache, smallest=variant is not None)
        try:
            composer.add_frames({frame.key: frame.pdf})
            for sheet in sheets:
                canvas = Canvas(SHEET_SIZE[1], composer.log)
                pen = Pen(canvas, printing.typesetter, 0.0, 0.0,
                          printing.config.card.line_factor, smallest)
                for slot, values in zip(slots, sheet, strict=False):
                    draw(pen, values, slot)
                composer.add_data_page(canvas.content(), frame.key)
            composer.finish(title, printing.words.date, variant)
        finally:
            composer.close()
    return len(sheets)


# ---- the cards with tabs on top ------------------------------------------------------------

def write_cards(out: Path, printing: PrintRun, cards: list[Card], duplex: bool,
                title: str, draw: Parallel | None = None) -> int:
    """Emergency cards in the given order as one PDF (written atomically); in duplex each
    starts on a right-hand page, its back its 续页 or visit log, as in a book. Returns the
    pages (sheets, if imposed)."""
    page = 1
    for card in cards:  # where each card falls decides its sides (a back's tab is mirrored)
        if duplex and page % 2 == 0:
            page += 1
        card.first_page = page
        page += card.page_count + has_visit_log(card.page_count, printing.config, duplex)
    frames = [frame for card in cards for frame in card_frames(printing, card, duplex)]
    with atomic_file(out) as handle:
        composer = printing.composer(handle, duplex)
        try:
            composer.add_frames(printing.frames(list(dict.fromkeys(frames))))
            position = 1
            for card, data in zip(cards, drawn_cards(cards, printing, duplex, draw), strict=True):
                while position < card.first_page:  # a blank back before a card
                    composer.add_data_page(b"")
                    position += 1
                position += add_card(composer, printing, data)
            composer.finish(title, printing.words.date, printing.options.pdf_variant)
            return composer.pages_written
        finally:
            composer.close()
