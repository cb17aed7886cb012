"""Validate stage: rows into typed households and members, with every problem collected.

Rows make households as [input] households says: as a person reads them (the default: by
户编号; by 网格 and 户编号 where the 户号 start again in every grid; by address and 户主 where
there is no 户号 — each with a note), strictly by 户编号, by 网格 and 户编号, or each 户主 row
starting one. Where the rows cannot say (one address apart in the file with no 户主 to tell),
it stops and names the rows; it never guesses. A value that lost information on its way into
the spreadsheet (an ID column once numbers, a name's lost character) is an error on its cell
(README, "Input": never lose a row). A value that decides the colour
(房屋状态, 居住状态, 特殊情况, 户卡颜色) is understood or refused; one that only prints
(与户主关系, 性别, 民族, 电话) prints as written, with a warning.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace

from cardgen.config import Config
from cardgen.data import glyphs, vocabulary
from cardgen.data.cells import clean_text
from cardgen.data.flags import (
    hidden,
    printed_as,
    read_flag,
    shown_flags,
    shown_written,
    split_flags,
)
from cardgen.data.idnumber import IdNumberError, mask_id, normalise_id, parse_id
from cardgen.data.model import Dataset, Household, Member, Row
from cardgen.data.read import HOUSEHOLD_FIELDS, PERSON_FIELDS, Records
from cardgen.data.vocabulary import field_name, relation_of, spelled
from cardgen.errors import InputError, Problem, Severity
from cardgen.i18n import _, ngettext
from cardgen.text import fold

SHOWN_CHARS = 40  # of a value quoted in a problem
# Patterns a usual register never needs stay text, compiled by `re` when first used (its
# cache keeps them): compiling them at import took 2.5 ms of every command's start, with
# those of table.py and vocabulary.py (python -X importtime, min of 15).
# what a resident identity number looks like (a foreigner's 证件号码 may be a passport's)
_PRC_ID = r"[0-9]{15}|[0-9]{17}[0-9X]"
# IDs of a column ending in 000 more often than this chance says were numbers once
LOST_DIGITS_CHANCE = 1e-4
# field -> the [limits] key that bounds its length; every other cell has cell_chars
FIELD_LIMITS = {"name": "name_chars", "household_id": "household_id_chars",
                "address": "address_chars", "notes": "notes_chars", "flags": "flags_chars",
                "community": "place_chars", "grid": "place_chars", "grid_worker": "place_chars",
                "owner": "place_chars", "estate": "place_chars", "ethnicity": "place_chars",
                "relation": "place_chars", "building": "place_chars", "unit": "place_chars",
                "room": "place_chars"}
_DOTS = "\u00b7\u2022\u30fb\uff65\u2027\u2219\u22c5\u0387\u2e31\u16eb"
_DOT_BETWEEN = r"(?<=\S)[.．。](?=\S)"
_DOT_TABLE = str.maketrans(dict.fromkeys(_DOTS, "·"))
_DOT_AROUND = r"\s*·\s*"
# Han characters (the unified ideographs and their extensions, compatibility ideographs, 〇)
# and the "·" of a minority name written in them
_HAN_NAME = ("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
             "\U00020000-\U0003134f·]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_MARKS = r"[\s\-()（）]"
_LANDLINE = r"^0\d{2,3}\d{7,8}$|^\d{7,8}$"
# a landline's area code written apart from its number: 0472-5123456, (0472)5123456, 0472 …
_AREA_APART = r"^[(（]?(0\d{2,3})(?:[)）]\s*-?|\s*-\s*|\s+)(\d{7,8})(\D.*)?$"
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"  # and a time of day, if any
               r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (  # a birth date given to the month only: 1975.3, 1975-03, 1975年3月
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(0[1-9]|1[0-2])$"),
)
_SCIENTIFIC = r"^\d(?:\.\d+)?[eE]\+?\d{1,2}$"  # 1.59902E+17: Excel's number
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL = r"^(\d{1,5})(?:\.\d+)?$"  # a spreadsheet's day number
# 房屋状态 values that say someone lives in the dwelling
_LIVED_IN = frozenset({"自住", "借住"})


def mask_value(field: str | None, text: str) -> str:
    """The value as a problem shows it: as written, so the user can find and fix it
    (docs/problems.md), but an ID number masked like on the card, and a long value cut
    short. An empty value stays empty: nothing there to hide, and "*" would say something
    was."""
    if not text:
        return ""
    if field == "id_number":
        number = normalise_id(text)
        if re.match(_SCIENTIFIC, number):  # a number, as the cell shows it (1.10105E+17):
            # its shape, not its digits (a workbook's float masked was *****************E+17)
            return "*.*****E+" + number.rpartition("E")[2].lstrip("+")
        return mask_id(number)
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "…"
    return text


class _Collector:
    """Problems of one validation run; knows how to point at a row's cell."""

    def __init__(self, config: Config) -> None:
        self.problems: list[Problem] = []
        self.config = config

    def add(self, severity: Severity, row: Row, field: str | None, message: str,
            household_id: str | None = None, value: str | None = None,
            code: str = "") -> None:
        column = (row.column(field) if field else None) or (row.path or None)
        text = row.values.get(field) if field else None
        shown = value if value is not None else text
        if shown is not None:
            if field == "flags":
                shown = shown_written(shown, self.config)
            shown = mask_value(field, shown)
        self.problems.append(Problem(severity, row.source, row.row, column, field, shown,
                                     message, household_id, code, row.sheet,
                                     row.place(field)))

    def error(self, row: Row, field: str | None, message: str, hid: str | None = None,
              value: str | None = None, code: str = "") -> None:
        self.add(Severity.ERROR, row, field, message, hid, value, code)

    def warn(self, row: Row, field: str | None, message: str, hid: str | None = None,
             value: str | None = None, code: str = "") -> None:
        self.add(Severity.WARNING, row, field, message, hid, value, code)


def _clean_already(values: dict[str, str]) -> bool:
    """Whether every cell is as `clean_text` leaves it (not empty, printable, no space at
    either end or twice in a row), tested on the cells run together in C instead of a call
    a cell: a value with "|" beside a space only takes the long way. Measured on 1,000
    households (2,692 rows): cleaning every cell again and checking each one's length took
    9 ms, this test and each row's longest cell 5 ms."""
    joined = "|".join(values.values())
    return joined.isprintable() and "  " not in joined and " |" not in joined and \
        "| " not in joined and joined[:1] != " " and joined[-1:] != " " and \
        all(values.values())


def validate_records(batches: Iterable[Records], config: Config, today: dt.date,
                     fonts: Sequence[frozenset[int]] | None = None) -> Dataset:
    """Group rows into households and check every value; nothing stops at the first problem.

    With `fonts` (`glyphs.coverage`), a character that no font has is an error at its cell:
    printing refuses such a household, so `validate` must say so."""
    out = _Collector(config)
    sources = []
    batches_seen = list(batches)
    rows: list[Row] = []
    limits = config.limits
    limit_of: dict[str, int] = {}  # field -> its [limits] length
    # no cell shorter than this can be too long
    shortest = min(getattr(limits, name) for name in {*FIELD_LIMITS.values(), "cell_chars"})
    for records in batches_seen:
        sources.append(records.source)
        out.problems.extend(records.problems)
        for row in records.rows:
            # one line of drawable text per cell (the readers clean already; rows made
            # elsewhere are cleaned the same way): no tab, line break or invisible character
            if not _clean_already(row.values):
                row.values = {f: cleaned for f, t in row.values.items()
                              if (cleaned := clean_text(t))}
            if not row.values or max(map(len, row.values.values())) <= shortest:
                rows.append(row)  # the usual row: no cell near a limit
                continue
            for field, text in row.values.items():
                limit = limit_of.get(field)
                if limit is None:
                    limit = limit_of[field] = getattr(limits, FIELD_LIMITS.get(field,
                                                                              "cell_chars"))
                if len(text) > limit:
                    limit_name = FIELD_LIMITS.get(field, "cell_chars")
                    size = min(len(text), limits.cell_chars + 1)  # the text was cut there
                    said = _("is more than {size} characters long") if size > limits.cell_chars \
                        else _("is {size} characters long")
                    out.error(row, field, _("{said}; a card holds at most {limit}: shorten the "
                                            "cell's text (or raise [limits] {name} in the "
                                            "config)").format(
                        said=said.format(size=size - (size > limits.cell_chars)),
                        limit=limit, name=limit_name), row.text("household_id") or None,
                        code="value.too_long")
            rows.append(row)

    lost = _lost_digits(rows)
    read_problems = len(out.problems)
    groups = _households_of(rows, config, out)
    _attach_to_households(out.problems, read_problems, groups)
    if not groups and not any(p.severity is Severity.ERROR for p in out.problems):
        for records in batches_seen:
            out.problems.append(Problem(Severity.WARNING, records.source, None, None, None,
                                        None, _("the file has a header row but no records"),
                                        code="file.no_records"))
    covered: set[str] = set()  # characters the first font has (glyphs.uncovered)
    households = [_household(hid, group, config, today, out, fonts, lost, covered)
                  for hid, group in groups.items()]
    _check_across_households(households, groups, out)
    return Dataset(households, out.problems, sources)


# ---- rows into households -------------------------------------------------------------------

def _is_id_number(text: str) -> bool:
    """An 18-character resident ID (a valid check digit and birth date) used as a 户号, as
    an office that keys households by the head's ID does: it would print in full on every
    card, index row, sticker and change list, and in the desk's addresses."""
    if len(text) < 18 and text.isascii():  # the usual 户号 (G01-0001): ASCII stays as long
        return False
    number = normalise_id(text)
    if len(number) != 18:
        return False
    try:
        parse_id(number, dt.date.today())
    except IdNumberError:
        return False
    return True


def _households_of(rows: list[Row], config: Config, out: _Collector) -> dict[str, list[Row]]:
    """Household number -> its rows, as [input] households says."""
    mode = config.reading.households
    for row in rows:  # a 户主姓名 column: the row of that name is the head's
        if row.text("head_name") and not row.text("relation") and \
                clean_name(row.text("name")) == clean_name(row.text("head_name")):
            row.values["relation"] = vocabulary.HEAD_LABEL
    if mode == "head":
        return _by_head(rows, config, out)
    groups: dict[str, list[Row]] = {}
    unnumbered: list[Row] = []  # rows of a table with no 户号 column (mode "auto")
    masked: dict[str, str] = {}  # 户号 that are ID numbers -> the household's masked name
    for row in rows:
        number = row.text("household_id")
        if not number and mode == "auto" and row.letters is not None and \
                "household_id" not in row.letters:
            unnumbered.append(row)
            continue
        if not number:
            out.error(row, "household_id", _(
                "the row has no household number (户编号); fill it in so the row joins its "
                "household (同上 repeats the number above)"), code="household.no_number")
            continue
        if _is_id_number(number):  # the household goes by its masked ID, in error
            key = masked.get(number)
            if key is None:
                key = mask_id(normalise_id(number))
                while key in masked.values():  # the same last four digits
                    key += "*"
                masked[number] = key
                out.error(row, "household_id", _(
                    "the household number is an ID number (身份证号): the 户号 prints on the "
                    "card, the index, the stickers and the change list, and an ID number must "
                    "not; in Excel or WPS give the column the office's household numbers "
                    "(G01-0001 …), or delete the column and cardgen tells households apart by "
                    "address and head"), key, value=key, code="household.id_number")
            number = row.values["household_id"] = key
        if mode == "grid+number" and row.text("grid"):
            number = f"{row.text('grid')}-{number}"
            row.values["household_id"] = number
        groups.setdefault(number, []).append(row)
    if mode != "grid+number":
        groups = _check_restarts(groups, mode == "auto", rows, out)
    if unnumbered:
        for number, group in _by_address(unnumbered, set(groups), config, out).items():
            groups[number] = group
    return groups


def _attach_to_households(problems: list[Problem], count: int,
                          groups: dict[str, list[Row]]) -> None:
    """The errors the read stage found in a record's row (the first `count` problems)
    belong to the household the row joined — by its number as keyed now (网格-户号, or an
    address's 0001) —, so that --skip-invalid leaves out that household alone."""
    household_of = {(row.source, row.sheet, row.row): number
                    for number, group in groups.items() for row in group if row.row}
    for index, problem in enumerate(problems[:count]):
        if problem.severity is Severity.ERROR and problem.row is not None:
            number = household_of.get((problem.source, problem.sheet, problem.row))
            if number is not None and number != problem.household_id:
                problems[index] = replace(problem, household_id=number)


def _lost_digits(rows: list[Row]) -> frozenset[int]:
    """The rows (their `id`) whose 18-digit ID number ends in 000 in a column where more
    end so than chance gives: a column once stored as numbers (Excel keeps 15 digits, the
    last three become 000), where one in eleven still passes the check digit."""
    columns: dict[tuple[str, str | None, str | None], list[tuple[Row, str]]] = {}
    for row in rows:
        text = row.text("id_number")
        if text:
            number = normalise_id(text)
            if len(number) == 18:
                columns.setdefault((row.source, row.sheet, row.column("id_number")),
                                   []).append((row, number))
    lost: set[int] = set()
    for numbers in columns.values():
        ending = [row for row, number in numbers if number.endswith("000")]
        if len(ending) >= 2 and _chance_of(len(ending), len(numbers)) < LOST_DIGITS_CHANCE:
            lost.update(id(row) for row in ending)
    return frozenset(lost)


def _chance_of(found: int, numbers: int) -> float:
    """The chance that `found` or more of `numbers` real ID numbers end in 000 (two sequence
    digits 00, 1 in 100, and a check digit 0, 1 in 11): a Poisson tail."""
    expected = numbers / 1100
    below = sum(expected ** k / math.factorial(k) for k in range(found)) * math.exp(-expected)
    return max(0.0, 1.0 - below)


def _address_of(row: Row) -> str:
    text = row.text("address") or "".join(row.text(f) for f in ("estate", "building", "unit",
                                                                "room"))
    return "".join(text.split()).lower()


def _check_restarts(groups: dict[str, list[Row]], settle: bool, rows: list[Row],
                    out: _Collector) -> dict[str, list[Row]]:
    """户号 that start again in every grid: one number, two grids, two dwellings. With
    `settle` (households = "auto") every household is then keyed by grid and 户号, as a
    person reads the register, with a note; else one error for the file offering
    households = "grid+number", and each grid's rows kept apart, so that nothing else is
    reported for them."""
    restarting: list[tuple[str, list[Row]]] = []
    by_sheet: list[tuple[str, list[Row]]] = []  # sheets with no grid's name (Sheet1, Sheet2)
    for number, group in groups.items():
        by_grid: dict[str, list[Row]] = {}
        for row in group:
            if row.text("grid"):
                by_grid.setdefault(fold(row.text("grid")), []).append(row)
            elif row.sheet is not None:
                by_grid.setdefault(f"\x00{row.sheet}", []).append(row)
        if len(by_grid) < 2:
            continue
        addresses = {next((_address_of(r) for r in part if _address_of(r)), "")
                     for part in by_grid.values()}
        if len(addresses) == 1 and "" not in addresses:
            continue  # one dwelling in two grids: its 网格 disagree (reported with it)
        firsts = [part[0] for part in by_grid.values()]
        if any(key.startswith("\x00") for key in by_grid):
            by_sheet.append((number, firsts))
        else:
            restarting.append((number, firsts))
    if by_sheet:
        raise _sheets_restart(by_sheet)
    if not restarting:
        return groups
    number, (first, second, *_more) = restarting[0]
    if settle:
        out.warn(first, "household_id", ngettext(
            "户号 {number} stands in grid {grid} and in grid {other} ({place}) with different "
            "addresses: the 户号 start again in every grid ({count} number does), so "
            "households are told apart by grid and 户号 and numbered 网格-户号 ({grid}-{number}); "
            "--household takes that number",
            "户号 {number} stands in grid {grid} and in grid {other} ({place}) with different "
            "addresses: the 户号 start again in every grid ({count} numbers do), so "
            "households are told apart by grid and 户号 and numbered 网格-户号 ({grid}-{number}); "
            "--household takes that number", len(restarting)).format(
            number=number, grid=first.text("grid"), other=second.text("grid"),
            place=second.place("household_id"), count=len(restarting)),
            code="household.by_grid")
        keyed: dict[str, list[Row]] = {}
        for row in rows:  # in the order of the file
            number = row.text("household_id")
            if number in groups:
                key = f"{row.text('grid')}-{number}" if row.text("grid") else number
                keyed.setdefault(key, []).append(row)
        for key, group in keyed.items():
            for row in group:
                row.values["household_id"] = key
        return keyed
    out.error(first, "household_id", ngettext(
        "户号 {number} stands in grid {grid} and in grid {other} ({place}) with different "
        "addresses: the 户号 seem to start again in every grid ({count} number does). If "
        "households are told apart by grid and 户号, write households = \"grid+number\" under "
        "[input] in a config file (`cardgen init` makes one) and give it with --config; if "
        "they are one household, correct its 网格.",
        "户号 {number} stands in grid {grid} and in grid {other} ({place}) with different "
        "addresses: the 户号 seem to start again in every grid ({count} numbers do). If "
        "households are told apart by grid and 户号, write households = \"grid+number\" under "
        "[input] in a config file (`cardgen init` makes one) and give it with --config; if "
        "they are one household, correct its 网格.", len(restarting)).format(
        number=number, grid=first.text("grid"), other=second.text("grid"),
        place=second.place("household_id"), count=len(restarting)),
        code="household.number_restarts")
    for number, _firsts in restarting:
        for row in groups.pop(number):
            key = f"{row.text('grid')}-{number}" if row.text("grid") else number
            groups.setdefault(key, []).append(row)
    return groups


def _sheets_restart(restarting: list[tuple[str, list[Row]]]) -> InputError:
    """户号 that start again in every sheet where a sheet's name is no grid's (Sheet1,
    Sheet2): which households are which cannot be told, so the file is refused (a card
    printed under --skip-invalid would have no grid and a made-up number), naming the
    sheets and how to name them after their grids."""
    number, (first, second, *_more) = restarting[0]
    return InputError(ngettext(
        "{source}: 户号 {number} stands in sheet “{sheet}” and in sheet “{other}” ({place}) "
        "with different addresses: the 户号 start again in every sheet ({count} number "
        "does), but the sheets' names name no grid to tell their households apart; rename "
        "each sheet after its grid (right-click the sheet's tab → 重命名, e.g. 第1网格), or "
        "add a 网格 column",
        "{source}: 户号 {number} stands in sheet “{sheet}” and in sheet “{other}” ({place}) "
        "with different addresses: the 户号 start again in every sheet ({count} numbers "
        "do), but the sheets' names name no grid to tell their households apart; rename "
        "each sheet after its grid (right-click the sheet's tab → 重命名, e.g. 第1网格), or "
        "add a 网格 column", len(restarting)).format(
        source=first.source, number=number, sheet=first.sheet, other=second.sheet,
        place=second.place("household_id"), count=len(restarting)),
        code="workbook.sheets_restart")


def _by_address(rows: list[Row], taken: set[str], config: Config,
                out: _Collector) -> dict[str, list[Row]]:
    """Rows of a table with no 户号 column, keyed as a person reads them: by address
    (小区 + 楼栋 + 单元 + 门牌号, or 住址) and 户主. A member's row without an address
    under its household's rows joins it. At one address, one 户主 (or none) makes one
    household; several 户主 each start one, and the rows under a 户主 are its members.
    Where that cannot tell — rows of one address apart in the file with no 户主 to join,
    or before any 户主 of an address that has several — it stops and names the rows.
    Households are numbered 0001, 0002 … in the order of the file (a number some 户号
    already has is passed over)."""
    runs: dict[str, list[list[Row]]] = {}  # address -> its runs of adjacent rows
    last_address = ""  # of the row above
    above = ""  # the address of the row above, if it is a person's
    last_place: tuple[str, str | None] | None = None
    for row in rows:
        address = _address_of(row)
        place = (row.source, row.sheet)
        if address and row.text("head_name"):  # 户主姓名: one address, a household a head
            address = f"{address}\x1f{''.join(clean_name(row.text('head_name')).split())}"
        if not address and place == last_place and above and row.text("name") and \
                relation_of(row.text("relation"), config)[0] != vocabulary.HEAD_LABEL:
            address = above  # a member written under its household, the address once
        if not address:
            out.error(row, "address", _(
                "the row has no address, and the table no household number column: "
                "households are told apart by their address; fill it in (同上 repeats the "
                "one above), or add a 户编号 column"), code="household.no_address")
            last_address = above = ""
            last_place = place
            continue
        parts = runs.setdefault(address, [])
        if address == last_address and place == last_place:
            parts[-1].append(row)
        else:
            parts.append([row])
        last_address, last_place = address, place
        above = address if row.text("name") else ""

    def is_head(row: Row) -> bool:
        return bool(row.text("name")) and \
            relation_of(row.text("relation"), config)[0] == vocabulary.HEAD_LABEL

    found: list[list[Row]] = []
    for parts in runs.values():
        heads = sum(is_head(row) for part in parts for row in part)
        if heads == 1 or (heads == 0 and len(parts) == 1):
            found.append([row for part in parts for row in part])
            continue
        if heads == 0 or any(not any(is_head(row) for row in part) for part in parts):
            places = "、".join(part[0].place(None) for part in parts)
            first = parts[0][0]
            out.error(first, "address", ngettext(
                "rows {places} stand at one address, apart in the file, with no 户主 row to "
                "tell whether they are one household or several ({count} 户主): fill in "
                "与户主关系, put each household's rows together, or add a 户编号 column",
                "rows {places} stand at one address, apart in the file, with no 户主 row to "
                "tell whether they are one household or several ({count} 户主): fill in "
                "与户主关系, put each household's rows together, or add a 户编号 column",
                heads).format(places=places, count=heads), code="household.address_ambiguous")
            continue
        for part in parts:
            current: list[Row] | None = None
            waiting: list[Row] = []  # rows above the run's first 户主 join it
            for row in part:
                if is_head(row):
                    current = [*waiting, row]
                    waiting = []
                    found.append(current)
                elif current is None:
                    waiting.append(row)
                else:
                    current.append(row)
    position = {id(row): index for index, row in enumerate(rows)}
    found.sort(key=lambda group: position[id(group[0])])
    groups: dict[str, list[Row]] = {}
    count = 0
    for group in found:
        count += 1
        while f"{count:04d}" in taken:
            count += 1
        number = f"{count:04d}"
        for row in group:
            row.values["household_id"] = number
        groups[number] = group
    return groups


def _by_head(rows: list[Row], config: Config, out: _Collector) -> dict[str, list[Row]]:
    """households = "head": each 户主 row starts a household, the rows under it (in the same
    sheet) are its members; a row without a name is a vacant dwelling of its own."""
    groups: dict[str, list[Row]] = {}
    current: str | None = None
    sheet: tuple[str, str | None] | None = None
    count = 0
    for row in rows:
        if (row.source, row.sheet) != sheet:
            sheet, current = (row.source, row.sheet), None
        if row.text("name") and \
                relation_of(row.text("relation"), config)[0] != vocabulary.HEAD_LABEL:
            if current is None:
                out.error(row, "relation", _(
                    "this row comes before any 户主 row, so it belongs to no household "
                    "(households = \"head\" starts a household at each 户主 row): put its "
                    "household's 户主 row above it"), code="household.no_head_above")
                continue
            row.values["household_id"] = current
            groups[current].append(row)
            continue
        count += 1
        number = row.text("household_id") or f"{count:04d}"
        if number in groups:
            out.error(row, "household_id", _(
                "户号 {number} already starts the household at {place}; each 户主 row starts "
                "a household of its own: give this one its own 户号").format(
                number=number, place=groups[number][0].place("household_id")),
                number, code="household.number_repeats")
        row.values["household_id"] = number
        groups.setdefault(number, []).append(row)
        current = number if row.text("name") else None
    return groups


# ---- one household ----------------------------------------------------------------------------

def _household(hid: str, rows: list[Row], config: Config, today: dt.date,
               out: _Collector, fonts: Sequence[frozenset[int]] | None = None,
               lost: frozenset[int] = frozenset(), covered: set[str] | None = None
               ) -> Household:
    first = rows[0]
    household = Household(household_id=hid, source=first.source, first_row=first.row or 0,
                          rows=[row.row or 0 for row in rows])
    values = _agreed_household_fields(hid, rows, config, out)
    for field, (row, text) in values.items():
        if field == "housing":
            household.housing = _enum(row, field, text, config.spellings.housing, hid, out)
        elif field in ("multiple_homes", "moves_often"):
            setattr(household, field, _yes_no(row, field, text, hid, out))
        elif field == "plan":
            household.plan = _enum(row, field, text, config.spellings.plan, hid, out)
        elif field == "colour":
            colour = spelled(text, config.spellings.colour)
            if colour is None:
                out.error(row, field, _("is no colour cardgen knows; use 红, 橙, 黄, 蓝 or 绿 "
                                        "(or red, orange, yellow, blue, green), or leave it "
                                        "empty to let the rules decide"), hid,
                          code="colour.unknown")
            else:
                household.colour = colour
        elif field in ("owner_phone", "grid_worker_phone", "cadre_phone"):
            setattr(household, field, _phone(row, field, text, hid, out))
        else:
            setattr(household, field, text)

    member_rows = []
    for row in rows:
        if row.text("name"):
            household.members.append(_member(row, hid, config, today, out, id(row) in lost))
            member_rows.append(row)
        else:
            stray = [f for f in PERSON_FIELDS if f != "name" and row.text(f)]
            if stray == ["notes"]:  # 房主在外地: a note on the dwelling, not on a person
                out.warn(row, "notes", _(
                    "a note on a row with no name (姓名) is about the dwelling; the card has no "
                    "place for it, so it is not printed (write it on a member's row to print "
                    "it)"), hid, code="row.dwelling_note")
            elif stray:
                columns = "、".join(row.column(f) or f for f in stray)
                out.error(row, "name", _(
                    "the row has no name (姓名) but has person fields ({columns}); fill in the "
                    "name, or clear those cells if the dwelling is vacant").format(
                    columns=columns), hid, value="", code="row.no_name")
    _check_household(household, rows, config, out)
    if "housing" in values:
        _check_lived_in(household, values["housing"][0], config, out)
    if fonts:
        _check_glyphs(household, rows, values, member_rows, fonts, out,
                      config.reading.name_placeholders, covered)
    return household


def _check_glyphs(household: Household, rows: list[Row], values: dict[str, tuple[Row, str]],
                  member_rows: list[Row], fonts: Sequence[frozenset[int]],
                  out: _Collector, placeholders: frozenset[str] = frozenset(),
                  covered: set[str] | None = None) -> None:
    """An error at the cell of each character that no font has, in the text as printed; a
    name's placeholder for a lost character (U+FFFD) has its own error, which says the fix
    (type the name again), not a font to add. `covered`: characters the first font has,
    found so far (see `glyphs.uncovered`)."""
    try:
        if not glyphs.uncovered(glyphs.every_text(household), fonts, covered):
            return  # the usual case: the fonts have every character of the household
    except TypeError:  # a value that is no text: checked as printed, below
        pass
    field_rows = {field: row for field, (row, _text) in values.items()}
    on_card = glyphs.household_texts(household)
    of_members = [glyphs.member_texts(member) for member in household.members]
    if not glyphs.uncovered("".join(text for texts in (on_card, *of_members)
                                    for _field, text in texts), fonts):
        return
    hid = household.household_id
    for field, text in on_card:
        for char in glyphs.uncovered(text, fonts):
            out.error(field_rows.get(field, rows[0]), field, glyphs.message(hid, field, char),
                      hid, code=glyphs.CODE)
    for texts, row in zip(of_members, member_rows, strict=True):
        for field, text in texts:
            for char in glyphs.uncovered(text, fonts):
                if field != "name" or char not in placeholders:
                    out.error(row, field, glyphs.message(hid, field, char), hid,
                              code=glyphs.CODE)


def _check_lived_in(household: Household, row: Row, config: Config, out: _Collector) -> None:
    """A dwelling 自住 (or 借住) where nobody lives: one of the two is wrong. The colour
    rules give green (空房户) to 空置 dwellings only (README, "The five colours"), so the
    card is printed in another colour, yet says 空置房屋 · 无人居住 when it has no
    members."""
    if household.housing not in _LIVED_IN or any(
            m.residence not in config.spellings.non_resident for m in household.members):
        return
    hid, housing = household.household_id, household.housing
    meaning = _("owner-occupied") if housing == "自住" else \
        _("lent to someone who lives there")
    if not household.members:
        out.warn(row, "housing", _(
            "household {household} is {housing} ({meaning}) but has nobody in it: its rows "
            "have no name, so its card says 空置房屋 · 无人居住, yet the colour rules count "
            "only 房屋状态 空置 as vacant (green); make 房屋状态 空置 if the dwelling is vacant, "
            "or fill in the people who live there").format(
            household=hid, housing=housing, meaning=meaning), hid, code="housing.nobody")
    else:
        away = _(" or ").join(config.spellings.non_resident)
        out.warn(row, "housing", _(
            "household {household} is {housing} ({meaning}) but every member's 居住状态 is "
            "{away}, so nobody lives there, yet the colour rules count only 房屋状态 空置 as "
            "vacant (green); make 房屋状态 空置 if the dwelling is vacant, or correct the "
            "居住状态 column").format(household=hid, housing=housing, meaning=meaning,
                                    away=away), hid, code="housing.nobody")


def _agreed_household_fields(hid: str, rows: list[Row], config: Config,
                             out: _Collector) -> dict[str, tuple[Row, str]]:
    """The household fields of a household, each from the first row that has it."""
    agreed: dict[str, tuple[Row, str]] = {}
    sheets_said = False  # a household in two grid sheets is said once
    for row in rows:
        values = row.values
        for field in HOUSEHOLD_FIELDS:
            if field == "household_id":
                continue
            text = values.get(field)
            if not text:
                continue
            if field not in agreed:
                agreed[field] = (row, text)
                continue
            first_row, first_text = agreed[field]
            if text != first_text and \
                    _comparable(field, text, config) != _comparable(field, first_text, config):
                if field == "grid" and row.column("grid") is None and \
                        first_row.column("grid") is None and row.sheet != first_row.sheet:
                    if sheets_said:
                        continue
                    sheets_said = True
                    out.error(row, "household_id", _(
                        "户号 {number} stands in sheet “{first}” ({place}) and in sheet "
                        "“{sheet}”, each sheet a grid, with the same address: one dwelling "
                        "cannot be in two grids; check which sheet holds it by mistake, and "
                        "correct its 户号 or delete its rows there").format(
                        number=hid, first=first_row.sheet, place=first_row.place("household_id"),
                        sheet=row.sheet), hid, code="household.two_sheets")
                    continue
                out.error(row, field, _(
                    "household {household}'s {field} is “{value}” at {place} but “{here}” "
                    "here; one household has one {field}: correct the wrong one, or fill it "
                    "on the household's first row only").format(
                    household=hid, field=field_name(field), value=mask_value(field, first_text),
                    place=first_row.place(field), here=mask_value(field, text)), hid,
                    code="household.fields_disagree")
    return agreed


def _comparable(field: str, text: str, config: Config) -> str:
    spellings = {"housing": config.spellings.housing, "plan": config.spellings.plan,
                 "colour": config.spellings.colour}.get(field)
    if spellings is not None:
        return spelled(text, spellings) or fold(text)
    return fold(text)


def _enum(row: Row, field: str, text: str, spellings: dict[str, str], hid: str,
          out: _Collector) -> str:
    """A value that decides the colour: one the config knows, or an error."""
    value = spelled(text, spellings)
    if value is None:
        accepted = "、".join(dict.fromkeys(v for v in spellings.values() if v)) or "—"
        out.error(row, field, _(
            "is not a value cardgen knows; use one of: {accepted} (or add this spelling to "
            "the [{table}] table of the config)").format(
            accepted=accepted, table={"housing": "housing", "residence": "residence.values",
                                      "plan": "plan"}.get(field, field)), hid,
            code=f"{field}.unknown")
        return ""
    return value


def _yes_no(row: Row, field: str, text: str, hid: str, out: _Collector) -> bool:
    key = fold(text)
    if key in vocabulary.YES_SPELLINGS:
        return True
    if key in vocabulary.NO_SPELLINGS:
        return False
    out.error(row, field, _("must be 是 or 否"), hid, code="value.yes_no")
    return False


def _phone(row: Row, field: str, text: str, hid: str, out: _Collector) -> str:
    """A mobile number as its 11 digits; a landline as written, its area code kept apart
    by a dash where one was written apart (0472-5123456, (0472)5123456 → 0472-5123456)."""
    if len(text) == 11 and text.isascii() and _MOBILE.match(text):
        return text  # the usual 11 digits of a mobile, as the steps below leave them
    written = unicodedata.normalize("NFKC", text).strip()
    digits = re.sub(_PHONE_MARKS, "", written)
    if digits.startswith("+86"):
        digits = digits[3:]
        written = written[3:].strip()
    core = digits.split("转")[0].split("ext")[0]
    if not (_MOBILE.match(core) or re.match(_LANDLINE, core)):
        out.warn(row, field, _("does not look like a phone number (11-digit mobile or a "
                               "landline with area code); it is printed as written"), hid,
                 code="phone.format")
        return text.strip()
    apart = re.match(_AREA_APART, written)
    if apart and not _MOBILE.match(core):
        extension = "".join((apart[3] or "").split())
        return f"{apart[1]}-{apart[2]}{extension}"
    return digits


def clean_name(text: str) -> str:
    """NFC, one kind of middle dot (U+00B7) in minority names, no spaces around it."""
    name = unicodedata.normalize("NFC", text).strip().translate(_DOT_TABLE)
    if "." in name or "．" in name or "。" in name:
        name = re.sub(_DOT_BETWEEN, "·", name)
    return re.sub(_DOT_AROUND, "·", name) if "·" in name else name


def _name(row: Row, hid: str, config: Config, out: _Collector) -> str:
    """The name as a person reads it: a Han name without the spaces typed into it (李 秀兰,
    a no-break space), a minority name with its "·"; a placeholder for a character lost on
    the way into the spreadsheet (?, U+FFFD) is an error."""
    name = clean_name(row.text("name"))
    placeholders = config.reading.name_placeholders
    lost = [] if placeholders.isdisjoint(name) else \
        [char for char in dict.fromkeys(name) if char in placeholders]
    if lost:
        out.error(row, "name", _(
            "holds {chars}, a placeholder where a character was lost on the way into the "
            "spreadsheet (an encoding or a font that lacked it); type the name again as on "
            "the ID card or 户口簿").format(chars="、".join(f"“{c}”" for c in lost)), hid,
            code="name.placeholder")
    if " " in name and re.fullmatch(_HAN_NAME, name.replace(" ", "")):
        if len(name.replace(" ", "")) > 4:  # no Han name is this long (复姓 and two): the
            # space parts a transliterated minority name, 阿依古丽 买买提, whose mark is "·"
            name = "·".join(name.split())
            out.warn(row, "name", _(
                "a minority name with a space between its parts; it is printed with the "
                "middle dot ({name})").format(name=name), hid, code="name.spaces")
        else:
            name = name.replace(" ", "")
            out.warn(row, "name", _(
                "a Chinese name with a space typed into it; it is printed without the space "
                "({name})").format(name=name), hid, code="name.spaces")
    return name


def _member(row: Row, hid: str, config: Config, today: dt.date, out: _Collector,
            lost_digits: bool = False) -> Member:
    member = Member(name=_name(row, hid, config, out), row=row.row or 0, sheet=row.sheet)
    text = row.values.get  # row.text without a call of its own: 2,655 people, 13 fields each

    relation_text = text("relation")
    if relation_text:
        relation, known = relation_of(relation_text, config)
        if not known:
            out.warn(row, "relation", _("is no relation cardgen knows; it is printed as "
                                        "written (add it to the [relation] table of the config "
                                        "if it means one)"), hid, code="relation.unknown")
        member.is_head = relation == vocabulary.HEAD_LABEL
        member.relation = relation

    sex_text = text("sex")
    written_sex = ""
    if sex_text:
        sex = spelled(sex_text, config.spellings.sex)
        if sex is None:
            out.warn(row, "sex", _("is not 男 or 女; the sex the ID number gives is printed, "
                                   "or, without one, the value as written"), hid,
                     code="sex.unknown")
            written_sex = sex_text
        else:
            member.sex = sex

    ethnicity = text("ethnicity", "").strip()
    if ethnicity and ethnicity not in vocabulary.ETHNIC_GROUPS:
        if ethnicity + "族" in vocabulary.ETHNIC_GROUPS:
            ethnicity += "族"
        else:
            out.warn(row, "ethnicity", _("is not one of the 56 ethnic groups' names; it is "
                                         "printed as written"), hid, code="ethnicity.unknown")
    member.ethnicity = ethnicity

    birth_text = text("birth_date")
    month: tuple[int, tuple[int, ...]] | None = None
    if birth_text:
        # a whole date (1975-10-22, the usual) is no month alone: its 3 patterns are not tried
        if not _DATE_PATTERNS[0].match(birth_text.strip()):
            month = _month_only(row, birth_text, today, hid, out)
        if month is None:
            member.birth_date = _date(row, "birth_date", birth_text, today, hid, out)

    id_text = text("id_number")
    if id_text:
        foreign = spelled(text("residence", ""), config.spellings.residence) in \
            config.spellings.foreign
        _id_number(member, row, id_text, today, hid, out, month, lost_digits, foreign)
    if month is not None and month[1] and not member.id_number:
        year, months = month
        if len(months) > 1:
            out.error(row, "birth_date", _(
                "could be January or October: Excel stored {year}.10 as the number {year}.1; "
                "format the column as text (设置单元格格式 → 文本) and type the date again, or "
                "give the ID number").format(year=year), hid, code="birth_date.ambiguous")
        else:
            member.birth_date = dt.date(year, months[0], 1)
            out.warn(row, "birth_date", _(
                "gives the year and month only; the age is counted from the 1st of the month "
                "(the ID number would give the day)"), hid, code="birth_date.month_only")
    if not member.sex and written_sex:
        member.sex = written_sex

    phone = text("phone")
    if phone:
        member.phone = _phone(row, "phone", phone, hid, out)
    landline = text("landline")
    if landline:
        member.landline = _phone(row, "landline", landline, hid, out)

    residence = text("residence")
    if residence:
        member.residence = _enum(row, "residence", residence, config.spellings.residence,
                                 hid, out)

    flags_text = text("flags")
    if flags_text:
        member.flags = _flags(row, flags_text, config, hid, out)
    member.notes = text("notes", "")
    return member


def _month_only(row: Row, text: str, today: dt.date, hid: str,
                out: _Collector) -> tuple[int, tuple[int, ...]] | None:
    """(year, the months it may be) of a birth date given to the month only, else None.
    A spreadsheet number 1975.1 may have been typed 1975.10; an impossible month gives
    (year, ())."""
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(text.strip())
        if match is None:
            continue
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12 or (year, month) > (today.year, today.month) or year < 1870:
            out.error(row, "birth_date", _("is a month that cannot be a birth date; write the "
                                           "date as YYYY-MM-DD"), hid,
                      code="birth_date.impossible")
            return year, ()
        months = (1, 10) if isinstance(row.raw("birth_date"), float) and \
            text.strip().endswith(".1") else (month,)
        return year, months
    return None


def _date(row: Row, field: str, text: str, today: dt.date, hid: str,
          out: _Collector) -> dt.date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text.strip())
        if match:
            try:
                day = dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                out.error(row, field, _("is an impossible date; write it as YYYY-MM-DD"), hid,
                          code="birth_date.impossible")
                return None
            if day > today or day.year < 1870:
                out.error(row, field, _("is a date that cannot be a birth date (reference date "
                                        "{today}); write it as YYYY-MM-DD").format(
                    today=today.isoformat()), hid, code="birth_date.impossible")
                return None
            return day
    serial = re.match(_SERIAL, text.strip())
    if serial and 1 <= int(serial[1]) <= 60000:  # 24473.5: a date with a time of day
        day = _EXCEL_EPOCH + dt.timedelta(days=int(serial[1]))
        out.warn(row, field, _("is a spreadsheet date number, read as {date}; format the "
                               "column as 日期 or text YYYY-MM-DD").format(
            date=day.isoformat()), hid, code="birth_date.number")
        return day
    out.error(row, field, _("is not a date cardgen can read; write it as YYYY-MM-DD"), hid,
              code="birth_date.unreadable")
    return None


def _stored_as_number() -> str:
    """Said of an ID number that was a number in the spreadsheet (looked up when it is
    said, not for each of 2,655 people: 0.4 ms)."""
    return _("is stored as a number, and spreadsheet programs keep only the first 15 digits "
             "of a number, so the last digits are lost; format the column as text (设置单元格格式 "
             "→ 文本) and type the ID numbers again (a CSV file keeps them only if it is saved "
             "from a text column)")


def _id_number(member: Member, row: Row, text: str, today: dt.date, hid: str,
               out: _Collector, month: tuple[int, tuple[int, ...]] | None,
               lost_digits: bool = False, foreign: bool = False) -> None:
    """The ID number checked, and what it says of its holder; a person from abroad's
    passport or permit number (`foreign`: no 15 or 18 digits) is kept as written."""
    number = normalise_id(text)
    if (isinstance(row.raw("id_number"), (int, float)) and len(number) != 15) or \
            ("E" in number and re.match(_SCIENTIFIC, number)):  # 1.59902E+17 (upper-cased)
        out.error(row, "id_number", _stored_as_number(), hid, code="id.stored_as_number")
        return
    if lost_digits:
        out.error(row, "id_number", _(
            "ends in 000, as too many ID numbers of this column do for chance: the column "
            "was stored as numbers, and spreadsheet programs keep only the first 15 digits "
            "of a number, so the last three were lost, even where the check digit still "
            "matches; format the column as text (设置单元格格式 → 文本) and type the ID "
            "numbers again from the ID cards"), hid, code="id.stored_as_number")
        return
    if foreign and not re.fullmatch(_PRC_ID, number):
        member.id_number = number
        return
    try:
        checked = parse_id(text, today)
    except IdNumberError as exc:
        if exc.code == "id.check_digit" and number.endswith("000"):
            out.error(row, "id_number", _stored_as_number(), hid, code="id.stored_as_number")
        else:
            out.error(row, "id_number", _("is not a valid ID number: {why}").format(why=exc),
                      hid, code=exc.code)
        return
    if checked.legacy:
        out.warn(row, "id_number", _("is an old 15-digit ID number; it is accepted, but the "
                                     "18-digit number from the current ID card is better"),
                 hid, code="id.legacy")
    member.id_number = checked.number
    if member.sex and member.sex != checked.sex:
        out.warn(row, "sex", _("disagrees with the ID number, which says {sex}; check "
                               "both").format(sex=checked.sex), hid, code="sex.disagrees")
    elif not member.sex:
        member.sex = checked.sex
    born = checked.birth_date
    if month is not None:
        year, months = month
        if months and (year != born.year or born.month not in months):
            out.warn(row, "birth_date", _("disagrees with the birth date in the ID number; the "
                                          "ID number's date is used"), hid,
                     code="birth_date.disagrees")
    elif member.birth_date and member.birth_date != born:
        out.warn(row, "birth_date", _("disagrees with the birth date in the ID number; the "
                                      "ID number's date is used"), hid,
                 code="birth_date.disagrees")
    member.birth_date = born


def _flags(row: Row, text: str, config: Config, hid: str, out: _Collector) -> tuple[str, ...]:
    flags: list[str] = []
    for position, part in enumerate(split_flags(text, config.flags.separators), 1):
        reading = read_flag(part, config)
        if not reading.known:  # shown as written: the user must see which one it is
            out.warn(row, "flags", _(
                "flag {position} ('{flag}') is no flag cardgen knows; it is printed as "
                "written in the overflow row; if it means a known flag, add this spelling to "
                "[flags.aliases] in the config (known: {known})").format(
                position=position, flag=mask_value("flags", part), known=shown_flags(config)), hid,
                code="flag.unknown")
        elif reading.how == "words" and hidden(reading, config):
            # never quoted: what it says is exactly what must not print
            out.warn(row, "flags", _(
                "flag {position} reads like a group that prints only as {meaning}: it is "
                "treated as {meaning}; if that is wrong, add its spelling to [flags.aliases] "
                "in the config").format(position=position,
                                         meaning=printed_as(reading, config)), hid,
                code="flag.by_words")
        elif reading.how == "words":
            out.warn(row, "flags", _(
                "flag {position} ('{flag}') is no spelling cardgen knows; it is read as "
                "{meaning} by the words in it; if that is wrong, add this spelling to "
                "[flags.aliases] in the config").format(
                position=position, flag=part, meaning=printed_as(reading, config)), hid,
                code="flag.by_words")
        if reading.flag not in flags:
            flags.append(reading.flag)
    return tuple(flags)


def _check_household(household: Household, rows: list[Row], config: Config,
                     out: _Collector) -> None:
    hid = household.household_id
    by_row = {(row.sheet, row.row): row for row in rows}  # a workbook's sheets share row numbers
    limit = config.limits.members
    if len(household.members) > limit:
        out.error(rows[0], "household_id", _(
            "household {household} has {count} people; at most {limit} ([limits] members): is "
            "the 户编号 right on every row?").format(household=hid,
                                                   count=len(household.members), limit=limit),
            hid, code="household.too_many_members")
    heads = [m for m in household.members if m.is_head]
    if len(heads) > 1:
        row = by_row.get((heads[1].sheet, heads[1].row), rows[0])
        out.warn(row, "relation", _("household {household} has {count} heads (户主); the "
                                    "first is printed as head, the others with no relation: "
                                    "correct their 与户主关系").format(household=hid,
                                                                  count=len(heads)),
                 hid, code="household.heads")
        for member in heads[1:]:
            member.is_head, member.relation = False, ""
    elif household.members and not heads:
        out.warn(rows[0], "relation", _("household {household} has no head (户主); the first "
                                        "member is printed first").format(household=hid),
                 hid, value="", code="household.no_head")
    seen: dict[str, Member] = {}
    for member in household.members:
        if not member.id_number:
            continue
        if member.id_number in seen:
            first = by_row.get((seen[member.id_number].sheet, seen[member.id_number].row))
            out.error(by_row.get((member.sheet, member.row), rows[0]), "id_number", _(
                "the same ID number stands twice in household {household} (also in {first}); "
                "delete the duplicate row").format(
                household=hid, first=first.place("id_number") if first else "?"), hid,
                code="id.twice")
        seen[member.id_number] = member


def _check_across_households(households: list[Household], groups: dict[str, list[Row]],
                             out: _Collector) -> None:
    where: dict[str, Household] = {}
    for household in households:
        for member in household.members:
            if not member.id_number:
                continue
            other = where.get(member.id_number)
            if other is not None and not (household.multiple_homes or other.multiple_homes):
                row = next((r for r in groups[household.household_id]
                            if (r.sheet, r.row) == (member.sheet, member.row)),
                           groups[household.household_id][0])
                out.warn(row, "id_number", _(
                    "the same person is also in household {other}; mark 一人多套房 = 是 if "
                    "that is right").format(other=other.household_id),
                    household.household_id, code="id.two_households")
            where.setdefault(member.id_number, household)
