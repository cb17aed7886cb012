"""The cache: reruns draw nothing twice, give the same bytes, survive damage and sharing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cardgen.cache import PACKS, Cache
from cardgen.cli.commands import cli
from cardgen.config import load_config
from cardgen.samplegen import generate, to_csv
from tests.conftest import DATE, cache_entries


def write_source(path: Path) -> Path:
    path.write_text(to_csv(list(generate(30, seed=5, grids=1))), encoding="utf-8")
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_source(tmp_path / "grid.csv")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of the test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(folder))
    return folder


@dataclass(frozen=True)
class FirstRun:
    """A ledger of `source` made with an empty cache of its own: the cache it filled, and
    the PDF it wrote."""

    cache: Path
    pdf: bytes


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """Made once for the module (the frames WeasyPrint renders are most of a cold run's
    time): tests about what happens after a first run start from a copy of its cache
    instead of each drawing everything anew."""
    root = tmp_path_factory.mktemp("warmed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARDGEN_CACHE_DIR", str(root / "cache"))
        pdf = ledger(write_source(root / "grid.csv"), root / "out")
    return FirstRun(root / "cache", pdf)


@pytest.fixture(scope="module")
def warmed(first_run: FirstRun) -> Path:
    """The cache folder one ledger of `source` filled (frames, covers, cards, …)."""
    return first_run.cache


@pytest.fixture
def warm_cache_dir(warmed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of `warmed` as the test's own cache folder."""
    folder = shutil.copytree(warmed, tmp_path / "cache")
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(folder))
    return folder


@dataclass(frozen=True)
class UncachedRun:
    """A ledger of `source` with CARDGEN_CACHE_DIR=off, run in a folder of its own (which
    is also the default cache folder's home): its PDF, and what appeared in the folder."""

    pdf: bytes
    made: set[str]
    cache_enabled: bool  # as the run's Cache.open() found it


@pytest.fixture(scope="module")
def uncached(tmp_path_factory: pytest.TempPathFactory) -> UncachedRun:
    """The PDF without any cache, made once: what every cached run must equal."""
    root = tmp_path_factory.mktemp("uncached")
    source = write_source(root / "grid.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARDGEN_CACHE_DIR", "off")
        patch.setenv("XDG_CACHE_HOME", str(root / "xdg"))  # the default folder
        patch.chdir(root)
        before = {p.name for p in root.iterdir()}
        enabled = Cache.open(load_config(), None).enabled
        pdf = ledger(source, root / "a")
        made = {p.name for p in root.iterdir()} - before
    return UncachedRun(pdf, made, enabled)


def ledger(source: Path, out: Path, *extra: str) -> bytes:
    result = CliRunner().invoke(cli, ["ledger", str(source), "-o", str(out), "--date", DATE,
                                      "--quiet", *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [pdf] = list(out.glob("*.pdf"))
    return pdf.read_bytes()


def entries(folder: Path, kind: str) -> list[Path]:
    return [p for p in (folder / kind).iterdir() if not p.name.startswith(".")]


def test_rerun_uses_the_cache_and_gives_the_same_bytes(first_run: FirstRun,
                                                       warm_cache_dir: Path,
                                                       uncached: UncachedRun,
                                                       source: Path, tmp_path: Path) -> None:
    """The first run (on an empty cache: `first_run`) fills it; a rerun draws nothing new;
    both give the PDF made without a cache."""
    cache_dir = warm_cache_dir
    assert entries(cache_dir, "frames") and entries(cache_dir, "placed-frames")
    cards = cache_entries(cache_dir, "cards")
    assert len(cards) == 30  # a bundle per household (its card and drawn pages), nothing else
    assert cache_entries(cache_dir, "ledger-pages")  # the cover and the index (a pack)
    second = ledger(source, tmp_path / "b")
    assert second == first_run.pdf
    # nothing new was drawn: no entry was added, nor written again (a new file or pack)
    assert cache_entries(cache_dir, "cards") == cards
    assert first_run.pdf == uncached.pdf


def test_one_changed_household_redraws_only_itself(source: Path, warm_cache_dir: Path,
                                                   warmed: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm cache holds `source`'s every card (`first_run` drew them); the ledger of
    the same register with one household changed draws that household alone, and prints
    what a ledger whose every card is drawn anew prints (from a cache holding the frames
    only: frames from a cache are the rerun test's)."""
    cache_dir = warm_cache_dir
    before = set(cache_entries(cache_dir, "cards"))
    lines = source.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",常住,", ",暂住,", 1)
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cached = ledger(changed, tmp_path / "b")
    assert len(set(cache_entries(cache_dir, "cards")) - before) == 1  # its bundle
    frames_only = tmp_path / "frames-only"
    for kind in ("frames", "metrics"):
        shutil.copytree(warmed / kind, frames_only / kind)
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(frames_only))
    assert cached == ledger(changed, tmp_path / "c")
    assert len(cache_entries(frames_only, "cards")) == 30  # every card drawn (bundles)


def test_a_cache_warmed_by_other_cards_gives_the_same_bytes(source: Path, cache_dir: Path,
                                                           tmp_path: Path,
                                                           uncached: UncachedRun) -> None:
    """Frames cached by an earlier run (one card's) must not change a ledger."""
    first_household = source.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    result = CliRunner().invoke(cli, ["reprint", str(source), "--household", first_household,
                                      "-o", str(tmp_path / "one.pdf"),
                                      "--date", DATE], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert entries(cache_dir, "frames")  # the card's frame, made by the reprint
    assert ledger(source, tmp_path / "a") == uncached.pdf


def test_the_cache_never_keeps_a_full_id_number(source: Path, warm_cache_dir: Path,
                                                tmp_path: Path) -> None:
    """The cache is a folder of the user's, readable by others under the usual umask and
    kept after the register is deleted: it holds what is printed (IDs masked), never the
    register itself. The same register read again and again (reprints, a ledger) must not
    leave a copy of its ID numbers there (session 6 reverted a register cache that did)."""
    import csv

    with source.open(encoding="utf-8") as handle:
        ids = {row["身份证号"] for row in csv.DictReader(handle) if len(row["身份证号"]) >= 15}
    assert len(ids) > 20
    household = source.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    for run in range(3):
        result = CliRunner().invoke(cli, ["reprint", str(source), "--household", household,
                                          "-o", str(tmp_path / f"one-{run}.pdf"),
                                          "--date", DATE], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    ledger(source, tmp_path / "again")
    kept = [path for path in warm_cache_dir.rglob("*") if path.is_file()]
    assert len(kept) > 30
    found = [(path.parent.name, number[:6]) for path in kept for number in ids
             if number.encode() in path.read_bytes()]
    assert found == []


def test_a_damaged_entry_is_a_miss_not_a_wrong_card(source: Path, warm_cache_dir: Path,
                                                    tmp_path: Path,
                                                    first_run: FirstRun) -> None:
    cache_dir = warm_cache_dir
    for path in entries(cache_dir, "cards") + entries(cache_dir, "frames"):
        path.write_bytes(path.read_bytes()[:20] + b"garbage")
    packs = list((cache_dir / PACKS).glob("*.pack"))
    assert packs  # the cards the ledger drew
    for pack in packs:  # every entry of each pack damaged, each where its index says
        damaged = bytearray(pack.read_bytes())
        for place in range(30, len(damaged), 500):
            damaged[place] ^= 0xFF
        pack.write_bytes(bytes(damaged))
    assert ledger(source, tmp_path / "b") == first_run.pdf


def test_cache_off_writes_nothing(uncached: UncachedRun) -> None:
    """CARDGEN_CACHE_DIR=off is no folder named "off" (made where cardgen runs), and
    nothing is written anywhere but the output (`uncached` ran so, in a folder of its
    own)."""
    assert not uncached.cache_enabled
    assert uncached.made == {"a"}


def test_a_changed_version_never_reads_old_entries(source: Path, warm_cache_dir: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry's name holds the version (and the code, templates, fonts, config)."""
    cache_dir = warm_cache_dir
    import cardgen
    from cardgen.cache import scope

    old = Cache(cache_dir, scope=scope(load_config(), None))
    old.put("frames", "a frame", b"old")
    kinds = {kind: set(cache_entries(cache_dir, kind))  # a ledger of `source` made them
             for kind in ("frames", "cards", "placed-frames", "ledger-pages")}
    monkeypatch.setattr(cardgen, "__version__", "99.0")
    new = Cache(cache_dir, scope=scope(load_config(), None))
    assert old.get("frames", "a frame") == b"old" and new.get("frames", "a frame") is None
    ledger(source, tmp_path / "b")
    for kind, found in kinds.items():  # everything made again, under new names
        assert set(cache_entries(cache_dir, kind)) - found, kind


@pytest.fixture
def libraries_looked_at_again() -> Iterator[None]:
    """cache.libraries_in_use looked at anew in this test, and again after it."""
    from cardgen.cache import libraries_in_use

    libraries_in_use.cache_clear()
    yield
    libraries_in_use.cache_clear()


def test_an_upgraded_library_never_reads_old_entries(
        source: Path, warm_cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        libraries_looked_at_again: None) -> None:
    """Frames WeasyPrint laid out, metrics, outlines and subsets depend on the libraries
    that made them: a WeasyPrint (pip) or a Pango (apt) of another version is in another
    scope, and the ledger after it makes everything anew."""
    from cardgen.cache import libraries_in_use, scope

    found = {name: version for name, version, _ in libraries_in_use()}
    for name in ("weasyprint", "fonttools", "uharfbuzz", "pikepdf", "zlib"):
        assert found.get(name), name
    before = scope(load_config(), None)
    kinds = {kind: set(cache_entries(warm_cache_dir, kind))
             for kind in ("frames", "cards", "placed-frames", "ledger-pages")}
    # WeasyPrint upgraded: its dist-info in a site-packages folder ahead of the others
    upgraded = tmp_path / "upgraded" / "site-packages"
    (upgraded / "weasyprint-99.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(upgraded), *sys.path])
    libraries_in_use.cache_clear()
    assert ("weasyprint", "99.0", 0) in libraries_in_use()
    weasyprint = scope(load_config(), None)
    # Pango upgraded (sys.path as it was): the file its name leads to is another
    monkeypatch.undo()
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(warm_cache_dir))
    system = tmp_path / "lib"
    system.mkdir()
    (system / "libpango-1.0.so.0.9900.0").write_bytes(b"a newer Pango")
    (system / "libpango-1.0.so.0").symlink_to("libpango-1.0.so.0.9900.0")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(system))
    libraries_in_use.cache_clear()
    assert ("libpango-1.0.so.0", "libpango-1.0.so.0.9900.0", 13) in libraries_in_use()
    pango = scope(load_config(), None)
    assert len({before, weasyprint, pango}) == 3
    ledger(source, tmp_path / "b")
    for kind, earlier in kinds.items():  # everything made again, under new names
        assert set(cache_entries(warm_cache_dir, kind)) - earlier, kind


def test_the_default_paper_named_finds_what_the_default_drew(
        source: Path, warm_cache_dir: Path, first_run: FirstRun, tmp_path: Path) -> None:
    """`--paper A4` is the default paper said aloud: the ledger finds every card and page
    the default's run drew (they were named apart before), and prints the same bytes;
    another paper draws its own."""
    kinds = ("frames", "cards", "placed-frames", "ledger-pages")
    before = {kind: set(cache_entries(warm_cache_dir, kind)) for kind in kinds}
    assert ledger(source, tmp_path / "a4", "--paper", "A4") == first_run.pdf
    assert {kind: set(cache_entries(warm_cache_dir, kind)) for kind in kinds} == before
    ledger(source, tmp_path / "a5", "--paper", "A5")
    assert set(cache_entries(warm_cache_dir, "cards")) - before["cards"]


def test_a_ledger_from_the_cache_takes_its_book_entries_from_the_cards_kept(
        source: Path, warm_cache_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each card drawn for a ledger is kept with its household's book entry values
    (record.entry_values, run.card_bundle): a rerun from the cache works none of them out
    again, and its record is the one a run without the cache writes."""
    from cardgen.pipeline import ledgers

    worked_out: list[str] = []
    entry_values = ledgers.entry_values

    def counted(*args: Any) -> tuple[Any, ...]:
        worked_out.append(args[0].household_id)
        return entry_values(*args)

    monkeypatch.setattr(ledgers, "entry_values", counted)
    ledger(source, tmp_path / "warm")
    assert worked_out == []
    monkeypatch.setenv("CARDGEN_CACHE_DIR", "off")
    ledger(source, tmp_path / "uncached")
    assert len(worked_out) == 30  # the grid's households, each worked out here
    assert ((tmp_path / "warm" / "manifest.json").read_bytes()
            == (tmp_path / "uncached" / "manifest.json").read_bytes())


def test_the_cache_stays_under_its_bound(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c", "a test's scope", max_bytes=10_000)
    for index in range(30):
        cache.put("cards", f"{index:064x}", os.urandom(1000))
    assert cache.size() > 10_000
    removed = cache.prune()
    assert removed > 0 and cache.size() <= 10_000
    assert cache.get("cards", f"{29:064x}") is not None  # the newest stay


def test_prune_scans_the_folder_only_when_its_tally_may_be_over_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scanning stats every entry (0.43 s for 100,000): a cache under its bound by its
    tally is not scanned; what other processes put counts; a damaged or day-old tally, or
    none, means a scan."""
    from cardgen import cache as cache_module

    folder = tmp_path / "c"
    first, second = (Cache(folder, "a test's scope", max_bytes=10_000) for _ in range(2))
    for index in range(5):
        first.put("cards", f"{index:064x}", os.urandom(1000))
    assert first.prune() == 0  # no tally yet: scanned, and the tally starts
    scans = []
    entries = Cache._entries
    monkeypatch.setattr(Cache, "_entries", lambda self: scans.append(1) or entries(self))
    second.put("cards", f"{5:064x}", os.urandom(1000))
    assert first.prune() == 0 and scans == []  # 6,072 bytes by the tally: no scan
    for index in range(6, 12):  # another process's entries count as well
        second.put("cards", f"{index:064x}", os.urandom(1000))
    assert first.prune() > 0 and scans == [1]
    assert sum(path.stat().st_size for path in (folder / "cards").iterdir()) <= 10_000
    assert first.get("cards", f"{11:064x}") is not None  # the newest stay
    assert first.prune() == 0 and scans == [1]  # the scan's tally is trusted
    (folder / cache_module.MEASURED).write_text("damaged")
    assert first.prune() == 0 and scans == [1, 1]
    left = folder / ".killed-while-measuring.tmp"  # a tally a killed prune left unwritten
    left.write_text("1")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    size = sum(path.stat().st_size for path in (folder / "cards").iterdir())
    (folder / cache_module.MEASURED).write_text(
        f"{size} {time.time() - cache_module.RESCAN_AFTER - 60}\n")
    assert first.prune() == 0 and scans == [1, 1, 1]
    assert not left.exists()  # swept by the scan, as the kinds' own


def test_entries_put_together_are_one_pack_found_as_any_entry(tmp_path: Path) -> None:
    """Cache.put_many: one file (a pack) and a line of its index for each entry, not a file
    each (creating files was 7.3 s of a cold 10,000-card ledger); every entry is found as
    a file's is, by this cache, by another (another run), and by one that read the index
    before they were put (the desk, running on). A Packer writes a pack once it holds
    PACK_BYTES, and the rest when flushed."""
    from cardgen.cache import PACK_BYTES

    folder = tmp_path / "c"
    reader = Cache(folder, "a test's scope")
    assert reader.get("cards", "card 0") is None  # it has read the (empty) index
    writer = Cache(folder, "a test's scope")
    data = {f"card {n}": os.urandom(1000 + n) for n in range(40)}
    writer.put_many("cards", list(data.items()))
    assert [p.name for p in (folder / "cards").iterdir()] == []
    assert len(list((folder / PACKS).glob("*.pack"))) == 1
    assert len(cache_entries(folder, "cards")) == 40
    for cache in (writer, reader, Cache(folder, "a test's scope")):
        assert all(cache.get("cards", name) == value for name, value in data.items())
    assert Cache(folder, "another scope").get("cards", "card 0") is None
    assert writer.get("ledger-pages", "card 0") is None  # another kind's name
    packer = writer.packer("cards")
    big = [(f"big {n}", os.urandom(PACK_BYTES // 2)) for n in range(3)]
    for name, value in big:
        packer.put(name, value)
    assert len(list((folder / PACKS).glob("*.pack"))) == 2  # the first two, at the bound
    assert reader.get("cards", "big 2") is None  # held, not yet in the cache
    packer.flush()
    assert len(list((folder / PACKS).glob("*.pack"))) == 3
    assert [reader.get("cards", name) for name, _ in big] == [value for _, value in big]


def test_an_entry_put_again_after_its_pack_went_is_found(tmp_path: Path) -> None:
    """The desk runs on while another run prunes the pack it read an entry from, and a
    third puts the entry again: the desk finds it in its new pack, not a miss forever."""
    folder = tmp_path / "c"
    desk, other = Cache(folder, "a test's scope"), Cache(folder, "a test's scope")
    other.put_many("cards", [("card", b"drawn"), ("another", b"1")])
    assert desk.get("cards", "card") == b"drawn"
    for pack in (folder / PACKS).glob("*.pack"):
        pack.unlink()  # pruned
    other.put_many("cards", [("card", b"drawn"), ("another", b"2")])
    assert desk.get("cards", "card") == b"drawn"


def test_a_damaged_index_is_a_miss_not_a_failure(tmp_path: Path) -> None:
    """Garbage in the packs' index (a disk error, a write cut short) makes its entries
    misses; the lines after it are read, and a run goes on."""
    folder = tmp_path / "c"
    cache = Cache(folder, "a test's scope")
    cache.put_many("cards", [("card", b"drawn")])
    [index] = (folder / PACKS).glob("cards-*.idx")
    whole = index.read_bytes()
    index.write_bytes(b"\xff\xfe garbage \x00 1 2\n\xc3\x28 \xa0 3 4\n" + whole)
    assert Cache(folder, "a test's scope").get("cards", "card") == b"drawn"
    index.write_bytes(b"\xff" * 40 + b" x 1 2\na \xa0\xff 3 4\n")
    assert Cache(folder, "a test's scope").get("cards", "card") is None
    pruning = Cache(folder, "a test's scope", max_bytes=1)
    assert pruning.prune() == 1  # the pack; the damaged index is written anew, not a failure
    assert index.read_bytes() == b""


def test_pruning_packs_drops_them_from_the_index(tmp_path: Path) -> None:
    """A pack is pruned as an entry is (least recently used first); its lines leave the
    index, which a reader then reads anew; the entries of the packs kept are found."""
    folder = tmp_path / "c"
    cache = Cache(folder, "a test's scope", max_bytes=30_000)
    for pack in range(6):
        cache.put_many("cards", [(f"{pack}-{n}", os.urandom(1000)) for n in range(5)])
        for path in (folder / PACKS).glob("*.pack"):  # each older than the next
            if time.time() - path.stat().st_mtime < 1:
                os.utime(path, (time.time() - 600 + pack, time.time() - 600 + pack))
    assert cache.get("cards", "0-0") is not None  # the index read here, before the prune
    assert cache.prune() > 0
    assert cache.size() <= 30_000
    names = set(cache_entries(folder, "cards"))
    assert len(names) < 30 and len(names) % 5 == 0
    assert cache.get("cards", "0-0") is None and cache.get("cards", "5-4") is not None
    assert Cache(folder, "a test's scope").get("cards", "5-0") is not None
    kept = {p.name for p in (folder / PACKS).glob("*.pack")}
    assert {pack for pack, _ in cache_entries(folder, "cards").values()} == kept


def test_an_entry_read_is_marked_as_used_unless_it_was_lately(tmp_path: Path) -> None:
    """Reading an entry sets its time to now (prune keeps it longest), but not when it
    was set within MARKED_FOR: a ledger's 2,000 entries read again are not all touched."""
    from cardgen.cache import MARKED_FOR

    cache = Cache(tmp_path / "c", "a test's scope")
    cache.put("cards", "old", b"old")
    cache.put("cards", "new", b"new")
    old, new = (Path(cache._path("cards", name)) for name in ("old", "new"))
    long_ago = time.time() - MARKED_FOR - 60
    lately = time.time() - MARKED_FOR / 2
    os.utime(old, (long_ago, long_ago))
    os.utime(new, (lately, lately))
    assert cache.get("cards", "old") == b"old" and cache.get("cards", "new") == b"new"
    assert old.stat().st_mtime > time.time() - 60  # marked now
    assert new.stat().st_mtime == pytest.approx(lately)  # left as it was


def test_two_runs_can_share_one_cache(source: Path, cache_dir: Path, tmp_path: Path,
                                      warmed: Path, uncached: UncachedRun) -> None:
    """Two ledgers at once fill one cache with their cards (each draws all of them: no
    card, cover or subset is there), neither reading the other's half-written entry. The
    frames are there already (from `warmed`): laying them out is not what is shared."""
    for kind in ("frames", "metrics"):
        shutil.copytree(warmed / kind, cache_dir / kind)
    env = {**os.environ, "CARDGEN_CACHE_DIR": str(cache_dir)}
    runs = [subprocess.Popen([sys.executable, "-m", "cardgen", "ledger", str(source), "-o",
                              str(tmp_path / name), "--date", DATE, "--quiet"], env=env,
                             stderr=subprocess.PIPE) for name in ("x", "y")]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    [x] = list((tmp_path / "x").glob("*.pdf"))
    [y] = list((tmp_path / "y").glob("*.pdf"))
    assert x.read_bytes() == y.read_bytes() == uncached.pdf
    assert cache_entries(cache_dir, "cards") and entries(cache_dir, "placed-frames")


def test_what_is_put_within_packed_is_one_pack_found_meanwhile(tmp_path: Path) -> None:
    """Cache.packed: within the block, entries of its kind go into one pack, found by `get`
    before it is written (a ledger's index page looks up the template it just put); other
    kinds, and a narrowed copy (another run's names), put files as before."""
    folder = tmp_path / "c"
    cache = Cache(folder, "a test's scope")
    narrowed = cache.printing("layout", "options")
    with cache.packed("ledger-pages"):
        cache.put("ledger-pages", "page 1", b"one")
        cache.put("ledger-pages", "template", b"t")
        assert cache.get("ledger-pages", "template") == b"t"
        assert list((folder / PACKS).glob("*.pack")) == []  # not yet
        cache.put("cards", "a card", b"c")
        narrowed.put("ledger-pages", "page 1", b"other run")
    assert len(list((folder / PACKS).glob("*.pack"))) == 1
    assert sorted(cache_entries(folder, "ledger-pages")) == sorted(
        [cache.entry_name("ledger-pages", "page 1"), cache.entry_name("ledger-pages", "template"),
         narrowed.entry_name("ledger-pages", "page 1")])
    assert [p.name for p in (folder / "cards").iterdir()] == [cache.entry_name("cards", "a card")]
    again = Cache(folder, "a test's scope")
    assert again.get("ledger-pages", "page 1") == b"one"
    assert again.printing("layout", "options").get("ledger-pages", "page 1") == b"other run"
