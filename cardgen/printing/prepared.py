"""The bundled templates' page frames laid out once, at install (`cardgen prepare`, which
setup.sh runs): a first card, a preview or the desk's first answer then reads them instead of
starting WeasyPrint (about 1 s: its import, the styles, the geometry pass, a frame).

The frames go into a cache folder of their own beside the install (resources.prepared_folder),
named exactly as the user's cache names them (cache.py): its scope (cardgen's version, all its
code, the libraries that lay them out, the bundled templates, the fonts, the default
configuration), the paper and bleed of the default print options, and the frame's own name.
Another version, an upgraded library (Pango, WeasyPrint …), a configuration or a template
folder of the user's has other names, so it never reads them. Every frame is checked as it
is laid out (its places are the geometry pass's, as for any frame) and read back from the
folder before the manifest that says it is ready is written; `cardgen doctor` says whether
the folder fits this install.

Beside the frames it keeps what every run would otherwise work out as it starts, each taken
only while it is what that run would work out: the fonts' glyph outlines on the grid (common
characters, and apart from them the rarer ones), the methods of cardgen's dataclasses
compiled (compiled.py), the bundled defaults parsed (config.keep_defaults) and the code's
fingerprint (cache.keep_code_fingerprint).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import shutil
from dataclasses import dataclass
from pathlib import Path

import cardgen
from cardgen import __version__, compiled, resources
from cardgen.cache import PREPARED_KINDS, Cache, keep_code_fingerprint, scope
from cardgen.config import DEFAULTS_PATH, Config, keep_defaults
from cardgen.frame.render import Frame
from cardgen.layout.geometry import PrintOptions
from cardgen.pdf.compose import frame_steps
from cardgen.pdf.subset import more_outlines_name, outlines_name, prepare_outlines
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
    rarer_outlines: int = 0  # and apart from them, the rarer characters' (rarer_characters)


def _gb2312(rows: range) -> list[str]:
    """The characters of these rows (0xA1 … 0xF7) of GB 2312, in its order."""
    found = []
    for high in rows:
        for low in range(0xA1, 0xFF):
            try:
                found.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:  # the unassigned codes of a row
                continue
    return found


def common_characters() -> str:
    """The characters whose glyphs are put on the grid at install: GB 2312's punctuation,
    full-width forms and 3,755 common Han characters (its level one), printable ASCII, and
    what the bundled configuration and templates print beside them (·, —, ▣, ▯). Nearly
    every glyph of a card is among them, so its PDF's font subsets are made of glyphs
    ready to embed (cardgen/pdf/subset.py, `Outlines`: 0.2 s of a one-card PDF)."""
    found = _gb2312(range(0xA1, 0xAA)) + _gb2312(range(0xB0, 0xD8))
    own = [path.read_text(encoding="utf-8") for path in
           (DEFAULTS_PATH, *sorted(resources.TEMPLATES.iterdir())) if path.is_file()]
    ascii_ = "".join(map(chr, range(0x20, 0x7F)))
    known = set(ascii_) | set(found)
    return ascii_ + "".join(found) + "".join(sorted(
        {char for text in own for char in text if char not in known and char.isprintable()}))


def rarer_characters() -> str:
    """GB 2312's 3,008 less common Han characters (its level two): many a name has one (梓,
    鑫, 怡). Their glyphs are put on the grid at install apart from the common ones
    (subset.more_outlines_name), read only by a PDF that shows one: a register of 1,000
    invented names needed 5 glyphs beyond the common ones, and subsetting the fonts for
    them took 75 ms of its ledger after `cardgen demo` (session 11)."""
    return "".join(_gb2312(range(0xD8, 0xF8)))


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
    common = {ord(char) for char in common_characters()}
    rarer = {ord(char) for char in rarer_characters()}
    outlines = more = 0
    for face in dict.fromkeys((*printing.typesetter.fonts.regular,
                               *printing.typesetter.fonts.bold)):
        glyphs, rarer_glyphs = prepare_outlines(
            face.path, {face.cmap[code] for code in common if code in face.cmap},
            printing.cache, {face.cmap[code] for code in rarer if code in face.cmap})
        if (glyphs and printing.cache.get("outlines", outlines_name(face.path)) is None) or (
                rarer_glyphs and printing.cache.get("outlines", more_outlines_name(face.path))
                is None):
            raise OSError(f"{folder}: the outlines of {face.path.name} did not read back")
        outlines += glyphs
        more += rarer_glyphs
    if misses or unread:  # a folder that does not keep what is written in it
        raise OSError(f"{folder}: {len(misses) + len(unread)} frames did not read back")
    # what every run starts with, worked out once: the code of every module's dataclasses'
    # methods compiled, the bundled defaults parsed, the code's fingerprint
    for module in pkgutil.walk_packages(cardgen.__path__, "cardgen."):
        if module.name != "cardgen.__main__":  # the command itself
            importlib.import_module(module.name)
    methods = compiled.keep(str(folder))
    keep_defaults(folder)
    keep_code_fingerprint(folder)
    (folder / MANIFEST).write_text(json.dumps(
        {"version": __version__, "scope": named, "frames": len(frames), "covers": len(covers),
         "kit_frames": len(kit), "outlines": outlines, "rarer_outlines": more,
         "dataclass_methods": methods, "kinds": list(PREPARED_KINDS)},
        indent=1), encoding="utf-8")
    return Prepared(folder, len(frames), len(covers), outlines, more)


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
