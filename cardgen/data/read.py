"""Read stage: CSV, XLSX or JSON household records into rows of cells that remember their place."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sys
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cardgen.config import Config
from cardgen.data.model import Row
from cardgen.errors import InputError, Problem, Severity, UsageError, cell_place, column_letter

HOUSEHOLD_FIELDS = (
    "household_id", "community", "grid", "grid_worker", "grid_worker_phone", "address",
    "estate", "building", "unit", "room", "housing", "multiple_homes", "moves_often", "plan",
    "owner", "owner_phone", "colour",
)
PERSON_FIELDS = (
    "name", "relation", "sex", "ethnicity", "birth_date", "id_number", "phone", "residence",
    "flags", "notes",
)
_SPACES = " \t\r\n\u3000\ufeff\xa0"
_SPACE_RUNS = re.compile(" {2,}")


def clean_text(text: str) -> str:
    """Text as one line of what can be drawn: every run of spaces, tabs, line breaks (Excel's
    Alt+Enter, U+2028/U+2029) and other control characters becomes one space, invisible
    format characters (U+200B, U+FEFF, bidi controls …) are dropped, and the ends trimmed.
    A lone surrogate (only a JSON escape makes one) becomes U+FFFD: no font draws it, and
    it could not even be written out in a message."""
    if text.isprintable():  # the usual case: no control, format or separator but " "
        if "  " in text:
            text = _SPACE_RUNS.sub(" ", text)
        return text.strip(" ")
    kept: list[str] = []
    space = False
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        if category == "Cc" or char.isspace():
            space = bool(kept)
            continue
        if space:
            kept.append(" ")
            space = False
        kept.append("\ufffd" if category == "Cs" else char)
    return "".join(kept)


@dataclass
class Records:
    """What the read stage hands on: the rows, and the problems met while reading."""

    source: str
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_records(path: Path, config: Config, sheet_name: str | None = None) -> Records:
    """Read one input file, telling its format from its content rather than its name."""
    source = str(path)
    limits = config.limits
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError
        if size > limits.file_mb * 2**20:
            raise InputError(f"{source}: the file is {size / 2**20:.0f} MB; the limit is "
                             f"{limits.file_mb} MB ([limits] file_mb): split it, by grid "
                             "for example")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a folder, not a file of household records") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read the file ({exc.strerror})") from None
    if not data.strip():
        raise InputError(f"{source}: the file is empty; it should hold a header row "
                         "(户编号, 姓名, 身份证号 …) and one row per person")

    kind = sniff_format(data)
    if kind == "xls":
        raise InputError(f"{source}: an old Excel .xls workbook; save it as .xlsx "
                         "(Excel: 另存为 → Excel 工作簿) or as CSV and try again")
    if kind == "xlsx":
        table, problems = _xlsx_table(data, source, sheet_name, limits.xlsx_unpacked_mb)
        return _records_from_table(table, source, config, problems)
    if sheet_name is not None:
        raise UsageError(f"--sheet-name applies to .xlsx workbooks; {source} is {kind}")
    if kind == "json":
        return _records_from_json(data, source, config)
    return _records_from_table(_csv_table(data, source), source, config, [])


def sniff_format(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    head = data[:64].lstrip(b"\xef\xbb\xbf" + _SPACES.encode("ascii", "ignore"))
    if head[:1] in (b"[", b"{"):
        return "json"
    return "csv"


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
            raise InputError(f"{source}: the file holds NUL bytes, so it is not a text file; "
                             "open it in Excel or WPS and save it as .xlsx or CSV UTF-8")
        return text
    raise InputError(f"{source}: the text is neither UTF-8 nor GB18030/GBK; save it again as "
                     "CSV UTF-8 (Excel: 另存为 → CSV UTF-8) or as .xlsx")


def _check_mixed(data: bytes, error: UnicodeDecodeError, source: str) -> None:
    """A file that is UTF-8 but for some lines (pasted from a GBK file) is refused by line."""
    before = data[:error.start]
    if before.count(b"\n") == 0 or not any(byte >= 0x80 for byte in before):
        return  # nothing UTF-8 before the first bad byte: a whole GB18030 file, say
    line = before.count(b"\n") + 1
    raise InputError(f"{source}: line {line} is not UTF-8 like the lines before it (GBK text "
                     "pasted into a UTF-8 file?); save the whole file again in one encoding, "
                     "CSV UTF-8 or .xlsx")


def _csv_table(data: bytes, source: str) -> Iterator[tuple[int, list[Any]]]:
    """Rows as they are read (a whole table of strings in memory is not needed)."""
    text = decode_text(data, source)
    sample = text[:16384]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(max(131072, len(text)))  # long cells are read, then limited
    reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=True)
    try:
        yield from enumerate(reader, 1)
    except csv.Error as exc:  # an unclosed quote, above all
        raise InputError(f"{source}: not a readable CSV file at line {reader.line_num} "
                         f"({exc}); a quote (\") may be missing its pair") from None


def _xlsx_table(data: bytes, source: str, sheet_name: str | None,
                unpacked_mb: int) -> tuple[Iterator[tuple[int, list[Any]]], list[Problem]]:
    import openpyxl  # imported here: only xlsx input pays for it

    unreadable = (f"{source}: not a readable .xlsx workbook; open it in Excel or WPS and "
                  "save it again as .xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError(f"{unreadable} (a damaged or cut-off file)") from None
    if "xl/workbook.xml" not in names:
        raise InputError(f"{source}: a ZIP archive but not an Excel workbook (no "
                         "xl/workbook.xml); export the sheet as .xlsx or CSV") from None
    if unpacked > unpacked_mb * 2**20:
        raise InputError(f"{source}: the workbook unpacks to {unpacked / 2**20:.0f} MB; the "
                         f"limit is {unpacked_mb} MB ([limits] xlsx_unpacked_mb)")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a third-party parser of untrusted bytes: any failure means unreadable
        raise InputError(unreadable) from None
    try:
        if sheet_name is None:
            sheet = book.worksheets[0]
        elif sheet_name in book.sheetnames:
            sheet = book[sheet_name]
        else:
            raise UsageError(f"{source}: no sheet named {sheet_name!r}; the sheets are "
                             + ", ".join(repr(name) for name in book.sheetnames))
    except BaseException:
        book.close()
        raise

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, list(values)
        except Exception:  # damaged sheet XML inside a valid archive
            raise InputError(unreadable) from None
        finally:
            book.close()

    return rows(), []


SHARED_UP_TO = 32  # characters: community, grid, estate, relation, sex … repeat on every row


def shared(text: str) -> str:
    """One string object for every cell with this short text (a 20,000-household district
    repeats its community, grid and estate names on every row: 30 MB of copies)."""
    return sys.intern(text) if len(text) <= SHARED_UP_TO else text


def cell_text(value: Any) -> str:
    """A spreadsheet value as the text a person sees in it."""
    if type(value) is str:
        return clean_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return clean_text(str(value))


def normalise_header(header: Any) -> str:
    return cell_text(header).strip(_SPACES).lower()


def _header_map(headers: list[Any], source: str, header_row: int, config: Config,
                problems: list[Problem]) -> dict[int, str]:
    """Column index -> canonical field; unknown columns become warnings."""
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    for index, header in enumerate(headers):
        text = cell_text(header).strip(_SPACES)
        if not text:
            continue
        canonical = config.column_spellings.get(text.lower())
        if canonical is None:
            problems.append(Problem(
                Severity.WARNING, source, header_row, text, None, None,
                f"unknown column '{text}' is ignored; rename it to one cardgen knows "
                "(see the [columns] table of the config) if it should be printed",
                code="column.unknown",
                where=cell_place(None, column_letter(index), header_row, text)))
            continue
        if canonical in seen:
            problems.append(Problem(
                Severity.ERROR, source, header_row, text, canonical, None,
                f"columns '{seen[canonical]}' and '{text}' both mean {canonical}; "
                "delete or rename one of them", code="column.duplicate",
                where=cell_place(None, column_letter(index), header_row, text)))
            continue
        seen[canonical] = text
        mapping[index] = canonical
    return mapping


def _records_from_table(table: Iterator[tuple[int, list[Any]]], source: str, config: Config,
                        problems: list[Problem]) -> Records:
    records = Records(source, problems=problems)
    header = next((row for row in table if any(cell_text(v) for v in row[1])), None)
    if header is None:
        raise InputError(f"{source}: the file holds no header row and no records; the first "
                         "row should name the columns (户编号, 姓名, 身份证号 …)")
    header_row, headers = header
    mapping = _header_map(headers, source, header_row, config, records.problems)
    if "household_id" not in mapping.values():
        raise InputError(
            f"{source}: row {header_row} has no household number column; name one column "
            "户编号 (or 户号, 户卡编号, household_id) — the headers found are: "
            + ", ".join(repr(cell_text(h)) for h in headers if cell_text(h)))
    columns = {canonical: cell_text(headers[index]).strip(_SPACES)
               for index, canonical in mapping.items()}
    letters = {canonical: column_letter(index) for index, canonical in mapping.items()}
    longest = config.limits.cell_chars + 1  # longer cells are kept cut, and refused
    rows = 0
    for number, values in table:
        texts: dict[str, str] = {}
        raws: dict[str, object] | None = None
        for index, canonical in mapping.items():
            value = values[index] if index < len(values) else None
            text = cell_text(value)
            if text:
                texts[canonical] = shared(text[:longest])
                if not isinstance(value, str):
                    raws = raws or {}
                    raws[canonical] = value
        if texts:
            rows += 1
            if rows > config.limits.rows:
                raise InputError(f"{source}: more than {config.limits.rows} rows; the limit "
                                 "is [limits] rows: split the file, by grid for example")
            records.rows.append(Row(source, number, texts, columns, raws=raws,
                                    letters=letters))
    return records


def _records_from_json(data: bytes, source: str, config: Config) -> Records:
    try:
        document = json.loads(decode_text(data, source))
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"{source}: the JSON is nested too deeply to be household "
                         "records") from None
    if isinstance(document, dict) and isinstance(document.get("households"), list):
        document = document["households"]
    if not isinstance(document, list):
        raise InputError(f"{source}: JSON input must be a list of households (or an object "
                         "with a \"households\" list), each with a \"members\" list")
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
            canonical = config.column_spellings.get(normalise_header(key))
            if canonical is None:
                if key not in warned:
                    warned.add(key)
                    records.problems.append(Problem(
                        Severity.WARNING, source, None, f"{where}.{key}", None, None,
                        f"unknown key '{key}' is ignored (see the [columns] table of the "
                        "config for the keys cardgen knows)"))
                continue
            if isinstance(value, (dict, list)):
                records.problems.append(Problem(
                    Severity.ERROR, source, None, f"{where}.{key}", canonical, None,
                    f"'{key}' must be a text or number, not a JSON {type(value).__name__}"))
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
            raise InputError(f"{source}: household {where} must be a JSON object with "
                             "household fields and a \"members\" list")
        members = household.get("members", [])
        if not isinstance(members, list):
            raise InputError(f"{source}: {where}.members must be a list of people")
        base_columns: dict[str, str] = {}
        found = len(records.problems)
        base, base_raws = to_values(household, where, base_columns)
        if not members:
            records.rows.append(Row(source, None, dict(base), base_columns, where,
                                    base_raws or None))
        for number, member in enumerate(members):
            at = f"{where}.members[{number}]"
            if not isinstance(member, dict):
                raise InputError(f"{source}: {at} must be a JSON object of person fields")
            columns = dict(base_columns)
            texts, raws = to_values(member, at, columns)
            records.rows.append(Row(source, None, {**base, **texts}, columns, at,
                                    {**base_raws, **raws} or None))
        hid = base.get("household_id")
        records.problems[found:] = [  # a bad value belongs to its household, if it names one
            replace(p, household_id=hid) if p.severity is Severity.ERROR and hid else p
            for p in records.problems[found:]]
        if len(records.rows) > config.limits.rows:
            raise InputError(f"{source}: more than {config.limits.rows} people; the limit "
                             "is [limits] rows: split the file, by grid for example")
    return records
