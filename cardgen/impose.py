"""Imposition: finished card pages placed on bigger sheets (two A5 cards on an A4 sheet)."""

from __future__ import annotations

import io
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name

from cardgen.config import Config, Imposition

MM = 72 / 25.4
CUT_MARK = 4.0  # mm


def sheet_of(page: int, slots: int) -> int:
    """The 1-based sheet that carries 1-based card page `page`."""
    return (page - 1) // slots + 1


def impose(data: bytes, imposition: Imposition, config: Config) -> bytes:
    """The pages of `data` (cards of the imposition's paper), in order, on sheets."""
    paper = config.papers[imposition.paper]
    card_w, card_h = paper.width * MM, paper.height * MM
    sheet_w, sheet_h = imposition.sheet[0] * MM, imposition.sheet[1] * MM
    with pikepdf.open(io.BytesIO(data)) as source:
        sheets = pikepdf.new()
        forms = [sheets.copy_foreign(page.as_form_xobject()) for page in source.pages]
        marks = sheets.make_stream(_cut_marks(imposition, card_w, card_h, sheet_w, sheet_h))
        tree = sheets.Root.Pages
        kids: list[Any] = []
        count = len(imposition.slots)
        for start in range(0, len(forms), count):
            names = Dictionary()
            ops = []
            for index, ((x, y), form) in enumerate(zip(imposition.slots, forms[start:start + count],
                                                       strict=False)):
                left = x * MM
                bottom = sheet_h - y * MM - card_h
                name = f"/Card{index + 1}"
                names[name] = form
                ops.append(f"q {left:.3f} {bottom:.3f} {card_w:.3f} {card_h:.3f} re W n "
                           f"1 0 0 1 {left:.3f} {bottom:.3f} cm {name} Do Q")
            content = sheets.make_stream("\n".join(ops).encode())
            box = Array([0, 0, round(sheet_w, 3), round(sheet_h, 3)])
            kids.append(sheets.make_indirect(Dictionary(
                Type=Name.Page, Parent=tree, MediaBox=box, TrimBox=box,
                Resources=Dictionary(XObject=names), Contents=Array([content, marks]))))
        tree.Kids = Array(kids)
        tree.Count = len(kids)
        for key in ("/Title", "/Creator", "/Producer", "/CreationDate", "/ModDate"):
            if key in source.docinfo:
                sheets.docinfo[key] = source.docinfo[key]
        for key in ("/Lang", "/Metadata", "/OutputIntents"):
            if key in source.Root:
                value = source.Root[key]
                if not value.is_indirect:
                    value = source.make_indirect(value)
                sheets.Root[key] = sheets.copy_foreign(value)
        out = io.BytesIO()
        sheets.save(out, deterministic_id=True, compress_streams=True, min_version="1.7",
                    object_stream_mode=pikepdf.ObjectStreamMode.generate)
        sheets.close()
    return out.getvalue()


def _cut_marks(imposition: Imposition, card_w: float, card_h: float, sheet_w: float,
               sheet_h: float) -> bytes:
    """Short lines at the sheet's edges where a cut goes between or beside the cards."""
    xs: set[float] = set()
    ys: set[float] = set()
    for x, y in imposition.slots:
        xs.update((round(x * MM, 3), round(x * MM + card_w, 3)))
        ys.update((round(sheet_h - y * MM, 3), round(sheet_h - y * MM - card_h, 3)))
    length = CUT_MARK * MM
    lines = []
    edge = 2 * MM  # a cut at the paper's own edge needs no mark
    for x in sorted(xs):
        if edge < x < sheet_w - edge:
            lines.append(f"{x:.3f} 0 m {x:.3f} {length:.3f} l S")
            lines.append(f"{x:.3f} {sheet_h:.3f} m {x:.3f} {sheet_h - length:.3f} l S")
    for y in sorted(ys):
        if edge < y < sheet_h - edge:
            lines.append(f"0 {y:.3f} m {length:.3f} {y:.3f} l S")
            lines.append(f"{sheet_w:.3f} {y:.3f} m {sheet_w - length:.3f} {y:.3f} l S")
    return ("q 0.3 w 0 G " + " ".join(lines) + " Q\n").encode()
