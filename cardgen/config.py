"""The configuration: bundled defaults (defaults.toml) merged with the user's TOML file, typed.

`Config` holds one frozen section per table of the file, named as the file names it
(`config.card.words`, `config.flags.sticker_slots`, `config.privacy.full_id`); `load_config`
reads the TOML, and one small checker (`_Reader`) turns each value into its typed field or
stops with a message naming the file, the setting, what it must be and what was written.
No validation library: the messages are the product here, and a plain checker keeps them
and the import cheap (`python -X importtime -c "import cardgen.config"`).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import re
import string
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardgen.errors import ConfigError
from cardgen.i18n import _
from cardgen.resources import prepared_folder, read_prepared, write_prepared
from cardgen.text import fold

if TYPE_CHECKING:
    import tomllib

DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
COLOUR_KEYS = ("red", "orange", "yellow", "blue", "green")
PATTERNS = ("hatch", "dots", "plain", "lines", "grid")
RULE_KEYS = {"colour", "housing", "no_residents", "any_member_flag",
             "all_residents_aged_at_least", "all_residents_residence"}
HOUSEHOLD_MODES = ("auto", "number", "grid+number", "head")
NOT_RECORD_KINDS = ("totals", "signatures", "notes")
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class PaletteColour:
    """One of the five colours ([palette.KEY]): how it prints and what it means."""

    key: str
    hex: str
    char: str
    name: str
    pattern: str
    order: int
    meaning: str  # who gets this colour, in words (the ledger's cover)


@dataclass(frozen=True)
class ColourRule:
    colour: str
    housing: tuple[str, ...] = ()
    no_residents: bool | None = None
    any_member_flag: tuple[str, ...] = ()
    all_residents_aged_at_least: int | None = None
    all_residents_residence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Frequency:
    name: str
    days: int
    label: str


@dataclass(frozen=True)
class Paper:
    name: str
    width: float
    height: float
    scale: float


@dataclass(frozen=True)
class Imposition:
    """Cards of `paper` placed on a sheet at `slots` (top-left corners, mm)."""

    name: str
    sheet: tuple[float, float]
    paper: str
    slots: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class LabelSheet:
    """A sheet of labels: page and label sizes, pitch and first label's corner (mm); how
    far a label's content keeps inside its die-cut (`safe`) and ink from the sheet's edge
    (`edge`)."""

    name: str
    page: tuple[float, float]
    label: tuple[float, float]
    pitch: tuple[float, float]
    margin: tuple[float, float]
    columns: int
    rows: int
    safe: float = 2.0
    edge: float = 3.0

    @property
    def labels(self) -> int:
        return self.columns * self.rows

    def corner(self, index: int) -> tuple[float, float]:
        """Top-left corner (mm) of label `index` (0-based, row by row)."""
        row, column = divmod(index, self.columns)
        return (self.margin[0] + column * self.pitch[0], self.margin[1] + row * self.pitch[1])

    def content(self, index: int) -> tuple[float, float, float, float]:
        """Where label `index`'s content may go (x, y, width, height in mm): inside its
        die-cut by `safe`, and `edge` away from the sheet's edges."""
        x, y = self.corner(index)
        left = max(x + self.safe, self.edge)
        top = max(y + self.safe, self.edge)
        right = min(x + self.label[0] - self.safe, self.page[0] - self.edge)
        bottom = min(y + self.label[1] - self.safe, self.page[1] - self.edge)
        return left, top, right - left, bottom - top


@dataclass(frozen=True)
class TextStyle:
    """How cardgen prints one kind of data: size in points on A4, bold, colour (#RRGGBB,
    or "" for the band's black or white), and the least size it prints at on any paper."""

    size: float
    bold: bool
    colour: str
    least: float = 0.0

    def on_paper(self, scale: float, smallest: float) -> float:
        """Its size in points on a paper of `scale`: scaled, but never under its `least` nor
        `smallest` ([card.text] smallest)."""
        return max(self.size * scale, self.least, smallest)


@dataclass(frozen=True)
class LineStyle:
    """A line or shape cardgen draws: width and corner radius in mm on A4, colours."""

    width: float
    colour: str
    fill: str = ""
    radius: float = 0.0


# The words of [card.words] and the names each may fill in (a misspelt name would stop a
# print run half-way; the config check catches it first).
WORD_FIELDS: dict[str, frozenset[str]] = {
    "continued": frozenset({"page", "pages"}), "reasons": frozenset({"reasons"}),
    "more_reasons": frozenset({"n"}), "household_id": frozenset({"household_id"}),
    "place": frozenset({"community", "grid"}), "checked": frozenset({"mark"}),
    "unchecked": frozenset({"mark"}), "filled_slot": frozenset({"flag"}),
    "empty_slot": frozenset({"flag"}), "slot_also": frozenset({"flag", "also"}),
    "more_names": frozenset({"n"}), "more_chips": frozenset({"n"}),
    "notes": frozenset({"notes"}), "continues": frozenset({"page", "pages"}),
    "visit_value": frozenset({"frequency", "because"}), "member_count": frozenset({"n"}),
    "footer_place": frozenset({"place", "number"}), "book_number": frozenset({"number"}),
    "footer_date": frozenset({"date", "mode"}),
    "footer_page": frozenset({"page"}), "index_title": frozenset({"title"}),
    "frame_alt": frozenset({"char", "category", "tab"}),
    "household_count": frozenset({"n"}), "people_count": frozenset({"n"}),
    "page_count": frozenset({"n"}), "retired_count": frozenset({"n"}),
    "index_total": frozenset({"title", "n", "retired"}), "index_retired": frozenset({"n"}),
    "index_part": frozenset({"number", "of"}),
    "other_flags": frozenset({"n"}), "tab_label": frozenset({"number", "char", "name"}),
    "roster_continued": frozenset({"heading"}), "unit": frozenset({"unit"}),
    "floor": frozenset({"floor"}), "floor_below": frozenset({"floor"}),
    "no_address": frozenset({"household_id"}),
    "roster_counts": frozenset({"people", "households", "total"}),
    "roster_page": frozenset({"page", "pages"}),
    "mingbai_number": frozenset({"number", "household_id"}),
    "member_relation": frozenset({"name", "relation"}),
    "person_needs": frozenset({"name", "needs"}),
    "pdf_cards": frozenset({"what"}), "pdf_stickers": frozenset({"what"}),
    "pdf_count": frozenset({"n"}), "pdf_ledger": frozenset({"title"}),
    "pdf_update": frozenset({"title"}), "pdf_roster": frozenset({"group"}),
    "pdf_mingbai": frozenset({"group"}), "pdf_emergency": frozenset({"group"}),
    "selection_colours": frozenset({"colours"}), "selection_flags": frozenset({"flags"}),
    "selection_grids": frozenset({"grids"}), "selection_households": frozenset({"n"}),
    "skipped_household": frozenset({"household_id", "number"}),
}


@dataclass(frozen=True)
class Words:
    """The words cardgen prints with the data ([card.words])."""

    table: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.table[name]

    def format(self, name: str, /, **values: object) -> str:
        return self.table[name].format(**values)


@dataclass(frozen=True)
class Limits:
    """How big input may be: see [limits] in defaults.toml."""

    file_mb: int
    xlsx_unpacked_mb: int
    rows: int
    members: int
    cell_chars: int
    name_chars: int
    household_id_chars: int
    address_chars: int
    place_chars: int
    notes_chars: int
    flags_chars: int


@dataclass(frozen=True)
class Reading:
    """How registers are read as a person reads them: see [input] in defaults.toml."""

    households: str  # one of HOUSEHOLD_MODES
    header_rows: int
    same_as_above: frozenset[str]  # folded (see text.fold)
    ignored_columns: frozenset[str]  # folded
    not_records: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, folded first words)
    title_community: tuple[str, ...]
    title_grid: tuple[str, ...]
    generic_sheets: tuple[str, ...]  # folded prefixes of sheet names that name no grid
    name_placeholders: frozenset[str]  # characters that stand for one lost in a name
    mobile_columns: frozenset[str]  # folded headers of a phone column that holds mobiles
    side_lists: tuple[str, ...]  # folded words of a side list's sheet name (低保名单)


@dataclass(frozen=True)
class Plan:
    """An emergency plan for an estate or a building: where its people go, and how."""

    shelter: str  # 安置点
    shelter_address: str
    route: str
    signal: str


PLAN_KEYS = ("shelter", "shelter_address", "route", "signal")
WALK_KEYS = ("estate", "building", "unit", "floor", "room")


@dataclass(frozen=True)
class Emergency:
    """The emergency kit's settings: see [emergency] in defaults.toml."""

    needs: tuple[str, ...]  # canonical flags that put a person on the roster
    aged_at_least: int
    old_word: str
    aged_under: int
    young_word: str
    order: tuple[str, ...]  # WALK_KEYS, the roster's walking order
    card_colours: tuple[str, ...]
    cards_across: int
    cards_down: int
    plans: dict[str, Plan]  # folded key (an estate, or an estate and building) -> plan


@dataclass(frozen=True)
class Visits:
    """[visits]: how often a household is visited, by its colour and its members' flags."""

    frequencies: dict[str, Frequency]  # [visits.frequencies], by name
    colour: dict[str, str]  # colour key -> frequency name
    flag: dict[str, str]  # canonical flag -> frequency name
    extra: dict[str, str]  # colour key -> words printed after the frequency


@dataclass(frozen=True)
class Flags:
    """[flags]: the known flags, how written flags are understood, the sticker slots and the
    sensitive sub-types."""

    separators: str
    sticker_slots: tuple[str, ...]
    red_subtypes: tuple[str, ...]
    red_category: str
    care_subtypes: tuple[str, ...]
    care_category: str
    marginal: tuple[str, ...]
    by_words: tuple[tuple[str, tuple[str, ...]], ...]
    also: dict[str, tuple[str, ...]]
    spellings: dict[str, str]  # [flags.aliases]: folded spelling -> canonical flag

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.spellings.values()))


@dataclass(frozen=True)
class Spellings:
    """How registers write the enumerated columns' values and the columns' headers:
    [housing], [residence.values], [relation], [sex], [plan], [colour_values], [columns];
    each folded spelling (see text.fold) -> its value, or its field for [columns]."""

    housing: dict[str, str]
    residence: dict[str, str]
    relation: dict[str, str]
    sex: dict[str, str]
    plan: dict[str, str]
    colour: dict[str, str]
    columns: dict[str, str]
    non_resident: tuple[str, ...]  # [residence] non_resident: values of people not living there
    # [residence] foreign: values of people from abroad, whose 证件号码 may be a passport's
    foreign: tuple[str, ...] = ()


@dataclass(frozen=True)
class Privacy:
    """[privacy]: what prints beyond the least a card needs."""

    full_id: bool
    birth_date: bool
    red_subtype: bool
    care_subtype: bool


@dataclass(frozen=True)
class Papers:
    """[paper] and [impositions]: the card's paper sizes, by name, and the sheets cards are
    imposed on."""

    sizes: dict[str, Paper]
    default: str
    impositions: dict[str, Imposition]

    def size(self, name: str | None) -> Paper:
        return self.sizes[name or self.default]


@dataclass(frozen=True)
class Stickers:
    """[stickers] and [sheets]: the label sheets, by name, and the one used by default."""

    sheets: dict[str, LabelSheet]
    default: str

    def sheet(self, name: str | None = None) -> LabelSheet:
        return self.sheets[name or self.default]


@dataclass(frozen=True)
class CardSection:
    """[card]: the card's margins, ruled strips, type, lines and words."""

    gutter: float
    notes_title: str
    notes_columns: tuple[str, ...]
    notes_lines: int
    confidential: str
    household_grow: int
    text: dict[str, TextStyle]  # [card.text], by style
    line_factor: float  # [card.text] line
    inset: float  # [card.text] inset
    smallest_text: float  # pt: no text prints smaller, on any paper
    lines: dict[str, LineStyle]  # [card.lines], by name
    smallest_rule: float  # mm: no rule prints thinner, on any paper
    words: Words  # [card.words]

    def type_size(self, style: str, scale: float) -> float:
        """A text style's size in points on a paper of `scale`: scaled, but never under the
        style's `least` or [card.text] smallest."""
        return self.text[style].on_paper(scale, self.smallest_text)


@dataclass(frozen=True)
class Duplex:
    """[duplex]: what the back of a card prints with --duplex."""

    verso: str  # one of DUPLEX_VERSOS
    title: str  # the visit log's title
    columns: tuple[str, ...]  # the visit log's columns


@dataclass(frozen=True)
class BookSection:
    """[book]: the book of record's words: the index's for a retired number, the change
    list's reasons ([book.reasons]) and its own words ([book.list])."""

    retired: str
    reasons: dict[str, str]
    list: dict[str, str]


@dataclass(frozen=True)
class Config:
    """The whole configuration, one typed section per table of defaults.toml (each section's
    docstring names its tables; `_build` reads them in this order)."""

    default_colour: str
    palette: dict[str, PaletteColour]  # [palette.KEY]
    rules: tuple[ColourRule, ...]  # [[rules]]
    visits: Visits  # [visits]
    flags: Flags  # [flags]
    spellings: Spellings  # [housing] [residence] [relation] [sex] [plan] [colour_values] [columns]
    reading: Reading  # [input]
    privacy: Privacy  # [privacy]
    papers: Papers  # [paper] [impositions]
    stickers: Stickers  # [stickers] [sheets]
    card: CardSection  # [card] (its text, lines and words)
    duplex: Duplex  # [duplex]
    book: BookSection  # [book]
    fallback_fonts: tuple[Path, ...]  # [fonts] fallback
    limits: Limits
    cache_max_mb: int  # [cache] max_mb
    emergency: Emergency
    fingerprint: str  # hash of the merged settings, for reproducibility and caches


def load_config(path: Path | None = None) -> Config:
    """Read the defaults, merge the user's file over them and check every value."""
    data = _read_defaults()
    base_dir = DEFAULTS_PATH.parent
    source = str(DEFAULTS_PATH)
    if path is not None:
        user = _read_toml(path)
        _check_known_keys(user, data, str(path), "")
        data = _merge(data, user)
        base_dir = path.resolve().parent
        source = str(path)
    return _build(data, source, base_dir)


# The bundled defaults as parsed (marshalled), keyed on the file's identity (path, size,
# mtime): parsing them took ~10 ms a command, paid again by every in-process run (the desk,
# the test suite's CliRunner calls; ~13 s of the suite's CPU). A copy is handed out, so no
# caller can change it.
_DEFAULTS_READ: tuple[tuple[str, int, int], bytes] | None = None
# the defaults as `cardgen prepare` parsed them (keep_defaults), for the file it parsed
DEFAULTS_KEPT = "defaults.marshal"


def _read_defaults() -> dict[str, Any]:
    global _DEFAULTS_READ
    try:
        stat = DEFAULTS_PATH.stat()
    except OSError:
        return _read_toml(DEFAULTS_PATH)
    identity = (str(DEFAULTS_PATH), stat.st_size, stat.st_mtime_ns)
    if _DEFAULTS_READ is None or _DEFAULTS_READ[0] != identity:
        _DEFAULTS_READ = (identity, _parsed_defaults())
    parsed: dict[str, Any] = marshal.loads(_DEFAULTS_READ[1])
    return parsed


def _parsed_defaults() -> bytes:
    """The bundled defaults parsed, marshalled: as `cardgen prepare` kept them when it
    parsed this very file, else parsed now. Parsing them took 6 ms of every command
    (tomllib and its import), reading them back 0.3 ms (session 11)."""
    try:
        kept = read_prepared(prepared_folder(), DEFAULTS_KEPT, DEFAULTS_PATH.read_bytes())
    except OSError:
        kept = None
    return kept if kept is not None else marshal.dumps(_read_toml(DEFAULTS_PATH))


def keep_defaults(folder: Path) -> None:
    """Keep the bundled defaults parsed in `folder` (`cardgen prepare`; _parsed_defaults)."""
    write_prepared(folder, DEFAULTS_KEPT, DEFAULTS_PATH.read_bytes(),
                   marshal.dumps(_read_toml(DEFAULTS_PATH)))


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: the bundled defaults are read back parsed (_parsed_defaults)

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(_("{path}: no such config file").format(path=path)) from None
    except OSError as exc:
        raise ConfigError(_("{path}: cannot read the config file ({error})").format(
            path=path, error=exc.strerror)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, exc)) from None


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    """A TOML syntax error as the person editing the file in Notepad can act on it: the line
    and column, and what to look at there. (tomllib's reason stays as it is: it is short.)"""
    reason = str(error)
    place = re.search(r"\(at line (\d+), column (\d+)\)", reason)
    if place is None:
        return _("{path} is not a valid config file ({reason}); check its quotes, = signs and "
                 "[brackets]").format(path=path, reason=reason)
    return _("{path}, line {line}, column {column}: not valid here ({reason}); check the "
             "quotes, = signs and [brackets] on that line").format(
        path=path, line=place[1], column=place[2], reason=reason[:place.start()].strip())


def _shown(value: Any) -> str:
    """A setting's value as it is written in the TOML file: "text", true, [1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_shown(v)}" for k, v in value.items()) + " }"
    if value is None:
        return _("nothing")
    return str(value)


def _braced(fields: AbstractSet[str]) -> str:
    return ", ".join("{" + f + "}" for f in sorted(fields)) or _("none")


# Tables whose keys are the user's own (new flags, spellings, paper sizes, colours' rules).
_OPEN_TABLES = {"flags.aliases", "flags.also", "housing", "residence.values", "plan",
                "colour_values", "columns", "relation", "sex", "paper.sizes", "visits.frequencies",
                "visits.flag", "visits.extra", "impositions", "sheets", "emergency.plans"}


def _check_known_keys(user: dict[str, Any], defaults: dict[str, Any], source: str,
                      prefix: str) -> None:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if prefix.rstrip(".") in _OPEN_TABLES:
            continue
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ConfigError(_("{source}: there is no setting {setting}; check its spelling "
                                "(the settings here are: {known})").format(
                source=source, setting=dotted, known=known))
        if isinstance(value, dict) and isinstance(defaults[key], dict):
            _check_known_keys(value, defaults[key], source, dotted + ".")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


class _Reader:
    """Typed access to the merged TOML with errors that name the file and the setting."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(_("{source}: the setting {setting} is missing").format(
                    source=self.source, setting=dotted))
            node = node[part]
        return node

    def fail(self, dotted: str, why: str) -> ConfigError:
        return ConfigError(_("{source}: the setting {setting} {why}").format(
            source=self.source, setting=dotted, why=why))

    def text(self, dotted: str, value: Any = None) -> str:
        value = self.get(dotted) if value is None else value
        if not isinstance(value, str):
            raise self.fail(dotted, _("must be text, not {value}").format(value=_shown(value)))
        return value

    def number(self, dotted: str, value: Any = None, minimum: float = 0) -> float:
        value = self.get(dotted) if value is None else value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise self.fail(dotted, _("must be a number of at least {minimum:g}, not {value}")
                            .format(minimum=minimum, value=_shown(value)))
        return float(value)

    def boolean(self, dotted: str) -> bool:
        value = self.get(dotted)
        if not isinstance(value, bool):
            raise self.fail(dotted, _("must be true or false, not {value}").format(
                value=_shown(value)))
        return value

    def texts(self, dotted: str, value: Any = None) -> tuple[str, ...]:
        value = self.get(dotted) if value is None else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(dotted, _("must be a list of text, not {value}").format(
                value=_shown(value)))
        return tuple(value)

    def table(self, dotted: str) -> dict[str, Any]:
        value = self.get(dotted)
        if not isinstance(value, dict):
            raise self.fail(dotted, _("must be a table"))
        return value

    def spellings(self, dotted: str) -> dict[str, str]:
        """Folded spelling (NFKC, no spaces, lower case: see text.fold) -> its value; every
        value is a spelling of itself."""
        result: dict[str, str] = {}
        for canonical, spellings in self.table(dotted).items():
            for spelling in self.texts(f"{dotted}.{canonical}", spellings):
                result[fold(spelling)] = canonical
        for canonical in list(result.values()):
            result.setdefault(fold(canonical), canonical)
        return result


def _pair(r: _Reader, at: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise r.fail(at, _("must be two numbers [x, y] in mm, not {value}").format(
            value=_shown(value)))
    return r.number(at, value[0]), r.number(at, value[1])


def _imposition(r: _Reader, at: str, name: str, value: Any,
                papers: dict[str, Paper]) -> Imposition:
    if not isinstance(value, dict):
        raise r.fail(at, _("must be a table with sheet, card_paper and slots"))
    width, height = _pair(r, f"{at}.sheet", value.get("sheet"))
    paper_name = r.text(f"{at}.card_paper", value.get("card_paper"))
    if paper_name not in papers:
        raise r.fail(f"{at}.card_paper", _("names no size in [paper.sizes] ({known})").format(
            known=", ".join(papers)))
    paper = papers[paper_name]
    slots_value = value.get("slots")
    if not isinstance(slots_value, list) or not slots_value:
        raise r.fail(f"{at}.slots", _("must be a list of [x, y] positions in mm"))
    slots = [_pair(r, f"{at}.slots[{i + 1}]", slot) for i, slot in enumerate(slots_value)]
    for index, (x, y) in enumerate(slots):
        if x + paper.width > width + 0.01 or y + paper.height > height + 0.01:
            raise r.fail(f"{at}.slots[{index + 1}]", _(
                "puts a {card} mm card at [{x:g}, {y:g}], past the {sheet} mm sheet").format(
                card=f"{paper.width:g}×{paper.height:g}", x=x, y=y, sheet=f"{width:g}×{height:g}"))
        for other, (u, v) in enumerate(slots[:index]):
            if abs(x - u) < paper.width - 0.01 and abs(y - v) < paper.height - 0.01:
                raise r.fail(f"{at}.slots[{index + 1}]", _("overlaps slot {other}").format(
                    other=other + 1))
    return Imposition(name, (width, height), paper_name, tuple(slots))


def read_sheet(r: _Reader, at: str, name: str, value: Any) -> LabelSheet:
    """A label sheet's geometry, checked: every label must lie on the page."""
    if not isinstance(value, dict):
        raise r.fail(at or "sheet", _("must be a table with page, label, pitch, margin, "
                                      "columns and rows"))
    unknown = set(value) - {"page", "label", "pitch", "margin", "columns", "rows", "safe",
                            "edge"}
    if unknown:
        raise r.fail(at or "sheet", _("has unknown keys {keys}").format(
            keys=", ".join(sorted(unknown))))
    page = _pair(r, _at(at, "page"), value.get("page"))
    label = _pair(r, _at(at, "label"), value.get("label"))
    pitch = _pair(r, _at(at, "pitch"), value.get("pitch"))
    margin = _pair(r, _at(at, "margin"), value.get("margin"))
    counts = []
    for key in ("columns", "rows"):
        count = value.get(key)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise r.fail(_at(at, key), _("must be a whole number of at least 1, not {value}")
                         .format(value=_shown(count)))
        counts.append(count)
    columns, rows = counts
    for axis, word in ((0, _("width")), (1, _("height"))):
        if label[axis] <= 0 or page[axis] <= 0:
            raise r.fail(_at(at, "label"), _("sizes must be more than 0"))
        if label[axis] > pitch[axis] + 0.001:
            raise r.fail(_at(at, "pitch"), _("{axis} {pitch:g} is less than the label's "
                                             "{label:g}: labels would overlap").format(
                axis=word, pitch=pitch[axis], label=label[axis]))
        count = (columns, rows)[axis]
        end = margin[axis] + (count - 1) * pitch[axis] + label[axis]
        if end > page[axis] + 0.01:
            key = "columns" if axis == 0 else "rows"
            raise r.fail(_at(at, key), _("{count} labels reach {end:g} mm, past the page's "
                                         "{axis} of {page:g} mm").format(
                count=count, end=end, axis=word, page=page[axis]))
    safe = r.number(_at(at, "safe"), value.get("safe", LabelSheet.safe))
    edge = r.number(_at(at, "edge"), value.get("edge", LabelSheet.edge))
    sheet = LabelSheet(name, page, label, pitch, margin, columns, rows, safe, edge)
    for index in range(sheet.labels):
        width, height = sheet.content(index)[2:]
        if min(width, height) < MIN_LABEL_CONTENT:
            raise r.fail(_at(at, "safe"), _(
                "leaves label {label} {width:.1f} × {height:.1f} mm for its content inside the "
                "safe margin ({safe:g} mm) and the sheet's edge ({edge:g} mm); it needs {least:g} "
                "mm each way").format(label=index + 1, width=max(width, 0),
                                      height=max(height, 0), safe=safe, edge=edge,
                                      least=MIN_LABEL_CONTENT))
    return sheet


MIN_LABEL_CONTENT = 10.0  # mm: the least room a label's content needs each way


DUPLEX_VERSOS = ("visits", "blank")


def _visit_log_columns(r: _Reader) -> tuple[str, ...]:
    columns = r.texts("duplex.columns")
    if not 1 <= len(columns) <= 6:
        raise r.fail("duplex.columns", _("must name one to six columns"))
    return columns


def load_sheet_file(path: Path) -> LabelSheet:
    """A label sheet described in its own TOML file (the keys of a [sheets.NAME] table)."""
    data = _read_toml(path)
    return read_sheet(_Reader(data, str(path)), "", path.stem, data)


def _at(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _build(data: dict[str, Any], source: str, base_dir: Path) -> Config:
    """The whole typed configuration, section by section; a wrong value stops it."""
    r = _Reader(data, source)
    papers, default_paper = _papers(r)
    sheets = {name: read_sheet(r, f"sheets.{name}", name, value)
              for name, value in r.table("sheets").items()}
    default_sheet = r.text("stickers.default_sheet")
    if default_sheet not in sheets:
        raise r.fail("stickers.default_sheet", _("names no sheet in [sheets] ({known})").format(
            known=", ".join(sheets)))
    fallback = _fallback_fonts(r, base_dir)
    fingerprint = hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        + b"".join(str(p).encode() for p in fallback)).hexdigest()
    return Config(
        default_colour=_one_of(r, "default_colour", COLOUR_KEYS),
        palette=_palette(r),
        rules=_rules(r),
        visits=_visits(r),
        flags=_flags(r),
        spellings=_spellings(r),
        reading=_reading(r),
        privacy=Privacy(**{key: r.boolean(f"privacy.{key}")
                           for key in Privacy.__dataclass_fields__}),
        papers=Papers(papers, default_paper,
                      {name: _imposition(r, f"impositions.{name}", name, value, papers)
                       for name, value in r.table("impositions").items()}),
        stickers=Stickers(sheets, default_sheet),
        card=_card(r),
        duplex=Duplex(_one_of(r, "duplex.verso", DUPLEX_VERSOS), r.text("duplex.title"),
                      _visit_log_columns(r)),
        book=BookSection(r.text("book.retired"),
                         _words(r, "book.reasons", BOOK_REASON_FIELDS).table,
                         _words(r, "book.list", BOOK_LIST_FIELDS).table),
        fallback_fonts=fallback,
        limits=Limits(**{key: int(r.number(f"limits.{key}", minimum=1))
                         for key in Limits.__dataclass_fields__}),
        cache_max_mb=int(r.number("cache.max_mb", minimum=1)),
        emergency=_emergency(r),
        fingerprint=fingerprint,
    )


def _flags(r: _Reader) -> Flags:
    """[flags]: the sticker slots, the sensitive sub-types and how flags are spelt."""
    return Flags(
        separators=r.text("flags.separators"),
        sticker_slots=_slots(r),
        red_subtypes=r.texts("flags.red_subtypes"),
        red_category=r.text("flags.red_category"),
        care_subtypes=r.texts("flags.care_subtypes"),
        care_category=r.text("flags.care_category"),
        marginal=r.texts("flags.marginal"),
        by_words=_flags_by_words(r),
        also={k: r.texts(f"flags.also.{k}", v) for k, v in r.table("flags.also").items()},
        spellings=_flag_spellings(r),
    )


def _spellings(r: _Reader) -> Spellings:
    """The enumerated columns' values and the columns' headers, as registers spell them."""
    return Spellings(
        housing=r.spellings("housing"),
        residence=r.spellings("residence.values"),
        relation=r.spellings("relation"),
        sex=r.spellings("sex"),
        plan=r.spellings("plan"),
        colour=r.spellings("colour_values"),
        columns=_column_spellings(r),
        non_resident=r.texts("residence.non_resident"),
        foreign=r.texts("residence.foreign"),
    )


def _card(r: _Reader) -> CardSection:
    """[card]: margins, the notes strip, type, lines and words."""
    return CardSection(
        gutter=r.number("card.gutter"),
        notes_title=r.text("card.notes_title"),
        notes_columns=r.texts("card.notes_columns"),
        notes_lines=int(r.number("card.notes_lines", minimum=1)),
        confidential=r.text("card.confidential"),
        household_grow=int(r.number("card.household_grow")),
        text=_text_styles(r),
        line_factor=r.number("card.text.line", minimum=1),
        inset=r.number("card.text.inset"),
        smallest_text=r.number("card.text.smallest", minimum=4),
        lines=_line_styles(r),
        smallest_rule=r.number("card.lines.smallest", minimum=0.05),
        words=_words(r, "card.words", WORD_FIELDS),
    )


def _emergency(r: _Reader) -> Emergency:
    """[emergency]: the roster's needs, ages and order, the 明白卡 sheet, the plans (each
    key an estate, or an estate followed by its building: 锦绣家园3号楼)."""
    order = r.texts("emergency.order")
    wrong = [key for key in order if key not in WALK_KEYS]
    if wrong or not order:
        raise r.fail("emergency.order", _("must list some of {known}, not {value}").format(
            known=", ".join(WALK_KEYS), value=_shown(list(order))))
    colours = r.texts("emergency.card_colours")
    wrong = [key for key in colours if key not in COLOUR_KEYS]
    if wrong:
        raise r.fail("emergency.card_colours", _("must list some of {known}, not {value}")
                     .format(known=", ".join(COLOUR_KEYS), value=_shown(list(colours))))
    plans = {}
    for name, value in r.table("emergency.plans").items():
        at = f"emergency.plans.{name}"
        if not isinstance(value, dict) or not set(value) <= set(PLAN_KEYS):
            raise r.fail(at, _("must be a table with {keys}").format(keys=", ".join(PLAN_KEYS)))
        plans[fold(name)] = Plan(*(r.text(f"{at}.{key}", value.get(key, ""))
                                   for key in PLAN_KEYS))
    across = int(r.number("emergency.cards_across", minimum=1))
    down = int(r.number("emergency.cards_down", minimum=1))
    if across > 2 or down > 2:  # smaller cards than A6 would not be read in the rain
        raise r.fail("emergency.cards_across" if across > 2 else "emergency.cards_down",
                     _("must be 1 or 2 (a 明白卡 no smaller than a quarter of A4)"))
    return Emergency(
        needs=r.texts("emergency.needs"),
        aged_at_least=int(r.number("emergency.aged_at_least", minimum=1)),
        old_word=r.text("emergency.old_word"),
        aged_under=int(r.number("emergency.aged_under")),
        young_word=r.text("emergency.young_word"),
        order=order,
        card_colours=colours,
        cards_across=across,
        cards_down=down,
        plans=plans,
    )


BOOK_REASON_FIELDS = {"colour": {"old", "new"}, "sticker_added": {"flag"},
                      "sticker_removed": {"flag"}, "members_count": {"old", "new"},
                      "moved_in": {"grid"}, "moved_out": {"grid"}, "same_address": {"number"},
                      "moved_within": {"number"},
                      "grid_renamed": {"old", "new"}}
BOOK_LIST_FIELDS = {"continued": {"group"}, "footer": {"group"}, "count": {"action", "n"},
                    "edition": {"number"}, "edition_since": {"number", "date"},
                    "household_change": {"before", "after"}, "step_cover": {"cover", "index"},
                    "step_stickers": {"file", "labels"}, "page": {"page"}, "put": {"flag"},
                    "take_off": {"flag"}}


def _one_of(r: _Reader, dotted: str, allowed: tuple[str, ...]) -> str:
    value = r.text(dotted)
    if value not in allowed:
        raise r.fail(dotted, _("must be one of {allowed}, not {value}").format(
            allowed=", ".join(allowed), value=_shown(value)))
    return value


def _palette(r: _Reader) -> dict[str, PaletteColour]:
    palette = {}
    for key in COLOUR_KEYS:
        at = f"palette.{key}"
        hex_value = r.text(f"{at}.hex")
        if not _HEX.match(hex_value):
            raise r.fail(f"{at}.hex", _("must be a colour like {example}, not {value}").format(
                example="#2E9E4F", value=_shown(hex_value)))
        char = r.text(f"{at}.char")
        if not 1 <= len(char) <= 2:
            raise r.fail(f"{at}.char", _("must be one or two characters"))
        palette[key] = PaletteColour(key, hex_value.upper(), char, r.text(f"{at}.name"),
                              _one_of(r, f"{at}.pattern", PATTERNS),
                              int(r.number(f"{at}.order")), r.text(f"{at}.meaning"))
    extra = set(r.table("palette")) - set(COLOUR_KEYS)
    if extra:
        raise r.fail("palette", _("has unknown colours {wrong}; the keys are {known}").format(
            wrong=", ".join(sorted(extra)), known=", ".join(COLOUR_KEYS)))
    return palette


def _rules(r: _Reader) -> tuple[ColourRule, ...]:
    raw_rules = r.get("rules")
    if not isinstance(raw_rules, list):
        raise r.fail("rules", _("must be a list of [[rules]] tables"))
    rules = []
    for index, raw in enumerate(raw_rules, 1):
        at = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise r.fail(at, _("must be a table"))
        unknown = set(raw) - RULE_KEYS
        if unknown:
            raise r.fail(at, _("has unknown conditions {wrong}; the conditions are {known}")
                         .format(wrong=", ".join(sorted(unknown)),
                                 known=", ".join(sorted(RULE_KEYS - {"colour"}))))
        colour = r.text(f"{at}.colour", raw.get("colour"))
        if colour not in COLOUR_KEYS:
            raise r.fail(f"{at}.colour", _("must be one of {allowed}, not {value}").format(
                allowed=", ".join(COLOUR_KEYS), value=_shown(colour)))
        age = raw.get("all_residents_aged_at_least")
        no_residents = raw.get("no_residents")
        if no_residents is not None and not isinstance(no_residents, bool):
            raise r.fail(f"{at}.no_residents", _("must be true or false, not {value}").format(
                value=_shown(no_residents)))
        rules.append(ColourRule(
            colour=colour,
            housing=r.texts(f"{at}.housing", raw.get("housing", [])),
            no_residents=no_residents,
            any_member_flag=r.texts(f"{at}.any_member_flag", raw.get("any_member_flag", [])),
            all_residents_aged_at_least=(
                None if age is None
                else int(r.number(f"{at}.all_residents_aged_at_least", age))),
            all_residents_residence=r.texts(f"{at}.all_residents_residence",
                                            raw.get("all_residents_residence", [])),
        ))
    return tuple(rules)


def _visits(r: _Reader) -> Visits:
    frequencies = {}
    for name, value in r.table("visits.frequencies").items():
        at = f"visits.frequencies.{name}"
        if not isinstance(value, dict):
            raise r.fail(at, _("must be a table like {example}").format(
                example='{ days = 30, label = "每月入户走访" }'))
        frequencies[name] = Frequency(name, int(r.number(f"{at}.days", value.get("days"), 1)),
                                      r.text(f"{at}.label", value.get("label")))
    visit_colour = {k: r.text(f"visits.colour.{k}", v)
                    for k, v in r.table("visits.colour").items()}
    visit_flag = {k: r.text(f"visits.flag.{k}", v) for k, v in r.table("visits.flag").items()}
    for table, mapping in (("visits.colour", visit_colour), ("visits.flag", visit_flag)):
        for key, freq in mapping.items():
            if freq not in frequencies:
                raise r.fail(f"{table}.{key}", _("names no frequency in [visits.frequencies] "
                                                 "({known})").format(known=", ".join(frequencies)))
    missing = [k for k in COLOUR_KEYS if k not in visit_colour]
    if missing:
        raise r.fail("visits.colour", _("lacks {missing}").format(missing=", ".join(missing)))
    return Visits(frequencies, visit_colour, visit_flag,
                  {k: r.text(f"visits.extra.{k}", v) for k, v in r.table("visits.extra").items()})


def _column_spellings(r: _Reader) -> dict[str, str]:
    """Folded header -> field; one header spelt for two fields is a mistake in the config."""
    spellings: dict[str, str] = {}
    for field, values in r.table("columns").items():
        for spelling in r.texts(f"columns.{field}", values):
            other = spellings.setdefault(fold(spelling), field)
            if other != field:
                raise r.fail(f"columns.{field}", _("spells {spelling}, which [columns] gives "
                                                   "to {other} too").format(
                    spelling=_shown(spelling), other=other))
    return spellings


def _reading(r: _Reader) -> Reading:
    not_records = r.table("input.not_records")
    unknown = set(not_records) - set(NOT_RECORD_KINDS)
    if unknown:
        raise r.fail("input.not_records", _("has unknown kinds {wrong}; the kinds are {known}")
                     .format(wrong=", ".join(sorted(unknown)), known=", ".join(NOT_RECORD_KINDS)))
    return Reading(
        households=_one_of(r, "input.households", HOUSEHOLD_MODES),
        header_rows=int(r.number("input.header_rows", minimum=1)),
        same_as_above=frozenset(fold(t) for t in r.texts("input.same_as_above")),
        ignored_columns=frozenset(fold(t) for t in r.texts("input.ignored_columns")),
        not_records=tuple((kind, tuple(fold(word) for word in r.texts(
            f"input.not_records.{kind}", not_records.get(kind, []))))
            for kind in NOT_RECORD_KINDS),
        title_community=r.texts("input.title_community"),
        title_grid=r.texts("input.title_grid"),
        generic_sheets=tuple(fold(t) for t in r.texts("input.generic_sheet_names")),
        name_placeholders=frozenset(char for text in r.texts("input.name_placeholders")
                                    for char in text),
        mobile_columns=frozenset(fold(t) for t in r.texts("input.mobile_columns")),
        side_lists=tuple(fold(t) for t in r.texts("input.side_list_sheets")),
    )


def _flag_spellings(r: _Reader) -> dict[str, str]:
    """Normalised spelling (NFKC, no spaces, lower case) -> canonical flag."""
    spellings = {fold(spelling): canonical
                 for spelling, canonical in r.spellings("flags.aliases").items()}
    for canonical in list(spellings.values()):
        spellings.setdefault(fold(canonical), canonical)
    return spellings


def _flags_by_words(r: _Reader) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = r.get("flags.by_words")
    if not isinstance(found, list):
        raise r.fail("flags.by_words", _("must be a list of [[flags.by_words]] tables"))
    rules = []
    for index, raw in enumerate(found, 1):
        at = f"flags.by_words[{index}]"
        if not isinstance(raw, dict) or set(raw) != {"flag", "words"}:
            raise r.fail(at, _("must be a table with flag and words"))
        rules.append((r.text(f"{at}.flag", raw["flag"]),
                      tuple(fold(w) for w in r.texts(f"{at}.words", raw["words"]))))
    return tuple(rules)


def _slots(r: _Reader) -> tuple[str, ...]:
    slots = r.texts("flags.sticker_slots")
    if len(slots) != 4:
        raise r.fail("flags.sticker_slots", _("must name exactly four slots"))
    return slots


def _papers(r: _Reader) -> tuple[dict[str, Paper], str]:
    papers = {}
    for name, value in r.table("paper.sizes").items():
        at = f"paper.sizes.{name}"
        if not isinstance(value, dict):
            raise r.fail(at, _("must be a table with width, height and scale"))
        width = r.number(f"{at}.width", value.get("width"), 50)
        height = r.number(f"{at}.height", value.get("height"), 50)
        scale = r.number(f"{at}.scale", value.get("scale", 1.0), 0.3)
        papers[name] = Paper(name, width, height, scale)
    return papers, _one_of(r, "paper.default", tuple(papers))


def _fallback_fonts(r: _Reader, base_dir: Path) -> tuple[Path, ...]:
    fallback = []
    for index, font in enumerate(r.texts("fonts.fallback")):
        path = (base_dir / font).resolve()
        if not path.is_file() or path.suffix.lower() not in {".otf", ".ttf"}:
            raise r.fail(f"fonts.fallback[{index + 1}]",
                         _("must name an .otf or .ttf file; {path} is not one").format(path=path))
        fallback.append(path)
    return tuple(fallback)


def _colour(r: _Reader, at: str, value: Any, empty: bool = False) -> str:
    text = r.text(at, value)
    if not (_HEX.match(text) or (empty and text == "")):
        raise r.fail(at, _("must be a colour like {example}, not {value}").format(
            example="#555555", value=_shown(text)))
    return text.upper()


def _text_styles(r: _Reader) -> dict[str, TextStyle]:
    styles = {}
    for name, value in r.table("card.text").items():
        if name in ("line", "inset", "smallest"):
            continue
        at = f"card.text.{name}"
        if not isinstance(value, dict) or not set(value) <= {"size", "bold", "colour", "least"}:
            raise r.fail(at, _("must be a table with size, and bold, colour and least if "
                               "wanted"))
        bold = value.get("bold", False)
        if not isinstance(bold, bool):
            raise r.fail(f"{at}.bold", _("must be true or false, not {value}").format(
                value=_shown(bold)))
        styles[name] = TextStyle(r.number(f"{at}.size", value.get("size"), 3), bold,
                                 _colour(r, f"{at}.colour", value.get("colour", ""), True),
                                 r.number(f"{at}.least", value.get("least", 0.0)))
    return styles


# The lightest a rule prints (issue 14: at least 35 % grey, so that a laser printer or a
# black-and-white photocopy keeps it): its colour's lightness at most 65 %.
LIGHTEST_RULE = 0.65


def rule_colour(colour: str) -> str:
    """A rule's colour (#RRGGBB) as it prints: darkened, its hue kept, to 35 % grey
    where it is lighter (a config's #EEEEEE prints as #A6A6A6), as a rule's width is
    raised to [card.lines] smallest."""
    if not colour:
        return colour
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lightness = 0.299 * red + 0.587 * green + 0.114 * blue
    if lightness <= LIGHTEST_RULE:
        return colour
    factor = LIGHTEST_RULE / lightness
    return "#" + "".join(f"{int(value * factor * 255):02X}" for value in (red, green, blue))


def _line_styles(r: _Reader) -> dict[str, LineStyle]:
    styles = {}
    for name, value in r.table("card.lines").items():
        if name == "smallest":
            continue
        at = f"card.lines.{name}"
        if not isinstance(value, dict) or not set(value) <= {"width", "colour", "fill",
                                                              "radius"}:
            raise r.fail(at, _("must be a table with width and colour (fill, radius)"))
        styles[name] = LineStyle(
            r.number(f"{at}.width", value.get("width")),
            rule_colour(_colour(r, f"{at}.colour", value.get("colour"))),
            _colour(r, f"{at}.fill", value.get("fill", ""), True),
            r.number(f"{at}.radius", value.get("radius", 0.0)))
    return styles


def _words(r: _Reader, table: str, fields: Mapping[str, AbstractSet[str]]) -> Words:
    """A table of words ([card.words], [book.reasons], [book.list]): each a text that may
    fill in only its own {fields} (a misspelt name would stop a print run half-way)."""
    words = {}
    for name, value in r.table(table).items():
        at = f"{table}.{name}"
        text = r.text(at, value)
        allowed = fields.get(name, frozenset())
        try:
            used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
        except ValueError as exc:
            raise r.fail(at, _("has a stray brace: {error}").format(error=exc)) from None
        if not used <= allowed:
            raise r.fail(at, _("names {wrong}; it may use {known}").format(
                wrong=_braced(used - allowed), known=_braced(allowed)))
        words[name] = text
    return Words(words)
