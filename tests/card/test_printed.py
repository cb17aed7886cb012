"""The household as printed (cardgen/layout/printed.py): one member order, one way an ID and
a flag print, one flag order — and the card, the stickers, the index and the book's record
show the household the same way."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from cardgen.book.record import card_content
from cardgen.config import Config, load_config
from cardgen.data.model import Household
from cardgen.layout.fonts import font_set
from cardgen.layout.geometry import Box, Layout
from cardgen.layout.index import index_rows
from cardgen.layout.printed import printed_household
from cardgen.layout.typeset import Typesetter
from cardgen.pipeline.register import Loaded, load
from cardgen.resources import SAMPLES
from tests.conftest import DATE, FEMALE_ID, TODAY, VALID_ID, household_rows, pdftotext, write_csv

Run = Callable[..., Result]


def head_second(tmp_path: Path) -> Path:
    """A household whose register lists the head (张秀英: 社区矫正, 低保) below her spouse
    (李明: 大病, 低保)."""
    head, spouse = household_rows("P1", 特殊情况="社区矫正、低保")
    return write_csv(tmp_path / "p.csv", [{**spouse, "特殊情况": "大病、低保"}, head])


def loaded(source: Path, config: Config) -> Loaded:
    result = load(source, config, TODAY)
    assert not result.dataset.errors, result.dataset.errors
    return result


def only(source: Path, config: Config) -> Household:
    [household] = loaded(source, config).dataset.households
    return household


def test_the_head_comes_first_with_the_id_masked_and_flags_as_they_may_print(
        tmp_path: Path, config: Config) -> None:
    printed = printed_household(only(head_second(tmp_path), config), config)
    assert [m.name for m in printed.members] == ["张秀英", "李明"]
    assert printed.head is printed.members[0]
    assert [m.id_text for m in printed.members] == ["*" * 14 + VALID_ID[-4:],
                                                    "*" * 14 + FEMALE_ID[-4:]]
    assert [m.flags for m in printed.members] == [("重点人员", "低保"), ("大病", "低保")]
    assert printed.flags == ("低保", "大病", "重点人员")  # the sticker slots' order first
    assert printed.holders()["低保"] == ("张秀英", "李明")


def test_privacy_settings_let_the_full_id_and_the_sub_type_print(tmp_path: Path) -> None:
    settings = tmp_path / "cardgen.toml"
    settings.write_text("[privacy]\nfull_id = true\nred_subtype = true\n", encoding="utf-8")
    config = load_config(settings)
    printed = printed_household(only(head_second(tmp_path), config), config)
    assert printed.members[0].id_text == VALID_ID
    assert printed.members[0].flags == ("社区矫正", "低保")


def test_the_stickers_name_the_members_in_the_cards_order(run: Run, tmp_path: Path) -> None:
    """The card's 低保 slot and the 低保 sticker name the head first, whatever the
    register's row order (the sticker used to follow the rows)."""
    source = head_second(tmp_path)
    assert run("reprint", source, "-o", tmp_path / "card.pdf", "--date", DATE).exit_code == 0
    assert run("stickers", source, "-o", tmp_path / "labels.pdf", "--date",
               DATE).exit_code == 0
    card, labels = (" ".join(pdftotext(tmp_path / name).split())
                    for name in ("card.pdf", "labels.pdf"))
    assert "张秀英、李明" in card and "李明、张秀英" not in card
    assert "张秀英、李明" in labels and "李明、张秀英" not in labels, labels


def test_the_index_lists_the_flags_as_the_card_lists_its_members(tmp_path: Path,
                                                                  config: Config) -> None:
    household = only(head_second(tmp_path), config)
    paper = config.papers.size("A4")
    layout = Layout(paper, Box(15, 15, paper.width - 30, paper.height - 30), 250, 1.4)
    [row] = index_rows([printed_household(household, config)], ["001"],
                       [config.palette["red"]], config, layout, Typesetter(font_set(config)))
    assert (row.head, row.flags) == ("张秀英", "重点人员、低保、大病")


def test_the_record_hashes_the_samples_households_as_it_always_has(tmp_path: Path) -> None:
    """A book written before compares equal: the content hashes (and the hashes of a book of
    content 1) of every sample household are the ones cardgen has always made."""
    settings = tmp_path / "cardgen.toml"
    settings.write_text("[privacy]\nfull_id = true\nred_subtype = true\ncare_subtype = true\n",
                        encoding="utf-8")
    found = {}
    for name, config in (("default", load_config()), ("privacy", load_config(settings))):
        register = load(SAMPLES / "households.csv", config, TODAY)
        digest = hashlib.sha256()
        for household in register.dataset.households:
            content = card_content(household, register.categories[household.household_id],
                                   config)
            digest.update(repr((household.household_id, content.flags, content.hash,
                                sorted(content.parts.items()), content.legacy_hash,
                                sorted(content.legacy_parts.items()), content.head)).encode())
        found[name] = digest.hexdigest()[:16]
    assert found == {"default": "a2f59a50aded9df5", "privacy": "4708ed37def2ac4d"}
