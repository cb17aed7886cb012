"""The configuration as typed sections: every word cardgen prints is a setting a user's file
may change (the colours' meanings, the ledger's cover and index, the labels, the emergency
kit, the PDF's title), a file written for an older cardgen still loads, and a word that asks
for a value it cannot have names the file, the setting and the values it may use."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import Result

from cardgen.config import DEFAULTS_PATH, Config, load_config
from cardgen.data.model import Household, Member
from cardgen.errors import ConfigError
from tests.conftest import DATE, household_rows, pdftotext, write_csv

Run = Callable[..., Result]

# The settings this change added to defaults.toml; a file without them (one `cardgen init`
# wrote before) takes them from the defaults.
ADDED = re.compile(r"^(meaning|household_count|people_count|page_count|retired_count|other_flags"
                   r"|index_\w+|tab_label|roster_\w+|no_building|unit|floor|mingbai_\w+"
                   r"|member_relation|person_needs|no_needs|selection_\w+|pdf_\w+) = ")


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cardgen.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sections_are_named_as_the_file_names_them(config: Config) -> None:
    assert config.card.words["index_no"] == "编号"
    assert config.flags.sticker_slots == ("低保", "大病", "残疾", "三无")
    assert config.privacy.full_id is False and config.duplex.verso == "visits"
    assert config.stickers.sheet().name == "a4-3x8" and config.papers.size(None).name == "A4"
    assert config.palette["orange"].meaning == "空巢独居老人、低保、特困、大病、残疾等"


def test_a_file_written_by_an_older_init_still_loads(tmp_path: Path) -> None:
    text = DEFAULTS_PATH.read_text(encoding="utf-8")
    old = "\n".join(line for line in text.splitlines() if not ADDED.match(line))
    assert "meaning =" not in old and "tab_label" not in old
    loaded = load_config(config_file(tmp_path, old))
    defaults = load_config()
    assert loaded.palette == defaults.palette and loaded.card.words == defaults.card.words


def test_a_users_file_rewords_the_ledgers_cover_index_and_title(run: Run,
                                                                 tmp_path: Path) -> None:
    source = write_csv(tmp_path / "h.csv", [*household_rows("H1"),
                                            *household_rows("H2", 特殊情况="社区矫正")])
    settings = config_file(tmp_path, '[palette.red]\nmeaning = "需要重点关照的家庭"\n'
                                     '[card.words]\nindex_no = "序号"\n'
                                     'household_count = "{n} 家"\n'
                                     'pdf_ledger = "我们的台账 {title}"\n')
    out = tmp_path / "books"
    result = run("ledger", source, "-o", out, "--date", DATE, "--config", settings)
    assert result.exit_code == 0, result.output
    [ledger] = out.glob("*.pdf")
    cover, index = ("".join(pdftotext(ledger, page).split()) for page in (1, 2))
    assert "需要重点关照的家庭" in cover and "户数2家" in cover and "重点人员所在户" not in cover
    assert "序号" in index
    info = subprocess.run(["pdfinfo", str(ledger)], capture_output=True, text=True).stdout
    assert "我们的台账" in info


def test_a_users_file_rewords_the_labels(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "h.csv", household_rows("H1"))
    settings = config_file(tmp_path, '[card.words]\ntab_label = "第 {number} 号 {name}"\n'
                                     'household_id = "户 {household_id}"\n')
    out = tmp_path / "labels.pdf"
    result = run("stickers", source, "-o", out, "--date", DATE, "--config", settings)
    assert result.exit_code == 0, result.output
    text = " ".join(pdftotext(out).split())
    assert "第 001 号 及时关注户" in text and "户 H1" in text and "户号" not in text


def test_the_emergency_kit_speaks_the_configured_words(config: Config) -> None:
    from cardgen.book.roster import Location, RosterEntry
    from cardgen.printing.kit import group_words, mingbai_values, roster_lines

    words = replace(config.card.words, table={
        **config.card.words.table, "mingbai_number": "No.{number}/{household_id}",
        "person_needs": "{name}: {needs}", "no_needs": "-", "unit": "U{unit}",
        "no_building": "?", "roster_continued": "{heading} (cont.)"})
    household = Household("H1", "h.csv", 2, members=[Member("张秀英", "户主", is_head=True)])
    values = mingbai_values(household, "007", None, {"张秀英": ("高龄",)}, words)
    assert values["number"] == "No.007/H1" and values["needs"] == ("张秀英: 高龄",)
    assert mingbai_values(household, "007", None, {}, words)["needs"] == "-"
    entry = RosterEntry("007", "H1", "g", Location("", "", "2", 3, "301"), "", "张秀英", 80,
                        ("高龄",), "", "")
    assert group_words(entry, words) == "? U2"
    pages = roster_lines([entry] * 2, 2, words)  # a heading and a person a page
    assert [page[0].heading for page in pages] == ["? U2", "? U2 (cont.)"]


def test_a_word_asking_for_a_value_it_cannot_have_names_the_setting(run: Run,
                                                                     tmp_path: Path) -> None:
    settings = config_file(tmp_path, '[card.words]\ntab_label = "{number} {grid}"\n')
    with pytest.raises(ConfigError, match=r"card\.words\.tab_label.*\{grid\}"):
        load_config(settings)
    source = write_csv(tmp_path / "h.csv", household_rows("H1"))
    result = run("validate", source, "--config", settings, "--lang", "zh")
    assert result.exit_code == 2
    assert str(settings) in result.output and "card.words.tab_label" in result.output
    assert "{char}, {name}, {number}" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("written", "said"), [
    ('[book.reasons]\ncolour = "颜色 {old}→{grid}"\n', "book.reasons.colour names {grid}; "
                                                      "it may use {new}, {old}"),
    ('[book.list]\ntitle = "变更清单 {"\n', "book.list.title has a stray brace"),
    ('[card.words]\nroster_page = "{page}/{total}"\n', "card.words.roster_page names {total}"),
])
def test_every_table_of_words_is_checked_alike(tmp_path: Path, written: str, said: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_config(config_file(tmp_path, written))


def test_the_defaults_are_read_again_when_their_file_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process keeps the parsed defaults (the desk, many runs in one process) by the
    file's path, size and mtime: an edited file, even of the same size, is read again."""
    import os

    import cardgen.config

    defaults = tmp_path / "defaults.toml"
    text = DEFAULTS_PATH.read_text(encoding="utf-8")
    assert "\nmax_mb = 512\n" in text
    defaults.write_text(text, encoding="utf-8")
    monkeypatch.setattr(cardgen.config, "DEFAULTS_PATH", defaults)
    assert load_config().cache_max_mb == 512
    defaults.write_text(text.replace("\nmax_mb = 512\n", "\nmax_mb = 256\n"), encoding="utf-8")
    os.utime(defaults, ns=(1, 1))  # same size; only the mtime tells
    assert load_config().cache_max_mb == 256
    defaults.write_text(text.replace("\nmax_mb = 512\n", "\nmax_mb = 2048\n"),
                        encoding="utf-8")
    os.utime(defaults, ns=(1, 1))  # same mtime; only the size tells
    assert load_config().cache_max_mb == 2048
