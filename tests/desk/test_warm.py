"""A desk worker makes ready, as the desk starts, what every card it will draw needs: the
routine cards' geometry (into the cache), and one Renderer it keeps for the frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardgen.cache import Cache, key
from cardgen.config import load_config
from cardgen.frame import render
from cardgen.frame.render import paper_for
from cardgen.layout.geometry import PrintOptions
from cardgen.web import work
from tests.conftest import TODAY


def test_a_desk_worker_keeps_its_renderer_for_one_scope_and_paper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class Made:  # what a Renderer costs is not the question here
        def __init__(self, *args: object) -> None:
            made.append(self)

    monkeypatch.setattr(render, "Renderer", Made)
    monkeypatch.setattr(render, "_kept", None)
    config, options = load_config(), PrintOptions()
    first = render.renderer_for(config, None, options, "scope")
    assert render.renderer_for(config, None, options, "scope") is not first  # a command's
    render.keep_renderers()  # a desk worker's
    kept = render.renderer_for(config, None, options, "scope")
    assert render.renderer_for(config, None, options, "scope") is kept
    assert render.renderer_for(config, None, PrintOptions(bleed=3.0), "scope") is not kept
    other = render.renderer_for(config, None, options, "templates changed")
    assert other is not kept
    assert render.renderer_for(config, None, options, "") is not render.renderer_for(
        config, None, options, "")  # no cache, no scope to know the templates by
    assert len(made) == 7


def test_a_desk_worker_lays_out_the_geometry_as_it_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(render, "_kept", {})
    config = load_config()
    settings = work.Settings(config, None, TODAY, None, None, "en", tmp_path)
    monkeypatch.setattr(work, "_settings", settings)
    monkeypatch.setattr(work, "_registers", {})
    cache = Cache.open(config, None).printing(
        (paper_for(config, PrintOptions()), 0.0), PrintOptions())
    name = key("geometry", False, False)
    assert cache.get("frames", name) is None
    work._geometry(TODAY)
    assert cache.get("frames", name) is not None
    assert len(render._kept) == 1  # kept for the frames of the cards to come

    monkeypatch.setenv("CARDGEN_CACHE_DIR", "off")  # nowhere to keep it: not laid out
    monkeypatch.setattr(render, "_kept", {})
    work._geometry(TODAY)
    assert render._kept == {}
