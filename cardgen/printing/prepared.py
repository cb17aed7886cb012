"""The bundled templates' page frames laid out once, at install (`cardgen prepare`, which
setup.sh runs): a first card, a preview or the desk's first answer then reads them instead of
starting WeasyPrint (about 1 s: its import, the styles, the geometry pass, a frame).

The frames go into a cache folder of their own beside the install (cache.prepared_folder),
named exactly as the user's cache names them (cache.py): its scope (cardgen's version, all its
code, the libraries that lay them out, the bundled templates, the fonts, the default
configuration), the paper and bleed of the default print options, and the frame's own name.
Another version, an upgraded library (Pango, WeasyPrint …), a configuration or a template
folder of the user's has other names, so it never reads them. Every frame is checked as it
is laid out (its places are the geometry pass's, as for any frame) and read back from the
folder before the manifest that says it is ready is written; `cardgen doctor` says whether
the folder fits this install.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from cardgen import __version__
from cardgen.cache import PREPARED_KINDS, Cache, scope
from cardgen.config import Config
from cardgen.frame.render import Frame
from cardgen.layout.geometry import PrintOptions
from cardgen.pdf.compose import frame_steps
from cardgen.pdf.subset import outlines_name, prepare_outlines
from cardgen.printing.kit import mingbai_frame, roster_frame
from cardgen.printing.run import PrintRun, cover_shape

MANIFEST = "prepared.json"


@dataclass
class Prepared:
    """What `prepare` left: the folder and how many frames (and ledger covers) it holds."""

    folder: Path
    frames: int
    covers: int = 0
    outlines: int = 0  # glyphs of the fonts put on the outline grid


def common_characters() -> str:
    """The characters whose glyphs are put on the grid at install: GB 2312's (its 3,755
    common Han characters, punctuation and full-width forms) and printable ASCII. Nearly
    every glyph of a card is among them, so its PDF's font subsets are made of glyphs
    ready to embed (cardgen/pdf/subset.py, `Outlines`: 0.2 s of a one-card PDF)."""
    level_one = [bytes((high, low)) for high in range(0xA1, 0xD8) for low in range(0xA1, 0xFF)
                 if high < 0xAA or high >= 0xB0]
    found = []
    for code in level_one:
        try:
            found.append(code.decode("gb2312"))
        except UnicodeDecodeError:  # the unassigned codes of a row
            continue
    return "".join(map(chr, range(0x20, 0x7F))) + "".join(found)


def bundled_frames(printing: PrintRun) -> list[Frame]:
    """Every frame a one-sided card prints on, routine and emergency: each colour's first
    page (with the household block grown by 0 … card.household_grow rows) and 续页, and the
    plain page. Back pages (ledgers printed --duplex) are left to the cache."""
    frames = [printing.frame("", False, False, True)]
    for emergency in (False, True):
        for colour in printing.config.palette:
            frames += [printing.frame(colour, emergency, False, True, grow)
                       for grow in range(printing.config.card.household_grow + 1)]
            frames.append(printing.frame(colour, emergency, False, False))
    return frames


def bundled_covers(config: Config) -> list[dict[str, object]]:
    """The ledger cover frames a grid's ledger usually prints on (printing/run.cover_view),
    routine and emergency, with editions (a ledger's) and without, with as many flag
    columns as a cover may have (the sticker slots' at least); no selection, no household
    skipped (a cover with them is laid out once, into the cache)."""
    from cardgen.book.ledger import COVER_FLAG_COLUMNS, colours_chosen, cover_colours

    least = len(config.flags.sticker_slots)  # their columns are always there
    # the desk's 应急批量打印 takes the emergency card colours of each grid (web/app.py)
    chosen = colours_chosen(config, config.emergency.card_colours)
    return [cover_shape(emergency, editions, cover_colours(config), columns, selection)
            for columns in range(max(1, least), COVER_FLAG_COLUMNS + 1)
            for emergency, selection in ((False, ""), (True, ""), (True, chosen))
            for editions in (True, False)]


def prepare(config: Config, folder: Path, today: dt.date) -> Prepared:
    """Lay out the frames of `bundled_frames` with the bundled templates and `config` into
    `folder` (emptied first), read each back, then write the manifest."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    named = scope(config, None)  # the bundled templates
    cache = Cache(folder, named, max_bytes=2**40)
    printing = PrintRun.start(config, PrintOptions(), None, today, cache)  # metrics, too
    for emergency in (False, True):
        printing.geometry(emergency)
    frames = printing.frames(bundled_frames(printing))
    misses = [frame for frame, data in frames.items()  # read back from the folder
              if printing.cache.get("frames", printing.frame_name(frame)) != data]
    covers = [printing.cover_frame_of(view) for view in bundled_covers(config)]
    kit = [roster_frame(printing), mingbai_frame(printing, config.emergency.cards_across,
                                                 config.emergency.cards_down)]
    unread = [placed for placed in (*covers, *kit)
              if printing.cache.get("placed-frames", placed.key) is None]
    # how each is copied into a PDF (compose.frame_steps): a first card then need not read
    # its frames with pikepdf
    faces = printing.typesetter.fonts.by_family()
    for data in (*frames.values(), *(placed.pdf for placed in (*covers, *kit))):
        frame_steps(data, faces, printing.cache)
    characters = {ord(char) for char in common_characters()}
    outlines = 0
    for face in dict.fromkeys((*printing.typesetter.fonts.regular,
                               *printing.typesetter.fonts.bold)):
        glyphs = prepare_outlines(face.path, {face.cmap[code] for code in characters
                                              if code in face.cmap}, printing.cache)
        if glyphs and printing.cache.get("outlines", outlines_name(face.path)) is None:
            raise OSError(f"{folder}: the outlines of {face.path.name} did not read back")
        outlines += glyphs
    if misses or unread:  # a folder that does not keep what is written in it
        raise OSError(f"{folder}: {len(misses) + len(unread)} frames did not read back")
    (folder / MANIFEST).write_text(json.dumps(
        {"version": __version__, "scope": named, "frames": len(frames), "covers": len(covers),
         "kit_frames": len(kit), "outlines": outlines, "kinds": list(PREPARED_KINDS)},
        indent=1), encoding="utf-8")
    return Prepared(folder, len(frames), len(covers), outlines)


def prepared_for(config: Config, folder: Path | None) -> int | None:
    """How many frames `folder` holds for this install and `config`; None if it holds none
    that fit (not prepared, or by another version, code or configuration)."""
    if folder is None:
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("scope") != scope(config, None):
        return None
    frames = manifest.get("frames")
    return frames if isinstance(frames, int) else None
