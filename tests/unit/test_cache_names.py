"""The one cache-key policy (cache.py): what an entry is named by, kind by kind. Every entry
holds the scope (version, code, templates, fonts, configuration); a print run's frames hold
its paper and bleed too, its cards and drawn pages every print option."""

from __future__ import annotations

from pathlib import Path

from cardgen.cache import KINDS, PACKS, Cache
from cardgen.layout.geometry import PrintOptions


def test_a_run_finds_only_what_was_made_for_its_paper_and_options(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "a scope")
    a4 = cache.printing(("A4", 0.0), PrintOptions())
    a4.put("placed-frames", "a kit's roster", b"A4 roster")  # a kit frame, like a cover
    a4.put("frames", "a frame", b"A4 frame")
    a4.put("cards", "a card", b"plain card")
    a4.put("ledger-pages", "an index page", b"plain index")
    a4.put("metrics", "a font", b"metrics")
    a4_marks = cache.printing(("A4", 0.0), PrintOptions(marks=True))
    a5 = cache.printing(("A5", 0.0), PrintOptions(paper="A5"))
    bled = cache.printing(("A4", 3.0), PrintOptions(bleed=3.0))

    assert a4_marks.get("frames", "a frame") == b"A4 frame"  # frames know no crop marks
    assert a4_marks.get("placed-frames", "a kit's roster") == b"A4 roster"
    assert a4_marks.get("cards", "a card") is None  # a card knows every print option
    assert a4_marks.get("ledger-pages", "an index page") is None
    for other in (a5, bled):
        assert other.get("frames", "a frame") is None
        assert other.get("placed-frames", "a kit's roster") is None
        assert other.get("metrics", "a font") == b"metrics"  # a font is the same font
    assert Cache(tmp_path, "another scope").get("metrics", "a font") is None


def test_every_kind_says_what_it_holds_and_drawn_pages_are_not_cards(tmp_path: Path) -> None:
    assert all(kind.holds and kind.run in ("", "layout", "options") for kind in KINDS.values())
    assert "index" not in KINDS["cards"].holds and "index" in KINDS["ledger-pages"].holds
    Cache(tmp_path, "a scope")
    assert {p.name for p in tmp_path.iterdir()} == {*KINDS, PACKS}  # and the packs



def test_an_entry_is_named_by_the_key_of_its_scope_run_and_name(tmp_path: Path) -> None:
    # entry_name hashes the scope and the run's part once and copies that hash for each
    # name: the names stay those of the policy, `key(scope, the run's part, name)`
    from cardgen.cache import key

    cache = Cache(tmp_path, "a scope")
    a5 = cache.printing(("A5", 0.0), PrintOptions(paper="A5"))
    for _ in range(2):  # the first name takes up the hash, the second copies it
        assert cache.entry_name("metrics", "a font") == key("a scope", "a font")
        assert a5.entry_name("frames", "a frame") == key("a scope", ("A5", 0.0), "a frame")
        assert a5.entry_name("cards", "a card") == key("a scope", PrintOptions(paper="A5"),
                                                       "a card")
        assert a5.entry_name("metrics", "a font") == key("a scope", "a font")
        assert cache.entry_name("cards", "a card") == key("a scope", None, "a card")


def test_a_cache_that_named_entries_still_goes_to_the_workers(tmp_path: Path) -> None:
    import pickle

    a4 = Cache(tmp_path, "a scope").printing(("A4", 0.0), PrintOptions())
    a4.put("cards", "a card", b"card")  # names it: takes up the hash of its first parts
    sent = pickle.loads(pickle.dumps(a4))
    assert sent.get("cards", "a card") == b"card"


def test_a_font_is_known_by_its_tables_not_by_when_it_was_written(tmp_path: Path) -> None:
    """A reinstall writes the same fonts anew: the outlines and metrics `cardgen prepare`
    stored for them must still be found; an edited font must not find them."""
    import os
    import shutil

    from cardgen import resources
    from cardgen.cache import file_identity

    font = tmp_path / "font.otf"
    shutil.copyfile(resources.REGULAR_FONT, font)
    first = file_identity(font)
    os.utime(font, (1_000_000, 1_000_000))  # written again, as pip does
    assert file_identity(font) == first
    data = bytearray(font.read_bytes())
    data[12 + 4] ^= 1  # the first table's checksum, as a font tool changing that table
    font.write_bytes(bytes(data))
    assert file_identity(font) != first

    # a collection: each font's directory counts
    collection = tmp_path / "fonts.ttc"
    sfnt = b"\0\1\0\0" + (1).to_bytes(2, "big") + bytes(6) + b"glyf" + bytes(12)
    collection.write_bytes(b"ttcf\0\1\0\0" + (1).to_bytes(4, "big") + (16).to_bytes(4, "big")
                           + sfnt)
    known = file_identity(collection)
    assert isinstance(known[2], str)
    os.utime(collection, (1_000_000, 1_000_000))
    assert file_identity(collection) == known
    collection.write_bytes(collection.read_bytes()[:-1] + b"\1")
    assert file_identity(collection) != known

    picture = tmp_path / "logo.png"  # no font: when it changed
    picture.write_bytes(b"\x89PNG" + bytes(20))
    seen = file_identity(picture)
    os.utime(picture, (1_000_000, 1_000_000))
    assert file_identity(picture) != seen
