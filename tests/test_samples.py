"""The bundled samples: what the generator makes, and every case a card has to handle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from cardgen.config import load_config
from cardgen.pipeline import load
from cardgen.resources import SAMPLES
from cardgen.samplegen import HEADERS, write_samples
from tests.conftest import TODAY


def test_the_committed_samples_are_what_the_generator_makes(tmp_path: Path) -> None:
    made = write_samples(tmp_path)
    assert sorted(p.name for p in made) == sorted(p.name for p in SAMPLES.iterdir())
    for path in made:
        assert (SAMPLES / path.name).read_bytes() == path.read_bytes(), path.name
    book = openpyxl.load_workbook(SAMPLES / "households.xlsx", read_only=True)
    try:
        assert next(book.worksheets[0].iter_rows(values_only=True)) == HEADERS
    finally:
        book.close()


def test_the_samples_cover_every_case() -> None:
    config = load_config()
    loaded = load(SAMPLES / "households.xlsx", config, TODAY)
    households = loaded.dataset.households
    assert not loaded.dataset.problems
    assert {c.key for c in loaded.categories.values()} == set(config.palette)
    flags = {f for h in households for m in h.members for f in m.flags}
    # every sticker slot, every red sub-type and the overflow row's usual flags
    assert flags >= {*config.sticker_slots, *config.red_subtypes[:4], "特困", "空巢", "独居",
                     "重点人员", "党员", "退役军人", "留守儿童", "失业"}
    assert any(not h.members and h.housing == "空置" for h in households)
    assert max(len(h.members) for h in households) >= 12
    assert any("·" in m.name for h in households for m in h.members)
    assert any(h.colour for h in households)  # an explicit 户卡颜色
    assert any(h.housing == "出租" and h.owner for h in households)
    assert any(m.residence == "流动" for h in households for m in h.members)
    assert any(h.multiple_homes and h.moves_often for h in households)
    assert len({h.grid for h in households}) == 2
    assert list(HEADERS)[:3] == ["户编号", "社区", "网格"]


def test_the_gb18030_sample_reads_like_the_utf8_one() -> None:
    config = load_config()
    utf8 = load(SAMPLES / "households.csv", config, TODAY).dataset.households
    gb = load(SAMPLES / "households-gb18030.csv", config, dt.date(2026, 11, 29)).dataset
    assert not gb.problems
    assert [h.household_id for h in gb.households] == \
        [h.household_id for h in utf8[:len(gb.households)]]
