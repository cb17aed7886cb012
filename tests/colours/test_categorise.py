"""The five colours: explicit colour, the default rules in order, reasons and visit frequency."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cardgen.config import Config
from cardgen.data.categorise import categorise, categorise_all, explain
from cardgen.data.model import Household, Member
from tests.conftest import TODAY


def home(*members: Member, housing: str = "自住", colour: str = "") -> Household:
    return Household("H1", "test.csv", 2, housing=housing, colour=colour, members=list(members))


def person(name: str = "张三", flags: tuple[str, ...] = (), age: int = 40,
           residence: str = "常住") -> Member:
    born = dt.date(TODAY.year - age, 1, 1)
    return Member(name=name, flags=flags, birth_date=born, residence=residence)


@pytest.mark.parametrize(("household", "colour", "reason"), [
    (home(housing="空置"), "green", "房屋空置、无人居住"),
    (home(person(residence="空挂"), housing="空置"), "green", "房屋空置、无人居住"),
    (home(person("李四", ("社区矫正",))), "red", "李四 重点人员"),
    (home(person("张秀英", ("低保",)), person("王五", ("残疾",))), "orange",
     "张秀英 低保、王五 残疾"),
    (home(person(age=70), person(age=66)), "orange", "全员60岁以上"),
    (home(person(), housing="出租"), "blue", "房屋出租"),
    (home(person(residence="流动"), person(residence="暂住")), "blue", "全员流动/暂住"),
    (home(person(), person(age=12)), "yellow", "无特殊情况"),
])
def test_default_rules(config: Config, household: Household, colour: str, reason: str) -> None:
    category = categorise(household, config, TODAY)
    assert category.key == colour
    assert "、".join(category.reasons) == reason
    assert not category.explicit


def test_red_wins_over_orange_in_rule_order(config: Config) -> None:
    household = home(person("甲", ("低保",)), person("乙", ("吸毒",)))
    assert categorise(household, config, TODAY).key == "red"


def test_red_subtype_shown_only_when_privacy_allows(config: Config) -> None:
    household = home(person("李四", ("刑满释放",)))
    assert categorise(household, config, TODAY).reasons == ("李四 重点人员",)
    open_config = replace(config, privacy=replace(config.privacy, red_subtype=True))
    assert categorise(household, open_config, TODAY).reasons == ("李四 刑满释放",)


def test_explicit_colour_wins_and_validate_warns(config: Config) -> None:
    household = home(person("张秀英", ("低保",)), colour="blue")
    categories, problems = categorise_all([household], config, TODAY)
    assert categories["H1"].key == "blue" and categories["H1"].explicit
    [warning] = problems
    assert "rules would make it orange" in warning.message


def test_explicit_colour_agreeing_with_rules_is_silent(config: Config) -> None:
    household = home(person("张秀英", ("低保",)), colour="orange")
    assert categorise_all([household], config, TODAY)[1] == []


def test_visit_frequency_is_the_strictest_of_colour_and_flags(config: Config) -> None:
    lonely = categorise(home(person("王奶奶", ("空巢",), age=80)), config, TODAY)
    assert (lonely.visit, lonely.visit_because) == ("每周敲门入户", "空巢")
    renter = categorise(home(person(), housing="出租"), config, TODAY)
    assert renter.visit == "每季度走访；租户变更时随时走访"
    assert categorise(home(housing="空置"), config, TODAY).visit == "每半年走访"


def test_explain_reads_like_the_card(config: Config) -> None:
    category = categorise(home(person("张秀英", ("低保",))), config, TODAY)
    assert explain(category.key, category.reasons) == "orange: 张秀英 低保"
