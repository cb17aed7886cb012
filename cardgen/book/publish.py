"""Nothing half-done, nothing mixed (docs/book.md, "Writing"): how a ledger or an update puts its
folder in place, and the lock that keeps two runs off one book or folder.

A run writes every file, the record (manifest.json) last, into a private folder beside the
target (``.NAME.cardgen-HOST-PID-…``), then publishes it in one step:

- a target that does not exist yet: the private folder is renamed to it;
- a target that exists: the private folder gets hard links to what the target keeps (files of
  the book carried on, the user's own files), then the two folders are swapped with one
  `renameat2(RENAME_EXCHANGE)` (Linux; Python's os has no call for it, so ctypes calls
  glibc) and the old one is removed.

An interruption at any point before the swap leaves the target as it was (a killed run's
private folder is removed by the next run); after it, the target is the new one. Where the
swap is not possible (another system, a file system without it, a target holding folders of
the user's, a parent folder that is read-only, the folder the user is in), the files are
moved in one by one, the record last, and put back as they were if a move fails. Before the
first move a journal (what moves in, what was there) is written into the folder the old
files are set aside in; a `kill -9` in the middle of the moves leaves them mixed only until
the folder is next read or written (`recover`): the moves are undone when the record had
not moved in yet, else finished.

A target holding an earlier run's files that this run would not replace (a packet of a grid
that has not changed this time) is refused, naming them, unless `--force`, which removes
them. A disk that is full or a folder that is read-only is said in words (exit 1).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cardgen.errors import CardgenError
from cardgen.i18n import _

try:
    import fcntl
except ImportError:  # not on Windows: no lock there
    fcntl = None  # type: ignore[assignment]

PRIVATE = ".cardgen-"  # what a private folder's or a lock's name holds
JOURNAL = "journal.json"  # in a one-by-one publication's folder of the old files
LOCK = "cardgen.lock"
LISTED = 8  # files named in a refusal; more are counted
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
WRITE_ERRORS = _NO_SPACE | {errno.EROFS}  # only ever a write: said in words wherever met


class FolderBusy(CardgenError):
    """Another cardgen run holds the book or the folder."""

    code = "book.busy"


def _host() -> str:
    return "".join(c for c in os.uname().nodename if c.isalnum())[:20] or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


# ---- the lock ---------------------------------------------------------------------------------

def _lock_path(folder: Path) -> Path:
    """The lock of `folder`: beside it (a swap replaces the folder itself), or inside it
    where its parent cannot be written."""
    folder = folder.resolve()
    parent = folder.parent
    if os.access(parent, os.W_OK | os.X_OK):
        return parent / f".{folder.name}.{LOCK}"
    return folder / f".{LOCK}"


@contextlib.contextmanager
def _locked(folder: Path, shared: bool) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    path = _lock_path(folder)
    while True:
        try:
            handle: IO[bytes] = path.open("a+b")
        except OSError:
            if shared:  # a book on a read-only share: nobody writes it there either
                yield
                return
            raise
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise FolderBusy(_(
                "{folder} is in use by another cardgen run (a ledger or an update of the same "
                "book or into the same folder); wait until it has finished, then run this "
                "again").format(folder=folder)) from None
        try:  # the lock file may have been removed by the run before: lock the one there
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # a reader leaves it to the readers still there
            if shared:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()  # still held: a run that opened it before sees it is gone
        handle.close()


@contextlib.contextmanager
def folders_locked(target: Path, book: Path | None) -> Iterator[None]:
    """Hold `target` for writing and `book` for reading (the same folder: for writing) for
    the run; another run on either is refused at once (FolderBusy, exit 1)."""
    same = book is not None and book.resolve() == target.resolve()
    with _locked(target, shared=False):
        if book is None or same or not book.is_dir():
            yield
            return
        with _locked(book, shared=True):
            yield


# ---- the swap ---------------------------------------------------------------------------------

def _exchange(new: Path, old: Path) -> bool:
    """Swap two folders in one step; False where the system or file system cannot.
    (ctypes is imported here, when a folder is swapped: 6 ms of every run that imported
    this module, an update writing a new folder among them; python -X importtime.)"""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                     ctypes.c_uint]
    at_cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    if call(at_cwd, os.fsencode(new), at_cwd, os.fsencode(old), exchange) == 0:
        return True
    failed = ctypes.get_errno()
    if failed in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(failed, os.strerror(failed), str(old))


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def said(error: OSError, folder: Path) -> CardgenError:
    """A write that failed, in words: a full disk, a read-only folder, or what the system
    said."""
    if error.errno in _NO_SPACE:
        return CardgenError(_(
            "the disk holding {folder} is full; nothing was written and the book is as it "
            "was. Free some space (or choose another folder for -o) and run this again").format(
            folder=folder), code="output.disk_full")
    if error.errno in _READ_ONLY:
        return CardgenError(_(
            "{folder} cannot be written (read-only or not yours); nothing was written and "
            "the book is as it was. Choose another folder for -o").format(folder=folder),
            code="output.not_writable")
    return CardgenError(_(
        "{folder} could not be written ({error}); nothing was written and the book is as it "
        "was").format(folder=folder, error=error.strerror or error), code="output.failed")


def _names(files: list[str]) -> str:
    shown = _(", ").join(files[:LISTED])
    more = len(files) - LISTED
    return shown + (_(" and {count} more").format(count=more) if more > 0 else "")


class Publication:
    """A run's private folder (`folder`: write everything there, the record last), then
    `publish` puts it in place of `target` in one step.

    `earlier` are the earlier run's files the target holds (its book's); those this run
    neither writes nor `keeps` are refused unless `force`, which removes them."""

    def __init__(self, target: Path, earlier: set[str], keeps: set[str], force: bool,
                 replaces: set[str] | frozenset[str] = frozenset()) -> None:
        self.target = target.resolve()  # `-o .` has a name and a parent; a link, its folder
        self.earlier = earlier
        self.keeps = keeps
        self.force = force
        self.replaces = set(replaces)  # earlier files this run knowingly takes away
        self.existed = self.target.exists()
        if self.existed:  # the published folder keeps the target's mode, or a new folder's
            self.mode = stat.S_IMODE(self.target.stat().st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            self.mode = 0o777 & ~umask
        parent = self.target.parent
        host = _host()
        recover(self.target)  # a killed run's moves, undone or finished, before anything
        prefix = f".{self.target.name}{PRIVATE}{host}-"
        inner = f"{PRIVATE}{host}-"
        for old, start in [*((o, prefix) for o in parent.glob(f"{glob_escape(prefix)}*")),
                           *((o, inner) for o in (self.target.glob(f"{glob_escape(inner)}*")
                                                   if self.target.is_dir() else ()))]:
            pid = old.name[len(start):].split("-", 1)[0]  # a killed run's, on this machine
            if pid.isdigit() and old.is_dir() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        # a folder the user is in (`-o .`) is not swapped: their shell would be left in the
        # old one, removed
        self.inside = self.existed and (not os.access(parent, os.W_OK | os.X_OK)
                                        or self.target == Path.cwd())
        where = self.target if self.inside else parent
        try:
            self.folder = Path(tempfile.mkdtemp(
                prefix=f"{PRIVATE}{host}-{os.getpid()}-" if self.inside else
                f"{prefix}{os.getpid()}-", dir=where))
        except OSError as error:
            raise said(error, target) from None

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def stale(self, written: set[str]) -> list[str]:
        return sorted(name for name in self.earlier - written - self.keeps
                      if (self.target / name).exists())

    def refuse_earlier(self, written: set[str]) -> None:
        """Refuse (before anything is made, where the run knows the names it may write,
        `written`; at the end, where it knows them for sure) an earlier run's files that
        would stay beside the new ones, unless --force."""
        stale = [name for name in self.stale(written) if name not in self.replaces]
        if stale and not self.force:
            raise CardgenError(_(
                "{folder} holds files of an earlier run that this one would not replace: "
                "{files}; they would stay beside the new book and mix with it. Nothing was "
                "written. Choose a new folder for -o, or add --force to remove them").format(
                folder=self.target, files=_names(stale)), code="book.earlier_run")

    def publish(self) -> None:
        """Put the private folder's files in place of the target's, in one step."""
        written = {p.name for p in self.folder.iterdir()}
        self.refuse_earlier(written)
        stale = self.stale(written)
        for name in written:
            _fsync(self.folder / name)
        if not self.inside:  # the private folder becomes the target
            os.chmod(self.folder, self.mode)
        if not self.existed:
            os.rename(self.folder, self.target)
            _fsync(self.target.parent)
            return
        if not self.inside and self._swap(written, set(stale)):
            return
        self._one_by_one(written, stale)

    def _swap(self, written: set[str], stale: set[str]) -> bool:
        """Link what the target keeps into the private folder and swap the two."""
        for item in self.target.iterdir():
            name = item.name
            if name in written or name in stale:
                continue
            if item.is_dir() and not item.is_symlink():
                return False  # a folder of the user's (or a live run's): it cannot be linked
            try:
                os.link(item, self.folder / name, follow_symlinks=False)
            except OSError as error:
                if error.errno in _NO_SPACE:
                    raise
                return False
        if not _exchange(self.folder, self.target):
            return False
        _fsync(self.target.parent)
        shutil.rmtree(self.folder, ignore_errors=True)  # now the old folder
        return True

    def _one_by_one(self, written: set[str], stale: list[str]) -> None:
        """Move the files in one by one, the record last, each old one set aside first (no
        hard links: a FAT-formatted USB stick has none); put them back if a move fails."""
        from cardgen.book.record import MANIFEST

        backup = Path(tempfile.mkdtemp(prefix=f"{PRIVATE}{_host()}-{os.getpid()}-old-",
                                       dir=self.target))
        saved: list[str] = []  # set aside into the backup
        moved: list[str] = []  # the new ones moved in
        order = [*(n for n in sorted(written) if n != MANIFEST),
                 *([MANIFEST] if MANIFEST in written else [])]
        journal = {"private": str(self.folder), "order": order, "stale": stale,
                   "existed": [n for n in order if (self.target / n).exists()]}
        (backup / JOURNAL).write_text(json.dumps(journal, ensure_ascii=False),
                                      encoding="utf-8")
        _fsync(backup / JOURNAL)
        _fsync(backup)
        try:
            for name in order:
                if (self.target / name).exists():
                    os.replace(self.target / name, backup / name)
                    saved.append(name)
                os.replace(self.folder / name, self.target / name)
                moved.append(name)
            for name in stale:
                if (self.target / name).exists():
                    os.replace(self.target / name, backup / name)
                    saved.append(name)
        except BaseException:
            for name in reversed(moved):
                (self.target / name).unlink(missing_ok=True)
            for name in saved:
                os.replace(backup / name, self.target / name)
            raise
        finally:
            shutil.rmtree(backup, ignore_errors=True)
        _fsync(self.target)


def recover(target: Path) -> None:
    """Undo or finish the one-by-one moves of a run killed in the middle of them (on this
    machine: its process is gone), from the journal it left: undone while the record had
    not moved in (the old files go back, the new ones that had none before go), finished
    once it had (the earlier run's files it was removing go). Best effort: a folder that
    cannot be written is left as it is."""
    if not target.is_dir():
        return
    start = f"{PRIVATE}{_host()}-"
    for backup in target.glob(f"{glob_escape(start)}*-old-*"):
        pid = backup.name[len(start):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or not backup.is_dir():
            continue
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            plan = json.loads((backup / JOURNAL).read_text(encoding="utf-8"))
            private = Path(plan["private"])
            order = [str(n) for n in plan["order"]]
            if any((private / name).exists() for name in order):  # the record not in yet
                for name in order:
                    if (backup / name).exists():
                        os.replace(backup / name, target / name)
                    elif not (private / name).exists() and name not in plan["existed"]:
                        (target / name).unlink(missing_ok=True)
            else:  # all moved in, the record last: only the earlier run's files remained
                for name in plan["stale"]:
                    (target / str(name)).unlink(missing_ok=True)
            _fsync(target)
            shutil.rmtree(private, ignore_errors=True)
            shutil.rmtree(backup, ignore_errors=True)


def held(folder: Path) -> set[str]:
    """What `folder` holds but cardgen's own private folders and lock: the earlier run's
    files of a command that replaces them all (the emergency kit, with --force)."""
    if not folder.is_dir():
        return set()
    return {item.name for item in folder.iterdir()
            if not item.name.startswith(PRIVATE) and not item.name.endswith(LOCK)}


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


@contextlib.contextmanager
def publication(target: Path, earlier: set[str], keeps: set[str], force: bool,
                replaces: set[str] | frozenset[str] = frozenset()) -> Iterator[Publication]:
    """A private folder for the run's files, published when `publish` is called and
    removed whatever happens; a write that fails is said in words (`said`)."""
    staged = Publication(target, earlier, keeps, force, replaces)
    try:
        yield staged
    except OSError as error:
        raise said(error, target) from None
    finally:
        staged.discard()
