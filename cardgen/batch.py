"""Render many cards: chunks across a pool of spawned workers, each reusing one Renderer."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from cardgen.cards import Card
from cardgen.config import Config
from cardgen.render import DocInfo, PrintOptions, Renderer

CHUNK_CARDS = 50


@dataclass(frozen=True)
class RenderJob:
    """Everything a worker needs to build its Renderer (sent once, at start-up)."""

    config: Config
    templates: Path | None
    options: PrintOptions
    doc: DocInfo


@dataclass(frozen=True)
class Chunk:
    """Consecutive cards of one ledger, rendered into one PDF file."""

    key: tuple[int, int]  # (ledger index, chunk index)
    cards: list[Card]
    path: Path


_renderer: Renderer | None = None
_doc: DocInfo | None = None


def _start_worker(job: RenderJob) -> None:
    global _renderer, _doc
    _renderer = Renderer(job.config, job.templates, job.options)
    _doc = job.doc


def _render_chunk(chunk: Chunk) -> int:
    assert _renderer is not None and _doc is not None
    chunk.path.write_bytes(_renderer.pdf(chunk.cards, _doc))
    return len(chunk.cards)


def split(cards: list[Card], size: int = CHUNK_CARDS) -> list[list[Card]]:
    return [cards[start:start + size] for start in range(0, len(cards), size)]


def render_chunks(chunks: list[Chunk], job: RenderJob, jobs: int,
                  progress: Callable[[int], None] | None = None,
                  renderer: Renderer | None = None) -> None:
    """Write every chunk's PDF; in this process when one worker is enough."""
    if jobs <= 1 or len(chunks) <= 1:
        local = renderer or Renderer(job.config, job.templates, job.options)
        for chunk in chunks:
            chunk.path.write_bytes(local.pdf(chunk.cards, job.doc))
            if progress:
                progress(len(chunk.cards))
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that loaded Pango
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=context,
                               initializer=_start_worker, initargs=(job,))
    try:
        pending: set[Future[int]] = {pool.submit(_render_chunk, chunk) for chunk in chunks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                cards = future.result()
                if progress:
                    progress(cards)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
