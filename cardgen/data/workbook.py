"""Workbooks as sheets of cells: .xlsx, .xls and .ods read by python-calamine, with what it
does not tell read beside it (hidden rows and columns; an .ods file's merged cells), and the
HTML table that business systems export under the name ".xls".

A `Sheet` is what a person sees: cell values from row 1 and column A, the merged ranges (a
merged cell shows its top-left value over the whole range), and which rows and columns are
hidden. Finding the table in it is the table module's work.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

from cardgen.data.sheet import Merged, Sheet, Spans
from cardgen.errors import InputError
from cardgen.i18n import _

_MAX_COLUMNS = 16384  # Excel's: a range past it is cut there


class Workbook:
    """The worksheets of a workbook, opened one at a time when asked for."""

    def __init__(self, names: list[str], hidden: set[str],
                 open_sheet: Callable[[str], Sheet]) -> None:
        self.names = names
        self.hidden = hidden
        self._open = open_sheet

    def sheet(self, name: str) -> Sheet:
        return self._open(name)


def open_workbook(data: bytes, kind: str, source: str, unpacked_mb: int) -> Workbook:
    """An .xlsx, .xls or .ods workbook; unreadable bytes are an InputError."""
    if kind == "xls":
        _check_compound(data, source)
    archive = _check_archive(data, kind, source, unpacked_mb) if kind != "xls" else None
    # what calamine does not tell is read first: xlrd's memory (.xls) is given back before
    # calamine loads the workbook (10,000 households: 182 MiB at most, else 204)
    extras = _Extras(kind, data, archive)
    import python_calamine  # imported here: only workbooks pay for it

    with _unreadable_if_it_fails(kind, source):
        book = python_calamine.CalamineWorkbook.from_object(io.BytesIO(data))
        sheets = [meta for meta in book.sheets_metadata
                  if meta.typ == python_calamine.SheetTypeEnum.WorkSheet]
    names = [meta.name for meta in sheets]
    hidden = {meta.name for meta in sheets
              if meta.visible != python_calamine.SheetVisibleEnum.Visible}

    def open_sheet(name: str) -> Sheet:
        hidden_rows, hidden_columns, more_merged, uncalculated, errors = extras.of(name)
        with _unreadable_if_it_fails(kind, source):
            cells = book.get_sheet_by_name(name)
            start = cells.start
            merged = list(cells.merged_cell_ranges or ())
        offset = start[1] if start else 0
        width = (cells.end[1] + 1) if cells.end else 0

        def rows() -> Iterator[list[Any]]:
            # calamine gives every row from the first, but columns from the first used one
            pad = [""] * offset
            with _unreadable_if_it_fails(kind, source):
                for values in cells.iter_rows():
                    yield [*pad, *values] if offset else values

        return Sheet(name, rows, [(r0, c0, r1, min(c1, width - 1))
                                  for (r0, c0), (r1, c1) in merged + more_merged],
                     hidden_rows, hidden_columns, name in hidden, uncalculated, errors)

    return Workbook(names, hidden, open_sheet)


@contextmanager
def _unreadable_if_it_fails(kind: str, source: str) -> Iterator[None]:
    """A third-party parser of untrusted bytes: any failure means an unreadable file —
    a Rust panic too, which pyo3 raises as a BaseException."""
    try:
        yield
    except InputError:
        raise
    except BaseException as exc:
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # Ctrl-C, SIGTERM, exit
        raise InputError(_unreadable(kind, source), code="input.unreadable") from None


def _unreadable(kind: str, source: str) -> str:
    return _("{source}: not a readable {kind} workbook; open it in Excel or WPS and save it "
             "again (另存为 → Excel 工作簿 .xlsx)").format(source=source, kind="." + kind)


def _check_compound(data: bytes, source: str) -> None:
    """An OLE compound file (what .xls is) that is no workbook said as a grid worker sees
    it: a workbook saved with a password (an encrypted .xlsx is an EncryptedPackage stream
    in one; an encrypted .xls has a FILEPASS record), or a Word document (.doc)."""
    from xlrd.compdoc import CompDoc, CompDocError

    try:
        document = CompDoc(data, logfile=io.StringIO())
        streams = {node.name for node in document.dirlist}
        workbook = next((document.get_named_stream(name) for name in ("Workbook", "Book")
                         if name in streams), None)
    except (CompDocError, IndexError, ValueError, struct.error):
        return  # the workbook's reader says it is damaged
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams or \
            (workbook is not None and _biff_encrypted(workbook)):
        raise InputError(password_protected(source), code="input.password")
    if "WordDocument" in streams:
        raise InputError(word_document(source), code="input.word")


def _biff_encrypted(stream: bytes) -> bool:
    """Whether an .xls workbook stream starts with a FILEPASS record (type 0x2F): among the
    first records of its globals, before any sheet (BIFF8: 2-byte type, 2-byte length)."""
    at = 0
    for _record in range(64):
        if at + 4 > len(stream):
            return False
        kind, length = struct.unpack_from("<HH", stream, at)
        if kind == 0x002F:
            return True
        if kind in (0x0085, 0x000A):  # BOUNDSHEET, EOF: past where FILEPASS stands
            return False
        at += 4 + length
    return False


def password_protected(source: str) -> str:
    return _("{source}: the file is protected with a password, so it cannot be read; open "
             "it in Excel or WPS, remove the password (文件 → 信息 → 保护工作簿 → 用密码进行"
             "加密: clear it) and save it, or save a copy without a password").format(
        source=source)


def word_document(source: str) -> str:
    return _("{source}: this is a Word document, not a spreadsheet, though it is named like "
             "one; choose the register itself (.xlsx, .xls or .csv), or copy the table from "
             "the document into Excel or WPS and save it as .xlsx").format(source=source)


def _check_archive(data: bytes, kind: str, source: str, unpacked_mb: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError(_("{source}: not a readable workbook (a damaged or cut-off file); "
                           "open it in Excel or WPS and save it again as .xlsx").format(
            source=source), code="input.unreadable") from None
    names = set(archive.namelist())
    if "word/document.xml" in names:
        raise InputError(word_document(source), code="input.word")
    if "xl/workbook.xml" not in names and "content.xml" not in names:
        raise InputError(_("{source}: a ZIP archive but not a workbook (no xl/workbook.xml); "
                           "export the sheet as .xlsx or CSV").format(source=source),
                         code="input.not_workbook")
    if unpacked > unpacked_mb * 2**20:
        raise InputError(_("{source}: the workbook unpacks to {size} MB; the limit is {limit} MB "
                           "([limits] xlsx_unpacked_mb)").format(
            source=source, size=round(unpacked / 2**20), limit=unpacked_mb),
            code="input.too_big")
    return archive


# ---- what calamine does not tell: hidden rows and columns, .ods merged cells ------------

class _Extras:
    """Hidden rows and columns of a sheet (and an .ods sheet's merged cells), read from the
    file beside calamine, each the cheapest way its format allows."""

    def __init__(self, kind: str, data: bytes, archive: zipfile.ZipFile | None) -> None:
        self.kind = kind
        self.archive = archive
        self._ods: dict[str, _OdsExtras] | None = None
        self._xls = _xls_hidden(data) if kind == "xls" else {}

    def of(self, name: str) -> tuple[Spans, Spans, list[tuple[tuple[int, int],
                                                             tuple[int, int]]],
                                     frozenset[tuple[int, int]], frozenset[tuple[int, int]]]:
        try:
            if self.kind == "xlsx" and self.archive is not None:
                rows, columns, uncalculated, errors = _xlsx_extras(self.archive, name)
                return rows, columns, [], uncalculated, errors
            if self.kind == "ods" and self.archive is not None:
                if self._ods is None:
                    self._ods = _ods_extras(self.archive.read("content.xml"))
                return (*self._ods.get(name, (Spans(), Spans(), [], frozenset())), frozenset())
        except (KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
            pass  # what cannot be read here only loses the word "hidden" in messages
        return (*self._xls.get(name, (Spans(), Spans())), [], frozenset(), frozenset())


def _xls_hidden(data: bytes) -> dict[str, tuple[Spans, Spans]]:
    """Hidden rows and columns of every sheet of an .xls, by xlrd's reading of the ROW and
    COLINFO records (calamine keeps no row or column formats), a sheet at a time. Measured
    on 10,000 households (8.6 MB .xls): 1.1 s beside calamine's 0.4 s. A file xlrd cannot
    read only loses the word "hidden" in messages."""
    import xlrd

    found: dict[str, tuple[Spans, Spans]] = {}
    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True,
                                  logfile=io.StringIO())
    except Exception:
        return found
    try:
        for name in book.sheet_names():
            try:
                sheet = book.sheet_by_name(name)
            except Exception:
                continue
            found[name] = (
                Spans.of((r, r) for r, info in sheet.rowinfo_map.items() if info.hidden),
                Spans.of((c, c) for c, info in sheet.colinfo_map.items() if info.hidden))
            book.unload_sheet(name)
    finally:
        book.release_resources()
    return found


_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_HIDDEN_MARKS = (b'hidden="1"', b'hidden="true"', b"hidden='1'", b"hidden='true'")
_ROW_OR_COL = re.compile(rb"<(?:\w+:)?(row|col)\s([^>]*)>")
_ATTRIBUTE = re.compile(rb"""\b(r|min|max)=["'](\d+)["']""")


def _xlsx_sheet_path(archive: zipfile.ZipFile, name: str) -> str:
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(_RELS)}
    for sheet in book.iter(f"{_MAIN}sheet"):
        if sheet.get("name") == name:
            target = targets[sheet.get(_RID)]
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise KeyError(name)


def _xlsx_extras(archive: zipfile.ZipFile,
                 name: str) -> tuple[Spans, Spans, frozenset[tuple[int, int]],
                                     frozenset[tuple[int, int]]]:
    """Hidden rows (``<row r="7" hidden="1">``) and columns (``<col min max hidden>``) of an
    .xlsx sheet, and its formula cells without a saved result, found by searching the
    sheet's XML for the attribute or the ``<f>`` tag — a byte search, then the tag it
    stands in — as it is unzipped, a megabyte at a time. Measured on 10,000 households
    (38 MB of sheet XML): 0.2 s and no memory to speak of, where holding the XML took
    47 MiB more; openpyxl exposes hidden state only when it loads every cell (57 s here
    against calamine's 5 s on the same busy machine), and a formula's missing result only
    when it loads the workbook twice (with and without data_only). The formulas cost
    nothing where there are none (10,000 households: 0.37 s either way) and 0.4 s for
    25,000 formula cells without results."""
    rows: set[tuple[int, int]] = set()
    columns: set[tuple[int, int]] = set()
    uncalculated: set[tuple[int, int]] = set()
    errors: set[tuple[int, int]] = set()
    tail = b""
    with archive.open(_xlsx_sheet_path(archive, name)) as stream:
        while chunk := stream.read(2**20):
            xml = tail + chunk
            for mark in _HIDDEN_MARKS:
                at = xml.find(mark)
                while at != -1:
                    tag = _ROW_OR_COL.match(xml, max(0, xml.rfind(b"<", 0, at)))
                    if tag and tag.end() > at:
                        numbers = {key: int(value) for key, value in _ATTRIBUTE.findall(tag[2])}
                        if tag[1] == b"row" and b"r" in numbers:
                            rows.add((numbers[b"r"] - 1, numbers[b"r"] - 1))
                        elif tag[1] == b"col" and b"min" in numbers:
                            first = numbers[b"min"] - 1
                            columns.add((first, min(numbers.get(b"max", first + 1),
                                                    _MAX_COLUMNS) - 1))
                    at = xml.find(mark, at + 1)
            if b"<f" in xml or b":f" in xml:
                _formulas_without_results(xml, uncalculated, errors)
            tail = xml[-4096:]  # a tag cut by the chunk's end is whole in the next buffer
    return Spans.of(rows), Spans.of(columns), frozenset(uncalculated), frozenset(errors)


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s/>]")
_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*)>")
_CELL_REF = re.compile(rb"""\br=["']([A-Z]{1,3})(\d+)["']""")
_STRING_TYPE = re.compile(rb"""\bt=["']str["']""")
_ERROR_TYPE = re.compile(rb"""\bt=["']e["']""")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]+)<")


def _formulas_without_results(xml: bytes, found: set[tuple[int, int]],
                              errors: set[tuple[int, int]]) -> None:
    """(row, column) of each formula cell in `xml` with no saved result: no ``<v>``, or an
    empty one that is no empty text (Excel writes ``t="str"`` and ``<v></v>`` for a
    formula giving ""); and into `errors` those whose result is an error (``t="e"``)."""
    for formula in _FORMULA.finditer(xml):
        near = max(0, formula.start() - 512)  # a cell's tag stands right before its <f>
        start = max(xml.rfind(b"<c ", near, formula.start()),
                    xml.rfind(b":c ", near, formula.start()))
        if start == -1:
            continue
        cell = _CELL.match(xml, start if xml[start:start + 1] == b"<" else
                           xml.rfind(b"<", 0, start + 1))
        end = xml.find(b"c>", formula.end())
        if cell is None or end == -1:
            continue  # cut by the buffer's end: whole in the next one
        reference = _CELL_REF.search(cell[1])
        if reference is None:
            continue
        error = bool(_ERROR_TYPE.search(cell[1]))
        if not error and (_VALUE.search(xml, formula.end(), end) or
                          _STRING_TYPE.search(cell[1])):
            continue
        column = 0
        for letter in reference[1]:
            column = column * 26 + letter - 64
        (errors if error else found).add((int(reference[2]) - 1, column - 1))


_ODS_TABLE = re.compile(rb"<table:table\s[^>]*?table:name=\"([^\"]*)\"")
_ODS_ITEM = re.compile(rb"<table:table-(column|row)(?=[\s/>])([^>]*?)(/?)>")
_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell(?=[\s/>])([^>]*?)/?>")
_ODS_NUMBER = re.compile(rb"table:number-(columns-repeated|rows-repeated|columns-spanned|"
                         rb"rows-spanned)=\"(\d+)\"")


_OdsExtras = tuple[Spans, Spans, list[tuple[tuple[int, int], tuple[int, int]]],
                   frozenset[tuple[int, int]]]


def _ods_extras(content: bytes) -> dict[str, _OdsExtras]:
    """Hidden rows and columns, merged cells and formulas without a saved result of every
    table of an .ods content.xml, found with regular expressions over its tags (LibreOffice
    and WPS write the `table:` prefix): calamine reads no merged cells from .ods, and reads
    a formula with no result as an empty cell. Only rows holding a merged cell or a formula
    are looked into cell by cell. ElementTree's iterparse took 6.7 s over the
    10,000-household .ods, this 0.3 s."""
    from html import unescape

    found: dict[str, _OdsExtras] = {}
    tables = list(_ODS_TABLE.finditer(content))
    for number, table in enumerate(tables):
        end = tables[number + 1].start() if number + 1 < len(tables) else len(content)
        hidden_rows: list[tuple[int, int]] = []
        hidden_columns: list[tuple[int, int]] = []
        merged: list[tuple[tuple[int, int], tuple[int, int]]] = []
        uncalculated: set[tuple[int, int]] = set()
        row = column = 0
        position = table.end()
        while True:
            item = _ODS_ITEM.search(content, position, end)
            if item is None:
                break
            numbers = {key: int(value) for key, value in _ODS_NUMBER.findall(item[2])}
            hidden = b'table:visibility="collapse"' in item[2] or \
                b'table:visibility="filter"' in item[2]
            if item[1] == b"column":
                repeat = numbers.get(b"columns-repeated", 1)
                if hidden:
                    hidden_columns.append((column, min(column + repeat, _MAX_COLUMNS) - 1))
                column += repeat
                position = item.end()
                continue
            repeat = numbers.get(b"rows-repeated", 1)
            if hidden:
                hidden_rows.append((row, row + repeat - 1))
            if item[3]:  # <table:table-row/>
                position = item.end()
            else:
                close = content.find(b"</table:table-row>", item.end(), end)
                close = end if close == -1 else close
                if b"spanned" in content[item.end():close]:
                    _ods_row_merges(content, item.end(), close, row, merged)
                if b"table:formula=" in content[item.end():close]:
                    _ods_row_formulas(content, item.end(), close, row, repeat, uncalculated)
                position = close
            row += repeat
        found[unescape(table[1].decode("utf-8", "replace"))] = (
            Spans.of(hidden_rows), Spans.of(hidden_columns), merged, frozenset(uncalculated))
    return found


def _ods_row_formulas(content: bytes, start: int, end: int, row: int, rows: int,
                      found: set[tuple[int, int]]) -> None:
    """(row, column) of each formula cell of a row with no saved result: LibreOffice and WPS
    always write a formula's value type (office:value-type, "string" for an empty text); a
    program that does not calculate writes the formula alone."""
    column = 0
    for cell in _ODS_CELL.finditer(content, start, end):
        numbers = {key: int(value) for key, value in _ODS_NUMBER.findall(cell[1])}
        columns = numbers.get(b"columns-repeated", 1)
        if b"table:formula=" in cell[1] and b"office:value-type=" not in cell[1]:
            found.update((row + r, column + c) for r in range(min(rows, _MAX_COLUMNS))
                         for c in range(min(columns, _MAX_COLUMNS)))
        column += columns


def _ods_row_merges(content: bytes, start: int, end: int, row: int,
                    merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> None:
    column = 0
    for cell in _ODS_CELL.finditer(content, start, end):
        numbers = {key: int(value) for key, value in _ODS_NUMBER.findall(cell[1])}
        rows = numbers.get(b"rows-spanned", 1)
        columns = numbers.get(b"columns-spanned", 1)
        if rows > 1 or columns > 1:
            merged.append(((row, column), (row + rows - 1, column + columns - 1)))
        column += numbers.get(b"columns-repeated", 1)


# ---- the HTML table of an "export to Excel" ------------------------------------------------

class _Tables(HTMLParser):
    """The rows of every table in an HTML page, one after another, with rowspan and colspan
    kept as merged ranges; text as the cell shows it (<br> a line break)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.merged: list[Merged] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._taken: dict[tuple[int, int], bool] = {}  # cells covered by a span from above
        self._column = 0
        self._depth = 0  # <table> nesting: a table inside a cell is that cell's text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
        elif self._depth != 1:
            if tag == "br" and self._cell is not None:
                self._cell.append("\n")
        elif tag == "tr":
            self._end_row()
            self._row = []
            self._column = 0
        elif tag in ("td", "th"):
            if self._row is None:
                self._row = []
                self._column = 0
            self._end_cell()
            row = len(self.rows)
            while self._taken.pop((row, self._column), False):
                self._row.append("")
                self._column += 1
            spans = dict(attrs)
            rows = _span(spans.get("rowspan"))
            columns = _span(spans.get("colspan"))
            if rows > 1 or columns > 1:
                last_row, last_column = row + rows - 1, self._column + columns - 1
                self.merged.append((row, self._column, last_row, last_column))
                for r in range(row, last_row + 1):
                    for c in range(self._column, last_column + 1):
                        if (r, c) != (row, self._column):
                            self._taken[(r, c)] = True
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._depth == 1:
                self._end_row()
            self._depth = max(0, self._depth - 1)
        elif self._depth == 1 and tag in ("td", "th"):
            self._end_cell()
        elif self._depth == 1 and tag == "tr":
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))  # the read stage makes it one line
            self._column += 1
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None:
            row = len(self.rows)
            while self._taken.pop((row, self._column), False):
                self._row.append("")
                self._column += 1
            self.rows.append(self._row)
        self._row = None


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def html_sheet(text: str) -> Sheet:
    """The tables of an HTML page (an "export to Excel" saved as .xls) as one sheet: a title
    table above the data table gives the title rows above its header."""
    parser = _Tables()
    parser.feed(text)
    parser.close()
    return Sheet(None, lambda: iter(parser.rows), parser.merged)
