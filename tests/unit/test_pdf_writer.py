"""cardgen/pdf/writer.py: a PDF written object by object, read back by pikepdf as a strict
reader (no recovery: a wrong offset or length is an error, not a repair)."""

from __future__ import annotations

import io
import threading
import zlib
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pikepdf
import pytest

from cardgen.cache import Cache
from cardgen.pdf import writer as writer_module
from cardgen.pdf.writer import Writer, box, end_of_stream, name, number, text
from tests.conftest import cache_entries


def strict(data: bytes) -> pikepdf.Pdf:
    """The file as a reader that repairs nothing sees it."""
    return pikepdf.open(io.BytesIO(data), attempt_recovery=False)


def minimal(objects: list[bytes],
            streams: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[bytes, list[int]]:
    """A file of a catalog (no pages), `objects` and `streams`; their numbers."""
    out = io.BytesIO()
    writer = Writer(out)
    pages = writer.reserve()
    numbers = [writer.new(body) for body in objects]
    numbers += [writer.new_stream(entries, data) for entries, data in streams]
    writer.object(pages, b"<</Type /Pages /Count 0 /Kids []>>")
    root = writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages)
    info = writer.new(b"<</Title (t)>>")
    writer.finish(root, info)
    return out.getvalue(), numbers


def test_numbers_are_integers_as_they_are_and_reals_to_six_decimals() -> None:
    assert number(3) == b"3"
    assert number(-12) == b"-12"
    assert number(True) == b"true" and number(False) == b"false"
    assert number(0.1234567) == b"0.123457"
    assert number(2.50) == b"2.5"  # no trailing zeros
    assert number(1e-7) == b"0"  # never an exponent: PDF has none
    assert number(Decimal("1E+2")) == b"100"
    assert box((0, 0.12345, 595.2756, -3.0001)) == b"[0 0.123 595.276 -3]"


def test_text_is_utf16_when_not_ascii_and_names_are_escaped() -> None:
    assert text("Title") == b"(Title)"
    chinese = text("五色户卡")
    assert chinese.startswith(b"<feff") and pikepdf.Object.parse(chinese) == "五色户卡"
    assert name("CgCardgen Sans") == b"/CgCardgen#20Sans"
    assert name("/Font") == b"/Font"


def test_objects_and_streams_read_back_with_their_numbers_and_data() -> None:
    data, (first, second, stream) = minimal(
        [b"<</Kind /First /Value 1>>", b"[1 2 (three)]"],
        ((b" /Kind /Data", b"BT /F1 9 Tf (hello) Tj ET" * 20),))
    pdf = strict(data)
    assert pdf.get_object((first, 0)).Value == 1
    assert list(pdf.get_object((second, 0))) == [1, 2, "three"]
    content = pdf.get_object((stream, 0))
    assert content.Kind == pikepdf.Name.Data
    assert content.read_bytes() == b"BT /F1 9 Tf (hello) Tj ET" * 20
    assert content.Filter == "/FlateDecode"
    assert pdf.Root.Pages.Count == 0 and pdf.docinfo.Title == "t"


def test_objects_that_are_no_streams_go_into_compressed_object_streams(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "OBJECTS_PER_STREAM", 3)
    data, numbers = minimal([b"<</N %d>>" % n for n in range(7)])
    for n in numbers:  # none is written as an indirect object of the file itself
        assert b"\n%d 0 obj" % n not in data
    assert data.count(b"/Type /ObjStm") == 4  # 7 + pages, catalog, info = 10 in threes
    pdf = strict(data)
    assert [pdf.get_object((n, 0)).N for n in numbers] == list(range(7))


def test_the_same_content_gives_the_same_file_and_another_another_id() -> None:
    one, _ = minimal([b"<</A 1>>"])
    again, _ = minimal([b"<</A 1>>"])
    other, _ = minimal([b"<</A 2>>"])
    assert one == again
    ids = [bytes(strict(data).trailer.ID[0]) for data in (one, other)]
    assert ids[0] != ids[1] and len(ids[0]) == 16


def xref_data(data: bytes) -> tuple[bytes, bytes]:
    """The cross-reference stream's compressed data and its rows."""
    start = int(data.rsplit(b"startxref\n", 1)[1].split()[0])
    head, _, rest = data[start:].partition(b">>\nstream\n")
    length = int(head.rsplit(b"/Length ", 1)[1])
    return rest[:length], zlib.decompress(rest[:length])


def test_a_long_cross_reference_stream_is_compressed_fast_a_short_one_at_the_best() -> None:
    """Rows from XREF_FAST_FROM bytes on at zlib's level 1 (a 1,000-card ledger's: 0.37 s
    less, 18 KB smaller); shorter ones, the samples', as before; the rest of the file alike."""
    short, _ = minimal([b"<</N %d>>" % n for n in range(100)])
    compressed, rows = xref_data(short)
    assert len(rows) < writer_module.XREF_FAST_FROM
    assert compressed == zlib.compress(rows, writer_module.FLATE_LEVEL)
    many = writer_module.XREF_FAST_FROM // 7 + 100
    long, numbers = minimal([b"<</N %d>>" % n for n in range(many)])
    compressed, rows = xref_data(long)
    assert len(rows) >= writer_module.XREF_FAST_FROM
    assert compressed == zlib.compress(rows, writer_module.XREF_FAST_LEVEL)
    assert compressed != zlib.compress(rows, writer_module.FLATE_LEVEL)
    pdf = strict(long)
    assert [pdf.get_object((n, 0)).N for n in numbers[::997]] == list(range(many))[::997]


def test_a_number_reserved_and_never_written_is_refused() -> None:
    writer = Writer(io.BytesIO())
    writer.reserve()
    lost = writer.reserve()
    writer.object(1, b"<<>>")
    with pytest.raises(ValueError, match=rf"reserved but never written: \[{lost}\]"):
        writer.finish(1, 1)


def test_a_stream_ending_in_cr_keeps_its_length_exact() -> None:
    """Data ending in CR gets CR LF before endstream, so its last byte is not read as the
    end-of-line marker (PDF/A-2 6.1.7.1)."""
    assert end_of_stream(b"abc\r") == b"\r\n" and end_of_stream(b"abc") == b"\n"
    out = io.BytesIO()
    writer = Writer(out)
    raw = writer.new_stream(b"", b"ends in a return\r", compress=False)
    pages = writer.new(b"<</Type /Pages /Count 0 /Kids []>>")
    writer.finish(writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages),
                  writer.new(b"<<>>"))
    data = out.getvalue()
    assert b"/Length 17>>\nstream\nends in a return\r\r\nendstream" in data
    assert strict(data).get_object((raw, 0)).read_bytes() == b"ends in a return\r"


def source_pdf() -> bytes:
    """A page whose resources name one shared object twice, with a /Parent and /Annots."""
    pdf = pikepdf.new()
    shared = pdf.make_indirect(pikepdf.Dictionary(Kind=pikepdf.Name.Shared))
    stream = pdf.make_stream(zlib.compress(b"0 0 m 10 10 l S"),
                             Filter=pikepdf.Name.FlateDecode)
    pdf.add_blank_page()
    page = pdf.pages[0].obj
    page.Resources = pikepdf.Dictionary(One=shared, Two=shared,
                                        Font=pdf.make_indirect(pikepdf.Dictionary(Mine=1)))
    page.Contents = stream
    page.Annots = pdf.make_indirect(pikepdf.Array([pikepdf.Dictionary(
        Subtype=pikepdf.Name.Link)]))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def copied(steps: list[object], taken: list[tuple[object, ...]]) -> tuple[bytes, int, int]:
    """A file holding a page's copy (replay_page of `steps`) as a form XObject; the form's
    number, and the object standing in for the claimed font (`taken`: what it was given)."""
    out = io.BytesIO()
    writer = Writer(out)
    pages = writer.reserve()
    claimed = writer.new(b"<</Claimed true>>")

    def claim(family: str, texts: list[tuple[int, str]], glyphs: list[int]) -> int:
        taken.append((family, texts, glyphs))
        return claimed

    form = writer_module.replay_page(writer, steps, claim)  # type: ignore[arg-type]
    writer.object(pages, b"<</Type /Pages /Count 0 /Kids []>>")
    writer.finish(writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages), writer.new(b"<<>>"))
    return out.getvalue(), form, claimed


def test_a_page_copied_as_a_form_writes_each_object_once_and_respects_claims() -> None:
    """record_page writes down what copying a page does (pikepdf reads it once), and
    replay_page does it: each object once with a new number, the claimed font standing in
    for the page's, the page's links and annotations left behind; the steps kept (marshal)
    and done again give the same bytes."""
    import marshal

    def claim(obj: object) -> tuple[str, list[tuple[int, str]], list[int]] | None:
        mine = isinstance(obj, pikepdf.Dictionary) and "/Mine" in obj
        return ("Cardgen Sans", [(5, "户")], [5, 7]) if mine else None

    steps = writer_module.record_page(source_pdf(), claim)
    taken: list[tuple[object, ...]] = []
    data, form, claimed = copied(steps, taken)
    assert taken == [("Cardgen Sans", [(5, "户")], [5, 7])]  # one font, claimed once
    assert copied(marshal.loads(marshal.dumps(steps)), [])[0] == data
    pdf = strict(data)
    again = pdf.get_object((form, 0))
    assert again.Type == "/XObject" and again.Subtype == "/Form"
    assert "/Parent" not in again and "/Annots" not in again  # left behind
    assert [float(v) for v in again.BBox] == [0, 0, 612, 792]
    resources = again.Resources
    assert resources.One.objgen == resources.Two.objgen  # still one shared object
    assert resources.One.Kind == "/Shared"
    assert resources.Font.objgen == (claimed, 0) and bool(resources.Font.Claimed)
    assert again.read_bytes() == b"0 0 m 10 10 l S"
    assert again.Filter == "/FlateDecode"


def test_text_and_names_are_written_as_pikepdf_writes_them() -> None:
    """writer.text and writer.name give pikepdf's bytes (qpdf's unparse: PDFDocEncoding or
    UTF-16, literal or hexadecimal), and read_text reads text's back, for random strings of
    ASCII, Latin-1, Chinese and the characters PDFDocEncoding places elsewhere."""
    import random

    chosen = random.Random(26)
    pools = [range(0x20, 0x7F), range(0x100), range(0x4E00, 0x4E80),
             [0x4E2D, 0x2022, 0x20AC, 0xAD, 0x7F, 0x18, 0x1F, 0x9F, 0xFB01, 0x1F600, 0x28,
              0x29, 0x5C, 0x0A, 0x0D, 0x09, 0x08, 0x0C, 0x00]]
    for _ in range(5000):
        pool = list(chosen.choice(pools))
        value = "".join(chr(chosen.choice(pool)) for _ in range(chosen.randint(0, 12)))
        assert text(value) == bytes(pikepdf.String(value).unparse()), repr(value)
        assert writer_module.read_text(text(value)) == value
    for _ in range(2000):
        value = "".join(chr(chosen.choice([*range(0x21, 0x7F), 0xE4, 0x4E2D, 0x20]))
                        for _ in range(chosen.randint(1, 8))).lstrip("/")
        assert name(value) == bytes(pikepdf.Name("/" + value).unparse()), repr(value)


def test_what_follows_an_object_stream_compressed_aside_is_written_after_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the object stream is compressed in a thread: a stream written meanwhile waits behind
    # it, so the file is what writing in turn gives (this compression ends only once the
    # stream after it has been handed over)
    handed_over = threading.Event()

    def compress_after(data: bytes, level: int) -> bytes:
        assert handed_over.wait(30)
        return zlib.compress(data, level)

    monkeypatch.setattr(writer_module, "OBJECTS_PER_STREAM", 2)
    monkeypatch.setattr(writer_module, "zlib", SimpleNamespace(compress=compress_after))
    out = io.BytesIO()
    writer = Writer(out)
    pages = writer.reserve()
    first, second = writer.new(b"<</Kind /First>>"), writer.new(b"<</Kind /Second>>")
    data = writer.new_stream(b" /Kind /Data", b"after the object stream", compress=False)
    handed_over.set()
    writer.object(pages, b"<</Type /Pages /Count 0 /Kids []>>")
    root = writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages)
    writer.finish(root, writer.new(b"<</Title (t)>>"))
    written = out.getvalue()
    pdf = strict(written)
    assert pdf.get_object(first, 0).Kind == "/First"
    assert pdf.get_object(second, 0).Kind == "/Second"
    assert pdf.get_object(data, 0).read_bytes() == b"after the object stream"
    assert written.index(b"/Type /ObjStm") < written.index(b"%d 0 obj" % data)


def packed_file(objects: list[bytes], cache: Cache | None = None, smallest: bool = False,
                refuse_packs: bool = False, large: bool = False) -> bytes:
    """`minimal`'s file of `objects`, written with `cache` (a `large` file's, Writer);
    `refuse_packs`: compressing a full object stream again fails."""
    out = io.BytesIO()
    writer = Writer(out, smallest, cache, large)
    if refuse_packs:
        def short_only(data: bytes) -> bytes:
            assert len(data) < writer_module.CACHED_PACK_FROM, "compressed again"
            return zlib.compress(data, writer_module.FLATE_LEVEL)

        writer.deflate = short_only
    pages = writer.reserve()
    for body in objects:
        writer.new(body)
    writer.object(pages, b"<</Type /Pages /Count 0 /Kids []>>")
    writer.finish(writer.new(b"<</Type /Catalog /Pages %d 0 R>>" % pages),
                  writer.new(b"<</Title (t)>>"))
    return out.getvalue()


def test_object_streams_come_from_the_cache_by_their_bytes_and_how_they_are_compressed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that packs the same objects reads their compressed stream back (the file as
    compressing gives it); other bytes, another level or libdeflate's PDF variant miss."""
    cache = Cache(tmp_path / "cache", "a test's scope")
    objects = [b"<</Kind /Test /Value %d /Words (%s)>>" % (n, b"w" * (n % 50))
               for n in range(writer_module.OBJECTS_PER_STREAM)]
    uncached = packed_file(objects)
    assert packed_file(objects, cache) == uncached
    stored = cache_entries(tmp_path / "cache", "object-streams")
    assert len(stored) == 1  # the full stream; the last, short one is compressed anew
    # from the cache, looked up by the writing thread (no compressing thread woken for it)
    looked_up: list[str] = []
    get = cache.get

    def counted(kind: str, name: str) -> bytes | None:
        looked_up.append(threading.current_thread().name)
        return get(kind, name)

    monkeypatch.setattr(cache, "get", counted)
    assert packed_file(objects, cache, refuse_packs=True) == uncached
    assert looked_up == [threading.current_thread().name]
    changed = [*objects[:-1], b"<</Kind /Changed>>"]
    assert packed_file(changed, cache) == packed_file(changed)
    assert packed_file(objects, cache, smallest=True) == packed_file(objects, smallest=True)
    monkeypatch.setattr(writer_module, "FLATE_LEVEL", 1)
    assert packed_file(objects, cache) == packed_file(objects) != uncached


def test_a_large_files_object_streams_are_compressed_by_libdeflate(tmp_path: Path) -> None:
    """Writer(large=True), a ledger of LARGE_BOOK pages or more: its object streams are
    libdeflate's at LARGE_LEVEL (a 10,000-card book's: 0.37 s of CPU for 6.3 MB, not
    2.91 s for 7.3 MB at zlib's 9), holding the same objects; kept in the cache under a
    name of their own. Other files, and a PDF variant's, are compressed as before."""
    objects = [b"<</Kind /Test /Value %d /Words (%s)>>" % (n, b"w" * (n % 50))
               for n in range(writer_module.OBJECTS_PER_STREAM)]

    def streams(data: bytes) -> list[tuple[bytes, bytes]]:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return [(obj.read_raw_bytes(), obj.read_bytes()) for obj in pdf.objects
                    if isinstance(obj, pikepdf.Stream) and obj.get("/Type") == "/ObjStm"]

    def written(large: bool, smallest: bool = False, cache: Cache | None = None) -> bytes:
        return packed_file(objects, cache, smallest, large=large)

    large, default = streams(written(True)), streams(written(False))
    assert [raw for _, raw in large] == [raw for _, raw in default]  # the same objects
    full = large[0]
    assert full[0] == writer_module.deflate_large(full[1]) != default[0][0]
    assert default[0][0] == zlib.compress(full[1], writer_module.FLATE_LEVEL)
    assert streams(written(True, smallest=True)) == streams(written(False, smallest=True))
    cache = Cache(tmp_path / "cache", "a test's scope")
    assert written(True, cache=cache) == written(True)
    assert written(False, cache=cache) == written(False)  # not the large one's entry
    assert len(cache_entries(tmp_path / "cache", "object-streams")) == 2
