"""The domain's nouns: where a value came from, households, their members and categories."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cardgen.errors import Problem, Severity, cell_place


@dataclass(slots=True)
class Row:
    """One input row: canonical field name -> the text in it, and where it came from.

    `row` is the 1-based row a spreadsheet shows; JSON input has no rows and
    names its place with `path` instead (e.g. ``[3].members[1]``). `columns` (field -> the
    header as written) is shared by the rows of a file; `raws` keeps a reader's own value
    where it was not text (xlsx numbers and dates, JSON numbers with a fraction or exponent:
    a JSON integer is exact and kept as its text only).
    """

    source: str
    row: int | None
    values: dict[str, str]
    columns: dict[str, str]
    path: str = ""
    raws: dict[str, object] | None = None
    sheet: str | None = None  # a workbook's sheet; None for CSV and JSON
    letters: dict[str, str] | None = None  # field -> column letter (shared like `columns`)
    hidden: frozenset[str] = frozenset()  # fields whose column is hidden (shared)
    hidden_row: bool = False

    def text(self, name: str) -> str:
        return self.values.get(name, "")

    def column(self, name: str) -> str | None:
        """The header of field `name`'s column as written (an empty cell of a table still
        has its column); for a JSON record, the key, if the record has it."""
        return self.columns.get(name) if name in self.values or self.row is not None else None

    def raw(self, name: str) -> object:
        return self.raws.get(name) if self.raws else None

    def place(self, name: str | None) -> str:
        """Where the row's cell of field `name` is, as the user finds it: the cell of a
        spreadsheet (``第一网格!F12（手机号）``), or the JSON path."""
        if self.row is None:
            return (self.columns.get(name) if name and name in self.values else None) \
                or self.path
        letter = self.letters.get(name) if name and self.letters else None
        return cell_place(self.sheet, letter, self.row, self.columns.get(name) if name else None,
                          self.hidden_row, letter is not None and name in self.hidden)


@dataclass(slots=True)
class Member:
    """One person of a household, normalised."""

    name: str
    relation: str = ""
    is_head: bool = False
    sex: str = ""  # 男 | 女 | ""
    ethnicity: str = ""
    birth_date: dt.date | None = None
    id_number: str = ""
    phone: str = ""
    landline: str = ""  # a second number, from a second phone column (电话 beside 手机)
    residence: str = ""  # 常住 流动 暂住 外出 空挂 境外 未落户 or ""
    flags: tuple[str, ...] = ()
    notes: str = ""
    row: int = 0
    sheet: str | None = None  # the workbook sheet of that row (None for CSV and JSON)

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(slots=True)
class Household:
    """One dwelling's card: household fields and its members (none for a vacant dwelling)."""

    household_id: str
    source: str
    first_row: int
    community: str = ""
    grid: str = ""
    grid_worker: str = ""
    grid_worker_phone: str = ""
    address: str = ""
    estate: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    housing: str = ""  # 自住 出租 空置 借住 or ""
    multiple_homes: bool = False
    moves_often: bool = False
    plan: str = ""  # 出租 出售 or ""
    owner: str = ""
    owner_phone: str = ""
    colour: str = ""  # an explicit colour key from the data, or ""
    cadre: str = ""  # 包户干部: the cadre answerable for the household (emergency kit)
    cadre_phone: str = ""
    members: list[Member] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    @property
    def head(self) -> Member | None:
        for member in self.members:
            if member.is_head:
                return member
        return self.members[0] if self.members else None

    @property
    def full_address(self) -> str:
        if self.address:
            return self.address
        parts = [self.estate, _suffix(self.building, "号楼"), _suffix(self.unit, "单元"),
                 _suffix(self.room, "室")]
        return " ".join(part for part in parts if part)


def _suffix(value: str, suffix: str) -> str:
    if value and value.isdigit():
        return value + suffix
    return value


@dataclass(frozen=True, slots=True)
class Category:
    """A household's colour with the reasons for it and the visits it needs."""

    key: str  # red orange yellow blue green
    reasons: tuple[str, ...]  # e.g. ("张秀英 低保",)
    explicit: bool  # the colour came from the data's 户卡颜色 column
    visit: str  # label of the strictest visit frequency, e.g. 每周敲门入户
    visit_because: str  # what sets that frequency, e.g. 空巢


@dataclass
class Dataset:
    """The validated input: households in input order, and every problem found."""

    households: list[Household]
    problems: list[Problem]
    sources: list[str]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]
