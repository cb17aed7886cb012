"""Render stage, the WeasyPrint part: card frames and ledger covers from Jinja2 templates.

Frames hold what every card of one colour and mode shares (templates/frame.html.j2); the
household data is drawn over them by cardgen/pdf/draw.py, never passed through HTML. Covers
(templates/cover.html.j2) are whole pages. Templates are sandboxed and escaped, and
WeasyPrint may load only files inside the template and font folders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cardgen import resources
from cardgen.cache import code_fingerprint, file_identity, key
from cardgen.config import Colour, Config
from cardgen.errors import RenderRefused, UsageError
from cardgen.layout.cards import HOUSEHOLD_GROW_MAX
from cardgen.layout.colours import ink_for, pattern_ink
from cardgen.layout.fonts import BOLD_FAMILY, REGULAR_FAMILY, font_files
from cardgen.layout.geometry import COLUMNS, Layout, layout_for

if TYPE_CHECKING:
    from cardgen.book.ledger import LedgerPlan


@dataclass(frozen=True)
class PrintOptions:
    """How the PDF is made for the printer: paper, bleed, marks, PDF variant."""

    paper: str | None = None
    bleed: float = 0.0  # millimetres
    marks: bool = False
    pdf_variant: str | None = None
    impose: str | None = None  # a name in the config's [impositions]


@dataclass(frozen=True)
class DocInfo:
    """Document-level words: the PDF title (no personal data) and the printed date."""

    title: str
    date: dt.date
    duplex: bool = False


@dataclass(frozen=True)
class Frame:
    """One frame variant: what a card page of this colour, mode and side looks like."""

    colour: str  # "" for a plain page (index, blank) that only carries the page boxes
    emergency: bool = False
    verso: bool = False  # a back page in duplex: tab on the left
    first: bool = True  # a card's first page (stickers and household block) or a 续页
    grow: int = 0  # first page: ruled rows the household block takes from the members table


def make_environment(templates: Path | None) -> Any:
    """Jinja2 looking in the user's folder first, then the bundled one; sandboxed, escaped."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

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


def pattern_css(colour: Colour, scale: float) -> str:
    """The tab's pattern, so a colour reads in black and white as well: one SVG tile,
    repeated, in a tint of the colour (the same patterns the label sheets draw)."""
    if colour.pattern == "plain":
        return ""
    red, green, blue = (round(v * 255) for v in pattern_ink(colour.hex))
    ink = f"#{red:02X}{green:02X}{blue:02X}"
    pitch, line = 2.6 * scale, 0.7 * scale
    half = pitch / 2
    shapes = {
        "hatch": f'<path d="M0,{pitch} L{pitch},0 M{-half},{half} L{half},{-half} '
                 f'M{half},{pitch + half} L{pitch + half},{half}" stroke="{ink}" '
                 f'stroke-width="{line:.3f}"/>',
        "lines": f'<path d="M0,{half} H{pitch}" stroke="{ink}" stroke-width="{line:.3f}"/>',
        "grid": f'<path d="M0,{half} H{pitch} M{half},0 V{pitch}" stroke="{ink}" '
                f'stroke-width="{line:.3f}"/>',
        "dots": f'<circle cx="{half}" cy="{half}" r="{line / 2 + 0.1 * scale:.3f}" '
                f'fill="{ink}"/>',
    }
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{pitch:.3f}mm" '
           f'height="{pitch:.3f}mm" viewBox="0 0 {pitch:.3f} {pitch:.3f}">'
           f'{shapes[colour.pattern]}</svg>')
    return (f'background-image: url("data:image/svg+xml,{quote(svg)}"); '
            f"background-size: {pitch:.3f}mm {pitch:.3f}mm;")


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


def load_engine() -> None:
    """Import WeasyPrint without its slow library search.

    WeasyPrint opens each native library by trying several names with cffi, which asks
    `ctypes.util.find_library` about every name that fails to open, and on Linux that runs
    ldconfig and gcc: 0.24 s of a 0.63 s import here, spent on libraries that are not
    installed (libharfbuzz-vector is not in Debian 12). Every list also holds the exact
    soname, which opens without a search; so the search is skipped during the import."""
    import sys

    if "weasyprint" in sys.modules:
        return
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        import weasyprint  # noqa: F401
    finally:
        ctypes.util.find_library = search


class Renderer:
    """One per process: the Jinja environment, fonts and stylesheet, reused for every card."""

    def __init__(self, config: Config, templates: Path | None = None,
                 options: PrintOptions | None = None) -> None:
        load_engine()
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        from cardgen.frame.fetcher import SafeFetcher

        self.config = config
        self.options = options or PrintOptions()
        self.layout: Layout = layout_for_options(config, self.options)
        self.env = make_environment(templates)
        roots = [resources.TEMPLATES, resources.FONTS,
                 *(path.parent for path in config.fallback_fonts)]
        if templates:
            roots.insert(0, templates)
        self.fetcher = SafeFetcher(roots)
        self.font_config = FontConfiguration()
        self.base_url = str(templates or resources.TEMPLATES) + "/"
        context = self._css_context()
        css_text = "\n".join(self._render_html(name, **context)
                             for name in ("frame.css.j2", "cover.css.j2", "changes.css.j2"))
        self.css = CSS(string=css_text, base_url=self.base_url, url_fetcher=self.fetcher,
                       font_config=self.font_config)

    def _template(self, name: str) -> Any:
        import jinja2

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
                "grows": [{"rows": rows, "L": self.layout.grown(rows),
                           "ruled": self._ruled(first=True, grow=rows)}
                          for rows in range(1, HOUSEHOLD_GROW_MAX + 1)],
                "bleed": self.options.bleed,
                "notes_lines": self.config.notes_lines}

    def _ruled(self, first: bool, grow: int = 0) -> str:
        layout = self.layout.grown(grow)
        return ruled_svg(layout.content_width, layout.rows_room(first), layout.row_pitch,
                         _column_edges(), layout.paper.scale)

    def _render_html(self, name: str, **context: Any) -> str:
        import jinja2

        template = self._template(name)
        try:
            return str(template.render(**context))
        except jinja2.TemplateError as exc:  # undefined names, sandbox refusals
            raise RenderRefused(f"template {template_place(exc, template)}: {exc}") from None

    def frames_pdf(self, frames: list[Frame]) -> bytes:
        """One page per frame variant, in the order given."""
        variants = [{"colour": self.config.palette.get(f.colour), "emergency": f.emergency,
                     "verso": f.verso, "first": f.first, "grow": f.grow} for f in frames]
        card = {"sticker_slots": self.config.sticker_slots,
                "notes_title": self.config.notes_title,
                "notes_columns": self.config.notes_columns,
                "notes_lines": self.config.notes_lines}
        html = self._render_html("frame.html.j2", frames=variants, columns=COLUMNS, card=card)
        return self._write(html, len(frames), "the card frames")

    def cover_pdf(self, plans: list[LedgerPlan], doc: DocInfo) -> bytes:
        """One cover page per ledger."""
        palette = sorted(self.config.palette.values(), key=lambda c: c.order)
        html = self._render_html("cover.html.j2", ledgers=plans, palette=palette,
                                 doc={"title": doc.title, "date": doc.date.isoformat(),
                                      "confidential": self.config.confidential})
        return self._write(html, len(plans), "the ledger covers")

    def packet_front_pdf(self, contexts: list[dict[str, Any]], covers: list[Any],
                         doc: DocInfo, cover_doc: DocInfo) -> tuple[bytes, int]:
        """An update packet's WeasyPrint pages as one PDF: a grid's change list
        (templates/changes.html.j2) and then the ledger's cover (`covers`: what
        cover.html.j2 reads of a LedgerPlan); and how many pages the list took. The list
        names the pages after it: `contexts[n - 1]` is its context when it takes n pages,
        and it is laid out again until its length holds. One PDF, not two: writing one
        costs a font subsetting run (about 0.2 s, measured)."""
        palette = sorted(self.config.palette.values(), key=lambda c: c.order)
        words = {"date": doc.date.isoformat(), "confidential": self.config.confidential}
        pages, changes = 1, None
        for _attempt in range(len(contexts)):
            html = self._render_html("changes.html.j2", sheet=contexts[pages - 1],
                                     palette=palette, doc={"title": doc.title, **words})
            changes = self._layout(html)
            if len(changes.pages) == pages or len(changes.pages) > len(contexts):
                break
            pages = len(changes.pages)
        assert changes is not None
        cover = self._layout(self._render_html(
            "cover.html.j2", ledgers=covers, palette=palette,
            doc={"title": cover_doc.title, "date": cover_doc.date.isoformat(),
                 "confidential": self.config.confidential}))
        self._check_pages(cover, len(covers), "the ledger covers")
        data = changes.copy([*changes.pages, *cover.pages]).write_pdf()
        assert isinstance(data, bytes)
        return data, len(changes.pages)

    def _write(self, html_text: str, planned: int, what: str) -> bytes:
        document = self._layout(html_text)
        self._check_pages(document, planned, what)
        data = document.write_pdf()  # PDF/A and such are made when the pages are composed
        assert isinstance(data, bytes)
        return data

    def _layout(self, html_text: str) -> Any:
        """The laid-out WeasyPrint document of `html_text`."""
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError

        html = HTML(string=html_text, base_url=self.base_url, url_fetcher=self.fetcher)
        try:
            return html.render(stylesheets=[self.css], font_config=self.font_config)
        except FatalURLFetchingError as exc:
            raise RenderRefused(f"a template asked for a file or URL it may not load: "
                                f"{exc.__cause__ or exc}") from None

    @staticmethod
    def _check_pages(document: Any, planned: int, what: str) -> None:
        if len(document.pages) != planned:
            raise RenderRefused(f"{what} made {len(document.pages)} pages where {planned} "
                                "were planned; a template change may have made a page "
                                "overflow")


def template_place(exc: BaseException, template: Any) -> str:
    """`file, line N` of the template line an error happened on."""
    line = None
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == template.filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return f"{template.filename}, line {line}" if line else str(template.filename)


def check_options(config: Config, options: PrintOptions, duplex: bool = False) -> None:
    """Print options that cannot work together, or name nothing, are usage errors.

    `--bleed` and `--marks` work with `--impose`: the sheet grows to keep each card's
    bleed and to carry its crop marks (cardgen/pdf/compose.py, `plan_sheet`)."""
    from cardgen.i18n import _

    if options.paper and options.paper not in config.papers:
        raise UsageError(_("--paper {paper}: no such paper size; use one of: {choices}").format(
            paper=options.paper, choices=", ".join(config.papers)), code="print.paper")
    if options.impose is None:
        return
    imposition = config.impositions.get(options.impose)
    if imposition is None:
        raise UsageError(_("--impose {name}: no such imposition; use one of: {choices}").format(
            name=options.impose, choices=", ".join(config.impositions) or _("none configured")),
            code="print.imposition")
    if options.paper and options.paper != imposition.paper:
        raise UsageError(_("--impose {name} takes {paper} cards; leave out --paper {asked}")
                         .format(name=imposition.name, paper=imposition.paper,
                                 asked=options.paper), code="print.imposition_paper")
    if duplex:
        raise UsageError(_("--impose and --duplex cannot be combined: an imposed sheet "
                           "carries several cards on one side"), code="print.imposition_duplex")


def layout_for_options(config: Config, options: PrintOptions) -> Layout:
    check_options(config, options)
    paper = options.paper
    if options.impose:
        paper = config.impositions[options.impose].paper
    return layout_for(config.paper(paper), config.gutter)


def frame_inputs(config: Config, options: PrintOptions, templates: Path | None) -> str:
    """Everything a frame's look depends on (not the data, the date or print options the
    composer applies): the key of cached frames."""
    from importlib.metadata import version

    fonts = []
    for family, path in font_files(config).items():
        bundled = path.parent == resources.FONTS
        fonts.append((family, path.stat().st_size) if bundled else file_identity(path))
    layout = layout_for_options(config, options)
    return key("frame-inputs", 1, version("weasyprint"), code_fingerprint(),
               template_fingerprint(templates), config.fingerprint, layout.paper, options.bleed,
               fonts)


def template_fingerprint(templates: Path | None) -> str:
    """A hash of every template file in use: part of what shapes a card."""
    digest = hashlib.sha256()
    for folder in (templates, resources.TEMPLATES):
        if folder is None:
            continue
        for path in sorted(folder.glob("*.j2")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


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
