"""PDF output at the level of objects: a file written object by object (the objects that are
no streams gathered into compressed object streams, a cross-reference stream last), and other
PDFs' objects copied into it with new numbers.

Nothing here knows about cards; `compose.py` decides what the objects are.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

import pikepdf

from cardgen.memory import give_back

if TYPE_CHECKING:
    from cardgen.cache import Cache

Box = tuple[float, float, float, float]
# objects that are no streams, to an object stream: a tagged 1,000-card ledger's 54,000
# structure elements take 110 bytes a card less in streams of 1,000 than of 100 (measured)
OBJECTS_PER_STREAM = 1000
# zlib's level for the streams written here: 9 makes the largest one-card reprint's data
# layer 5 % smaller than 6 (2,330 bytes, not 2,461) for a millisecond a card
FLATE_LEVEL = 9
# libdeflate's level for a PDF variant's streams (pdf/a-2b, press): see deflate_smallest
SMALLEST_LEVEL = 11
# libdeflate's level for a large file's object streams (Writer's `large`: a ledger of
# pipeline/ledgers.LARGE_BOOK pages or more). A 10,000-card book's 509 object streams
# (42.6 MB of objects) took 2.91 s of CPU for 7.28 MB at zlib's level 9, 0.37 s for
# 6.28 MB at libdeflate's level 6 (level 4: 0.22 s, 7.68 MB; 8: 1.95 s, 5.92 MB; zlib's 6:
# 0.75 s, 7.86 MB), the compressing thread the last to finish of the book (session 9).
# Smaller files, the samples among them, keep zlib's level 9 and their bytes.
LARGE_LEVEL = 6
# The cross-reference stream's rows (7 bytes an object, all alike) from this size on are
# compressed at zlib's level 1, below it at FLATE_LEVEL. On those rows level 9's long match
# searches cost much and find less: a 1,000-card ledger's 362,978 bytes of rows took 0.37 s
# at level 9 for 105,691 bytes, 2.2 ms at level 1 for 87,869 (level 6: 38 ms, 105,686); an
# update's change list's 57,673 bytes took 49 ms for 15,570 bytes, 0.3 ms for 13,390
# (session 6). Below this size, where the samples' files are (their largest rows: 11,676
# bytes), level 1 gains nothing (317 bytes at level 9, 322 at level 1, for 1,029) and the
# files stay as they were.
XREF_FAST_FROM = 16384
XREF_FAST_LEVEL = 1
# Object streams of this size and more are kept in the cache, compressed, by their bytes
# (`Writer.packed`): a 1,000-card ledger's 51 object streams (4.0 MB) take 0.29 s of CPU
# at FLATE_LEVEL, and a ledger printed again with one phone changed has 50 of them as
# before (session 6). A smaller one (a reprint's, the last of a file) is compressed anew.
CACHED_PACK_FROM = 32768
# A file of this many objects and more hands the memory it freed back to the system as it
# finishes (memory.give_back): a 20,000-card book's main process (a million objects) held
# 100 MiB free in malloc's heap once its PDF was written (mallinfo2, session 8), on which
# its manifest was then built. A reprint's or a preview's (some 50 objects a card) is left
# alone.
GIVE_BACK_FROM = 100_000


def deflate_once(data: bytes) -> bytes:
    """Flate a frame's content, compressed once and cached, at zlib's best. Zopfli makes it
    11 % smaller (a 12-member card's frame: 4,577 bytes, not 5,143) but costs some 0.5 s a
    frame, which a cold ledger (six frames) and the desk's first preview wait for: not paid
    (issue 26 measured the wait; 0.57 KB of a 46 KB reprint)."""
    return zlib.compress(data, FLATE_LEVEL)


def deflate_default(data: bytes) -> bytes:
    """Flate at zlib's best: the streams of a PDF without a variant."""
    return zlib.compress(data, FLATE_LEVEL)


def deflate_smallest(data: bytes) -> bytes:
    """Flate by libdeflate's near-optimal parser (level 11), for a PDF variant's file: the
    largest one-card reprint's streams 1.3 KB (3.6 %) smaller than zlib's level 9 makes
    them, for about 15 ms (level 12: 4 bytes less, half as slow again; Zopfli: 0.8 KB less,
    three seconds more). A 1,000-card ledger: 12 % smaller, 1.45 times the CPU time."""
    import deflate

    return bytes(deflate.zlib_compress(data, SMALLEST_LEVEL))


def deflate_large(data: bytes) -> bytes:
    """Flate by libdeflate at LARGE_LEVEL: a large file's object streams."""
    import deflate

    return bytes(deflate.zlib_compress(data, LARGE_LEVEL))


def number(value: float | int | Decimal) -> bytes:
    """A PDF number (or boolean): integers as they are, reals to six decimals at most."""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    return format(Decimal(value).quantize(Decimal("0.000001")).normalize(), "f").encode()


def box(values: Box) -> bytes:
    """A rectangle, to a thousandth of a point."""
    return b"[" + b" ".join(number(round(v, 3)) for v in values) + b"]"


def text(value: str) -> bytes:
    """A PDF text string (UTF-16 when it is not ASCII)."""
    return bytes(pikepdf.String(value).unparse())


def name(value: str) -> bytes:
    return bytes(pikepdf.Name("/" + value.lstrip("/")).unparse())


# What waits to be written behind an object stream being compressed: bytes, the number of
# an object that starts where the next bytes go, or an object stream (number, entries, its
# compressed data to come)
Queued = bytes | int | tuple[int, bytes, Future[bytes]]


class Writer:
    """A PDF file written object by object; the cross-reference table comes last.

    Numbers are reserved first when an object must be referred to before it is written
    (the page tree, fonts embedded at the end). The file identifier is a hash of the bytes,
    so the same content gives the same file.

    Object streams are compressed in a thread while the caller goes on: what is written
    after one waits in order behind it, so the file is byte for byte what writing in turn
    gives. (zlib lets go of the GIL while it compresses; at FLATE_LEVEL the object streams
    of a 1,000-card ledger whose cards all came from the cache took 0.9 s of its main
    process, 7.4 s under cProfile, session 5.)

    `smallest`: every Flate stream is compressed by `deflate_smallest`, those that come
    compressed already (prepared frames and data layers, copied objects) anew. `large`
    (without `smallest`): the object streams are compressed by `deflate_large`."""

    def __init__(self, out: IO[bytes], smallest: bool = False,
                 cache: Cache | None = None, large: bool = False) -> None:
        self.out = out
        self.smallest = smallest
        self.deflate = deflate_smallest if smallest else deflate_default
        self.large = large and not smallest
        self.cache = cache if cache is not None and cache.enabled else None
        # the object streams compressed here, put in the cache a pack at a time (cache.PACKS)
        # by the compressing thread, the last at `finish`
        self._kept = self.cache.packer("object-streams") if self.cache is not None else None
        # where each object is, by number (index 0 unused): its offset in the file, or
        # its object stream and index there; -1: not yet written. Arrays, not dicts: a
        # tagged 20,000-card ledger has a million objects (16 bytes each here, about 110 in
        # a dict of tuples)
        self._offsets = array("q", [-1])
        self._streams = array("q", [-1])  # the object stream of a packed object
        # objects that are not streams, gathered into object streams: (number, body)
        self._pending: list[tuple[int, bytes]] = []
        self.count = 0
        self.position = 0
        self.digest = hashlib.sha256()
        self._queue: deque[Queued] = deque()
        self._compressor: ThreadPoolExecutor | None = None
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        if self._queue:
            self._queue.append(data)
        else:
            self._emit(data)

    def _emit(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.position += len(data)

    def _starts(self, number: int) -> None:
        """Object `number` starts where the next bytes go."""
        if self._queue:
            self._queue.append(number)
        else:
            self._offsets[number] = self.position

    def _drain(self, wait: bool) -> None:
        """Write what waits behind compressed object streams, up to one still being
        compressed (all of it when `wait`)."""
        while self._queue:
            item = self._queue[0]
            if isinstance(item, tuple):
                number, entries, future = item
                if not wait and not future.done():
                    return
                data = future.result()
                self._offsets[number] = self.position
                self._emit(b"%d 0 obj\n<<%s /Length %d>>\nstream\n" % (number, entries,
                                                                        len(data)))
                self._emit(data)
                self._emit(end_of_stream(data) + b"endstream\nendobj\n")
            elif isinstance(item, int):
                self._offsets[item] = self.position
            else:
                self._emit(item)
            self._queue.popleft()

    def reserve(self) -> int:
        self.count += 1
        self._offsets.append(-1)
        self._streams.append(-1)
        return self.count

    def reserve_many(self, count: int) -> int:
        """`count` numbers one after the other; the first."""
        first = self.count + 1
        self.count += count
        self._offsets.extend(array("q", [-1]) * count)
        self._streams.extend(array("q", [-1]) * count)
        return first

    def room(self) -> int:
        """How many objects the object stream being gathered still takes."""
        return OBJECTS_PER_STREAM - len(self._pending)

    def objects(self, numbers: list[int], bodies: list[bytes]) -> None:
        """Objects that are no streams, as `object` writes them one by one: no more than
        `room` (the object stream they fill is written once they are in)."""
        if len(numbers) > self.room():
            raise ValueError("objects: more than the object stream's room")
        self._pending.extend(zip(numbers, bodies, strict=True))
        if len(self._pending) >= OBJECTS_PER_STREAM:
            self._pack()

    def object(self, number: int, body: bytes) -> int:
        """An object that is no stream: it goes into an object stream, written when
        OBJECTS_PER_STREAM have gathered (and at the end), so that the dictionaries of
        fonts, pages and resources are compressed too."""
        self._pending.append((number, body))
        if len(self._pending) >= OBJECTS_PER_STREAM:
            self._pack()
        return number

    def _pack(self) -> None:
        """The gathered objects as one object stream."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        heads, offset = [], 0
        for number, body in pending:
            heads.append(b"%d %d" % (number, offset))
            offset += len(body) + 1  # and its newline
        head = b" ".join(heads) + b"\n"
        stream = self.reserve()
        for index, (number, _) in enumerate(pending):
            self._streams[number] = stream
            self._offsets[number] = index
        # the stream's data in one join, its objects let go of at once: a book's parent
        # tree is one object (a 20,000-card book's: 8 MB), and each body copied with its
        # newline, then joined, then put after the head held it four times over (session 8)
        parts = [head]
        for _, body in pending:
            parts += (body, b"\n")
        count = len(pending)
        del pending
        data = b"".join(parts)
        del parts
        name, found = self._packed_before(data)
        if found is not None:  # done: no thread woken for it (see _packed_before)
            done: Future[bytes] = Future()
            done.set_result(found)
        else:
            if self._compressor is None:
                self._compressor = ThreadPoolExecutor(1, thread_name_prefix="cardgen-flate")
            done = self._compressor.submit(self.packed, data, name)
        del data
        self._queue.append((stream, b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode"
                            % (count, len(head)), done))
        self._drain(wait=False)

    def _packed_before(self, data: bytes) -> tuple[str | None, bytes | None]:
        """An object stream's name in the cache (None: not kept there) and its compressed
        data if a run before kept it. Looked up here, not in the compressing thread: a
        ledger whose object streams were all kept woke the thread 51 times for a lookup
        each, and its main process waited for the GIL in submit, 40 ms (py-spy, session 8)."""
        if self.cache is None or len(data) < CACHED_PACK_FROM:
            return None, None
        name = packed_name(data, self.smallest, self.large)
        return name, self.cache.get("object-streams", name)

    def packed(self, data: bytes, name: str | None) -> bytes:
        """An object stream's data compressed by `deflate`, and kept in the cache under
        `name` (packed_name) if it has one: a run after that compresses the same bytes the
        same way finds it there (_packed_before)."""
        packed = deflate_large(data) if self.large else self.deflate(data)
        if name is not None and self._kept is not None:
            self._kept.put(name, packed)
        return packed

    def stream(self, number: int, entries: bytes, data: bytes) -> int:
        """A stream object; `entries` are its dictionary's entries but /Length, `data` as
        they say (Flate data made elsewhere is compressed anew when `smallest`)."""
        if (self.smallest and data and b"/Filter /FlateDecode" in entries
                and b"/DecodeParms" not in entries):
            data = self.deflate(zlib.decompress(data))
        return self._stream(number, entries, data)

    def flate_stream(self, number: int, entries: bytes, data: bytes) -> int:
        """A stream object of `data`, Flate-compressed here."""
        return self._stream(number, entries + b" /Filter /FlateDecode", self.deflate(data))

    def _stream(self, number: int, entries: bytes, data: bytes) -> int:
        if self._queue:
            self._drain(wait=False)
        self._starts(number)
        self._write(b"%d 0 obj\n<<%s /Length %d>>\nstream\n" % (number, entries, len(data)))
        self._write(data)
        self._write(end_of_stream(data) + b"endstream\nendobj\n")
        return number

    def new(self, body: bytes) -> int:
        return self.object(self.reserve(), body)

    def new_stream(self, entries: bytes, data: bytes, compress: bool = True) -> int:
        if compress:
            return self.flate_stream(self.reserve(), entries, data)
        return self._stream(self.reserve(), entries, data)

    def finish(self, root: int, info: int) -> None:
        """The cross-reference stream and trailer; every reserved number must be written."""
        self._pack()
        self._drain(wait=True)
        self.close()
        if self._kept is not None:
            self._kept.flush()
        large = self.count >= GIVE_BACK_FROM
        if large:
            give_back()  # what the pages and the parent tree took, before the rows
        missing = [n for n in range(1, self.count + 1) if self._offsets[n] < 0]
        if missing:
            raise ValueError(f"PDF objects reserved but never written: {missing[:5]}")
        identity = self.digest.hexdigest()[:32].encode()
        xref = self.reserve()
        start = self.position
        self._offsets[xref] = start
        wide = max(4, (start.bit_length() + 7) // 8)
        rows = bytearray(b"\x00" + bytes(wide) + b"\xff\xff")
        for n in range(1, self.count + 1):
            stream, place = self._streams[n], self._offsets[n]
            if stream >= 0:
                rows += b"\x02" + stream.to_bytes(wide, "big") + place.to_bytes(2, "big")
            else:
                rows += b"\x01" + place.to_bytes(wide, "big") + b"\x00\x00"
        data = (self.deflate(bytes(rows)) if self.smallest or len(rows) < XREF_FAST_FROM
                else zlib.compress(rows, XREF_FAST_LEVEL))
        del rows
        self._write(b"%d 0 obj\n<</Type /XRef /Size %d /W [1 %d 2] /Root %d 0 R /Info %d 0 R "
                    b"/ID [<%s> <%s>] /Filter /FlateDecode /Length %d>>\nstream\n"
                    % (xref, self.count + 1, wide, root, info, identity, identity, len(data)))
        self._write(data)
        self._write(end_of_stream(data) + b"endstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % start)
        del data
        if large:
            give_back()  # and the rows: the caller goes on (a ledger: to its manifest)

    def close(self) -> None:
        """Stop the compressing thread (a file given up on: its queue is dropped)."""
        if self._compressor is not None:
            self._compressor.shutdown(wait=False, cancel_futures=True)
            self._compressor = None

def packed_name(data: bytes, smallest: bool, large: bool = False) -> str:
    """An object stream's name in the cache: its bytes (their SHA-256) and what compresses
    them, with its level and version (libdeflate's for a PDF variant or a large file, else
    zlib's)."""
    from cardgen.cache import key

    if smallest or large:
        import deflate

        method: tuple[object, ...] = ("libdeflate", SMALLEST_LEVEL if smallest else LARGE_LEVEL,
                                      deflate.__version__)
    else:
        method = ("zlib", FLATE_LEVEL, zlib.ZLIB_RUNTIME_VERSION)
    return key("object-stream", method, hashlib.sha256(data).digest())


def end_of_stream(data: bytes) -> bytes:
    """The end-of-line marker between a stream's data and `endstream`: CR LF after data that
    ends in CR, whose LF alone would read as one CR LF marker and the /Length as a byte too
    long (PDF/A-2 6.1.7.1; page-validation's PDFA2B-STREAM-LENGTH-001), else LF."""
    return b"\r\n" if data.endswith(b"\r") else b"\n"


def content_streams(page: Any) -> list[Any]:
    """A page's (or form's) content streams, in order."""
    contents = page.get("/Contents")
    if contents is None:
        return []
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


class Copier:
    """Copies objects of other PDFs into a Writer, each once, with new numbers.

    `redirect` may claim an object (a font, say) by returning the number of the object to
    use instead; page links (/Parent) and annotations are left behind."""

    def __init__(self, writer: Writer, redirect: Callable[[Any], int | None]) -> None:
        self.writer = writer
        self.redirect = redirect
        self.sources: list[pikepdf.Pdf] = []
        self._copied: dict[tuple[int, tuple[int, int]], int] = {}

    def open(self, data: bytes) -> pikepdf.Pdf:
        """Another PDF to copy from; it stays open (its objects are read lazily)."""
        source = pikepdf.open(io.BytesIO(data))
        self.sources.append(source)
        return source

    def ref_or_direct(self, source: pikepdf.Pdf, value: Any) -> bytes:
        if isinstance(value, pikepdf.Object) and value.is_indirect:
            return b"%d 0 R" % self.ref(source, value)
        return self.serial(source, value)

    def ref(self, source: pikepdf.Pdf, obj: Any) -> int:
        """Our number for another PDF's indirect object, written when first met."""
        memo = (id(source), obj.objgen)  # sources stay open, so their ids stay theirs
        found = self._copied.get(memo)
        if found is not None:
            return found
        claimed = self.redirect(obj)
        if claimed is not None:
            self._copied[memo] = claimed
            return claimed
        number = self._copied[memo] = self.writer.reserve()
        if isinstance(obj, pikepdf.Stream):
            entries = b"".join(b" " + name(key) + b" " + self.serial(source, value)
                               for key, value in obj.stream_dict.items() if key != "/Length")
            self.writer.stream(number, entries, obj.read_raw_bytes())
        else:
            self.writer.object(number, self.serial(source, obj, top=True))
        return number

    def serial(self, source: pikepdf.Pdf, value: Any, top: bool = False) -> bytes:
        """The object written out, its indirect parts as references to copies."""
        if isinstance(value, pikepdf.Object) and value.is_indirect and not top:
            return b"%d 0 R" % self.ref(source, value)
        if isinstance(value, pikepdf.Dictionary):
            claimed = self.redirect(value)
            if claimed is not None:
                return b"%d 0 R" % claimed
            return b"<<" + b"".join(
                name(key) + b" " + self.serial(source, item) + b" "
                for key, item in value.items() if key not in ("/Parent", "/Annots")) + b">>"
        if isinstance(value, pikepdf.Array):
            return b"[" + b" ".join(self.serial(source, item) for item in value) + b"]"
        if value is None:
            return b"null"
        if isinstance(value, (bool, int, float, Decimal)):
            return number(value)
        return bytes(value.unparse())

    def close(self) -> None:
        for source in self.sources:
            source.close()
        self.sources = []
