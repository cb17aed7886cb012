"""What a long print run lets go of: a task's results once read (printing/workers.py), an
object stream's copies (pdf/writer.py), malloc's freed pages (cardgen/memory.py) and the
manifest's copies (book/record.py)."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
import textwrap
import tracemalloc
import weakref
from collections import deque
from concurrent.futures import Future

import pytest

from cardgen.book.record import Edition, Entry, GridBook, Retired, manifest_bytes
from cardgen.pdf import writer as writer_module
from cardgen.pdf.writer import Writer
from cardgen.printing import workers as workers_module
from cardgen.printing.workers import _in_order


def test_the_results_of_a_task_are_let_go_of_once_read() -> None:
    """All of a 20,000-card book's card data stayed in its tasks till the last was read."""
    futures: list[Future[list[int]]] = []
    for values in ([1, 2], [3], [4]):
        future: Future[list[int]] = Future()
        future.set_result(values)
        futures.append(future)
    first = weakref.ref(futures[0])
    reader = _in_order(deque(futures))
    del futures, future
    assert [next(reader), next(reader), next(reader)] == [1, 2, 3]
    gc.collect()
    assert first() is None  # read: gone, though the reader goes on
    assert list(reader) == [4]


def _file_with(body: bytes) -> tuple[Writer, int, int]:
    writer = Writer(io.BytesIO())
    pages = writer.reserve()
    writer.object(pages, b"<</Type /Pages /Count 0 /Kids []>>")
    writer.object(writer.reserve(), body)
    return writer, writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages), writer.new(b"<<>>")


def test_an_object_stream_copies_a_large_object_once() -> None:
    """A book's parent tree is one object (8 MB at 20,000 cards): its object stream was
    made with four copies of it, at the peak of the run."""
    body = b"[" + b"1 0 R " * 1_000_000 + b"]"
    writer, root, info = _file_with(body)
    tracemalloc.start()
    try:
        writer.finish(root, info)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * len(body), peak


def test_a_large_file_hands_its_freed_memory_back_as_it_finishes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[int] = []
    monkeypatch.setattr(writer_module, "give_back", lambda: given.append(1))
    writer, root, info = _file_with(b"[]")
    writer.finish(root, info)
    assert given == []  # a small file (a reprint's): nothing to hand back
    monkeypatch.setattr(writer_module, "GIVE_BACK_FROM", 3)
    writer, root, info = _file_with(b"[]")
    writer.finish(root, info)
    assert given == [1, 1]  # the pages freed, then the cross-references


def test_a_run_with_workers_keeps_large_blocks_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[int] = []
    monkeypatch.setattr(workers_module, "keep_large_apart", lambda: called.append(1))
    workers_module.Workers(None, 1)  # type: ignore[arg-type]
    assert called == [1]


def test_large_blocks_stay_mapped_on_their_own_after_a_larger_one_is_freed() -> None:
    """glibc raises its threshold to the largest block freed: blocks below it were carved
    from the heap, whose holes stay resident. keep_large_apart keeps the threshold."""
    script = textwrap.dedent("""
        import ctypes
        from cardgen.memory import keep_large_apart
        class Info(ctypes.Structure):  # glibc's mallinfo (int fields: enough here)
            _fields_ = [(n, ctypes.c_int) for n in ("arena", "ordblks", "smblks",
                        "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                        "keepcost")]
        libc = ctypes.CDLL(None)
        libc.mallinfo.restype = Info
        keep_large_apart()
        big = bytearray(8 << 20)
        del big
        before = libc.mallinfo().hblkhd
        blocks = [bytearray(512 << 10) for _ in range(8)]
        print(libc.mallinfo().hblkhd - before >= 8 * (512 << 10))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True", out.stderr


def test_the_manifest_is_encoded_line_by_line_not_as_one_text() -> None:
    """A 20,000-household book's manifest (10 MB) as one str, copied three times and then
    encoded, was the last peak of its run: the text is encoded line by line, the same
    bytes as the whole text encoded."""
    entries = [Entry(f"H{n:05d}", n, "orange", ("低保", "独居老人"), 3, f"{n:064x}",
                     {"address": f"{n:016x}"}, n, 1, address=f"阳光花园{n}号楼1单元302",
                     head="张*英") for n in range(1, 3001)]
    books = [GridBook(f"恒安社区 第{g}网格", f"第{g}网格.pdf", Edition(1, "2026-01-05"), entries,
                      [Retired(3001, "H03001", "2026-11-01")], "恒安社区", f"第{g}网格", "A5",
                      False) for g in (1, 2)]
    tracemalloc.start()
    try:
        data = manifest_bytes(books)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(data), (peak, len(data))  # as one text: 8.6 times (session 8)
    raw = json.loads(data)
    assert [len(ledger["households"]) for ledger in raw["ledgers"]] == [3000, 3000]
    assert data.count(b"\n        {") == 6002  # one household (or retired number) a line
    assert data.endswith(b"\n    }\n  ]\n}\n") and b"\n    },\n    {\n" in data
