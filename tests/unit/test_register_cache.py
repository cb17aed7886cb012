"""A register read a second time is kept in the cache, read and validated (cardgen/pipeline/
register.py, `load`), and used only where everything it depends on is the same."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cardgen import resources
from cardgen.cache import Cache, scope
from cardgen.config import load_config
from cardgen.data.read import SheetChoice
from cardgen.i18n import language, set_language
from cardgen.pipeline import register

DAY = dt.date(2026, 11, 29)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The registers validated (not read back from the cache)."""
    done: list[str] = []
    validate = register.validate_records

    def counted(batches: list[object], *args: object, **kwargs: object) -> object:
        done.append("validated")
        return validate(batches, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(register, "validate_records", counted)
    return done


def test_a_register_read_a_second_time_is_kept_and_read_back_as_it_was(
        tmp_path: Path, validations: list[str]) -> None:
    source = tmp_path / "households.csv"
    source.write_text((resources.SAMPLES / "households.csv").read_text(encoding="utf-8")
                      .replace("13947210001", "1394"), encoding="utf-8")  # a warning each
    config = load_config()
    cache = Cache(tmp_path / "cache", scope(config, None))
    first = register.load(source, config, DAY, cache=cache)  # marked as seen
    second = register.load(source, config, DAY, cache=cache)  # kept
    third = register.load(source, config, DAY, cache=cache)  # read back
    assert validations == ["validated", "validated"]
    assert third.dataset == first.dataset == second.dataset
    assert third.categories == first.categories
    assert third.dataset.warnings and third.dataset.problems == first.dataset.problems
    assert register.load(source, config, DAY).dataset == first.dataset  # no cache: read
    assert len(validations) == 3


def _changed_file(source: Path) -> Path:
    source.write_text(source.read_text(encoding="utf-8").replace("13947210001", "13947210002"),
                      encoding="utf-8")
    return source


def _copy_elsewhere(source: Path) -> Path:
    other = source.parent / "copy.csv"
    shutil.copy(source, other)
    return other


CHANGES: dict[str, Callable[[Path, pytest.MonkeyPatch], dict[str, object]]] = {
    "the file's content": lambda source, _m: {"source": _changed_file(source)},
    "the path it was given by": lambda source, _m: {"source": _copy_elsewhere(source)},
    "the sheets read": lambda _s, _m: {"sheet_name": SheetChoice(("户卡",))},
    "the reference date": lambda _s, _m: {"today": DAY + dt.timedelta(days=1)},
    "the real date": lambda _s, m: m.setattr(register, "real_today",
                                             lambda: dt.date(2030, 1, 1)) or {},
    "the language": lambda _s, m: m.setattr("cardgen.i18n._language",
                                            "en" if language() != "en" else "zh_CN") or {},
    "the configuration": lambda _s, _m: {"config": load_config(_s.parent / "other.toml")},
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_kept_register_is_not_used_when_what_it_depends_on_changes(
        change: str, tmp_path: Path, validations: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """By mutation: with any part of its name (register_entry) or the scope dropped, the
    register kept before the change is read back and one of these fails."""
    sample = "households.xlsx" if change == "the sheets read" else "households.csv"
    source = tmp_path / sample
    shutil.copy(resources.SAMPLES / sample, source)
    (tmp_path / "other.toml").write_text("[limits]\nmembers = 19\n", encoding="utf-8")
    config = load_config()
    asked: dict[str, object] = {"source": source, "config": config, "today": DAY,
                                "sheet_name": None}
    folder = tmp_path / "cache"
    for _time in range(2):
        register.load(cache=Cache(folder, scope(config, None)), **asked)  # type: ignore[arg-type]
    validations.clear()
    language_now = language()
    try:
        asked.update(CHANGES[change](source, monkeypatch))
        changed = asked["config"]
        register.load(cache=Cache(folder, scope(changed, None)),  # type: ignore[arg-type]
                      **asked)  # type: ignore[arg-type]
    finally:
        set_language(language_now)
    assert validations == ["validated"]
