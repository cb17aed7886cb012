"""Flags (特殊情况) read by meaning: a written flag into the flag it means, and how it may print.

Offices write flags with qualifiers (残疾人（二级肢体）, 低保户（A类）, 社区矫正人员(缓刑)), in
the words of the 综治 platforms (GB/T 31000: 刑满释放人员, 肇事肇祸等严重精神障碍患者 …) and
with statuses that only sound alike (低保边缘户 is not 低保). Every spelling is config data
([flags] in defaults.toml); this module only applies it, in this order:

1. the whole text, then the text without its bracketed qualifier, is a known spelling;
2. a known spelling followed by a grade or class only (残疾人二级, 低保A类);
3. a text that no spelling names is read by the words in it ([[flags.by_words]]), unless it
   holds a word that marks a neighbouring or ended status ([flags] marginal: 边缘, 已退出 …;
   such a word in a bracketed qualifier undoes step 1 too: 低保（已退出） is not 低保) — but
   words that read like a sensitive flag count whatever else it says (精神障碍监测 prints as
   重点人员);
4. anything else is an unknown flag, printed as written with a warning.

Sensitive flags (the red sub-types and the 重点青少年 groups) never print as written: they
print as their category (重点人员, 重点关爱) unless [privacy] allows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cardgen.text import fold

if TYPE_CHECKING:
    from cardgen.config import Config

_OPEN = "（(［[【〔〖<《"
_CLOSE = "）)］]】〕〗>》"
_QUALIFIED = re.compile(rf"^(?P<base>[^{re.escape(_OPEN)}]*)[{re.escape(_OPEN)}]"
                        rf"(?P<qualifier>[^{re.escape(_CLOSE)}]*)[{re.escape(_CLOSE)}]?"
                        rf"(?P<rest>.*)$")
# what may follow a flag without brackets and still be the same flag: a grade or a class
_GRADE = re.compile(r"^[-—_:：·、]?(?:[一二三四五六七八九十1-9１-９]+(?:级|等|档|类)|"
                    r"[A-Da-dＡ-Ｄａ-ｄ](?:类|档|级)?|[甲乙丙丁](?:类|档|级)|重度|中度|轻度|"
                    r"(?:肢体|视力|听力|言语|智力|精神|多重)(?:残疾)?(?:[一二三四1-4]级)?)+$")


@dataclass(frozen=True)
class FlagReading:
    """What a written flag means: `flag` is the canonical flag, or the text as written
    when cardgen does not know it (`known` false); `how` says how it was understood."""

    written: str
    flag: str
    known: bool
    how: str  # "alias" | "qualified" | "graded" | "words" | "unknown"


def split_flags(text: str, separators: str) -> list[str]:
    """A flags cell into its flags: split at the separators, but never inside brackets
    (残疾人（二级，肢体） is one flag)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE and depth:
            depth -= 1
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def read_flag(written: str, config: Config) -> FlagReading:
    """The flag a written flag means (see the module's docstring for the order)."""
    spellings = config.flags.spellings
    text = fold(written)
    found = spellings.get(text)
    if found is not None:
        return FlagReading(written, found, True, "alias")
    match = _QUALIFIED.match(text)
    base = text
    if match:
        base = (match["base"] + match["rest"]).strip()
        found = spellings.get(base)
        # 低保（已退出） is no longer 低保: a qualifier that marks a neighbouring or ended
        # status is not a mere qualifier, unless the flag is sensitive (privacy first)
        ended = any(word in match["qualifier"] for word in config.flags.marginal)
        if found is not None and (not ended or _sensitive(found, config)):
            return FlagReading(written, found, True, "qualified")
    graded = _graded(base, spellings)
    if graded is not None:
        return FlagReading(written, graded, True, "graded")
    marginal = any(word in text for word in config.flags.marginal)
    for flag, words in config.flags.by_words:
        if marginal and not _sensitive(flag, config):
            continue  # 低保边缘户 is not 低保; privacy comes first all the same
        if any(word in text for word in words):
            return FlagReading(written, flag, True, "words")
    return FlagReading(written, written.strip(), False, "unknown")


def _graded(text: str, spellings: dict[str, str]) -> str | None:
    """A known spelling followed by a grade or class only; the longest spelling wins."""
    best = None
    for length in range(len(text) - 1, 0, -1):
        found = spellings.get(text[:length])
        if found is not None and _GRADE.match(text[length:]):
            best = found
            break
    return best


def _sensitive(flag: str, config: Config) -> bool:
    return shown_flag(flag, config) in (config.flags.red_category, config.flags.care_category)


def shown_flag(flag: str, config: Config) -> str:
    """A (canonical) flag as cards, labels, indexes and messages may print it: a red
    sub-type as 重点人员, a 重点青少年 group as 重点关爱, unless [privacy] allows them."""
    if flag in config.flags.red_subtypes and not config.privacy.red_subtype:
        return config.flags.red_category
    if flag in config.flags.care_subtypes and not config.privacy.care_subtype:
        return config.flags.care_category
    return flag


def printed_as(reading: FlagReading, config: Config) -> str:
    """How a written flag prints: its (shown) flag when known, else as written."""
    return shown_flag(reading.flag, config) if reading.known else reading.flag


def shown_flags(config: Config) -> str:
    """The known flags as messages list them: each sensitive one as its category."""
    return "、".join(dict.fromkeys(shown_flag(flag, config) for flag in config.flags.known))


def hidden(reading: FlagReading, config: Config) -> bool:
    """A written flag that prints as a category (重点人员, 重点关爱): whatever else it says
    (a sub-type, a qualifier such as a diagnosis) never prints."""
    return reading.known and printed_as(reading, config) in (config.flags.red_category,
                                                               config.flags.care_category)


def shown_written(text: str, config: Config) -> str:
    """A flags cell as a message may quote it: as written (the user must find the wrong
    one), but each flag that prints as a category, however it was written, as that
    category."""
    parts = split_flags(text, config.flags.separators)
    readings = [read_flag(part, config) for part in parts]
    if not any(hidden(reading, config) for reading in readings):
        return text
    return "、".join(printed_as(reading, config) if hidden(reading, config) else part
                    for part, reading in zip(parts, readings, strict=True))
