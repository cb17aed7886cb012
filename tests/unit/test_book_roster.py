"""cardgen/book/roster.py: where a household lives as a worker walks to it, who needs help
first and why, and the roster in walking order."""

from __future__ import annotations

import datetime as dt

import pytest

from cardgen.book.roster import Location, family_phone, locate, make_roster, needs_of
from cardgen.config import Config, load_config
from cardgen.data.model import Household, Member

TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def home(hid: str, address: str, *members: Member, **columns: str) -> Household:
    return Household(hid, "grid.csv", 2, community="恒安社区", grid="第3网格", address=address,
                     members=list(members), **columns)  # type: ignore[arg-type]


@pytest.mark.parametrize(("address", "columns", "place"), [
    ("阳光花园2号楼1单元302", {}, Location("阳光花园", "2", "1", 3, "302")),
    ("锦绣家园 1-2-1201", {}, Location("锦绣家园", "1", "2", 12, "1201")),
    ("幸福里 5-302室", {}, Location("幸福里", "5", "", 3, "302")),
    ("长安小区A栋3层东户", {}, Location("长安小区", "A", "", 3, "")),
    ("", {"estate": "阳光花园", "building": "7号楼", "unit": "2", "room": "501"},
     Location("阳光花园", "7", "2", 5, "501")),
])
def test_a_home_is_found_from_its_address_or_columns(address: str, columns: dict[str, str],
                                                     place: Location) -> None:
    assert locate(home("H1", address, **columns)) == place


def test_who_needs_help_first_and_why_in_the_words_that_print(config: Config) -> None:
    aged = Member("王奶奶", "户主", True, birth_date=dt.date(1940, 1, 1), flags=("独居", "低保"))
    baby = Member("小明", "孙子", birth_date=dt.date(2025, 6, 1))
    guarded = Member("李某", "子", birth_date=dt.date(1980, 1, 1), flags=("残疾", "社区矫正"))
    nobody = Member("张三", "子", birth_date=dt.date(1990, 1, 1), flags=("低保",))
    assert needs_of(aged, config, TODAY) == ("独居", "高龄")
    assert needs_of(baby, config, TODAY) == ("婴幼儿",)
    assert needs_of(guarded, config, TODAY) == ("残疾",)  # a red sub-type is no need
    assert needs_of(nobody, config, TODAY) == ()


def test_the_family_phone_is_the_heads_else_anothers_never_the_persons_own() -> None:
    head = Member("王芳", "户主", True, phone="13800000001")
    son = Member("李强", "子", phone="13800000002")
    granny = Member("王奶奶", "母亲", phone="13800000001")  # shares the head's phone
    household = home("H1", "1号楼", son, head, granny)
    assert family_phone(household, son) == "13800000001"
    assert family_phone(household, head) == "13800000002"
    assert family_phone(household, granny) == "13800000002"


def test_the_roster_is_in_walking_order_and_holds_no_id_number(config: Config) -> None:
    def old(name: str) -> Member:
        return Member(name, "户主", True, birth_date=dt.date(1930, 1, 1),
                      id_number="110105193001010011")

    households = [home("H1", "阳光花园10号楼1单元101", old("甲")),
                  home("H2", "阳光花园2号楼1单元1201", old("乙")),
                  home("H3", "阳光花园2号楼1单元301", old("丙")),
                  home("H4", "阳光花园2号楼1单元", old("丁")),  # no floor: last in its unit
                  home("H5", "阳光花园2号楼1单元301", Member("戊", "户主", True))]  # no need
    numbers = {f"H{n}": f"{n:03d}" for n in range(1, 6)}
    roster = make_roster(households, numbers, config, TODAY)
    assert [entry.name for entry in roster] == ["丙", "乙", "丁", "甲"]
    assert roster[0].as_dict() == {
        "number": "003", "household_id": "H3", "building": "阳光花园2号楼", "unit": "1",
        "floor": 3, "name": "丙", "age": 96, "needs": ["高龄"], "phone": "",
        "family_phone": ""}
    assert all("110105" not in str(entry) for entry in roster)
