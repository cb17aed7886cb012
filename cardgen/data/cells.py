"""Cells as text: what a spreadsheet value reads as, made one line of what can be drawn."""

from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata
from typing import Any

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
