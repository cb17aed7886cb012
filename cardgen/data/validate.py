"""Validate stage: rows into typed households and members, with every problem collected."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence

from cardgen.config import Config
from cardgen.data import glyphs, vocabulary
from cardgen.data.flags import hidden, printed_as, read_flag, shown_written, split_flags
from cardgen.data.idnumber import IdNumberError, mask_id, normalise_id, parse_id
from cardgen.data.model import Dataset, Household, Member, Row
from cardgen.data.read import HOUSEHOLD_FIELDS, PERSON_FIELDS, Records, clean_text
from cardgen.errors import Problem, Severity

SHOWN_CHARS = 40  # of a value quoted in a problem
# field -> the [limits] key that bounds its length; every other cell has cell_chars
FIELD_LIMITS = {"name": "name_chars", "household_id": "household_id_chars",
                "address": "address_chars", "notes": "notes_chars", "flags": "flags_chars",
                "community": "place_chars", "grid": "place_chars", "grid_worker": "place_chars",
                "owner": "place_chars", "estate": "place_chars", "ethnicity": "place_chars",
                "relation": "place_chars", "building": "place_chars", "unit": "place_chars",
                "room": "place_chars"}
_DOTS = "\u00b7\u2022\u30fb\uff65\u2027\u2219\u22c5\u0387\u2e31\u16eb"
_DOT_BETWEEN = re.compile(r"(?<=\S)[.．。](?=\S)")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$|^\d{7,8}$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# 房屋状态 values that say someone lives in the dwelling
_LIVED_IN = {"自住": "owner-occupied", "借住": "lent to someone who lives there"}


def mask_value(field: str | None, text: str) -> str:
    """The value as a problem may show it: personal data masked like on the card or more,
    and a long value cut short. An empty value stays empty: nothing there to hide, and
    "*" would say something was."""
    if not text:
        return ""
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "…"
    if field == "id_number":
        return mask_id(normalise_id(text))
    if field in vocabulary.PERSONAL_FIELDS:
        if len(text) <= 1:
            return "*"
        phone = field is not None and field.endswith("phone")
        keep = min(3 if phone else 1, len(text) - 1)
        tail = text[-4:] if phone and len(text) > 8 else ""
        return text[:keep] + "*" * max(1, len(text) - keep - len(tail)) + tail
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


def validate_records(batches: Iterable[Records], config: Config, today: dt.date,
                     fonts: Sequence[frozenset[int]] | None = None) -> Dataset:
    """Group rows into households and check every value; nothing stops at the first problem.

    With `fonts` (`glyphs.coverage`), a character that no font has is an error at its cell:
    printing refuses such a household, so `validate` must say so."""
    out = _Collector(config)
    groups: dict[str, list[Row]] = {}
    sources = []
    batches_seen = list(batches)
    for records in batches_seen:
        sources.append(records.source)
        out.problems.extend(records.problems)
        limits = config.limits
        for row in records.rows:
            # one line of drawable text per cell (the readers clean already; rows made
            # elsewhere are cleaned the same way): no tab, line break or invisible character
            row.values = {f: t for f, t in ((f, clean_text(t)) for f, t in row.values.items())
                          if t}
            for field, text in row.values.items():
                limit_name = FIELD_LIMITS.get(field, "cell_chars")
                limit = getattr(limits, limit_name)
                if len(text) > limit:
                    size = (f"more than {limits.cell_chars}" if len(text) > limits.cell_chars
                            else str(len(text)))
                    out.error(row, field, f"is {size} characters long; at most {limit} "
                              f"([limits] {limit_name})", row.text("household_id") or None)
            household_id = row.text("household_id")
            if not household_id:
                out.error(row, "household_id", "the row has no household number (户编号); "
                          "fill it in so the row joins its household")
                continue
            groups.setdefault(household_id, []).append(row)

    if not groups and not any(p.severity is Severity.ERROR for p in out.problems):
        for records in batches_seen:
            out.problems.append(Problem(Severity.WARNING, records.source, None, None, None,
                                        None, "the file has a header row but no records"))
    households = [_household(hid, rows, config, today, out, fonts)
                  for hid, rows in groups.items()]
    _check_across_households(households, groups, out)
    return Dataset(households, out.problems, sources)


def _household(hid: str, rows: list[Row], config: Config, today: dt.date,
               out: _Collector, fonts: Sequence[frozenset[int]] | None = None) -> Household:
    first = rows[0]
    household = Household(household_id=hid, source=first.source, first_row=first.row or 0,
                          rows=[row.row or 0 for row in rows])
    values = _agreed_household_fields(hid, rows, config, out)
    for field, (row, text) in values.items():
        if field == "housing":
            household.housing = _enum(row, field, text, config.housing_spellings, hid, out)
        elif field in ("multiple_homes", "moves_often"):
            setattr(household, field, _yes_no(row, field, text, hid, out))
        elif field == "plan":
            household.plan = _enum(row, field, text, config.plan_spellings, hid, out)
        elif field == "colour":
            colour = config.colour_spellings.get(text.lower())
            if colour is None:
                out.error(row, field, "is no colour cardgen knows; use 红, 橙, 黄, 蓝 or 绿 "
                          "(or red, orange, yellow, blue, green), or leave it empty to let "
                          "the rules decide", hid)
            else:
                household.colour = colour
        elif field in ("owner_phone", "grid_worker_phone"):
            setattr(household, field, _phone(row, field, text, hid, out))
        else:
            setattr(household, field, text)

    member_rows = []
    for row in rows:
        if row.text("name"):
            household.members.append(_member(row, hid, config, today, out))
            member_rows.append(row)
        else:
            stray = [f for f in PERSON_FIELDS if f != "name" and row.text(f)]
            if stray:
                columns = ", ".join(row.column(f) or f for f in stray)
                out.error(row, "name", f"the row has no name (姓名) but has person fields "
                          f"({columns}); fill in the name, or clear those cells if the "
                          "dwelling is vacant", hid, value="")
    _check_household(household, rows, config, out)
    if "housing" in values:
        _check_lived_in(household, values["housing"][0], config, out)
    if fonts:
        _check_glyphs(household, rows, {field: row for field, (row, _) in values.items()},
                      member_rows, fonts, out)
    return household


def _check_glyphs(household: Household, rows: list[Row], field_rows: dict[str, Row],
                  member_rows: list[Row], fonts: Sequence[frozenset[int]],
                  out: _Collector) -> None:
    """An error at the cell of each character that no font has, in the text as printed."""
    on_card = glyphs.household_texts(household)
    of_members = [glyphs.member_texts(member) for member in household.members]
    if not glyphs.uncovered("".join(text for texts in (on_card, *of_members)
                                    for _, text in texts), fonts):
        return  # the usual case: the fonts have every character of the household
    hid = household.household_id
    for field, text in on_card:
        for char in glyphs.uncovered(text, fonts):
            out.error(field_rows.get(field, rows[0]), field, glyphs.message(hid, field, char),
                      hid)
    for texts, row in zip(of_members, member_rows, strict=True):
        for field, text in texts:
            for char in glyphs.uncovered(text, fonts):
                out.error(row, field, glyphs.message(hid, field, char), hid)


def _check_lived_in(household: Household, row: Row, config: Config, out: _Collector) -> None:
    """A dwelling 自住 (or 借住) where nobody lives: one of the two is wrong. The colour
    rules give green (空房户) to 空置 dwellings only (DOMAIN §2), so the card is printed
    in another colour, yet says 空置房屋 · 无人居住 when it has no members."""
    meaning = _LIVED_IN.get(household.housing)
    if meaning is None or any(m.residence not in config.non_resident
                              for m in household.members):
        return
    hid, housing = household.household_id, household.housing
    vacant_rule = "yet the colour rules count only 房屋状态 空置 as vacant (green)"
    if not household.members:
        out.warn(row, "housing", f"household {hid} is {housing} ({meaning}) but has nobody "
                 "in it: its rows have no name, so its card says 空置房屋 · 无人居住, "
                 f"{vacant_rule}; make 房屋状态 空置 if the dwelling is vacant, or fill in "
                 "the people who live there", hid)
    else:
        away = " or ".join(config.non_resident)
        out.warn(row, "housing", f"household {hid} is {housing} ({meaning}) but every "
                 f"member's 居住状态 is {away}, so nobody lives there, {vacant_rule}; make "
                 "房屋状态 空置 if the dwelling is vacant, or correct the 居住状态 column", hid)


def _agreed_household_fields(hid: str, rows: list[Row], config: Config,
                             out: _Collector) -> dict[str, tuple[Row, str]]:
    """The household fields of a household, each from the first row that has it."""
    agreed: dict[str, tuple[Row, str]] = {}
    for row in rows:
        for field in HOUSEHOLD_FIELDS:
            if field == "household_id":
                continue
            text = row.text(field)
            if not text:
                continue
            if field not in agreed:
                agreed[field] = (row, text)
                continue
            first_row, first_text = agreed[field]
            if _comparable(field, text, config) != _comparable(field, first_text, config):
                where = f"row {first_row.row}" if first_row.row else first_row.path
                out.error(row, field, f"household {hid} has '{mask_value(field, first_text)}' "
                          f"here on {where}; household fields must agree on every row of a "
                          "household (or stand on its first row only)", hid)
    return agreed


def _comparable(field: str, text: str, config: Config) -> str:
    key = text.strip().lower()
    spellings = {"housing": config.housing_spellings, "plan": config.plan_spellings,
                 "colour": config.colour_spellings}.get(field)
    if spellings is not None:
        return spellings.get(key, key)
    return "".join(key.split())


def _enum(row: Row, field: str, text: str, spellings: dict[str, str], hid: str,
          out: _Collector) -> str:
    value = spellings.get(text.strip().lower())
    if value is None:
        accepted = ", ".join(dict.fromkeys(v for v in spellings.values() if v)) or "none"
        out.error(row, field, f"is not a value cardgen knows; use one of: {accepted}", hid)
        return ""
    return value


def _yes_no(row: Row, field: str, text: str, hid: str, out: _Collector) -> bool:
    key = text.strip().lower()
    if key in vocabulary.YES_SPELLINGS:
        return True
    if key in vocabulary.NO_SPELLINGS:
        return False
    out.error(row, field, "must be 是 or 否", hid)
    return False


def _phone(row: Row, field: str, text: str, hid: str, out: _Collector) -> str:
    digits = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
    if digits.startswith("+86"):
        digits = digits[3:]
    core = digits.split("转")[0].split("ext")[0]
    if not (_MOBILE.match(core) or _LANDLINE.match(core)):
        out.warn(row, field, "does not look like a phone number (11-digit mobile or a "
                 "landline with area code); it is printed as written", hid)
        return text.strip()
    return digits


def clean_name(text: str) -> str:
    """NFC, one kind of middle dot (U+00B7) in minority names, no spaces around it."""
    name = unicodedata.normalize("NFC", text).strip()
    name = "".join("·" if ch in _DOTS else ch for ch in name)
    name = _DOT_BETWEEN.sub("·", name)
    return re.sub(r"\s*·\s*", "·", name)


def _member(row: Row, hid: str, config: Config, today: dt.date, out: _Collector) -> Member:
    name = clean_name(row.text("name"))
    member = Member(name=name, row=row.row or 0)

    relation = row.text("relation").strip()
    relation = vocabulary.RELATION_CODES.get(relation.zfill(2) if relation.isdigit() else "",
                                         relation)
    member.is_head = relation in vocabulary.HEAD_RELATIONS
    member.relation = vocabulary.HEAD_LABEL if member.is_head else relation

    sex_text = row.text("sex")
    if sex_text:
        sex = vocabulary.SEX_SPELLINGS.get(sex_text.strip().lower())
        if sex is None:
            out.error(row, "sex", "must be 男 or 女", hid)
        else:
            member.sex = sex

    ethnicity = row.text("ethnicity").strip()
    if ethnicity and ethnicity not in vocabulary.ETHNIC_GROUPS:
        if ethnicity + "族" in vocabulary.ETHNIC_GROUPS:
            ethnicity += "族"
        else:
            out.warn(row, "ethnicity", "is not one of the 56 ethnic groups' names; it is "
                     "printed as written", hid)
    member.ethnicity = ethnicity

    birth_text = row.text("birth_date")
    if birth_text:
        member.birth_date = _date(row, "birth_date", birth_text, today, hid, out)

    id_text = row.text("id_number")
    if id_text:
        _id_number(member, row, id_text, today, hid, out)

    phone = row.text("phone")
    if phone:
        member.phone = _phone(row, "phone", phone, hid, out)

    residence = row.text("residence")
    if residence:
        member.residence = _enum(row, "residence", residence, config.residence_spellings,
                                 hid, out)

    flags_text = row.text("flags")
    if flags_text:
        member.flags = _flags(row, flags_text, config, hid, out)
    member.notes = row.text("notes")
    return member


def _date(row: Row, field: str, text: str, today: dt.date, hid: str,
          out: _Collector) -> dt.date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text.strip())
        if match:
            try:
                day = dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                out.error(row, field, "is an impossible date; write it as YYYY-MM-DD", hid)
                return None
            if day > today or day.year < 1870:
                out.error(row, field, f"is a date that cannot be a birth date (reference date "
                          f"{today.isoformat()}); write it as YYYY-MM-DD", hid)
                return None
            return day
    if text.isascii() and text.isdecimal() and 1 <= int(text) <= 60000:
        day = _EXCEL_EPOCH + dt.timedelta(days=int(text))
        out.warn(row, field, f"is a spreadsheet date number, read as {day.isoformat()}; "
                 "format the column as 日期 or text YYYY-MM-DD", hid)
        return day
    out.error(row, field, "is not a date cardgen can read; write it as YYYY-MM-DD", hid)
    return None


def _id_number(member: Member, row: Row, text: str, today: dt.date, hid: str,
               out: _Collector) -> None:
    if isinstance(row.raw("id_number"), (int, float)) and len(normalise_id(text)) != 15:
        out.error(row, "id_number", "is stored as a number, and spreadsheet programs keep "
                  "only the first 15 digits of a number; format the column as text (文本) and "
                  "type the ID numbers again", hid)
        return
    try:
        checked = parse_id(text, today)
    except IdNumberError as exc:
        out.error(row, "id_number", f"is not a valid ID number: {exc}", hid)
        return
    if checked.legacy:
        out.warn(row, "id_number", "is an old 15-digit ID number; it is accepted, but the "
                 "18-digit number from the current ID card is better", hid)
    member.id_number = checked.number
    if member.sex and member.sex != checked.sex:
        out.warn(row, "sex", f"disagrees with the ID number, which says {checked.sex}; check "
                 "both", hid)
    elif not member.sex:
        member.sex = checked.sex
    if member.birth_date and member.birth_date != checked.birth_date:
        out.warn(row, "birth_date", "disagrees with the birth date in the ID number; the ID "
                 "number's date is used", hid)
    member.birth_date = checked.birth_date


def _flags(row: Row, text: str, config: Config, hid: str, out: _Collector) -> tuple[str, ...]:
    flags: list[str] = []
    for position, part in enumerate(split_flags(text, config.flag_separators), 1):
        reading = read_flag(part, config)
        if not reading.known:  # shown as written: the user must see which one it is
            out.warn(row, "flags", f"flag {position} ('{part}') is no flag cardgen knows; "
                     "it is printed as written in the overflow row; if it means a known "
                     "flag, add this spelling to [flags.aliases] in the config (known: "
                     + "、".join(config.known_flags) + ")", hid)
        elif reading.how == "words":
            shown = printed_as(reading, config) if hidden(reading, config) else part
            out.warn(row, "flags", f"flag {position} ('{shown}') is no spelling cardgen "
                     f"knows; it is read as {printed_as(reading, config)} by the words in it; "
                     "if that is wrong, add this spelling to [flags.aliases] in the config",
                     hid)
        if reading.flag not in flags:
            flags.append(reading.flag)
    return tuple(flags)


def _check_household(household: Household, rows: list[Row], config: Config,
                     out: _Collector) -> None:
    hid = household.household_id
    by_row = {row.row: row for row in rows}
    limit = config.limits.members
    if len(household.members) > limit:
        out.error(rows[0], "household_id", f"household {hid} has {len(household.members)} "
                  f"people; at most {limit} ([limits] members): is the 户编号 right on every "
                  "row?", hid)
    heads = [m for m in household.members if m.is_head]
    if len(heads) > 1:
        row = by_row.get(heads[1].row, rows[0])
        out.warn(row, "relation", f"household {hid} has {len(heads)} heads (户主); the first "
                 "is printed as head", hid)
    elif household.members and not heads:
        out.warn(rows[0], "relation", f"household {hid} has no head (户主); the first member "
                 "is printed first", hid, value="")
    seen: dict[str, Member] = {}
    for member in household.members:
        if not member.id_number:
            continue
        if member.id_number in seen:
            out.error(by_row.get(member.row, rows[0]), "id_number", f"the same ID number "
                      f"stands twice in household {hid} (rows {seen[member.id_number].row} and "
                      f"{member.row}); delete the duplicate row", hid)
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
                row = next((r for r in groups[household.household_id] if r.row == member.row),
                           groups[household.household_id][0])
                out.warn(row, "id_number", f"the same person is also in household "
                         f"{other.household_id}; mark 一人多套房 = 是 if that is right",
                         household.household_id)
            where.setdefault(member.id_number, household)
