"""A sheet as the table reader reads it (cardgen/data/table.py), whatever file it came
from: a CSV file's is made without importing the workbook readers (cardgen/data/
workbook.py: zipfile, XML and HTML parsers, a dozen patterns), which took 8 ms of a
one-card reprint from a CSV register (python -X importtime, session 6)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

Merged = tuple[int, int, int, int]  # 0-based first row, first column, last row, last column


@dataclass(frozen=True)
class Spans:
    """Sets of 0-based rows or columns kept as sorted, non-overlapping (first, last) spans:
    a sheet may hide a million rows at once."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @classmethod
    def of(cls, spans: Iterable[tuple[int, int]]) -> Spans:
        merged: list[list[int]] = []
        for first, last in sorted(spans):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        return cls(tuple(s for s, _e in merged), tuple(e for _s, e in merged))

    def __contains__(self, index: object) -> bool:
        if not self.starts or not isinstance(index, int):
            return False
        at = bisect.bisect_right(self.starts, index) - 1
        return at >= 0 and index <= self.ends[at]

    def __bool__(self) -> bool:
        return bool(self.starts)


@dataclass
class Sheet:
    """One sheet's cells as a spreadsheet program shows them."""

    name: str | None  # None for a CSV file or an HTML table
    rows: Callable[[], Iterator[list[Any]]]  # every row from row 1, values from column A
    merged: list[Merged] = field(default_factory=list)
    hidden_rows: Spans = field(default_factory=Spans)
    hidden_columns: Spans = field(default_factory=Spans)
    hidden: bool = False  # the sheet itself is hidden
    # (0-based row, column) of formula cells whose result was never saved (a file written
    # by a program that does not calculate): they read as empty, but are not
    uncalculated: frozenset[tuple[int, int]] = frozenset()
    # (0-based row, column) of formula cells whose saved result is an error (#N/A,
    # #VALUE!): they read as empty, as the error says nothing
    errors: frozenset[tuple[int, int]] = frozenset()
