"""A content-addressed cache in the user's cache folder: what was drawn once is not redrawn.

The one cache-key policy. An entry is a file named by the SHA-256 of everything that shapes it:
- the cache's scope, part of every name: cardgen's version and a hash of all its code, the
  libraries that shape what it keeps (`libraries_in_use`), the templates in use (every file
  of the user's folder and the bundled ones), the fonts and the configuration (`scope`;
  `Cache.open` works it out, so no cache is without one);
- for what one print run makes (`Cache.printing`), what its kind depends on of the run
  (`KINDS`): a frame the paper and the bleed it is laid out for, a card or a drawn page every
  print option;
- the entry's own name, made by its user from what else it depends on (a frame's variant, a
  household's data and the date, a font file and its glyphs).
Each is written to a temporary file and renamed into place, and checked when read, so runs
that share the folder never see half an entry; a damaged entry is a miss. The folder is kept
under a size bound by deleting the entries used least recently. `--no-cache` (or
CARDGEN_CACHE_DIR=off) bypasses it.

Beside it, read only: the frames `cardgen prepare` laid out at install (resources.py,
`prepared_folder`), the bundled templates' page frames and font metrics, named as the user's
cache names them (the same scope, run and entry names), so a first card finds them without
starting WeasyPrint. An entry of another version, configuration or template folder has another
name and is never found there.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import os
import sys
import tempfile
import time
import zlib
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardgen.resources import prepared_folder, read_prepared, write_prepared

if TYPE_CHECKING:
    from cardgen.config import Config

_MAGIC = b"CGC1"
# the folder's size tally (Cache.prune): the size its last scan found and when, and a line
# for each entry put since
MEASURED = ".measured"
GROWN = ".grown"
RESCAN_AFTER = 24 * 3600  # seconds: a tally older than a day is not trusted
# Entries put together (Cache.put_many) are kept in packs: one file holding many entries,
# beside an index of where each is, not a file each. Creating a file in the cache folder
# took 0.06-0.7 ms (ext4, more on a disk still busy with a deleted cache), a cold
# 10,000-card ledger's 10,000 of them 7.3 s of its main process (py-spy), and 10,000 entries
# of 12 KB took 0.6-1.7 s as files and 0.04-0.09 s as packs of 25 (session 9).
PACKS = "packs"  # the folder of the packs (NAME.pack) and their index (KIND-X.idx)
PACK_BYTES = 2**20  # a pack is written once it holds this much (Packer)


@dataclass(frozen=True)
class Kind:
    """A kind of entry (a folder of the cache): what it holds, and what of a print run its
    names depend on besides the scope: `layout` (the paper and bleed a frame is laid out
    for), `options` (every print option), or nothing."""

    holds: str
    run: str = ""


KINDS = {
    "frames": Kind("page frames WeasyPrint laid out, and the places of its geometry pass",
                   "layout"),
    "placed-frames": Kind("frames whose places cardgen fills: a ledger's cover, the "
                          "emergency kit's roster and 明白卡", "layout"),
    "cards": Kind("cards as built (what each page prints) and as drawn (their pages)",
                  "options"),
    "ledger-pages": Kind("pages cardgen draws whole over a frame: a ledger's cover and index, "
                         "an update's change list", "options"),
    "metrics": Kind("fonts' metrics"),
    "subsets": Kind("fonts' subsets for the glyphs a PDF uses"),
    "outlines": Kind("fonts' glyph outlines as subsets embed them (cardgen/pdf/subset.py)"),
    "object-streams": Kind("a PDF's object streams as compressed, by their bytes "
                           "(cardgen/pdf/writer.py)"),
    "frame-steps": Kind("how a frame is copied into a PDF, by the frame's bytes "
                        "(cardgen/pdf/compose.py, frame_steps)"),
}
RETIRED_KINDS = ("covers",)  # folders of earlier versions: pruned like the rest, not written
# what `cardgen prepare` lays out
PREPARED_KINDS = ("frames", "placed-frames", "metrics", "outlines", "frame-steps")


def key(*parts: object) -> str:
    """The SHA-256 of the parts' reprs: a cache key."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


# the code's fingerprint as `cardgen prepare` worked it out (keep_code_fingerprint), for the
# modules it read
CODE_KEPT = "code-fingerprint"


@functools.cache
def code_fingerprint() -> str:
    """A hash of every module of the package: what cards look like depends on all of them.
    As `cardgen prepare` worked it out when every module is the file it read (its path, size
    and modification time, as Python's own .pyc files go by): reading and hashing them took
    10 ms of every command, looking at them 1 ms (session 11)."""
    package = os.path.dirname(os.path.abspath(__file__))
    modules = _modules(package)
    kept = read_prepared(prepared_folder(), CODE_KEPT, _identity(package, modules))
    return kept.decode("ascii", "replace") if kept is not None else _read_code(package, modules)


def _modules(package: str) -> list[tuple[str, int, int]]:
    """Each module of the package as (its path in it, size, modification time), sorted."""
    found = []
    for folder, _, names in os.walk(package):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                stat = os.stat(path)
                found.append((os.path.relpath(path, package).replace(os.sep, "/"),
                              stat.st_size, stat.st_mtime_ns))
    return sorted(found)


def _read_code(package: str, modules: list[tuple[str, int, int]]) -> str:
    parts = []
    for name, _, _ in modules:
        with open(os.path.join(package, name), "rb") as handle:
            parts.append(name.encode() + b"\0" + handle.read())
    return key(*parts)


def _identity(package: str, modules: list[tuple[str, int, int]]) -> bytes:
    return repr((package, modules)).encode()


def keep_code_fingerprint(folder: Path) -> None:
    """Keep the code's fingerprint in `folder` (`cardgen prepare`; code_fingerprint)."""
    package = os.path.dirname(os.path.abspath(__file__))
    modules = _modules(package)
    write_prepared(folder, CODE_KEPT, _identity(package, modules),
                   _read_code(package, modules).encode())


# The Python distributions whose versions shape what the cache keeps: the frames WeasyPrint
# lays out (with its CSS and HTML parsers and its PDF writer), the fonts' metrics, outlines
# and subsets (uharfbuzz, fontTools), line breaks (icu4py, Pyphen), the frames' pages as
# copied (pikepdf), images (Pillow), the templates (Jinja2) and the compressors (Zopfli,
# libdeflate). By their dist-info folders' names (`libraries_in_use`): importlib.metadata
# took 54 ms to import and 18 ms to read these versions, a listing of site-packages 0.1 ms.
SHAPING_DISTRIBUTIONS = frozenset({
    "weasyprint", "pydyf", "tinycss2", "cssselect2", "tinyhtml5", "fonttools", "uharfbuzz",
    "icu4py", "pyphen", "pikepdf", "pillow", "jinja2", "markupsafe", "zopfli", "deflate"})
# The system's libraries WeasyPrint lays text out with (text/ffi.py loads them), by the
# file each name leads to and its size: a Debian upgrade of Pango or HarfBuzz may move a
# line, and a frame laid out before it was still found (outline and subset caches, too,
# were noticed unkeyed on their libraries in session 8)
SYSTEM_LIBRARIES = ("libpango-1.0.so.0", "libpangoft2-1.0.so.0", "libharfbuzz.so.0",
                    "libharfbuzz-subset.so.0", "libfontconfig.so.1", "libfreetype.so.6")


def _library_folders() -> list[str]:
    """Where the dynamic loader looks for the system libraries, as far as a file's path can
    say without running ldconfig (ctypes.util.find_library ran it for 0.24 s: session 5):
    LD_LIBRARY_PATH, then Debian's multiarch folders and the usual others."""
    machine = os.uname().machine if hasattr(os, "uname") else ""
    folders = [f for f in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if f]
    folders += [f"/usr/lib/{machine}-linux-gnu", f"/lib/{machine}-linux-gnu", "/usr/lib64",
                "/usr/lib", "/usr/local/lib"]
    return folders


@functools.cache
def libraries_in_use() -> tuple[tuple[str, str, int], ...]:
    """The shaping libraries as this process finds them: (distribution, version, 0) for each
    of SHAPING_DISTRIBUTIONS installed, (name, the file it leads to, its size) for each of
    SYSTEM_LIBRARIES found, and zlib's version (what compresses a PDF's streams)."""
    found: set[tuple[str, str, int]] = set()
    for folder in dict.fromkeys(sys.path):
        if not folder.endswith(("site-packages", "dist-packages")):
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                project, _, version = name.removesuffix(".dist-info").partition("-")
                project = project.lower().replace("_", "-")
                if project in SHAPING_DISTRIBUTIONS:
                    found.add((project, version, 0))
    libraries = []
    folders = _library_folders()
    for soname in SYSTEM_LIBRARIES:
        for folder in folders:
            real = os.path.realpath(os.path.join(folder, soname))
            try:
                size = os.stat(real).st_size
            except OSError:
                continue
            libraries.append((soname, os.path.basename(real), size))
            break
    return (*sorted(found), *libraries, ("zlib", zlib.ZLIB_RUNTIME_VERSION, 0))


def template_fingerprint(templates: Path | None) -> str:
    """A hash of every file of the user's template folder (templates, custom.css, images,
    fonts) and of the bundled templates: all of them shape a card."""
    from cardgen import resources

    digest = hashlib.sha256()
    for folder in (templates, resources.TEMPLATES):
        if folder is None:
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix().encode()
            size = path.stat().st_size
            content = path.read_bytes() if size <= 2**20 else repr(file_identity(path)).encode()
            digest.update(name + b"\0" + content + b"\0")
    return digest.hexdigest()


def scope(config: Config, templates: Path | None) -> str:
    """What every entry of one command's cache depends on: the version, all the code, the
    libraries that shape what it keeps (`libraries_in_use`), the templates, the fonts (the
    bundled ones by name and size, the configured fallbacks as `file_identity` sees them)
    and the configuration."""
    from cardgen import __version__, resources

    fonts: list[object] = [(path.name, path.stat().st_size)
                           for path in sorted(resources.FONTS.iterdir()) if path.is_file()]
    fonts += [file_identity(path) for path in config.fallback_fonts]
    return key("scope", __version__, code_fingerprint(), libraries_in_use(),
               template_fingerprint(templates), config.fingerprint, fonts)


def file_identity(path: Path) -> tuple[str, int, int | str]:
    """A font file as a cache key sees it: where it is, its size and its content, as the
    font's table directories (every table's checksum) give it; a file that is no font (an
    image of a template) by when it changed. Not the font's time: a reinstall (pip
    --force-reinstall, an upgrade) writes the same fonts anew, and keyed on their times the
    outlines and metrics `cardgen prepare` stored were never found again (a reprint after the
    demo then subset its fonts with fontTools, 0.3 s; session 7). Reading the directories is
    a few KB; hashing a 17 MB font would be some 30 ms a run."""
    stat = path.stat()
    tables = _font_tables(path)
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns if tables is None else tables


def _font_tables(path: Path) -> str | None:
    """The SHA-256 of an OpenType/TrueType font's table directories (of each font of a
    collection), which hold each table's tag, checksum, offset and length; None if the file
    is no such font."""
    try:
        with path.open("rb") as font:
            head = font.read(12)
            if head[:4] == b"ttcf" and len(head) == 12:
                count = int.from_bytes(head[8:12], "big")
                if not 0 < count <= 256:
                    return None
                starts = [int.from_bytes(font.read(4), "big") for _ in range(count)]
            elif head[:4] in (b"\0\1\0\0", b"OTTO", b"true"):
                starts = [0]
            else:
                return None
            digest = hashlib.sha256(head)
            for start in starts:
                font.seek(start)
                offsets = font.read(12)
                tables = int.from_bytes(offsets[4:6], "big")
                directory = font.read(16 * tables)
                if len(offsets) < 12 or len(directory) < 16 * tables:
                    return None
                digest.update(offsets + directory)
            return digest.hexdigest()
    except OSError:
        return None


def default_folder() -> Path | None:
    configured = os.environ.get("CARDGEN_CACHE_DIR")
    if configured is not None:
        return None if configured.lower() in ("", "off", "0", "no") else Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cardgen"))


# An entry read is marked as used (its modification time set to now, which `prune` goes
# by) when it was last marked this long ago or more: not at every read. Marking each of the
# 2,000 entries a 1,000-card ledger reads took 20 ms of its 48 ms of reading (session 6).
MARKED_FOR = 3600.0  # seconds


def _read_entry(path: str, own: bool, place: tuple[int, int] | None = None) -> bytes | None:
    """An entry's bytes if it is whole; a damaged entry of the user's cache (`own`) is
    deleted, and the one read is marked as used (MARKED_FOR). Read with os.open/os.read,
    not open(): the file object's set-up was a fifth of the time of reading 1,000 card
    entries (24 -> 19 ms, timeit, session 7); a one-change ledger reads 5,000.

    `place`: the entry is the part of the file `path` (a pack: PACKS) at that offset and
    of that length, and the file is marked. A damaged one is a miss, its pack left for
    `prune`: a wrong line of the index must not delete the entries it does not name."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        stat = os.fstat(handle)
        if place is not None:
            blob = os.pread(handle, place[1], place[0])
        else:
            blob = os.read(handle, stat.st_size + 1)
            while len(blob) <= stat.st_size:  # short read (or the file grew): read on
                more = os.read(handle, 2**20)
                if not more:
                    break
                blob += more
    except OSError:
        return None
    finally:
        os.close(handle)
    data = _whole(blob) if place is None or len(blob) == place[1] else None
    if data is None:
        if own and place is None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return None
    if own and time.time() - stat.st_mtime >= MARKED_FOR:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest when the folder is pruned
    return data


def _whole(blob: bytes) -> bytes | None:
    """An entry's data if its bytes (as `_stored` made them) are whole, else None."""
    data = blob[12:]
    if blob[:4] != _MAGIC or hashlib.sha256(data).digest()[:8] != blob[4:12]:
        return None
    return data


def _stored(data: bytes) -> bytes:
    """An entry's bytes as kept: a mark, the first bytes of its data's SHA-256, its data."""
    return _MAGIC + hashlib.sha256(data).digest()[:8] + data


class Cache:
    """get/put bytes by kind and name; a Cache without a folder keeps nothing. `scope`: see
    `scope`, part of every entry's name. `prepared`: a folder `cardgen prepare` wrote, read
    when the cache misses (PREPARED_KINDS only)."""

    def __init__(self, folder: Path | None, scope: str, max_bytes: int = 512 * 2**20,
                 prepared: Path | None = None) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.scope = scope
        self.prepared = prepared if prepared is not None and prepared.is_dir() else None
        self.run: dict[str, Hashable] = {}  # by Kind.run: see `printing`
        # by Kind.run: the SHA-256 of an entry name's first parts (the scope, what of the run
        # the kind depends on), taken up once; `entry_name` copies it and adds the name
        self._prefixes: dict[str, Any] = {}
        # the packs' index as read so far, by index file: (its inode, the bytes read, where
        # each entry is: pack file, offset, length); a copy (`printing`'s) reads it anew
        self._packed: dict[str, tuple[int, int, dict[str, tuple[str, int, int]]]] = {}
        self._packing: dict[str, Packer] = {}  # by kind, within `packed`
        if folder is not None:
            try:
                for kind in (*KINDS, PACKS):
                    (folder / kind).mkdir(parents=True, exist_ok=True)
            except OSError:
                self.folder = None  # an unwritable cache folder only costs speed

    def __getstate__(self) -> dict[str, Any]:
        """As pickled for the workers (and copied): without the hashes taken up, which do not
        pickle, nor the packs' index read here; the copy takes them up again."""
        return {**self.__dict__, "_prefixes": {}, "_packed": {}, "_packing": {}}

    @classmethod
    def open(cls, config: Config, templates: Path | None, enabled: bool = True) -> Cache:
        """The user's cache for a command run with `config` and the template folder
        `templates` (None: the bundled templates), bounded by config.cache_max_mb; one that
        keeps nothing when not `enabled` (--no-cache) or CARDGEN_CACHE_DIR is off."""
        folder = default_folder() if enabled else None
        if folder is None:
            return cls.off()
        return cls(folder, scope(config, templates), config.cache_max_mb * 2**20,
                   prepared_folder())

    @classmethod
    def off(cls) -> Cache:
        """A cache that keeps nothing."""
        return cls(None, "")

    def printing(self, layout: Hashable, options: Hashable) -> Cache:
        """This cache as one print run uses it: frames are named with its `layout` (the
        paper and the bleed), cards and drawn pages with all its print `options` (KINDS)."""
        narrowed = copy.copy(self)
        narrowed.run = {"layout": layout, "options": options}
        narrowed._prefixes = {}  # the run's parts are new
        narrowed._packing = {}  # its entries are named by its own run
        return narrowed

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def entry_name(self, kind: str, name: str) -> str:
        """The file name of the entry `name` of `kind`: the policy of this module's
        docstring, in one place: `key(scope, the run's part, name)`, or `key(scope, name)`
        for a kind that does not depend on the run. The hash of the first parts is taken once
        per kind of run (`_prefixes`) and copied: the repr of a run's print options for each
        of the 5,000 entries a one-change ledger reads took 11 of its 16 ms of names
        (timeit, session 7). The names are the same."""
        run = KINDS[kind].run
        prefix = self._prefixes.get(run)
        if prefix is None:
            prefix = hashlib.sha256()
            for part in (self.scope, self.run.get(run)) if run else (self.scope,):
                prefix.update(repr(part).encode())
                prefix.update(b"\0")
            self._prefixes[run] = prefix
        digest = prefix.copy()
        digest.update(name if isinstance(name, bytes) else repr(name).encode())
        digest.update(b"\0")
        return digest.hexdigest()

    def _path(self, kind: str, name: str) -> str:
        assert self.folder is not None
        return os.path.join(self.folder, kind, self.entry_name(kind, name))

    def get(self, kind: str, name: str) -> bytes | None:
        if self.folder is None:
            return None
        packing = self._packing.get(kind)
        if packing is not None and name in packing.held_names:
            return packing.held_names[name]
        entry = self.entry_name(kind, name)
        data = _read_entry(os.path.join(self.folder, kind, entry), own=True)
        if data is None:
            data = self._from_pack(kind, entry)
        if data is None and self.prepared is not None and kind in PREPARED_KINDS:
            data = _read_entry(os.path.join(self.prepared, kind, entry), own=False)
        return data

    def put(self, kind: str, name: str, data: bytes) -> None:
        if self.folder is None:
            return
        packing = self._packing.get(kind)
        if packing is not None:
            packing.put(name, data)
            return
        path = self._path(kind, name)
        if _write_new(path, _stored(data)):
            self._grown(len(data) + 12)

    def put_many(self, kind: str, items: list[tuple[str, bytes]]) -> None:
        """Entries put together: one pack (PACKS) and a line of its index for each, not a
        file each. A reader finds them as it finds any entry (`get`)."""
        if self.folder is None or not items:
            return
        stored = [(self.entry_name(kind, name), _stored(data)) for name, data in items]
        pack = b"".join(blob for _, blob in stored)
        pack_name = hashlib.sha256(pack).hexdigest()[:32] + ".pack"
        packs = os.path.join(self.folder, PACKS)
        if not _write_new(os.path.join(packs, pack_name), pack):
            return
        lines: dict[str, list[bytes]] = {}
        offset = 0
        for entry, blob in stored:
            lines.setdefault(entry[0], []).append(
                b"%s %s %d %d\n" % (entry.encode(), pack_name.encode(), offset, len(blob)))
            offset += len(blob)
        for shard, shard_lines in lines.items():  # after the pack: a line finds it there
            with contextlib.suppress(OSError):
                handle = os.open(os.path.join(packs, f"{kind}-{shard}.idx"),
                                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:  # one write: whole lines however many processes append at once
                    os.write(handle, b"".join(shard_lines))
                finally:
                    os.close(handle)
        self._grown(len(pack))

    def packer(self, kind: str) -> Packer:
        """Entries of `kind` put a pack at a time (put_many): for a run that puts many."""
        return Packer(self, kind)

    @contextlib.contextmanager
    def packed(self, kind: str) -> Iterator[None]:
        """Within the block, what is put of `kind` goes a pack at a time into the cache
        (a Packer, flushed as the block ends), and `get` finds it meanwhile: for work that
        puts entries here and there (a ledger's index pages, two entries a page: 458 files
        of a 10,000-household book, session 9)."""
        if self.folder is None or kind in self._packing:
            yield
            return
        packing = self._packing[kind] = Packer(self, kind)
        try:
            yield
        finally:
            del self._packing[kind]
            packing.flush()

    def _from_pack(self, kind: str, entry: str) -> bytes | None:
        """The entry from the pack its index names, reading what was added to the index
        since it was last read here (a run reads it once, the desk as it grows). A line
        read before whose pack is gone (pruned by another run) is read again: the entry
        may have been put since."""
        assert self.folder is not None
        index = os.path.join(self.folder, PACKS, f"{kind}-{entry[0]}.idx")
        where = self._packed.get(index, (0, 0, {}))[2]
        known = entry in where
        for _ in range(2 if known else 1):
            if entry not in where:
                where = self._index_read(index)
            found = where.pop(entry, None)
            if found is None:
                return None
            pack, offset, length = found
            data = _read_entry(os.path.join(self.folder, PACKS, pack), True, (offset, length))
            if data is not None:
                where[entry] = found
                return data
        return None

    def _index_read(self, index: str) -> dict[str, tuple[str, int, int]]:
        """The packs' index file `index`, by entry name: what was read of it before, and
        the lines added to it since."""
        inode, read, where = self._packed.get(index, (0, 0, {}))
        try:
            stat = os.stat(index)
        except OSError:
            return where
        if stat.st_ino != inode or stat.st_size < read:  # written anew by `prune`
            inode, read, where = stat.st_ino, 0, {}
        if stat.st_size > read:
            try:
                with open(index, "rb") as handle:
                    handle.seek(read)
                    added = handle.read(stat.st_size - read)
            except OSError:
                return where
            added = added[:added.rfind(b"\n") + 1]  # whole lines only
            for line in added.splitlines():
                parts = line.split()
                if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
                    # a damaged line (another run's write cut short) names nothing found
                    where[parts[0].decode("ascii", "replace")] = (
                        parts[1].decode("ascii", "replace"), int(parts[2]), int(parts[3]))
            read += len(added)
        self._packed[index] = (inode, read, where)
        return where

    def _grown(self, size: int) -> None:
        """Note an entry's bytes in the folder's tally (GROWN): one short line appended,
        whole however many processes write at once (O_APPEND, far under PIPE_BUF)."""
        assert self.folder is not None
        with contextlib.suppress(OSError):
            handle = os.open(self.folder / GROWN, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                             0o600)
            try:
                os.write(handle, b"%d\n" % size)
            finally:
                os.close(handle)

    def _known_size(self) -> int | None:
        """The folder's size as the tally has it: the size the last scan found (MEASURED),
        plus every entry put since; None when there is no tally, it is damaged, or the last
        scan is older than RESCAN_AFTER (what was deleted or put around the tally is then
        counted again). An entry put again is counted twice: the tally errs high, and a
        scan then finds the truth."""
        assert self.folder is not None
        try:
            measured = (self.folder / MEASURED).read_text(encoding="ascii").split()
            size, when = int(measured[0]), float(measured[1])
            if time.time() - when > RESCAN_AFTER:
                return None
            grown = (self.folder / GROWN).read_bytes() if (self.folder / GROWN).exists() \
                else b""
            return size + sum(int(line) for line in grown.split())
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            return None

    def _measured(self, size: int) -> None:
        """Start the tally afresh from a scan that found `size` bytes."""
        assert self.folder is not None
        with contextlib.suppress(OSError):
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(f"{size} {time.time()}\n")
            os.replace(temporary, self.folder / MEASURED)
            # after: a prune reading in between counts the old lines again (too high, safe)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.folder / GROWN)

    def size(self) -> int:
        return sum(entry.stat().st_size for entry in self._entries())

    def _entries(self) -> list[os.DirEntry[str]]:
        if self.folder is None:
            return []
        entries: list[os.DirEntry[str]] = []
        stale = time.time() - 3600  # a temporary file this old was left by a killed run
        for kind in (*KINDS, *RETIRED_KINDS, PACKS):
            with contextlib.suppress(OSError), os.scandir(self.folder / kind) as found:
                for entry in found:
                    if not entry.name.startswith(".") and not entry.name.endswith(".idx"):
                        entries.append(entry)  # the packs' index: see _drop_from_index
                    elif entry.stat().st_mtime < stale:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
        with contextlib.suppress(OSError), os.scandir(self.folder) as found:
            for entry in found:  # the tally's own (`_measured`), left by a killed run
                if entry.name.endswith(".tmp") and entry.name.startswith(".") and \
                        entry.stat().st_mtime < stale:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
        return entries

    def prune(self) -> int:
        """Delete the least recently used entries until the folder is under its bound.

        The folder is scanned only when its tally (`_known_size`) says it may be over the
        bound, or has no tally: scanning stats every entry, 0.43 s for 100,000 of them, and
        a cache at its 512 MB bound holds some 42,000 (a card's entry is about 12 KB, and
        each month's date makes new ones), which every ledger, update and kit paid at its
        end: a fifth of a one-change ledger (measured, session 6)."""
        if self.folder is None:
            return 0
        known = self._known_size()
        if known is not None and known <= self.max_bytes:
            return 0
        entries = self._entries()
        sizes = {entry.path: entry.stat() for entry in entries}
        total = sum(stat.st_size for stat in sizes.values())
        removed = 0
        if total > self.max_bytes:
            for path, stat in sorted(sizes.items(), key=lambda item: item[1].st_mtime_ns):
                if total <= self.max_bytes * 0.8:
                    break
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    total -= stat.st_size
                    removed += 1
        if removed:
            self._drop_from_index()
        self._measured(total)
        return removed

    def _drop_from_index(self) -> None:
        """The packs' index without the lines of packs `prune` deleted: each index file
        written anew (a reader then reads it again). A line another run appends meanwhile
        may be lost with the old file: its entry is then a miss, made again."""
        assert self.folder is not None
        packs = self.folder / PACKS
        with contextlib.suppress(OSError):
            kept = {path.name for path in packs.glob("*.pack")}
            for index in packs.glob("*.idx"):
                lines = index.read_bytes().splitlines(keepends=True)
                left = [line for line in lines
                        if len(line.split()) == 4
                        and line.split()[1].decode("ascii", "replace") in kept]
                if len(left) < len(lines):
                    _write_new(str(index), b"".join(left))


class Packer:
    """Entries of one kind put a pack at a time (Cache.put_many), once PACK_BYTES of them
    are held or `flush` is called: what is not flushed is not in the cache."""

    def __init__(self, cache: Cache, kind: str) -> None:
        self.cache = cache
        self.kind = kind
        self.items: list[tuple[str, bytes]] = []
        self.held = 0
        self.held_names: dict[str, bytes] = {}  # the items, by name (Cache.packed's get)

    def put(self, name: str, data: bytes) -> None:
        if self.cache.folder is None:
            return
        self.items.append((name, data))
        self.held_names[name] = data
        self.held += len(data)
        if self.held >= PACK_BYTES:
            self.flush()

    def flush(self) -> None:
        self.cache.put_many(self.kind, self.items)
        self.items, self.held, self.held_names = [], 0, {}


def _write_new(path: str, blob: bytes) -> bool:
    """`blob` as the file `path`, written to a temporary file beside it and renamed into
    place, so no reader sees it half-written; False if the disk would not."""
    try:
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".",
                                             suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(blob)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)
        return False
    return True
