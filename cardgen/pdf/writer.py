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


# PDFDocEncoding (ISO 32000-1, annex D): Latin-1 but for these bytes, which stand for other
# characters, and 0x7F, 0x9F and 0xAD, which stand for none
_PDF_DOC = {0x2D8: 0x18, 0x2C7: 0x19, 0x2C6: 0x1A, 0x2D9: 0x1B, 0x2DD: 0x1C, 0x2DB: 0x1D,
            0x2DA: 0x1E, 0x2DC: 0x1F, 0x2022: 0x80, 0x2020: 0x81, 0x2021: 0x82, 0x2026: 0x83,
            0x2014: 0x84, 0x2013: 0x85, 0x192: 0x86, 0x2044: 0x87, 0x2039: 0x88, 0x203A: 0x89,
            0x2212: 0x8A, 0x2030: 0x8B, 0x201E: 0x8C, 0x201C: 0x8D, 0x201D: 0x8E, 0x2018: 0x8F,
            0x2019: 0x90, 0x201A: 0x91, 0x2122: 0x92, 0xFB01: 0x93, 0xFB02: 0x94, 0x141: 0x95,
            0x152: 0x96, 0x160: 0x97, 0x178: 0x98, 0x17D: 0x99, 0x131: 0x9A, 0x142: 0x9B,
            0x153: 0x9C, 0x161: 0x9D, 0x17E: 0x9E, 0x20AC: 0xA0}
_NOT_PDF_DOC = frozenset({*range(0x18, 0x20), 0x7F, *range(0x80, 0xA1), 0xAD})
_ESCAPED = {0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x08: b"\\b", 0x0C: b"\\f",
            0x28: b"\\(", 0x29: b"\\)", 0x5C: b"\\\\"}
# what a name writes as itself (the rest as #xx): printable ASCII but the delimiters and #
_NAME_AS_IS = frozenset(range(0x21, 0x7F)) - frozenset(b"#()<>[]{}/%")


def pdf_doc(value: str) -> bytes | None:
    """`value` in PDFDocEncoding, or None when a character has no byte there."""
    out = bytearray()
    for char in value:
        code = ord(char)
        if code < 0x100 and code not in _NOT_PDF_DOC:
            out.append(code)
        elif code in _PDF_DOC:
            out.append(_PDF_DOC[code])
        else:
            return None
    return bytes(out)


def text(value: str) -> bytes:
    """A PDF text string: PDFDocEncoding where it has every character, else UTF-16 (big
    endian, with its byte order mark); written as qpdf (pikepdf) writes it, so that the
    bytes are the same as when pikepdf wrote them: hexadecimal when a byte is a control
    other than a white space or when more than a fifth are not printable ASCII, else
    literal. Written here rather than by pikepdf.String: a reprint whose frames were
    prepared need not import pikepdf (25 ms), and tests/unit/test_pdf_writer.py checks
    this against pikepdf's."""
    data = pdf_doc(value)
    if data is None:
        data = b"\xfe\xff" + value.encode("utf-16-be")
    unprintable = [byte for byte in data if byte == 0 or not (32 <= byte <= 126 or byte in
                                                             b"\n\r\t\b\f")]
    if any(byte < 24 for byte in unprintable) or 5 * len(unprintable) > len(data):
        return b"<" + data.hex().encode("ascii") + b">"
    out = bytearray(b"(")
    for byte in data:
        escaped = _ESCAPED.get(byte)
        if escaped is not None:
            out += escaped
        elif 32 <= byte <= 126 or byte >= 160:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    out += b")"
    return bytes(out)


_FROM_PDF_DOC = {byte: chr(code) for code, byte in _PDF_DOC.items()}
_UNESCAPED = {b"n": 0x0A, b"r": 0x0D, b"t": 0x09, b"b": 0x08, b"f": 0x0C}


def read_text(written: bytes) -> str:
    """A PDF text string as `text` writes it (<hex> or (literal)), read back."""
    data = bytearray()
    if written[:1] == b"<":
        data += bytes.fromhex(written[1:-1].decode("ascii"))
    else:
        body, at = written[1:-1], 0
        while at < len(body):
            byte = body[at]
            if byte != 0x5C:
                data.append(byte)
                at += 1
                continue
            following = body[at + 1:at + 2]
            if following.isdigit():
                digits = body[at + 1:at + 4]
                size = next((i for i, d in enumerate(digits) if d not in b"01234567"),
                            len(digits))
                data.append(int(digits[:size], 8) & 0xFF)
                at += 1 + size
            else:
                data.append(_UNESCAPED.get(following, following[0] if following else 0x5C))
                at += 2
    if data[:2] == b"\xfe\xff":
        return bytes(data[2:]).decode("utf-16-be")
    return "".join(_FROM_PDF_DOC.get(byte) or chr(byte) for byte in data)


def name(value: str) -> bytes:
    """A PDF name (/Role), its bytes outside printable ASCII, its delimiters and # as #xx,
    as qpdf writes it (see `text`)."""
    return b"/" + b"".join(bytes((byte,)) if byte in _NAME_AS_IS else b"#%02x" % byte
                           for byte in value.lstrip("/").encode("utf-8"))


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
    """A page's (or form's) content streams, in order (a pikepdf page)."""
    import pikepdf

    contents = page.get("/Contents")
    if contents is None:
        return []
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


# Copying the page of another PDF (a frame) into a Writer as a form XObject, as steps: its
# objects each once with new numbers (page links, /Parent, and annotations left behind),
# fonts of cardgen's families claimed (their glyphs join the family's font, which stands in
# for them). `record_page` reads the PDF (with pikepdf) and writes down what copying it
# does to a Writer; `replay_page` does it, the same objects, numbers and bytes in the same
# order as copying did. Kept in the cache (compose.frame_steps), the steps spare a run
# whose frames were laid out before pikepdf's import (25 ms) and reading them (6 ms).
#
# A step: (RESERVE,), a new number, the next of this page's; (OBJECT, k, parts) and
# (STREAM, k, parts, raw data), the k-th number's object; (CLAIM, family, [(glyph, its
# text)], [glyph]), a font of the family; (FORM, parts, data, flate), the form itself.
# Parts are bytes as they are, an int k (a reference to the k-th number) or a family's name
# (a reference to its font).
RESERVE, OBJECT, STREAM, CLAIM, FORM = range(5)
Step = tuple[Any, ...]
Claim = tuple[str, list[tuple[int, str]], list[int]]


class _Recorder:
    def __init__(self, claim: Callable[[Any], Claim | None]) -> None:
        self.claim = claim  # a font's family and glyphs if cardgen's, else None
        self.steps: list[Step] = []
        self.numbers = 0
        self.copied: dict[tuple[int, int], int | str] = {}

    def claimed(self, obj: Any) -> str | None:
        found = self.claim(obj)
        if found is None:
            return None
        self.steps.append((CLAIM, *found))
        return found[0]

    def ref(self, obj: Any) -> int | str:
        import pikepdf

        found = self.copied.get(obj.objgen)
        if found is not None:
            return found
        family = self.claimed(obj)
        if family is not None:
            self.copied[obj.objgen] = family
            return family
        number = self.copied[obj.objgen] = self.numbers
        self.numbers += 1
        self.steps.append((RESERVE,))
        if isinstance(obj, pikepdf.Stream):
            parts: list[Any] = []
            for key, value in obj.stream_dict.items():
                if key != "/Length":
                    parts += [b" " + name(key) + b" ", *self.serial(value)]
            self.steps.append((STREAM, number, _joined(parts), obj.read_raw_bytes()))
        else:
            self.steps.append((OBJECT, number, _joined(self.serial(obj, top=True))))
        return number

    def serial(self, value: Any, top: bool = False) -> list[Any]:
        """The object's parts, its indirect parts as references to copies."""
        import pikepdf

        if isinstance(value, pikepdf.Object) and value.is_indirect and not top:
            return [self.ref(value)]
        if isinstance(value, pikepdf.Dictionary):
            family = self.claimed(value)
            if family is not None:
                return [family]
            parts: list[Any] = [b"<<"]
            for key, item in value.items():
                if key not in ("/Parent", "/Annots"):
                    parts += [name(key) + b" ", *self.serial(item), b" "]
            return [*parts, b">>"]
        if isinstance(value, pikepdf.Array):
            parts = [b"["]
            for index, item in enumerate(value):
                parts += [b" "] * bool(index) + self.serial(item)
            return [*parts, b"]"]
        if value is None:
            return [b"null"]
        if isinstance(value, (bool, int, float, Decimal)):
            return [number(value)]
        return [bytes(value.unparse())]


def _joined(parts: list[Any]) -> list[Any]:
    """Parts with each run of bytes made one."""
    out: list[Any] = []
    for part in parts:
        if isinstance(part, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += part
        else:
            out.append(part)
    return out


def record_page(data: bytes, claim: Callable[[Any], Claim | None]) -> list[Step]:
    """The steps of copying the first page of the PDF `data` as a form XObject: its
    resources, then the form, its bounding box the page's media box."""
    import pikepdf

    recorder = _Recorder(claim)
    with pikepdf.open(io.BytesIO(data)) as source:
        page = source.pages[0].obj
        streams = content_streams(page)
        resources = page.get("/Resources", pikepdf.Dictionary())
        held = ([recorder.ref(resources)] if resources.is_indirect
                else recorder.serial(resources))
        parts = [b" /Type /XObject /Subtype /Form /BBox ", *recorder.serial(page.MediaBox),
                 b" /Resources ", *held]
        flate = (len(streams) == 1 and streams[0].get("/Filter") == pikepdf.Name.FlateDecode
                 and "/DecodeParms" not in streams[0])
        content = (streams[0].read_raw_bytes() if flate
                   else b"".join(stream.read_bytes() for stream in streams))
        recorder.steps.append((FORM, _joined(parts), content, flate))
    return recorder.steps


def replay_page(writer: Writer, steps: list[Step],
                claim: Callable[[str, list[tuple[int, str]], list[int]], int]) -> int:
    """`record_page`'s steps done to `writer` (`claim` takes a family's font and glyphs
    and gives its font's number); the form's number."""
    numbers: list[int] = []
    fonts: dict[str, int] = {}

    def joined(parts: list[Any]) -> bytes:
        return b"".join(part if isinstance(part, bytes) else
                        b"%d 0 R" % (numbers[part] if isinstance(part, int) else fonts[part])
                        for part in parts)

    for step in steps:
        kind = step[0]
        if kind == RESERVE:
            numbers.append(writer.reserve())
        elif kind == OBJECT:
            writer.object(numbers[step[1]], joined(step[2]))
        elif kind == STREAM:
            writer.stream(numbers[step[1]], joined(step[2]), step[3])
        elif kind == CLAIM:
            fonts[step[1]] = claim(step[1], step[2], step[3])
        else:
            _, parts, content, flate = step
            entries = joined(parts)
            if flate:  # as prepare.py compressed it (by Zopfli, once for the cache)
                return writer.stream(writer.reserve(), entries + b" /Filter /FlateDecode",
                                     content)
            return writer.new_stream(entries, content)
    raise ValueError("replay_page: no form among the steps")
