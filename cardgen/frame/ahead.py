"""WeasyPrint started ahead of need, in a process of its own, for `cardgen update`.

An update packet's change list is drawn by cardgen (layout/changes.py) and its cover is a
frame with the counts drawn over it, so an update usually needs no WeasyPrint at all: the
cover frame is the one its ledger left in the cache. When the cache does not have it (the
book was printed on another machine, a new flag column, a new edition), WeasyPrint must
lay it out, and importing it and parsing the styles takes about 0.9 s. Started when the
command starts, the process does that on the second core while this one reads the register
and compares it with the book, then waits. Measured before the change list and cover were
drawn by cardgen: 0.79x the time of doing it all in this process (medians of 9 pairs).

The process only renders; what it says is what `Renderer.cover_frame_pdf` says (a
template's mistake comes back as the same error, WeasyPrint's warnings about a user's
templates are told here too). If it is gone or fails otherwise, the work is done here, as
without it."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cardgen.config import Config, Paper, load_config
from cardgen.errors import CardgenError, DataRefused
from cardgen.frame.render import ENGINE_WARNINGS, PlaceStyle, PrintOptions, Renderer, paper_for
from cardgen.i18n import language, set_language
from cardgen.layout.geometry import Places


@dataclass(frozen=True)
class _Setup:
    config_path: Path | None  # read there: 0.2 s the process need not wait for
    templates: Path | None
    language: str


def _serve(connection: Connection, setup: _Setup) -> None:
    """The process: a renderer for the default options made at once, then one answer per
    request, until the connection closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the command's handler came with the fork
    set_language(setup.language)
    renderers: dict[tuple[Paper, float], Renderer] = {}
    told = 0  # WeasyPrint's warnings sent so far (the first ones come with the first answer)
    try:
        config: Config | CardgenError = load_config(setup.config_path)
    except CardgenError as exc:  # the command says it too, when it reads the config
        config = exc

    def renderer(options: PrintOptions) -> Renderer:
        if isinstance(config, CardgenError):
            raise config
        what = (paper_for(config, options), options.bleed)  # all a Renderer takes
        if what not in renderers:
            renderers[what] = Renderer(config, setup.templates, options)
        return renderers[what]

    with suppress(CardgenError):  # a template's mistake is said when the work is asked for
        renderer(PrintOptions())  # WeasyPrint imported and the styles parsed, before any request
    while True:
        try:
            options, work = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("done", renderer(options).cover_frame_pdf(*work))
        except CardgenError as exc:
            answer = ("refused", (type(exc), str(exc), exc.code))
        except Exception as exc:  # the main process does the work itself
            answer = ("failed", repr(exc))
        told, heard = len(ENGINE_WARNINGS.messages), ENGINE_WARNINGS.messages[told:]
        connection.send((answer, heard))


class RendererAhead:
    """The process started ahead; `cover_frame_pdf` as `Renderer.cover_frame_pdf`."""

    def __init__(self, config_path: Path | None, templates: Path | None) -> None:
        self._process: Any = None
        if threading.active_count() > 1:  # a fork copies one thread: another's locks stay held
            return
        # forked, not spawned: a new interpreter importing cardgen again took 0.5 s of the
        # 1 s head start
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, daemon=True, args=(
            theirs, _Setup(config_path, templates, language())))
        self._process.start()
        theirs.close()

    def cover_frame_pdf(self, options: PrintOptions, work: tuple[Any, ...]) -> \
            tuple[bytes, Places, dict[str, PlaceStyle]] | None:
        """A cover frame, its places and their type; None when the process could not make
        it (the caller renders it itself)."""
        if self._process is None:
            return None
        try:
            self._connection.send((options, work))
            (kind, value), warnings = self._connection.recv()
        except (EOFError, OSError):
            return None
        ENGINE_WARNINGS.messages.extend(warnings)
        if kind == "refused":
            kind_of, message, code = value
            if issubclass(kind_of, CardgenError) and not issubclass(kind_of, DataRefused):
                raise kind_of(message, code=code)
            return None
        if kind != "done":
            return None
        pdf, places, styles = value
        return pdf, places, styles

    def close(self) -> None:
        if self._process is None:
            return
        self._connection.close()
        self._process.terminate()  # at once: it may still be importing, unasked
        self._process.join()


@contextmanager
def renderer_ahead(config_path: Path | None,
                   templates: Path | None) -> Iterator[RendererAhead]:
    """A renderer started now in its own process, stopped when the block ends."""
    ahead = RendererAhead(config_path, templates)
    try:
        yield ahead
    finally:
        ahead.close()
