"""A content-addressed cache in the user's cache folder: what was drawn once is not redrawn.

Entries are files named by the SHA-256 of everything that shapes them (cardgen's version,
the configuration, the templates, the fonts, the options and the data). Each is written to a
temporary file and renamed into place, and checked when read, so runs that share the folder
never see half an entry; a damaged entry is a miss. The folder is kept under a size bound by
deleting the entries used least recently. `--no-cache` (or CARDGEN_CACHE_DIR=off) bypasses it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
import time
from pathlib import Path

_MAGIC = b"CGC1"
KINDS = ("frames", "covers", "metrics", "cards", "subsets")


def key(*parts: object) -> str:
    """The SHA-256 of the parts' reprs: a cache key."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """A hash of every module of the package: what cards look like depends on all of them."""
    package = Path(__file__).parent
    return key(*(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes()
                 for path in sorted(package.rglob("*.py"))))


def file_identity(path: Path) -> tuple[str, int, int]:
    """A font file as a cache key sees it: where it is, its size and when it changed."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def default_folder() -> Path | None:
    configured = os.environ.get("CARDGEN_CACHE_DIR")
    if configured is not None:
        return None if configured.lower() in ("", "off", "0", "no") else Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cardgen"))


class Cache:
    """get/put bytes by kind and key; a Cache without a folder keeps nothing."""

    def __init__(self, folder: Path | None, max_bytes: int = 512 * 2**20) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        if folder is not None:
            try:
                for kind in KINDS:
                    (folder / kind).mkdir(parents=True, exist_ok=True)
            except OSError:
                self.folder = None  # an unwritable cache folder only costs speed

    @classmethod
    def open(cls, enabled: bool = True, max_mb: int = 512) -> Cache:
        return cls(default_folder() if enabled else None, max_mb * 2**20)

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _path(self, kind: str, name: str) -> str:
        assert self.folder is not None and kind in KINDS
        return os.path.join(self.folder, kind, name)

    def get(self, kind: str, name: str) -> bytes | None:
        if self.folder is None:
            return None
        path = self._path(kind, name)
        try:
            with open(path, "rb") as handle:
                blob = handle.read()
        except OSError:
            self.misses += 1
            return None
        data = blob[12:]
        if blob[:4] != _MAGIC or hashlib.sha256(data).digest()[:8] != blob[4:12]:
            with contextlib.suppress(OSError):
                os.unlink(path)
            self.misses += 1
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest when the folder is pruned
        self.hits += 1
        return data

    def put(self, kind: str, name: str, data: bytes) -> None:
        if self.folder is None:
            return
        path = self._path(kind, name)
        try:
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".",
                                                 suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(data).digest()[:8] + data)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)

    def size(self) -> int:
        return sum(entry.stat().st_size for entry in self._entries())

    def _entries(self) -> list[os.DirEntry[str]]:
        if self.folder is None:
            return []
        entries: list[os.DirEntry[str]] = []
        stale = time.time() - 3600  # a temporary file this old was left by a killed run
        for kind in KINDS:
            with contextlib.suppress(OSError), os.scandir(self.folder / kind) as found:
                for entry in found:
                    if not entry.name.startswith("."):
                        entries.append(entry)
                    elif entry.stat().st_mtime < stale:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
        return entries

    def prune(self) -> int:
        """Delete the least recently used entries until the folder is under its bound."""
        entries = self._entries()
        sizes = {entry.path: entry.stat() for entry in entries}
        total = sum(stat.st_size for stat in sizes.values())
        if total <= self.max_bytes:
            return 0
        removed = 0
        for path, stat in sorted(sizes.items(), key=lambda item: item[1].st_mtime_ns):
            if total <= self.max_bytes * 0.8:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= stat.st_size
                removed += 1
        return removed
