"""WeasyPrint's part of a one-card print, begun in a process of its own as the command starts.

A reprint (or preview) from a cache that lacks the card frames spends most of its time in
WeasyPrint: importing it, parsing the styles, the geometry pass, laying out the frame (about
1.1 s of CPU of a 1.7 s run, without `cardgen prepare`'s frames). None of that depends on the
register, so a forked process (the `FrameHelper`) starts it while this one reads and
validates the register (about 0.35 s). The helper puts what it lays out into the cache, with
the same PrintRun code a run without it uses, so the run reads the same entries (the same
bytes) it would have made itself; it only waits for them:

    the helper:  import WeasyPrint, styles, geometry pass → "geometry" → frames → "frames"
    this run:    read, validate, number → wait for "geometry" → build the card → send its
                 frames → draw the card → wait for "frames" → compose from the cache

It is forked before WeasyPrint (Pango) is loaded in this process, which never loads it when
the helper did its work. Whatever goes wrong in the helper (a template mistake, a signal),
the run does the work itself, as before, and says what went wrong in its own words. Only for
the bundled templates (what WeasyPrint says about a user's own templates is reported by the
run that laid them out) and a cache with a folder (the entries are how the work is handed
over); and on Linux (`may_fork`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from typing import TYPE_CHECKING

from cardgen.cache import Cache, key
from cardgen.config import Config
from cardgen.errors import CardgenError
from cardgen.layout.geometry import PrintOptions

if TYPE_CHECKING:  # multiprocessing is imported only when a helper starts: ~7 ms
    from multiprocessing.connection import Connection

    from cardgen.frame.render import Frame

GEOMETRY, FRAMES = "geometry", "frames"  # what the helper says when it has put them


class FrameHelper:
    """The forked helper process, seen from the run that started it."""

    def __init__(self, pid: int, channel: Connection) -> None:
        self.pid = pid
        self.channel = channel
        self.failed = False

    @classmethod
    def start(cls, config: Config, cache: Cache, today: dt.date, options: PrintOptions,
              emergency: bool, templates: object = None) -> FrameHelper | None:
        """A helper laying out the geometry of `emergency` cards (and then the frames it is
        sent), or None where it would not help: the cache has the geometry already (the
        user's, or `cardgen prepare`'s), the cache keeps nothing, the templates are the
        user's, the options are wrong (the run says so), or the system cannot fork."""
        if templates is not None or not cache.enabled or not may_fork():
            return None
        from cardgen.frame.render import paper_for

        try:
            paper = paper_for(config, options)
        except CardgenError:
            return None
        if cache.printing((paper, options.bleed), options).get(
                "frames", key("geometry", emergency, False)) is not None:
            return None
        from multiprocessing import Pipe

        ours, theirs = Pipe()
        try:
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:  # the helper
            ours.close()
            _serve(theirs, config, cache, today, options, emergency)  # never returns
        theirs.close()
        return cls(pid, ours)

    def _heard(self, word: str) -> bool:
        """Whether the helper says `word` (False when it ended without: the run does the
        work itself)."""
        if self.failed:
            return False
        try:
            if self.channel.poll(WAIT) and self.channel.recv() == word:
                return True
        except (EOFError, OSError):
            pass
        self.failed = True
        return False

    def geometry(self) -> bool:
        """Wait until the geometry is in the cache; False if the helper failed."""
        return self._heard(GEOMETRY)

    def ask(self, frames: list[Frame]) -> None:
        """Have the helper lay out `frames` (those the cache lacks), once it has the
        geometry; `frames()` waits for them."""
        if self.failed:
            return
        try:
            self.channel.send(frames)
        except OSError:
            self.failed = True

    def frames(self) -> bool:
        """Wait until the frames asked for are in the cache; False if the helper failed."""
        return self._heard(FRAMES)

    def close(self) -> None:
        """End the helper (its work is done, or not needed any more: the run failed) and
        reap it."""
        self.channel.close()
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


# Seconds the run waits for the helper's word before it does the work itself: only against
# a helper that hangs (its work takes 1-4 s, on a busy machine).
WAIT = 120.0


def may_fork() -> bool:
    """Whether this process may fork a helper: on Linux (macOS's system libraries are not
    safe to use in a forked child that does not exec), with no other thread (a lock one
    holds would stay locked in the child) and without WeasyPrint loaded (Pango's state is
    not the child's to share; ENGINE.md). A command line run is such a process; a test
    runner or the desk may not be."""
    import sys
    import threading

    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and "weasyprint" not in sys.modules)


def _serve(channel: Connection, config: Config, cache: Cache, today: dt.date,
           options: PrintOptions, emergency: bool) -> None:
    """The helper's life: the geometry, then the frames it is sent; it says nothing on the
    terminal (the run says what went wrong) and leaves without the run's exit handlers."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it; the run cleans up
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        quiet = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(quiet, stream)
        from cardgen.printing.run import PrintRun

        printing = PrintRun.start(config, options, None, today, cache)
        printing.geometry(emergency)  # laid out, checked and put into the cache
        channel.send(GEOMETRY)
        printing.frames(channel.recv())
        channel.send(FRAMES)
    except BaseException:  # the run does the work itself, and says why not
        pass
    finally:
        os._exit(0)
