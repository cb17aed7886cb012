"""The registers the desk serves: the files given to `cardgen serve` and the register files
in the folders given, read again when a file changes on disk (or the day does, when no
--date was given); and the spreadsheets uploaded to the check page, kept in memory for half
an hour so that they can be printed from. Reading happens in the worker pool."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from cardgen.errors import CardgenError
from cardgen.i18n import _
from cardgen.memory import give_back
from cardgen.web.failures import Conflict, Failed, Failure, NotFound, WebError, failure_of
from cardgen.web.work import Pool, Settings, Stamp, read_register, stamp_of

REGISTER_SUFFIXES = (".csv", ".xlsx", ".json", ".xls", ".ods")
UPLOADS_KEPT = 4
UPLOAD_SECONDS = 1800.0
log = logging.getLogger("cardgen.web")


@dataclass
class Register:
    """One register as last read: its data, or why it could not be read."""

    key: str  # how requests name it: a digest of its path (a file name may hold a name)
    name: str  # how the page shows it: its file name (with its folder's if two share one)
    path: Path | None  # None for an upload: its file is gone once read
    stamp: Stamp | None = None
    today: dt.date | None = None
    loaded: Any = None  # pipeline.Loaded
    failure: Failure | None = None
    uploaded: float | None = None  # an upload: when (time.monotonic)
    households: frozenset[str] = field(default_factory=frozenset)
    book: Stamp | None = None  # the --book manifest as it was when numbered
    numbers: dict[str, str] | None = None  # the book's numbers; None: a first print's
    unbooked: frozenset[str] = frozenset()  # new since the book: no number in it, no card yet
    book_failure: Failure | None = None  # why the book's numbers could not be had

    def summary(self) -> dict[str, object]:
        answer: dict[str, object] = {"register": self.key, "name": self.name, "households": 0,
                                     "errors": 0, "warnings": 0, "grids": []}
        if self.loaded is not None:
            from cardgen.book.ledger import natural_key

            dataset = self.loaded.dataset
            answer.update(households=len(dataset.households), errors=len(dataset.errors),
                          warnings=len(dataset.warnings),
                          grids=sorted({h.grid for h in dataset.households if h.grid},
                                       key=natural_key))
        if self.failure is not None:
            answer["error"] = self.failure.body()
        if self.book_failure is not None:
            answer["book_error"] = self.book_failure.body()
        return answer


class Registers:
    def __init__(self, sources: list[Path], settings: Settings, pool: Pool) -> None:
        self.sources = sources
        self.settings = settings
        self.pool = pool
        self._served: dict[str, Register] = {}
        self._uploads: dict[str, Register] = {}
        self._lock = asyncio.Lock()

    def files(self) -> list[Path]:
        """The register files now: those given, and those in the folders given (not hidden,
        not an Office lock file ~$…)."""
        found: list[Path] = []
        for source in self.sources:
            if source.is_dir():
                try:
                    entries = sorted(source.iterdir())
                except OSError:
                    continue
                found += [path for path in entries
                          if path.suffix.lower() in REGISTER_SUFFIXES
                          and not path.name.startswith((".", "~$")) and path.is_file()]
            else:
                found.append(source)
        return list(dict.fromkeys(path.absolute() for path in found))

    @staticmethod
    def names(files: list[Path]) -> dict[Path, str]:
        names = [path.name for path in files]
        return {path: path.name if names.count(path.name) == 1
                else f"{path.parent.name}/{path.name}" for path in files}

    async def refresh(self) -> None:
        """Read again what changed since the last look (a few stat calls when nothing did)."""
        async with self._lock:
            today = self.settings.today()
            book = self.settings.book
            book_stamp = stamp_of(book / "manifest.json") if book else None
            files = self.files()
            served = {}
            for path, name in self.names(files).items():
                key = "r" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
                stamp = stamp_of(path)
                known = self._served.get(key)
                if known is None or (known.name, known.stamp, known.today) != (name, stamp,
                                                                                today):
                    known = await self._read(Register(key, name, path, stamp, today))
                if known.loaded is not None and book is not None and known.book != book_stamp:
                    await self._number(known, book, book_stamp)
                served[key] = known
            self._served = served
            now = time.monotonic()
            for key, upload in list(self._uploads.items()):
                if upload.uploaded is not None and now - upload.uploaded > UPLOAD_SECONDS:
                    del self._uploads[key]

    async def _read(self, register: Register) -> Register:
        name = register.name
        try:
            loaded = await self.pool.call(read_register, register.path, register.stamp,
                                          register.today)
        except Failed as failed:
            register.failure = failed.failure
            log.warning(_("register {name} cannot be read ({code}): {message}").format(
                name=name, code=failed.failure.code, message=failed.failure.message))
            return register
        register.loaded = loaded
        give_back()  # what unpickling it took beyond what it keeps
        self.pool.give_back()  # and what pickling it took the worker
        register.households = frozenset(h.household_id for h in loaded.dataset.households)
        dataset = loaded.dataset
        log.info(_("register {name} read: {households} households, {errors} errors, "
                   "{warnings} warnings").format(name=name, households=len(dataset.households),
                                                 errors=len(dataset.errors),
                                                 warnings=len(dataset.warnings)))
        return register

    async def _number(self, register: Register, book: Path, stamp: Stamp | None) -> None:
        """The book's numbers for a register's households (what a search lists)."""
        from cardgen.pipeline.register import open_book

        register.book, register.numbers, register.book_failure = stamp, None, None
        register.unbooked = frozenset()
        try:
            numbering = await anyio.to_thread.run_sync(open_book, register.loaded, book)
        except CardgenError as error:
            register.book_failure = failure_of(error)
            log.warning(_("the book in {book} cannot be used ({code}): {message}").format(
                book=book, code=error.code, message=error))
            return
        register.numbers = dict(numbering.numbers)
        register.unbooked = numbering.unbooked

    def served(self) -> list[Register]:
        return list(self._served.values())

    def readable(self) -> list[Register]:
        return [register for register in self._served.values() if register.loaded is not None]

    def pick(self, key: str | None) -> Register:
        """The register a request names (a served one or an upload), or the only one served."""
        if key is None:
            if len(self._served) == 1:
                return next(iter(self._served.values()))
            raise WebError(_("several registers are served; say which one (register)"),
                           "web.register_needed")
        found = self._served.get(key) or self._uploads.get(key)
        if found is None:
            raise NotFound(_("no such register is served (uploads are kept for {minutes} "
                             "minutes)").format(minutes=round(UPLOAD_SECONDS / 60)),
                           "web.register_unknown")
        return found

    def holding(self, household_id: str, key: str | None) -> Register:
        """The served register that holds a household; its failure if it is unreadable.
        (A card is drawn from a served file; an upload is printed from as a whole.)"""
        registers = self.served()
        if key is not None:
            registers = [register for register in registers if register.key == key]
        holding = [r for r in registers if household_id in r.households]
        if len(holding) > 1:
            raise Conflict(_("household {household} is in several registers ({registers}); "
                             "say which one (register)").format(
                household=household_id, registers=", ".join(r.name for r in holding)))
        if holding:
            return holding[0]
        failed = [r for r in registers if r.failure is not None]
        if failed and failed[0].failure is not None:
            raise Failed(failed[0].failure)
        raise NotFound(_("no household numbered {household} in the registers served").format(
            household=household_id), "selection.empty")

    def add_upload(self, loaded: Any) -> Register:
        key = "upload-" + secrets.token_urlsafe(9)
        register = Register(key, "", None, loaded=loaded, uploaded=time.monotonic(),
                            households=frozenset(h.household_id
                                                 for h in loaded.dataset.households))
        self._uploads[key] = register
        while len(self._uploads) > UPLOADS_KEPT:
            del self._uploads[next(iter(self._uploads))]
        return register
