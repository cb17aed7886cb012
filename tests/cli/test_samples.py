"""The bundled samples: what the generator makes, and every case a card has to handle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from cardgen.config import load_config
from cardgen.pipeline.register import load
from cardgen.resources import SAMPLES
from cardgen.samplegen import HEADERS, generate, write_samples
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
    assert flags >= {*config.flags.sticker_slots, *config.flags.red_subtypes[:4], "特困", "空巢",
                     "独居", "重点人员", "党员", "退役军人", "留守儿童", "失业"}
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


def test_the_office_register_sample_reads_like_the_households_it_was_made_from() -> None:
    """samples/office-register.xlsx: a title naming community and grid, a 填表单位 line naming
    the grid worker, a two-level header, 户号 住址 房屋状况 merged down each family, blank rows
    between buildings, the office's words, 合计 and 填表人 lines: read into the households the
    generator made, and nothing else."""
    config = load_config()
    loaded = load(SAMPLES / "office-register.xlsx", config, TODAY)
    households = loaded.dataset.households
    rows = list(generate(30, seed=11, grids=1))
    assert [(p.code, p.row) for p in loaded.dataset.problems] == [("row.total", 96),
                                                                  ("row.signature", 97)]
    assert [m.id_number for h in households for m in h.members] == \
        [r["身份证号"] for r in rows if r["身份证号"]]
    people = [r for r in rows if r["姓名"]]
    assert [(m.name, m.residence, m.flags) for h in households for m in h.members] == \
        [(r["姓名"], r["居住状态"], (r["特殊情况"],) if r["特殊情况"] else ()) for r in people]
    assert {(h.community, h.grid, h.grid_worker, h.grid_worker_phone) for h in households} == \
        {("和平社区", "第一网格", "赵丽娜", "13947210001")}
    by_id = {r["户编号"]: r for r in rows}
    made = list(by_id.values())
    assert [(h.housing, h.owner) for h in households] == [(r["房屋状态"], r["房主"]) for r in made]
    assert {c.key for c in loaded.categories.values()} == set(config.palette)
