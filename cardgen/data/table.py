"""Find the table in a sheet as a person would (README, "Input": registers as offices keep them).

The header is the one of the first filled rows that names most columns; a second header row
(户籍信息 over 姓名 / 公民身份号码) joins it and each column takes its lowest name. Rows above
are the title: one naming a community or a grid gives it where no column does. Merged cells
show their top-left value over the whole range (户号 and 住址 merged down a family's rows).
Below the header, blank rows are passed over, 同上 takes the value above, and rows that are
no records — totals, signatures, notes, the header pasted again, a section's title — are
skipped with a note (a warning), never made into households.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from sys import intern
from typing import Any

from cardgen.config import Config
from cardgen.data.cells import SHARED_UP_TO, cell_text, clean_text
from cardgen.data.flags import read_flag, shown_flag
from cardgen.data.model import Row
from cardgen.data.sheet import Merged, Sheet
from cardgen.data.vocabulary import (
    HEAD_LABEL,
    NO_SPELLINGS,
    YES_SPELLINGS,
    field_name,
    relation_of,
    spelled,
)
from cardgen.errors import InputError, Problem, Severity, cell_place, column_letter
from cardgen.i18n import _, ngettext
from cardgen.text import fold

_ADMINISTRATIVE = ("自治区", "省", "市", "盟", "区", "县", "旗", "街道", "镇", "乡", "苏木",
                   "办事处", ":", "：", " ", "(", "（", "[", "【", "、", "，", ",")
_ASCII_DIGITS = re.compile(r"[0-9]")
# (the patterns below are text, compiled by `re` when first used: see validate.py)
_DESCRIBED = r"(情况|类别|类型|等级|级别|状态|人员)$"  # 残疾类别 is about 残疾
SHOWN_CHARS = 40  # of a skipped row quoted in its note
# a record table names one of these: a summary sheet (网格, 户数, 人数) does not
RECORD_FIELDS = frozenset({"household_id", "name", "id_number"})
# the fields that say where a household lives: its key where a table has no 户号, if they
# name a dwelling (a 住址, or a 门牌号 with the 小区, 楼栋 and 单元 around it)
ADDRESS_FIELDS = frozenset({"address", "estate", "building", "unit", "room"})
DWELLING_FIELDS = frozenset({"address", "room"})
# the fields a line above the table may give every household (网格员：赵丽娜)
CONTEXT_FIELDS = ("community", "grid", "grid_worker", "grid_worker_phone", "estate")
_LABELLED = r"^([^:：]{1,12})[:：](.+)$"
_LABEL_LINE = r"^[^:：]{0,12}[\u4e00-\u9fff][^:：]{0,12}[:：]"  # 电话：…, not 3:2
# a count of households (and people) where a 户号 would be: 共2户2人, 12户, 合计:30户 (folded).
# A pattern, not words, because the numbers vary; a 户号 never reads like this.
_TOTALS = r"^(?:共|共计|合计|计)?:?\d+户(?:,?共?\d+人)?$"
SKIP_CODES = {"totals": "row.total", "signatures": "row.signature", "notes": "row.note"}


def header_field(text: str, spellings: dict[str, str]) -> str | None:
    """The field a header names: its spelling (NFKC, without spaces and line breaks, any
    case, a * or ： at either end dropped), else the same without a bracketed note."""
    return spelled(fold(text).strip("*:"), spellings)


@dataclass
class Table:
    """What a sheet holds: rows of records and what was noticed on the way."""

    found: bool  # a header row naming known columns was found
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fields: frozenset[str] = frozenset()  # the fields its header names
    # the sheet's name, where it may stand for the grid of rows that have none: no 网格
    # column, no grid in a title, and not a generic name (Sheet1)
    sheet_grid: str | None = None
    empty: bool = False  # not a cell filled (Excel's Sheet2 and Sheet3)


def filled(rows: Iterator[list[Any]], merged: list[Merged]) -> Iterator[tuple[int, list[Any]]]:
    """(0-based row, values) with every merged range showing its top-left value throughout,
    as the spreadsheet shows it."""
    starts = sorted(merged)
    active: list[tuple[int, int, int, Any]] = []  # last row, first column, last column, value
    next_start = 0
    for index, values in enumerate(rows):
        while next_start < len(starts) and starts[next_start][0] <= index:
            first_row, first_column, last_row, last_column = starts[next_start]
            next_start += 1
            if first_row == index and last_column >= first_column:
                value = values[first_column] if first_column < len(values) else ""
                active.append((last_row, first_column, last_column, value))
        if active:
            active = [span for span in active if span[0] >= index]
            for _last_row, first_column, last_column, value in active:
                if len(values) <= last_column:
                    values = [*values, *([""] * (last_column + 1 - len(values)))]
                for column in range(first_column, last_column + 1):
                    values[column] = value
        yield index, values


def title_values(text: str, config: Config) -> dict[str, str]:
    """What a line above the table says about every household under it: the community and
    grid a title names (九原区沙河街道和平社区第三网格全员人口信息登记表 gives 和平社区 and
    第三网格), or a labelled value (网格员：赵丽娜, 社区：和平社区)."""
    labelled = re.match(_LABELLED, text)
    if labelled:
        name = header_field(labelled[1], config.spellings.columns)
        if name in CONTEXT_FIELDS and labelled[2].strip():
            return {name: labelled[2].strip()}
    found = {}
    for name, suffixes in (("community", config.reading.title_community),
                           ("grid", config.reading.title_grid)):
        for match in _named(text, suffixes):
            before = match[1]
            cuts = sorted({before.rfind(word) + len(word)
                           for word in (*_ADMINISTRATIVE, *config.reading.title_community)
                           if before.rfind(word) != -1}, reverse=True)
            start = next((cut for cut in cuts if len(before) - cut >= 1), 0)
            found[name] = before[start:] + match[2]
            break
    return found


def _named(text: str, suffixes: tuple[str, ...]) -> list[re.Match[str]]:
    """Names ending in one of `suffixes` (和平社区, 第三网格), earliest first: up to 16
    letters before it, and not a longer word (网格员, 网格化)."""
    if not suffixes:
        return []
    pattern = re.compile(r"([0-9A-Za-z\u3007\u4e00-\u9fff]{1,16}?)("
                         + "|".join(re.escape(s) for s in sorted(suffixes, key=len, reverse=True))
                         + r")(?![员长化管])")
    return list(pattern.finditer(text))



def formula_not_saved() -> dict[str, Any]:
    """A formula whose result was never saved reads as empty, but what it says (低保, say)
    is unknown: an error (Table.formula_cells' problem)."""
    return dict(code="cell.formula_not_saved", severity=Severity.ERROR, message=_(
        "holds a formula whose result was never saved (the file was written by a program "
        "that does not calculate), so cardgen cannot tell what it says; open the file in "
        "Excel or WPS, save it (保存) and read it again"))


def formula_error() -> dict[str, Any]:
    """A saved error (#N/A, #VALUE!) reads as empty, which a lookup that found nothing
    means, but a broken formula may have lost what the cell should say: a warning."""
    return dict(code="cell.formula_error", severity=Severity.WARNING, message=_(
        "holds a formula whose result is an error (#N/A, #VALUE! …), read as an empty cell; "
        "if the cell should say something, correct the formula in Excel or WPS (or type the "
        "value) and save the file"))


class _Reader:
    """One sheet read into rows (see the module's docstring)."""

    def __init__(self, sheet: Sheet, source: str, config: Config, taken: int) -> None:
        self.sheet = sheet
        self.source = source
        self.config = config
        self.taken = taken  # rows of records already read from the file (for [limits] rows)
        # a column per flag (低保 | 是): its flag, and whether only a yes marks it
        self.flag_columns: dict[int, tuple[str, bool]] = {}
        self.problems: list[Problem] = []
        words = sorted(((word, kind) for kind, words in config.reading.not_records
                        for word in words), key=lambda pair: -len(pair[0]))
        self.kinds = dict(words)
        self.markers = re.compile("|".join(re.escape(word) for word, _kind in words)) \
            if words else None
        self.ditto_starts = {word[0] for word in config.reading.same_as_above if word}
        self.marker_starts = {word[0] for word, _kind in words if word} | \
            {chr(ord(word[0]) + 0xFEE0) for word, _kind in words
             if word and "!" <= word[0] <= "~"}  # and their full-width forms
        self.uncalculated: dict[int, list[int]] = {}  # row -> formula cells without result
        for row, column in sorted(sheet.uncalculated):
            self.uncalculated.setdefault(row, []).append(column)
        self.errors: dict[int, list[int]] = {}  # row -> formula cells whose result is an error
        for row, column in sorted(sheet.errors):
            self.errors.setdefault(row, []).append(column)
        # rows crossed by a merged cell three columns wide or more: a title's
        self.wide_rows = {row for first_row, first_column, last_row, last_column in sheet.merged
                          if last_column - first_column >= 2 and last_row - first_row < 5
                          for row in range(first_row, last_row + 1)}

    # ---- places and notes ------------------------------------------------------------------

    def place(self, index: int, column: int | None = None, header: str | None = None) -> str:
        return cell_place(self.sheet.name, column_letter(column) if column is not None
                          else None, index + 1, header, index in self.sheet.hidden_rows,
                          column is not None and column in self.sheet.hidden_columns)

    def note(self, index: int | None, code: str, message: str, value: str | None = None,
             column: int | None = None, header: str | None = None,
             severity: Severity = Severity.WARNING, field: str | None = None,
             household: str | None = None) -> None:
        where = self.place(index, column, header) if index is not None else \
            cell_place(self.sheet.name, None, None, None)
        self.problems.append(Problem(severity, self.source, None if index is None else index + 1,
                                     header, field, value, message, household, code,
                                     self.sheet.name, where))

    # ---- the header ------------------------------------------------------------------------

    def fields_of(self, values: list[Any]) -> dict[int, str]:
        spellings = self.config.spellings.columns
        found = {}
        for column, value in enumerate(values):
            text = cell_text(value)
            if text:
                name = header_field(text, spellings)
                if name is not None:
                    found[column] = name
        return found

    def find_header(self, head: list[tuple[int, list[Any]]]) -> tuple[int, int] | None:
        """(first, last) positions in `head` of the header rows, or None.

        Each row is scored with the rows that join it (a two-level header: 户籍信息 over
        姓名 / 公民身份号码), and the block naming most fields wins, the first of equals:
        a header pasted again under the table names as many as the real one, but it is a
        repeat (the rows above it are records, not a title)."""
        fields = [self.fields_of(values) for _index, values in head]
        anchors = [position for position, named in enumerate(fields) if named]
        if not anchors:
            return None
        blocks = [self._block(head, fields, position) for position in anchors]
        scores = [len(set(named.values())) for _first, _last, named in blocks]
        best = scores.index(max(scores))
        first, last, named = blocks[best]
        record_fields = set(named.values()) & RECORD_FIELDS
        if not record_fields or (scores[best] < 2 and first != 0):
            return None  # a summary (网格, 户数) or a list of something else
        return first, last

    @staticmethod
    def _block(head: list[tuple[int, list[Any]]], fields: list[dict[int, str]],
               position: int) -> tuple[int, int, dict[int, str]]:
        """The header block around row `position`: it and up to two rows above and below
        that stand right next to it and name columns it does not."""
        first = last = position
        named = dict(fields[position])
        for step in (-1, 1):
            for _level in range(2):
                edge = first if step < 0 else last
                neighbour = edge + step
                if not 0 <= neighbour < len(head) or \
                        head[neighbour][0] != head[edge][0] + step:
                    break
                more = fields[neighbour]
                if not set(more) - set(named):
                    break
                named.update({c: f for c, f in more.items() if c not in named})
                if step < 0:
                    first = neighbour
                else:
                    last = neighbour
        return first, last, named

    # ---- reading -----------------------------------------------------------------------------

    def read(self) -> Table:
        limit = self.config.reading.header_rows
        rows = filled(self.sheet.rows(), self.sheet.merged)
        head: list[tuple[int, list[Any]]] = []
        for index, values in rows:
            if any(cell_text(value) for value in values):
                head.append((index, values))
                if len(head) >= limit:
                    break
        block = self.find_header(head)
        if block is None:
            return Table(False, empty=not head)
        first, last = block
        header_index = head[last][0]
        headers = self.flatten([values for _index, values in head[first:last + 1]])
        named = frozenset(name for header in headers if header and (
            name := header_field(header, self.config.spellings.columns)) is not None)
        mapping = self.map_columns(headers, header_index)
        if mapping is None:
            return Table(True, [], self.problems, named)
        context: dict[str, str] = {}
        for _index, values in head[:first]:
            for value in dict.fromkeys(cell_text(v) for v in values):
                for name, text in title_values(value, self.config).items():
                    context.setdefault(name, text)
        sheet_grid = self.sheet.name if self.sheet.name and "grid" not in context and \
            "grid" not in named and \
            not fold(self.sheet.name).startswith(self.config.reading.generic_sheets) else None
        body = (pair for pair in head[last + 1:])
        return Table(True, self.records(_chain(body, rows), mapping, headers, context),
                     self.problems, named, sheet_grid)

    def flatten(self, block: list[list[Any]]) -> list[str]:
        """Each column's name: its lowest filled cell in the header rows."""
        width = max(len(values) for values in block)
        names = []
        for column in range(width):
            name = ""
            for values in reversed(block):
                name = cell_text(values[column]) if column < len(values) else ""
                if name:
                    break
            names.append(name)
        return names

    def map_columns(self, headers: list[str], index: int) -> dict[int, str] | None:
        """Column -> field; notes for unknown, hidden and repeated columns. None when the
        table cannot be read into households (no household column, say)."""
        config = self.config
        by_field: dict[str, list[int]] = {}
        for column, header in enumerate(headers):
            if not header:
                continue
            name = header_field(header, config.spellings.columns)
            if name is None:
                flag = _flag_column(header, config)
                if flag is not None:
                    self.flag_columns[column] = flag
                elif fold(header) not in config.reading.ignored_columns:
                    self.note(index, "column.unknown", _(
                        "unknown column '{header}' is ignored; rename it to a header cardgen "
                        "knows (the [columns] table of the config) if it should be "
                        "printed").format(header=header), column=column, header=header)
                continue
            by_field.setdefault(name, []).append(column)
        mapping: dict[int, str] = {}
        hidden = self.sheet.hidden_columns
        for name, columns in by_field.items():
            shown = [c for c in columns if c not in hidden]
            if len(columns) > 1 and len(shown) == 1:
                for column in columns:
                    if column in hidden:
                        self.note(index, "column.hidden_duplicate", _(
                            "a hidden column that repeats column {letter} ({header}); it is "
                            "set aside and column {letter} is read").format(
                            letter=column_letter(shown[0]), header=headers[shown[0]]),
                            column=column, header=headers[column])
                columns = shown
            elif name == "phone" and len(columns) == len(shown) == 2:
                # 手机 and 电话 both filled: both are kept, the mobile first on the card
                mobiles = [c for c in columns if fold(headers[c]) in config.reading.mobile_columns]
                first = mobiles[0] if len(mobiles) == 1 else columns[0]
                mapping[first] = "phone"
                mapping[next(c for c in columns if c != first)] = "landline"
                continue
            elif len(columns) > 1:
                named = "、".join(cell_place(None, column_letter(c), None, headers[c])
                                 for c in columns)
                self.note(index, "column.duplicate", _(
                    "columns {columns} all mean {field}; delete or rename all but one of "
                    "them (a hidden column that repeats a visible one is set aside)").format(
                    columns=named, field=field_name(name)), column=columns[1],
                    header=headers[columns[1]], severity=Severity.ERROR, field=name)
            elif columns[0] in hidden:
                self.note(index, "column.hidden", _(
                    "this column is hidden; its values are read and printed like the "
                    "others (delete the column if they should not be)"),
                    column=columns[0], header=headers[columns[0]])
            mapping[columns[0]] = name
        fields = set(mapping.values())
        mode = config.reading.households
        if mode == "head":
            if not {"name", "relation"} <= fields:
                self.note(index, "household.no_relation", _(
                    "households = \"head\" starts a household at each 户主 row, but this "
                    "table has no 与户主关系 or no 姓名 column; add it, or use a 户编号 "
                    "column and the default households = \"number\""),
                    severity=Severity.ERROR)
                return None
        elif "household_id" not in fields and mode == "auto" and fields & DWELLING_FIELDS:
            self.note(index, "household.by_address", _(
                "the table has no household number column (户编号, 户号 …): households are "
                "told apart by their address ({columns}) and their 户主, and numbered 0001, "
                "0002 … in the order of the file; keep the rows in order (or add a 户编号 "
                "column) so that the numbers stay the same from one print to the next").format(
                columns="、".join(headers[c] for c, f in sorted(mapping.items())
                                 if f in ADDRESS_FIELDS)))
        elif "household_id" not in fields:
            found = "、".join(h for h in headers if h) or "—"
            self.note(index, "household.no_column", _(
                "the table has no household number column (户编号, 户号 …), so cardgen cannot "
                "tell which people live together. Add a 户编号 column; or, if each household "
                "starts with its 户主 row and the rows under it are its members, write "
                "households = \"head\" under [input] in a config file (`cardgen init` makes "
                "one) and give it with --config. Headers found: {headers}").format(
                headers=found), severity=Severity.ERROR)
            return None
        return mapping

    def records(self, rows: Iterator[tuple[int, list[Any]]], mapping: dict[int, str],
                headers: list[str], context: dict[str, str]) -> list[Row]:
        config = self.config
        name = self.sheet.name
        columns = {f: headers[c] for c, f in mapping.items()}
        letters = {f: column_letter(c) for c, f in mapping.items()}
        hidden_fields = frozenset(f for c, f in mapping.items()
                                  if c in self.sheet.hidden_columns)
        # the key cells of a header pasted again read as a header: its own, or a spelling
        # (a Chinese header is its own folded spelling: no fold needed)
        keys = [(f, columns[f]) for f in ("household_id", "name") if f in letters]
        longest = config.limits.cell_chars + 1
        ditto = config.reading.same_as_above
        spellings = config.spellings.columns
        items = sorted(mapping.items())
        found: list[Row] = []
        above: dict[str, str] = {}
        above_index = -2
        above_raws: dict[str, object] = {}
        hidden_rows: list[int] = []
        # each read column's last text cell and what it reads as: a register repeats its
        # community, grid, estate, building … row after row (measured: 8 ms of 43 ms reading
        # a 1,000-household CSV went to cleaning them again, py-spy, session 6)
        above_cells: list[object] = [None] * (max(mapping, default=0) + 1)
        above_texts: list[str] = [""] * len(above_cells)
        for index, values in rows:
            # the usual row has its first cell filled: no generator for it (this, the 同上
            # and section title tests below: 35 ms became 31 ms of reading 1,000 households)
            first = values[0] if values else None
            if first is None or first == "":
                first = next((v for v in values if v is not None and v != ""), None)
                if first is None:
                    continue
            first_text = cell_text(first)
            if not first_text:
                continue
            kind = self.not_record(first_text)
            if kind is not None:
                self.skip(index, kind, _row_text(values))
                continue
            texts: dict[str, str] = {}
            raws: dict[str, object] | None = None
            width = len(values)
            for column, key in items:
                value = values[column] if column < width else None
                if type(value) is str:
                    if value == above_cells[column]:  # as the row above (社区, 网格, 小区 …)
                        if above_texts[column]:
                            texts[key] = above_texts[column]
                        continue
                    if not value:
                        continue  # the usual empty cell, without a call
                    text = clean_text(value)
                    if text[:2] == '="' and text[-1:] == '"':  # Excel's text formula ="0012"
                        text = text[2:-1]
                    # one string object for the short texts every row repeats
                    text = intern(text) if len(text) <= SHARED_UP_TO else text[:longest]
                    above_cells[column], above_texts[column] = value, text
                    if text:
                        texts[key] = text
                    continue
                if value is None or value == "":
                    continue
                text = cell_text(value)  # a workbook's number or date
                raws = raws or {}
                raws[key] = value
                if text:  # one string object for the short texts every row repeats
                    texts[key] = intern(text) if len(text) <= SHARED_UP_TO \
                        else text[:longest]
            if self.flag_columns:
                self.add_column_flags(values, texts)
            if not texts:
                continue
            key = texts.get(keys[0][0], "") if keys else ""
            if ("：" in key or ":" in key) and re.match(_LABEL_LINE, key):
                self.skip(index, "notes", _row_text(values))  # 联系电话：0472… in the 户号 column
                continue
            if any(texts.get(f) == own or texts.get(f, "") in spellings for f, own in keys):
                self.note(index, "row.repeated_header", _(
                    "the header again, not a household: skipped"), value=_row_text(values))
                continue
            if self.section_title(index, texts, values):
                self.note(index, "row.title", _(
                    "a title inside the table, not a household: skipped"), value=first_text)
                for context_name, text in title_values(first_text, config).items():
                    if context_name not in letters:
                        context[context_name] = text
                continue
            orphans = []  # 同上 with nothing above: an error of this row's household
            # (most rows have no cell that starts like a 同上: looked at in C first)
            dittos = not self.ditto_starts.isdisjoint(map(_first_char, texts.values()))
            for key, text in list(texts.items()) if dittos else ():
                if text[0] in self.ditto_starts and fold(text) in ditto:
                    if key in above:
                        texts[key] = above[key]
                        if key in above_raws:
                            raws = {**(raws or {}), key: above_raws[key]}
                        elif raws:
                            raws.pop(key, None)
                    else:
                        del texts[key]
                        orphans.append((key, text))
            if "household_id" in letters and "household_id" not in texts and \
                    above_index == index - 1 and "household_id" in above and \
                    self.member_below(texts):
                texts["household_id"] = above["household_id"]  # as if merged down
            for key, text in orphans:
                self.note(index, "value.same_as_above", _(
                    "says “{text}”, the same as the row above, but there is nothing above it "
                    "to repeat; write the value itself").format(text=text),
                    value=text, column=mapping_column(mapping, key), header=columns[key],
                    severity=Severity.ERROR, field=key, household=texts.get("household_id"))
            above, above_index = texts, index
            above_raws = raws or {}
            if not texts:
                continue
            for cells, problem in ((self.uncalculated, formula_not_saved),
                                   (self.errors, formula_error)):
                if cells and index in cells:
                    self.formula_cells(index, cells[index], mapping, headers,
                                       texts.get("household_id"), **problem())
            hidden_row = index in self.sheet.hidden_rows
            if hidden_row:
                hidden_rows.append(index + 1)
            for context_name, text in context.items():
                if context_name not in letters:
                    texts[context_name] = text
            self.taken += 1
            if self.taken > config.limits.rows:
                raise InputError(_("{source}: more than {limit} rows; the limit is [limits] "
                                   "rows: split the file, by grid for example").format(
                    source=self.source, limit=config.limits.rows), code="input.too_many_rows")
            found.append(Row(self.source, index + 1, texts, columns, raws=raws,
                             sheet=name, letters=letters, hidden=hidden_fields,
                             hidden_row=hidden_row))
        if hidden_rows:
            shown = "、".join(str(r) for r in hidden_rows[:10]) + \
                ("…" if len(hidden_rows) > 10 else "")
            self.note(hidden_rows[0] - 1, "row.hidden", ngettext(
                "row {rows} is hidden but holds a record; it is read like the others "
                "(delete the row if it should not be printed)",
                "rows {rows} are hidden but hold records; they are read like the others "
                "(delete the rows that should not be printed)", len(hidden_rows)).format(
                rows=shown))
        return found

    def formula_cells(self, index: int, columns: list[int], mapping: dict[int, str],
                      headers: list[str], household: str | None, *, code: str,
                      message: str, severity: Severity) -> None:
        """A problem `code` at each formula cell of a read column (a column cardgen maps,
        or a flag column) among `columns`."""
        for column in columns:
            if column in mapping or column in self.flag_columns:
                self.note(index, code, message, column=column, header=headers[column],
                          severity=severity, field=mapping.get(column), household=household)

    def add_column_flags(self, values: list[Any], texts: dict[str, str]) -> None:
        """A mark (是, √, 1, A类 …) in a flag's own column is that flag; 否, 无, 0 are none."""
        marked = [flag for column, (flag, strict) in self.flag_columns.items()
                  if column < len(values) and (text := cell_text(values[column]))
                  and (fold(text) in YES_SPELLINGS if strict
                       else fold(text) not in NO_SPELLINGS)]
        if marked:
            texts["flags"] = "、".join([texts["flags"], *marked] if "flags" in texts else marked)

    def member_below(self, texts: dict[str, str]) -> bool:
        """A person under a household's rows with no 户号 of their own, whose 与户主关系 is not
        户主 (妻子, 儿子 …): a member of the household above, as if its 户号 were merged
        down. A 户主, or a row that says no relation, is not taken for one."""
        relation = texts.get("relation")
        return bool(texts.get("name") and relation and
                    relation_of(relation, self.config)[0] != HEAD_LABEL)

    def not_record(self, text: str) -> str | None:
        """The kind of non-record row whose first filled cell this is, or None."""
        if "户" in text and re.match(_TOTALS, fold(text)):
            return "totals"  # 共2户2人, 12户36人 in the first column
        if self.markers is None or text[0] not in self.marker_starts:
            return None  # the usual case: a 户号, not 合计 or 填表人
        match = self.markers.match(fold(text))
        return self.kinds[match[0]] if match else None

    def skip(self, index: int, kind: str, text: str) -> None:
        messages = {
            "totals": _("a totals row (合计), not a household: skipped"),
            "signatures": _("a signature or date line under the table, not a household: "
                            "skipped"),
            "notes": _("a note under the table, not a household: skipped"),
        }
        self.note(index, SKIP_CODES[kind], messages[kind], value=text)

    def section_title(self, index: int, texts: dict[str, str], values: list[Any]) -> bool:
        """A title between parts of the table (第二网格): one text over the whole row (a
        merged cell), or alone in its row and naming a community or a grid."""
        if len(texts) >= 2 and index not in self.wide_rows:
            return False  # the usual row: several cells, no merged cell across it
        distinct = set(texts.values())
        if len(distinct) != 1:
            return False
        text = next(iter(distinct))
        if len(texts) >= 2:
            return index in self.wide_rows
        others = [v for v in values if v is not None and v != ""]
        return len(others) == 1 and not _ASCII_DIGITS.search(text) and \
            bool(title_values(text, self.config))


_first_char = itemgetter(0)


def _row_text(values: list[Any]) -> str:
    """A skipped row as a note quotes it: its texts, each once (a merged cell's once), cut
    short like any value a problem quotes."""
    text = " ".join(dict.fromkeys(text for text in map(cell_text, values) if text))
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _flag_column(header: str, config: Config) -> tuple[str, bool] | None:
    """The flag a column is for, and whether only a yes (是, √, 有, 1) marks it: a flag's
    spelling (低保, 残疾人, 社区矫正人员 …), asked (是否低保) or described (残疾类别, 低保情况)
    — any value but a no marks it (A类, 二级肢体) —, or a header that reads like a red
    sub-type (吸毒史, 精神状态), marked by a yes only. A header that merely holds a word of
    another (子女数) is no flag's."""
    text = fold(header)
    for candidate in dict.fromkeys((text, text.removeprefix("是否"),
                                    re.sub(_DESCRIBED, "", text.removeprefix("是否")))):
        if not candidate:
            continue
        reading = read_flag(candidate, config)
        if reading.known and reading.how != "words":
            return reading.flag, False
        if reading.known and shown_flag(reading.flag, config) == config.flags.red_category:
            return reading.flag, True
    return None


def mapping_column(mapping: dict[int, str], name: str) -> int | None:
    return next((column for column, field_name in mapping.items() if field_name == name), None)


def _chain(first: Iterator[tuple[int, list[Any]]],
           then: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    yield from first
    yield from then


def read_table(sheet: Sheet, source: str, config: Config, taken: int = 0) -> Table:
    """The records of one sheet (see the module's docstring); `taken`: rows of records
    already read from the same file, for [limits] rows."""
    return _Reader(sheet, source, config, taken).read()
