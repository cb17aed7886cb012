"""`cardgen prepare`: the bundled templates' frames laid out once beside the install, read by
a first card from an empty cache (the same bytes, no frame laid out again), and never by a
run of another configuration."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cardgen import compiled
from cardgen.cache import CODE_KEPT, Cache, scope
from cardgen.config import DEFAULTS_KEPT, load_config
from cardgen.data.select import Selection, select_households
from cardgen.frame.render import Frame
from cardgen.pipeline.register import load
from cardgen.printing import prepared
from cardgen.printing.run import PrintRun, card_frame, make_cards
from tests.conftest import DATE, HEADER, household_rows, pdftotext, write_csv
from tests.print.test_bytes import REGISTER, SUMS, Run

CHOSEN = ("G01-0001", "G01-0002", "G02-0003")  # tests/test_bytes.py's reprint


def sample_frames(printing: PrintRun) -> list[Frame]:
    """The frames of the byte guard's reprint only (all of them would take the test ~20 s)."""
    loaded = load(REGISTER, printing.config, dt.date.fromisoformat(DATE))
    chosen = select_households(loaded.dataset.households, loaded.categories,
                               Selection(households=CHOSEN))
    cards = make_cards(chosen, loaded.categories, loaded.numbers, printing, False)
    return list(dict.fromkeys(card_frame(printing, card, page.number, False)
                              for card in cards for page in card.pages))


def test_a_first_card_reads_the_frames_prepared_at_install(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, cache = tmp_path / "prepared", tmp_path / "cache"
    monkeypatch.setenv("CARDGEN_PREPARED_DIR", str(store))
    monkeypatch.setattr(prepared, "bundled_frames", sample_frames)
    monkeypatch.setattr(prepared, "bundled_covers", lambda config: [])  # cards only
    monkeypatch.setattr(prepared, "common_characters", lambda: "")  # outlines: tested below
    result = run("prepare")
    assert result.exit_code == 0, result.output
    assert f"page frames in {store}" in result.output
    manifest = json.loads((store / prepared.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["frames"] == len(list((store / "frames").iterdir())) - 2  # + 2 geometries
    # and every module's dataclasses' methods, compiled (tests/unit/test_kept_at_install.py)
    assert manifest["dataclass_methods"] > 400 and (store / compiled.FILE).is_file()
    # the defaults parsed and the code's fingerprint, too (tests/unit/test_kept_at_install.py)
    assert (store / DEFAULTS_KEPT).is_file() and (store / CODE_KEPT).is_file()
    assert prepared.prepared_for(load_config(), store) == manifest["frames"]

    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(cache))  # a user's first run: empty
    out = tmp_path / "cards.pdf"
    command = [a for h in CHOSEN for a in ("--household", h)]
    result = run("reprint", REGISTER, "-o", out, *command, "--date", DATE)
    assert result.exit_code == 0, result.output
    expected = json.loads(SUMS.read_text(encoding="utf-8"))["reprint"]["cards.pdf"]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected
    assert not list((cache / "frames").iterdir())  # every frame came from the store
    # and how each is copied (compose.frame_steps): the run read no frame with pikepdf,
    # which a first card then never imports (25 ms)
    assert not list((cache / "frame-steps").iterdir())
    script = ("import atexit, sys; atexit.register(lambda: print('pikepdf' in sys.modules)); "
              "from cardgen.cli.commands import main; main()")
    again = subprocess.run(
        [sys.executable, "-c", script, "reprint", str(REGISTER), "-o", str(out),
         *command, "--date", DATE], capture_output=True, text=True, timeout=120,
        env={**os.environ, "CARDGEN_CACHE_DIR": str(tmp_path / "second")})
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "False"


def test_prepared_frames_are_not_read_by_another_configuration(tmp_path: Path) -> None:
    store = tmp_path / "prepared"
    config = load_config()
    (store / "frames").mkdir(parents=True)
    (store / prepared.MANIFEST).write_text(json.dumps({"scope": scope(config, None),
                                                       "frames": 1}),
                                           encoding="utf-8")
    Cache(store, scope(config, None)).put("frames", "a frame", b"laid out")
    other_file = tmp_path / "cardgen.toml"
    other_file.write_text("[card]\nhousehold_grow = 2\n", encoding="utf-8")
    other = load_config(other_file)

    def user(config_scope: str) -> Cache:
        return Cache(tmp_path / "cache", config_scope, prepared=store)

    assert user(scope(config, None)).get("frames", "a frame") == b"laid out"
    assert user(scope(other, None)).get("frames", "a frame") is None
    assert user(scope(config, None)).get("cards", "a frame") is None  # frames and metrics only
    assert prepared.prepared_for(config, store) == 1
    assert prepared.prepared_for(other, store) is None
    assert prepared.prepared_for(config, None) is None


def test_a_first_cards_glyphs_are_taken_on_the_grid_as_prepared_at_install(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cardgen prepare` puts the common characters' glyphs on the outline grid (GB 2312's
    level one and what cardgen's own words print; here two of them, for time), and apart
    from them the rarer ones' (its level two; here one): a user's first card, from an empty
    cache, embeds them as they are (cardgen/pdf/subset.py), the same bytes as a subset made
    from nothing. The user's cache then keeps the rarer glyph that card used, not them all."""
    from cardgen import resources
    from cardgen.layout.fonts import font_set
    from cardgen.pdf import subset
    from cardgen.resources import prepared_folder

    common, rarer = prepared.common_characters(), prepared.rarer_characters()
    assert {"户", "卡", "秀", "，", "A", "0", "▣", "—"} <= set(common) and len(common) == 4536
    assert {"鑫", "梓", "怡"} <= set(rarer) and len(rarer) == 3008 and not set(common) & set(rarer)
    store = tmp_path / "prepared"
    monkeypatch.setenv("CARDGEN_PREPARED_DIR", str(store))
    monkeypatch.setattr(prepared, "bundled_frames", lambda printing: [])
    monkeypatch.setattr(prepared, "bundled_covers", lambda config: [])
    monkeypatch.setattr(prepared, "common_characters", lambda: "户卡")
    monkeypatch.setattr(prepared, "rarer_characters", lambda: "鑫卡")
    result = run("prepare")
    assert result.exit_code == 0, result.output
    manifest = json.loads((store / prepared.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["outlines"] == 2 * 3  # 户, 卡 and .notdef of the regular and bold fonts
    assert manifest["rarer_outlines"] == 2 * 1  # 鑫 (卡 is a common one)

    config = load_config()
    face = font_set(config).regular[0]
    glyphs = {face.cmap[ord("户")], face.cmap[ord("鑫")]}
    fresh = subset.subset_font(resources.REGULAR_FONT, glyphs)

    def refuse(charstring: object, grid: int, private: object) -> list[object]:
        raise AssertionError("a prepared glyph put on the grid again")

    monkeypatch.setattr(subset, "_on_grid", refuse)
    subset._KEPT.clear()
    user = Cache(tmp_path / "cache", scope(config, None), prepared=prepared_folder())
    assert subset.cached_subset(resources.REGULAR_FONT, glyphs, user).program == fresh.program
    kept = marshal.loads(user.get("outlines", subset.outlines_name(resources.REGULAR_FONT)))
    assert len(kept) == 4  # 户, 卡, .notdef and the 鑫 this card shows


def test_prepare_without_a_folder_is_a_usage_error(run: Run,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDGEN_PREPARED_DIR", "off")
    result = run("prepare")
    assert result.exit_code == 2
    assert "CARDGEN_PREPARED_DIR is off" in result.output


def grid_register(path: Path, community: str, grid: str, worker: str) -> Path:
    """One household (a 低保 one: the sticker slots' flags only) of a grid of its own."""
    return write_csv(path, household_rows("H1", 社区=community, 网格=grid, 网格员=worker),
                     [*HEADER, "网格员"])


def test_a_grids_ledger_after_another_grids_starts_no_weasyprint(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cover frame holds no grid's words (cardgen draws them): a second grid's ledger
    reads the first's frames, a long community made to fit its place."""
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CARDGEN_PREPARED_DIR", "off")
    first = grid_register(tmp_path / "first.csv", "恒安社区", "第3网格", "赵丽娜")
    long_name = "和平街道幸福里第一社区居民委员会东区新村南片区第三小区"
    second = grid_register(tmp_path / "second.csv", long_name, "第9网格", "欧阳·娜仁花")
    result = run("ledger", first, "-o", tmp_path / "first", "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output

    def no_weasyprint(self: PrintRun) -> None:
        raise AssertionError("WeasyPrint started")

    monkeypatch.setattr(PrintRun, "renderer", no_weasyprint)
    result = run("ledger", second, "-o", tmp_path / "second", "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    [ledger] = json.loads((tmp_path / "second" / "manifest.json").read_text(
        encoding="utf-8"))["ledgers"]
    cover = pdftotext(tmp_path / "second" / ledger["file"], 1).replace(" ", "")
    for words in ("第9网格", "欧阳·娜仁花", "1户"):
        assert words in cover, cover
    assert long_name in cover.replace("\n", "")  # wrapped, whole


def test_a_ledger_and_a_kit_read_their_frames_prepared_at_install(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`prepare` lays out every cover shape (6 for each count of flag columns, 4 … 12);
    laying out the shapes of the least count only (the test's grid: its sticker slots'
    flags only), 6 of the 54, keeps the test to seconds: the others differ by a number."""
    least = len(load_config().flags.sticker_slots)
    every_cover = prepared.bundled_covers(load_config())
    assert len(every_cover) == 6 * (12 - least + 1)  # a cover has 4 … 12 flag columns
    assert len({json.dumps(cover, sort_keys=True) for cover in every_cover}) == len(every_cover)
    monkeypatch.setattr(prepared, "bundled_covers", lambda config: [
        cover for cover in every_cover if cover["flag_columns"] == least])
    store, cache = tmp_path / "prepared", tmp_path / "cache"
    monkeypatch.setenv("CARDGEN_PREPARED_DIR", str(store))
    monkeypatch.setattr(prepared, "bundled_frames", lambda printing: [])  # covers only
    monkeypatch.setattr(prepared, "common_characters", lambda: "")
    result = run("prepare")
    assert result.exit_code == 0, result.output
    manifest = json.loads((store / prepared.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["covers"] == 6 and manifest["kit_frames"] == 2  # emergency
    assert len(list((store / "placed-frames").iterdir())) == 6 + 2  # red, orange

    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(cache))  # a user's first ledger
    register = grid_register(tmp_path / "grid.csv", "恒安社区", "第3网格", "赵丽娜")
    result = run("ledger", register, "-o", tmp_path / "ledger", "--date", DATE, "--quiet")
    assert result.exit_code == 0, result.output
    assert not list((cache / "placed-frames").glob("*"))  # the cover came from the store
    result = run("emergency", register, "-o", tmp_path / "kit", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert not list((cache / "placed-frames").glob("*"))  # so did the roster and 明白卡
    result = run("ledger", register, "-o", tmp_path / "urgent", "--date", DATE, "--quiet",
                 "--emergency", "--colour", "red", "--colour", "orange")
    assert result.exit_code == 0, result.output  # the desk's 应急批量打印 of a grid
    assert not list((cache / "placed-frames").glob("*"))
