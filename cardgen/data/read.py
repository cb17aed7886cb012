"""Read stage: a register — CSV, .xlsx, .xls, .ods, an HTML table saved as .xls, or JSON —
into rows of cells that remember their place (file, sheet, cell).

The format is told by content, not by name. Spreadsheets are read as a person reads them
(cardgen/data/table.py): the header found, merged cells filled, rows that are no records
skipped with a note. A workbook gives every sheet holding a register, or the sheets named
(`SheetChoice`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardgen.config import Config
from cardgen.data.cells import cell_text, clean_text, shared
from cardgen.data.idnumber import normalise_id
from cardgen.data.model import Row
from cardgen.data.sheet import Sheet
from cardgen.data.table import Table, read_table, title_values
from cardgen.errors import InputError, Problem, Severity, UsageError, cell_place
from cardgen.i18n import _
from cardgen.text import fold

if TYPE_CHECKING:
    from cardgen.data.workbook import Workbook

HOUSEHOLD_FIELDS = (
    "household_id", "community", "grid", "grid_worker", "grid_worker_phone", "address",
    "estate", "building", "unit", "room", "housing", "multiple_homes", "moves_often", "plan",
    "owner", "owner_phone", "colour", "cadre", "cadre_phone",
)
PERSON_FIELDS = (
    "name", "relation", "sex", "ethnicity", "birth_date", "id_number", "phone", "landline",
    "residence", "flags", "notes",
)
_BLANK = " \t\r\n\u3000\xa0"
WORKBOOKS = ("xlsx", "xls", "ods")


@dataclass
class Records:
    """What the read stage hands on: the rows, and the problems met while reading."""

    source: str
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class SheetChoice:
    """Which sheets of a workbook are read: those `names`d (--sheet-name, repeatable), else
    every sheet that holds a register."""

    names: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: SheetChoice | str | Sequence[str] | None) -> SheetChoice:
        if isinstance(value, SheetChoice):
            return value
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls((value,))
        return cls(tuple(value))


def read_records(path: Path, config: Config,
                 sheets: SheetChoice | str | Sequence[str] | None = None) -> Records:
    """Read one input file, telling its format from its content rather than its name."""
    source = str(path)
    choice = SheetChoice.of(sheets)
    limits = config.limits
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError
        if size > limits.file_mb * 2**20:
            raise InputError(_("{source}: the file is {size} MB; the limit is {limit} MB "
                               "([limits] file_mb): split it, by grid for example").format(
                source=source, size=round(size / 2**20), limit=limits.file_mb),
                code="input.too_big")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(_("{source}: no such file").format(source=source),
                         code="input.missing") from None
    except IsADirectoryError:
        raise InputError(_("{source}: is a folder, not a file of household records").format(
            source=source), code="input.folder") from None
    except OSError as exc:
        raise InputError(_("{source}: cannot read the file ({error})").format(
            source=source, error=exc.strerror), code="input.unreadable") from None
    if not data.strip():
        raise InputError(_("{source}: the file is empty; it should hold a header row (户编号, "
                           "姓名, 身份证号 …) and one row per person").format(source=source),
                         code="input.empty")

    kind = sniff_format(data)
    other = _not_a_table(data)
    if other:
        raise InputError(_("{source}: this is {kind}, not a register; choose the register "
                           "itself: an Excel or WPS workbook (.xlsx, .xls, .et), a CSV or a "
                           "JSON file").format(source=source, kind=other),
                         code="input.not_a_table")
    if path.name.startswith("~$") and kind not in ("xlsx", "ods") and len(data) < 4096:
        raise InputError(_("{source}: this is the temporary file Excel leaves beside a "
                           "workbook while it is open (its name starts with ~$), not a "
                           "register; choose the register itself").format(source=source),
                         code="input.lock_file")
    if kind in WORKBOOKS:
        from cardgen.data.workbook import open_workbook

        workbook = open_workbook(data, kind, source, limits.xlsx_unpacked_mb)
        return _records_from_workbook(workbook, source, config, choice)
    if choice.names:
        raise UsageError(_("--sheet-name applies to workbooks (.xlsx, .xls, .ods); {source} "
                           "has no sheets").format(source=source), code="usage.sheet_name")
    if kind == "spreadsheet-xml":
        raise InputError(_("{source}: an Excel 2003 XML spreadsheet; open it in Excel or WPS "
                           "and save it as .xlsx (另存为 → Excel 工作簿)").format(source=source),
                         code="input.xml_spreadsheet")
    if kind == "json":
        return _records_from_json(data, source, config)
    if kind == "csv" and path.suffix.lower() in _WORKBOOK_SUFFIXES:
        # content decides the format (a CSV named .xls reads), but a workbook's name on
        # bytes that are not text says the workbook is damaged, not that it is bad text
        try:
            decode_text(data, source)
        except InputError:
            raise InputError(_("{source}: named like a workbook ({suffix}) but it is not one "
                               "that can be read: it may be damaged or only partly copied; "
                               "open it in Excel, WPS or LibreOffice and save it again as "
                               ".xlsx").format(source=source, suffix=path.suffix),
                             code="input.unreadable") from None
    text = decode_text(data, source)
    if kind == "html":
        from cardgen.data.workbook import html_sheet

        sheet = html_sheet(text)
    else:
        sheet = _csv_sheet(text, source)
    records = Records(source)
    _add_table(records, read_table(sheet, source, config), sheet, source, config)
    return records


_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".et"}


def sniff_format(data: bytes) -> str:
    """xlsx, ods, xls, html, spreadsheet-xml, json or csv, from the first bytes."""
    if data[:4] == b"PK\x03\x04":
        return "ods" if data[30:38] == b"mimetype" and \
            b"opendocument.spreadsheet" in data[38:100] else "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    head = data[:4096]
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[2:].decode(encoding, "ignore").encode("utf-8")
    head = head.lstrip(b"\xef\xbb\xbf" + _BLANK.encode("ascii", "ignore")).lower()
    if head[:1] in (b"[", b"{"):
        return "json"
    if head[:1] == b"<":
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head and b"<workbook" in head:
            return "spreadsheet-xml"
        if b"<table" in data.lower() or b"<html" in head:
            return "html"
    return "csv"


def _not_a_table(data: bytes) -> str:
    """What a file that is surely no register is (a printed PDF, a scan), from its first
    bytes; "" for the rest (Word documents have their own words, input.word). A PDF read
    as text was said to be in a wrong encoding, which sent a grid worker who picked the
    wrong file to save it again."""
    if data[:5] == b"%PDF-":
        return _("a PDF file")
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
        return _("a picture")
    return ""


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (which covers GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8":
                _check_mixed(data, exc, source)
            continue
        if "\x00" in text:
            raise InputError(_("{source}: the file holds NUL bytes, so it is not a text file; "
                               "open it in Excel or WPS and save it as .xlsx or CSV UTF-8").format(
                source=source), code="input.binary")
        return text
    raise InputError(_("{source}: the text is neither UTF-8 nor GB18030/GBK; save it again as "
                       "CSV UTF-8 (Excel: 另存为 → CSV UTF-8) or as .xlsx").format(source=source),
                     code="input.encoding")


def _check_mixed(data: bytes, error: UnicodeDecodeError, source: str) -> None:
    """A file that is UTF-8 but for some lines (pasted from a GBK file) is refused by line."""
    before = data[:error.start]
    if before.count(b"\n") == 0 or not any(byte >= 0x80 for byte in before):
        return  # nothing UTF-8 before the first bad byte: a whole GB18030 file, say
    line = before.count(b"\n") + 1
    raise InputError(_("{source}: line {line} is not UTF-8 like the lines before it (GBK text "
                       "pasted into a UTF-8 file?); save the whole file again in one "
                       "encoding, CSV UTF-8 or .xlsx").format(source=source, line=line),
                     code="input.mixed_encoding")


def _csv_sheet(text: str, source: str) -> Sheet:
    """The CSV (or tab-separated text) as one sheet, its rows read as they are needed."""
    sample = text[:16384]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(max(131072, len(text)))  # long cells are read, then limited

    def rows() -> Iterator[list[Any]]:
        reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=True)
        try:
            yield from reader
        except csv.Error as exc:  # an unclosed quote, above all
            raise InputError(_("{source}: not a readable CSV file at line {line} ({error}); a "
                               "quote (\") may be missing its pair").format(
                source=source, line=reader.line_num, error=exc), code="input.csv") from None

    return Sheet(None, rows)


# ---- workbooks: which sheets ---------------------------------------------------------------

# the fields that make a table a register of households, not a side list of people (a
# 低保名单 of 姓名 and 身份证号): a household number, an address, or who is the head
HOUSEHOLD_KEYS = frozenset({"household_id", "address", "estate", "building", "unit", "room",
                            "relation"})
# two sheets holding these shares of the same people are two versions of one register
_SAME_PEOPLE = 0.5


def _add_table(records: Records, table: Table, sheet: Sheet, source: str, config: Config,
               named: bool = True) -> bool:
    """The table's rows and notes into `records`; a sheet holding no table is an error when
    it was asked for (`named`), else a note. True when it held a table."""
    if table.found:
        records.rows.extend(table.rows)
        records.problems.extend(table.problems)
        return True
    where = cell_place(sheet.name, None, None, None)
    if named:
        records.problems.append(Problem(
            Severity.ERROR, source, None, None, None, None, _(
                "found no header row in the first {count} filled rows: no row names the "
                "columns cardgen reads (户编号 or 姓名 with others such as 身份证号, 住址); "
                "check that this is the register, or rename the headers (the [columns] "
                "table of the config lists the names cardgen knows)").format(
                count=config.reading.header_rows), code="header.not_found", sheet=sheet.name,
            where=where))
    else:
        records.problems.append(Problem(
            Severity.WARNING, source, None, None, None, None, _(
                "holds no table of people (no header with 户编号 or 姓名): a summary or "
                "another list; the sheet is skipped"), code="sheet.no_table", sheet=sheet.name,
            where=where))
    return False


def _records_from_workbook(workbook: Workbook, source: str, config: Config,
                           choice: SheetChoice) -> Records:
    """The sheets named, or else every sheet that holds a register (README, "Input": never
    lose a row): summaries and side lists are skipped and named; where several sheets are
    read, each sheet's name is the grid of its rows that have none."""
    records = Records(source)
    if choice.names:
        missing = [name for name in choice.names if name not in workbook.names]
        if missing:
            raise UsageError(_("{source}: no sheet named {names}; the sheets are {sheets}").format(
                source=source, names="、".join(f"“{n}”" for n in missing),
                sheets="、".join(f"“{n}”" for n in workbook.names)), code="usage.no_sheet")
        tables = []
        for name in dict.fromkeys(choice.names):
            sheet = workbook.sheet(name)
            table = read_table(sheet, source, config, len(records.rows))
            if _add_table(records, table, sheet, source, config, named=True):
                tables.append((name, table))
        _grids_from_names(tables, config)
        return records

    read: list[tuple[str, Table]] = []
    for name in workbook.names:
        sheet = workbook.sheet(name)
        table = read_table(sheet, source, config, sum(len(t.rows) for _n, t in read))
        if table.found:
            read.append((name, table))
        elif name not in workbook.hidden and not table.empty:  # nothing to say of those
            _add_table(records, table, sheet, source, config, named=False)
    def side_list(name: str, table: Table) -> bool:
        return not table.fields & HOUSEHOLD_KEYS or (
            "household_id" not in table.fields and
            any(word in fold(name) for word in config.reading.side_lists))

    registers = [(name, table) for name, table in read if not side_list(name, table)]
    lists = [(name, table) for name, table in read if side_list(name, table)]
    if not registers:
        registers, lists = lists, []  # a list of people is all there is: read it as it is
    for name, _table in lists:
        records.problems.append(Problem(
            Severity.WARNING, source, None, None, None, None, _(
                "a list of people beside the register in sheet {register}, not a register "
                "itself (a side list such as a 低保名单: no 户号 column, nor one saying who "
                "lives together); the sheet is skipped (name it with --sheet-name to read "
                "it)").format(
                register=registers[0][0]), code="sheet.side_list", sheet=name,
            where=cell_place(name, None, None, None)))
    if not registers:
        records.problems.append(_no_table_anywhere(source, workbook.names))
        return records
    _refuse_copies(registers, source)
    for name, table in registers:
        records.rows.extend(table.rows)
        records.problems.extend(table.problems)
        if name in workbook.hidden:
            records.problems.append(Problem(
                Severity.WARNING, source, None, None, None, None, _(
                    "a hidden sheet holding records: read like the others (delete the sheet "
                    "if its people should not be printed, or name the sheets to read with "
                    "--sheet-name)"), code="sheet.hidden", sheet=name,
                where=cell_place(name, None, None, None)))
    _grids_from_names(registers, config)
    return records


def _grids_from_names(tables: list[tuple[str, Table]], config: Config) -> None:
    """With more than one sheet read, each sheet's name is the grid of its rows without
    one (第一网格, 第二网格 …). One sheet's name gives a grid only where it names one as a
    title does (第3网格, 和平社区第三网格, beside a 汇总 or a 低保名单 sheet): Sheet1 and
    登记表 say nothing."""
    for _name, table in tables:
        if not table.sheet_grid:
            continue
        grid = table.sheet_grid if len(tables) > 1 else \
            title_values(table.sheet_grid, config).get("grid", "")
        if grid:
            grid = shared(grid)
            for row in table.rows:
                row.values.setdefault("grid", grid)


def _refuse_copies(tables: list[tuple[str, Table]], source: str) -> None:
    """Sheets that hold the same people (a register and its older copy: 2023年 and 2024年,
    原表 and 修改) cannot both be printed: which one is meant is the user's to say."""
    people = [(name, {number for row in table.rows
                      if len(number := normalise_id(row.text("id_number"))) >= 15})
              for name, table in tables]
    pairs = []
    for index, (name, numbers) in enumerate(people):
        for other, others in people[index + 1:]:
            both = len(numbers & others)
            if both >= 2 and both >= _SAME_PEOPLE * min(len(numbers), len(others)):
                pairs.append(_("“{sheet}” and “{other}” ({count} people in both)").format(
                    sheet=name, other=other, count=both))
    if pairs:
        raise InputError(_(
            "{source}: sheets {pairs} hold the same people (two versions of one register, or "
            "a whole register beside its parts), and reading both would print each household "
            "twice; say which sheets to read with --sheet-name NAME (or delete the old "
            "sheet)").format(
            source=source, pairs="；".join(pairs)), code="workbook.same_people")


def _no_table_anywhere(source: str, names: list[str]) -> Problem:
    return Problem(Severity.ERROR, source, None, None, None, None, _(
        "no sheet holds a table of people (a header row with 户编号 or 姓名 and other columns "
        "cardgen knows); the sheets are {sheets}").format(sheets="、".join(names)),
        code="header.not_found")


# ---- JSON ------------------------------------------------------------------------------------

def _records_from_json(data: bytes, source: str, config: Config) -> Records:
    try:
        document = json.loads(decode_text(data, source))
    except json.JSONDecodeError as exc:
        raise InputError(_("{source}: not valid JSON ({error} at line {line}, column "
                           "{column})").format(source=source, error=exc.msg, line=exc.lineno,
                                               column=exc.colno), code="input.json") from None
    except RecursionError:
        raise InputError(_("{source}: the JSON is nested too deeply to be household "
                           "records").format(source=source), code="input.json") from None
    if isinstance(document, dict) and isinstance(document.get("households"), list):
        document = document["households"]
    if not isinstance(document, list):
        raise InputError(_("{source}: JSON input must be a list of households (or an object "
                           "with a \"households\" list), each with a \"members\" list").format(
            source=source), code="input.json_shape")
    records = Records(source)
    warned: set[str] = set()

    def to_values(obj: dict[str, Any], where: str,
                  columns: dict[str, str]) -> tuple[dict[str, str], dict[str, object]]:
        texts: dict[str, str] = {}
        raws: dict[str, object] = {}
        for raw_key, value in obj.items():
            if raw_key == "members":
                continue
            key = clean_text(raw_key)
            canonical = config.spellings.columns.get(fold(key))
            if canonical is None:
                if key not in warned:
                    warned.add(key)
                    records.problems.append(Problem(
                        Severity.WARNING, source, None, f"{where}.{key}", None, None,
                        _("unknown key '{key}' is ignored (the [columns] table of the config "
                          "lists the keys cardgen knows)").format(key=key),
                        code="column.unknown", where=f"{where}.{key}"))
                continue
            if isinstance(value, (dict, list)):
                records.problems.append(Problem(
                    Severity.ERROR, source, None, f"{where}.{key}", canonical, None,
                    _("'{key}' must be a text or number, not a JSON {kind}").format(
                        key=key, kind=type(value).__name__), code="value.json_type",
                    where=f"{where}.{key}"))
                continue
            text = cell_text(value)
            if text:
                texts[canonical] = shared(text[:config.limits.cell_chars + 1])
                columns[canonical] = f"{where}.{key}"
                if isinstance(value, float):  # a JSON integer is read whole: exact, no raw
                    raws[canonical] = value
        return texts, raws

    for index, household in enumerate(document):
        where = f"[{index}]"
        if not isinstance(household, dict):
            raise InputError(_("{source}: household {where} must be a JSON object with "
                               "household fields and a \"members\" list").format(
                source=source, where=where), code="input.json_shape")
        members = household.get("members", [])
        if not isinstance(members, list):
            raise InputError(_("{source}: {where}.members must be a list of people").format(
                source=source, where=where), code="input.json_shape")
        base_columns: dict[str, str] = {}
        found = len(records.problems)
        base, base_raws = to_values(household, where, base_columns)
        if not members:
            records.rows.append(Row(source, None, dict(base), base_columns, where,
                                    base_raws or None))
        for number, member in enumerate(members):
            at = f"{where}.members[{number}]"
            if not isinstance(member, dict):
                raise InputError(_("{source}: {where} must be a JSON object of person "
                                   "fields").format(source=source, where=at),
                                 code="input.json_shape")
            columns = dict(base_columns)
            texts, raws = to_values(member, at, columns)
            records.rows.append(Row(source, None, {**base, **texts}, columns, at,
                                    {**base_raws, **raws} or None))
        hid = base.get("household_id")
        records.problems[found:] = [  # a bad value belongs to its household, if it names one
            replace(p, household_id=hid) if p.severity is Severity.ERROR and hid else p
            for p in records.problems[found:]]
        if len(records.rows) > config.limits.rows:
            raise InputError(_("{source}: more than {limit} people; the limit is [limits] "
                               "rows: split the file, by grid for example").format(
                source=source, limit=config.limits.rows), code="input.too_many_rows")
    return records
