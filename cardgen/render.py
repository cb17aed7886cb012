"""Render stage: cards through Jinja2 into HTML, and through WeasyPrint into PDF bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from cardgen import resources
from cardgen.assemble import (
    INDEX_COLUMNS,
    INDEX_FONT,
    INDEX_HEAD,
    INDEX_PAD,
    INDEX_TITLE_HEIGHT,
    LedgerPlan,
)
from cardgen.cards import COLUMNS, Card, Layout, layout_for
from cardgen.config import Colour, Config
from cardgen.errors import RenderRefused, UsageError

REGULAR_FAMILY = "Cardgen Sans"
BOLD_FAMILY = "Cardgen Sans Bold"


@dataclass(frozen=True)
class PrintOptions:
    """How the PDF is made for the printer: paper, bleed, marks, PDF variant."""

    paper: str | None = None
    bleed: float = 0.0  # millimetres
    marks: bool = False
    pdf_variant: str | None = None


@dataclass(frozen=True)
class DocInfo:
    """Document-level words: the PDF title (no personal data) and the printed date."""

    title: str
    date: dt.date
    duplex: bool = False


def font_files(config: Config) -> dict[str, Path]:
    """The @font-face families cardgen declares, and the file behind each."""
    files = {REGULAR_FAMILY: resources.REGULAR_FONT, BOLD_FAMILY: resources.BOLD_FONT}
    for index, path in enumerate(config.fallback_fonts, 1):
        files[f"Cardgen Fallback {index}"] = path
    return files


def make_environment(templates: Path | None) -> ImmutableSandboxedEnvironment:
    """Jinja2 looking in the user's folder first, then the bundled one; sandboxed, escaped."""
    folders = [str(templates)] if templates else []
    folders.append(str(resources.TEMPLATES))
    return ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=_escape_html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def _escape_html(name: str | None) -> bool:
    """Escape everything but stylesheets (which see only the validated config, never data)."""
    return not (name or "").endswith(".css.j2")


def ink_for(hex_colour: str) -> str:
    """Black or white, whichever contrasts more with the colour (WCAG relative luminance)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#FFFFFF"


def pattern_css(colour: Colour, scale: float) -> str:
    """The tab's pattern, so a colour reads in black and white as well."""
    ink = "rgba(0,0,0,0.35)" if ink_for(colour.hex) == "#000000" else "rgba(255,255,255,0.5)"
    line, pitch = f"{0.7 * scale:.2f}mm", f"{2.6 * scale:.2f}mm"

    def stripes(angle: int) -> str:
        return (f"repeating-linear-gradient({angle}deg, {ink} 0mm, {ink} {line}, "
                f"transparent {line}, transparent {pitch})")

    if colour.pattern == "hatch":
        return f"background-image: {stripes(45)};"
    if colour.pattern == "lines":
        return f"background-image: {stripes(0)};"
    if colour.pattern == "grid":
        return f"background-image: {stripes(0)}, {stripes(90)};"
    if colour.pattern == "dots":
        dot = f"{0.7 * scale:.2f}mm"
        return (f"background-image: radial-gradient(circle, {ink} {dot}, transparent "
                f"{0.85 * scale:.2f}mm); background-size: {pitch} {pitch};")
    return ""


def ruled_svg(width: float, height: float, pitch: float, edges: list[float],
              scale: float) -> str:
    """A data: URL of blank ruled rows (mm), aligned to the bottom, with column lines."""
    rows = int(height // pitch)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.2f}mm" '
             f'height="{height:.2f}mm" viewBox="0 0 {width:.3f} {height:.3f}">',
             f'<g stroke="#c8c8c8" stroke-width="{0.2 * scale:.2f}">']
    for row in range(rows + 1):
        y = height - row * pitch - 0.1 * scale
        parts.append(f'<line x1="0" y1="{y:.3f}" x2="{width:.3f}" y2="{y:.3f}"/>')
    parts.append(f'</g><g stroke="#e2e2e2" stroke-width="{0.2 * scale:.2f}">')
    top = height - rows * pitch
    for edge in edges:
        x = width * edge / 100
        parts.append(f'<line x1="{x:.3f}" y1="{top:.3f}" x2="{x:.3f}" y2="{height:.3f}"/>')
    parts.append("</g></svg>")
    return "data:image/svg+xml," + quote("".join(parts))


def _column_edges() -> list[float]:
    """Where the members table's columns meet, in percent of its width."""
    edges, x = [], 0.0
    for column in COLUMNS[:-1]:
        x += column.share * 100
        edges.append(x)
    return edges


class Renderer:
    """One per process: the Jinja environment, fonts and stylesheet, reused for every card."""

    def __init__(self, config: Config, templates: Path | None = None,
                 options: PrintOptions | None = None) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        from cardgen.fetcher import SafeFetcher

        self.config = config
        self.options = options or PrintOptions()
        if self.options.paper and self.options.paper not in config.papers:
            raise UsageError(f"--paper {self.options.paper!r} is no paper size; use one of: "
                             + ", ".join(config.papers))
        self.layout: Layout = layout_for(config.paper(self.options.paper), config.gutter)
        self.env = make_environment(templates)
        roots = [resources.TEMPLATES, resources.FONTS,
                 *(path.parent for path in config.fallback_fonts)]
        if templates:
            roots.insert(0, templates)
        self.fetcher = SafeFetcher(roots)
        self.font_config = FontConfiguration()
        self.template_fingerprint = self._fingerprint(templates)
        self.base_url = str(templates or resources.TEMPLATES) + "/"
        context = self._css_context()
        css_text = "\n".join(self._template(name).render(**context)
                             for name in ("card.css.j2", "ledger.css.j2"))
        self.css = CSS(string=css_text, base_url=self.base_url, url_fetcher=self.fetcher,
                       font_config=self.font_config)

    @staticmethod
    def _fingerprint(templates: Path | None) -> str:
        """A hash of every template file in use: part of what shapes a card."""
        digest = hashlib.sha256()
        for folder in (templates, resources.TEMPLATES):
            if folder is None:
                continue
            for path in sorted(folder.glob("*.j2")):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderRefused(f"template {exc.filename or exc.name}, line {exc.lineno}: "
                                f"{exc.message}") from None
        except jinja2.TemplateNotFound:
            raise RenderRefused(f"no template {name} in the template folders") from None

    def _css_context(self) -> dict[str, Any]:
        fonts = [{"family": family, "url": path.as_uri(),
                  "weight": 700 if family == BOLD_FAMILY else 400}
                 for family, path in font_files(self.config).items()]
        fallbacks = [f'"{font["family"]}"' for font in fonts[2:]]
        regular = ", ".join([f'"{REGULAR_FAMILY}"', *fallbacks])
        bold = ", ".join([f'"{BOLD_FAMILY}"', *fallbacks])
        scale = self.layout.paper.scale
        palette = [{"key": c.key, "hex": c.hex, "order": c.order, "char": c.char,
                    "ink": ink_for(c.hex), "pattern_css": pattern_css(c, scale)}
                   for c in self.config.palette.values()]
        return {"L": self.layout, "palette": palette, "fonts": fonts, "font_stack": regular,
                "bold": f"font-family: {bold}; font-weight: 700",
                "regular": f"font-family: {regular}; font-weight: 400",
                "columns": COLUMNS,
                "ruled_first": self._ruled(first=True), "ruled_next": self._ruled(first=False),
                "bleed": self.options.bleed, "marks": self.options.marks,
                "notes_lines": self.config.notes_lines,
                "index_columns": INDEX_COLUMNS, "index_title_height": INDEX_TITLE_HEIGHT * scale,
                "index_head": INDEX_HEAD * scale, "index_font": INDEX_FONT * scale,
                "index_pad": INDEX_PAD * scale}

    def _ruled(self, first: bool) -> str:
        layout = self.layout
        height = layout.rows_room(first)
        pitch = layout.line_height(layout.font) + layout.cell_pad
        return ruled_svg(layout.content_width, height, pitch, _column_edges(),
                         layout.paper.scale)

    def _doc_context(self, doc: DocInfo) -> dict[str, Any]:
        return {
            "title": doc.title,
            "date": doc.date.isoformat(),
            "duplex": doc.duplex,
            "mode_word": "常态",
            "emergency_word": "应急",
            "notes_title": self.config.notes_title,
            "notes_columns": self.config.notes_columns,
            "notes_lines": self.config.notes_lines,
            "confidential": self.config.confidential,
        }

    def _render_html(self, name: str, **context: Any) -> str:
        try:
            return self._template(name).render(**context)
        except jinja2.TemplateError as exc:
            raise RenderRefused(f"template {name}: {exc}") from None

    def html(self, cards: list[Card], doc: DocInfo) -> str:
        return self._render_html("card.html.j2", cards=cards, columns=COLUMNS,
                                 doc=self._doc_context(doc))

    def pdf(self, cards: list[Card], doc: DocInfo) -> bytes:
        """The cards as one PDF; refuses (nothing returned) if a card outgrows its pages."""
        planned = sum(card.page_count for card in cards)
        return self._write(self.html(cards, doc), planned, "the cards")

    def front_pdf(self, plan: LedgerPlan, doc: DocInfo) -> bytes:
        """A ledger's cover and index pages."""
        palette = sorted(self.config.palette.values(), key=lambda c: c.order)
        html = self._render_html("ledger.html.j2", ledger=plan, palette=palette,
                                 doc=self._doc_context(doc))
        return self._write(html, 1 + len(plan.index_pages), "the cover and index")

    def _write(self, html_text: str, planned: int, what: str) -> bytes:
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError

        html = HTML(string=html_text, base_url=self.base_url, url_fetcher=self.fetcher)
        try:
            document = html.render(stylesheets=[self.css], font_config=self.font_config)
        except FatalURLFetchingError as exc:
            raise RenderRefused(f"a template asked for a file or URL it may not load: "
                                f"{exc.__cause__ or exc}") from None
        if len(document.pages) != planned:
            raise RenderRefused(f"{what} made {len(document.pages)} pages where {planned} "
                                "were planned; a template change may have made a page "
                                "overflow")
        data = document.write_pdf(pdf_variant=self.options.pdf_variant)
        assert isinstance(data, bytes)
        return data


class _Recorder(logging.Handler):
    """Keeps WeasyPrint's warnings (ignored CSS, missing glyphs) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


ENGINE_WARNINGS = _Recorder()
_engine_log = logging.getLogger("weasyprint")
_engine_log.addHandler(ENGINE_WARNINGS)
_engine_log.propagate = False
