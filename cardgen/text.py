"""Text as cardgen compares it: the one folding rule for spellings users write."""

from __future__ import annotations

import functools
import re
import unicodedata

_NUMERALS = re.compile(r"[零〇一二两三四五六七八九十百]+")
_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}


@functools.lru_cache(maxsize=8192)  # the same few spellings on every row (关系, 性别, 民族 …)
def fold(text: str) -> str:
    """NFKC (full-width letters and digits, compatibility forms), no spaces, lower case:
    how a written spelling (a flag, say) is compared with the config's spellings."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _number(text: str) -> int:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零五 → 105, 一二 → 12 (digit by digit)."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_DIGIT[c]) for c in text))
    total, digit = 0, 0
    for char in text:
        if char == "百":
            total += (digit or 1) * 100
            digit = 0
        elif char == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _DIGIT[char]
    return total + digit


@functools.lru_cache(maxsize=4096)
def place_key(text: str) -> str:
    """A community's or grid's name as a person reads it (docs/book.md, "A register and
    its book"): 第一网格, 第1网格, 一网格, 第１网格 and 第 01 网格 are all ``1网格``."""
    folded = "".join(unicodedata.normalize("NFKC", text).split())
    folded = _NUMERALS.sub(lambda m: str(_number(m.group(0))), folded)
    folded = re.sub(r"\d+", lambda m: str(int(m.group(0))), folded)
    return folded.removeprefix("第")
