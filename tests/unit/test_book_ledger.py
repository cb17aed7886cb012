"""cardgen/book/ledger.py's plan without a layout: the order cards stand in a book, the
ledgers a run prints, and the cover's counts of flags."""

from __future__ import annotations

import pytest

from cardgen.book.ledger import _flag_counts, grid_group, group_households, ledger_order
from cardgen.config import Config, load_config
from cardgen.data.model import Household, Member
from cardgen.layout.printed import printed_household


def home(hid: str, address: str, grid: str = "第3网格", community: str = "恒安社区",
         flags: tuple[tuple[str, ...], ...] = ((),)) -> Household:
    return Household(hid, "grid.csv", 2, community=community, grid=grid, address=address,
                     members=[Member(f"{hid}-{n}", "户主" if n == 0 else "子", n == 0,
                                     flags=member) for n, member in enumerate(flags)])


def test_cards_stand_grid_by_grid_in_address_order_or_by_number() -> None:
    households = [home("H3", "10号楼"), home("H1", "2号楼", grid="第10网格"),
                  home("H2", "2号楼"), home("H4", "1号楼", community="安康社区")]
    assert [h.household_id for h in ledger_order(households)] == ["H4", "H2", "H3", "H1"]
    numbers = {"H1": "001", "H2": "002", "H3": "001", "H4": "001"}
    assert [h.household_id for h in ledger_order(households, numbers)] == [
        "H4", "H3", "H2", "H1"]


def test_a_run_prints_a_ledger_per_grid_per_community_or_one() -> None:
    households = [home("H1", "1号楼"), home("H2", "1号楼", grid="第4网格"),
                  home("H3", "1号楼", grid="", community="")]
    assert {k: [h.household_id for h in v] for k, v in
            group_households(households, "grid").items()} == {
        "未分网格": ["H3"], "恒安社区 第3网格": ["H1"], "恒安社区 第4网格": ["H2"]}
    assert list(group_households(households, "community")) == ["未填社区", "恒安社区"]
    assert list(group_households(households, "all")) == ["全部"]
    assert grid_group(households[2]) == "未分网格"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def test_the_cover_counts_people_and_households_per_flag_as_they_print(
        config: Config) -> None:
    households = [home("H1", "1号楼", flags=(("低保", "社区矫正"), ("低保",))),
                  home("H2", "2号楼", flags=(("刑满释放",), ("自定义标记",)))]
    printed = [printed_household(household, config) for household in households]
    counts = {row.flag: (row.people, row.households) for row in _flag_counts(printed, config)}
    assert counts["低保"] == (2, 1)
    assert counts["重点人员"] == (2, 2)  # two red sub-types, counted as they print
    assert "社区矫正" not in counts and "刑满释放" not in counts
    assert counts["大病"] == (0, 0)  # a sticker slot is always a column
    assert counts["其他 1 项"] == (1, 1)  # free text, together
