"""A process's memory between the phases of its work (a print run, the desk).

glibc's malloc keeps what Python frees for reuse: the pages of a freed object stay resident
(counted in the process's RSS) until something else is put there, and a long run's heap
ends up mostly free but resident. A 20,000-household book's main process had 102 MiB free
but resident inside malloc's heap once its PDF was written (mallinfo2), on top of which the
manifest was then built: the run's peak (VmHWM 364 MiB, session 8). `give_back` returns
those pages at the points where a run has just let go of much (the cards made, the PDF
written), so what comes next is laid on pages the system gives anew, not on top of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # here: every command that writes a PDF imports this module (6 ms)

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # glibc only
    except (AttributeError, OSError):
        return None
    return trim


def give_back() -> None:
    """Hand the pages malloc holds free back to the system (glibc's malloc_trim, which
    also returns whole free pages inside the heap, not only at its top); nothing where
    the C library has no malloc_trim. Some 10 ms at 100 MiB free (session 8). The desk's
    workers and server use it too (web/work.py): without it a worker stayed at the peak of
    the biggest drawing it ever made (WeasyPrint laying out the frames, ~110 MiB more); at
    10,000 households a worker went from 210 to 160 MiB."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def keep_large_apart(threshold: int = 128 * 1024) -> None:
    """Blocks of `threshold` bytes and more mapped on their own (and unmapped when freed),
    glibc's first threshold, kept: glibc raises it to the largest block freed so far (up
    to 32 MiB), after which such blocks are carved from the heap, whose freed holes stay
    resident."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc only
    except (AttributeError, OSError):
        return
    mallopt(M_MMAP_THRESHOLD, threshold)


def resident_bytes() -> int | None:
    """This process's resident memory (Linux's /proc/self/statm), None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")
