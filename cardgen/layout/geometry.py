"""The card's geometry: paper, margins, sections and type sizes in millimetres and points.

The one definition of the units: `MM` points per millimetre, `PT` millimetres per point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cardgen.config import Paper

MM = 72 / 25.4  # points per millimetre
PT = 25.4 / 72  # millimetres per point


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    share: float  # of the content width


COLUMNS = (
    Column("number", "序", 0.04), Column("name", "姓名", 0.16), Column("relation", "关系", 0.08),
    Column("sex", "性别", 0.05), Column("ethnicity", "民族", 0.10), Column("age", "年龄", 0.05),
    Column("id_text", "身份证号", 0.20), Column("phone", "联系电话", 0.14),
    Column("residence", "居住", 0.06), Column("flags", "特殊情况", 0.12),
)


@dataclass(frozen=True)
class Layout:
    """The card's geometry for one paper size, in millimetres (type sizes in points)."""

    paper: Paper
    margin_top: float
    margin_right: float
    margin_bottom: float
    margin_left: float
    band_height: float
    sticker_height: float
    household_height: float
    visit_height: float
    strip_height: float
    footer_height: float
    gap: float
    table_head: float
    tab_long: float
    tab_short: float
    tab_pitch: float
    tab_start: float
    font: float  # body text, pt
    small: float  # notes and labels, pt
    line: float  # line height as a factor of the font size
    cell_pad: float  # vertical padding of a table cell, total

    @property
    def width(self) -> float:
        return self.paper.width

    @property
    def height(self) -> float:
        return self.paper.height

    @property
    def content_width(self) -> float:
        return self.width - self.margin_left - self.margin_right

    @property
    def content_height(self) -> float:
        return self.height - self.margin_top - self.margin_bottom

    def column_width(self, column: Column) -> float:
        return self.content_width * column.share

    @property
    def members_top_first(self) -> float:
        """Top of the members table on a card's first page, from the content box's top."""
        return (self.band_height + self.gap + self.sticker_height + self.gap
                + self.household_height + self.gap)

    @property
    def members_top_next(self) -> float:
        return self.band_height + self.gap

    @property
    def members_bottom(self) -> float:
        return (self.content_height - self.footer_height - self.strip_height - self.gap
                - self.visit_height - self.gap)

    def rows_room(self, first: bool) -> float:
        top = self.members_top_first if first else self.members_top_next
        return self.members_bottom - top - self.table_head

    def line_height(self, size_pt: float) -> float:
        return size_pt * PT * self.line

    @property
    def row_pitch(self) -> float:
        """Height of a one-line member row (and of the blank ruled rows)."""
        return self.line_height(self.font) + self.cell_pad

    @property
    def stickers_top(self) -> float:
        return self.band_height + self.gap

    @property
    def household_top(self) -> float:
        return self.stickers_top + self.sticker_height + self.gap

    def column_x(self, index: int) -> float:
        return self.content_width * sum(c.share for c in COLUMNS[:index])

    @property
    def slot_width(self) -> float:
        return (self.content_width - 9 * self.paper.scale) / 4

    def grown(self, rows: int) -> Layout:
        """The first page of a card whose household block takes `rows` more ruled rows'
        height (from the members table below it)."""
        if not rows:
            return self
        return replace(self, household_height=self.household_height + rows * self.row_pitch)


def layout_for(paper: Paper, gutter: float = 5.0) -> Layout:
    """The geometry for a paper size; `gutter` widens the bound (left) edge's margin."""
    s = paper.scale
    return Layout(
        paper=paper, margin_top=15 * s, margin_right=17 * s, margin_bottom=9 * s,
        margin_left=10 * s + gutter, band_height=30 * s, sticker_height=31 * s,
        household_height=33 * s, visit_height=8 * s, strip_height=46 * s,
        footer_height=6 * s, gap=3.5 * s, table_head=7 * s, tab_long=30 * s,
        tab_short=12 * s, tab_pitch=36 * s, tab_start=40 * s, font=9 * s, small=7.5 * s,
        line=1.3, cell_pad=2.4 * s,
    )
