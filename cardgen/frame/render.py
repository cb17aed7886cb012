"""Render stage, the WeasyPrint part: card frames and ledger covers from Jinja2 templates.

Frames hold what every card of one colour and mode shares (templates/frame.html.j2); the
household data is drawn over them by cardgen/pdf/draw.py, never passed through HTML. Covers
(templates/cover.html.j2) are whole pages. Templates are sandboxed and escaped, and
WeasyPrint may load only files inside the template and font folders.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cardgen import resources
from cardgen.config import Config, PaletteColour, Paper
from cardgen.errors import RenderRefused, UsageError
from cardgen.i18n import _
from cardgen.layout.colours import ink_for, pattern_ink, pattern_tile
from cardgen.layout.fonts import BOLD_FAMILY, REGULAR_FAMILY, font_files
from cardgen.layout.geometry import (
    PLACE_STYLES,
    PT,
    PX,
    Places,
    PrintOptions,
    required_places,
)
from cardgen.layout.typeset import name_units


@dataclass(frozen=True)
class Frame:
    """One frame variant: what a card page of this colour, mode and side looks like."""

    colour: str  # "" for a plain page (index, blank) that only carries the page boxes
    emergency: bool = False
    verso: bool = False  # a back page in duplex: tab on the left
    first: bool = True  # a card's first page (stickers and household block) or a 续页
    grow: int = 0  # first page: ruled rows the household block takes from the members table
    rows: int = 0  # ruled rows of the members table (the geometry pass says how many fit)
    log: bool = False  # the card's visit log (走访记录), a back page in duplex


CUSTOM_CSS = "custom.css"  # in the user's template folder: applied after the bundled styles


def make_environment(templates: Path | None) -> Any:
    """Jinja2 looking in the user's folder first, then the bundled one; sandboxed, escaped."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    folders = [str(templates)] if templates else []
    folders.append(str(resources.TEMPLATES))
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=_escape_html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["name"] = name_html
    return env


def name_html(value: object) -> Any:
    """The `name` filter: a name (or names joined by 、) whose parts each stay whole on a
    line, so it breaks only after a "·" or between names (WeasyPrint ignores CSS
    `word-break: keep-all`; a span that does not wrap is what it honours)."""
    from markupsafe import Markup, escape

    return Markup("".join(f'<span class="name-part">{escape(unit)}</span>'
                          for unit in name_units(str(value))))


def _escape_html(name: str | None) -> bool:
    """Escape everything but stylesheets (which see only the validated config, never data)."""
    return not (name or "").endswith(".css.j2")


def pattern_css(colour: PaletteColour, scale: float) -> str:
    """The tab's pattern, so a colour reads in black and white as well: one SVG tile,
    repeated, in a tint of the colour (the tile the label sheets draw, layout/colours.py)."""
    if colour.pattern == "plain":
        return ""
    red, green, blue = (round(v * 255) for v in pattern_ink(colour.hex))
    ink = f"#{red:02X}{green:02X}{blue:02X}"
    pitch, line = 2.6 * scale, 0.7 * scale
    shapes = []
    for mark in pattern_tile(colour.pattern, pitch, line):
        if mark[0] == "line":
            _, x1, y1, x2, y2 = mark  # type: ignore[misc]
            shapes.append(f'<path d="M{x1:.3f},{y1:.3f} L{x2:.3f},{y2:.3f}" stroke="{ink}" '
                          f'stroke-width="{line:.3f}"/>')
        else:
            _, x, y, radius = mark  # type: ignore[misc]
            shapes.append(f'<circle cx="{x:.3f}" cy="{y:.3f}" r="{radius:.3f}" '
                          f'fill="{ink}"/>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{pitch:.3f}mm" '
           f'height="{pitch:.3f}mm" viewBox="0 0 {pitch:.3f} {pitch:.3f}">'
           f'{"".join(shapes)}</svg>')
    return (f'background-image: url("data:image/svg+xml,{quote(svg)}"); '
            f"background-size: {pitch:.3f}mm {pitch:.3f}mm;")


class Renderer:
    """One per process: the Jinja environment, fonts and stylesheet, reused for every card."""

    def __init__(self, config: Config, templates: Path | None = None,
                 options: PrintOptions | None = None) -> None:
        # WeasyPrint is imported as it is. cardgen used to hide ctypes.util.find_library
        # during the import (WeasyPrint's cffi asks it about every library name that does
        # not open, and on Linux that runs ldconfig and gcc); no library offers a hook for
        # that, so the patch went. Measured: the import takes 1.28x as long without it
        # (about 0.24 s), once per process that renders frames or covers, and only when
        # the cache does not have them.
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        from cardgen.frame.fetcher import SafeFetcher

        self.config = config
        self.options = options or PrintOptions()
        self.paper = paper_for(config, self.options)
        self.templates = templates
        self.env = make_environment(templates)
        roots = [resources.TEMPLATES, resources.FONTS,
                 *(path.parent for path in config.fallback_fonts)]
        if templates:
            roots.insert(0, templates)
        self.fetcher = SafeFetcher(roots)
        self.font_config = FontConfiguration()
        self.base_url = str(templates or resources.TEMPLATES) + "/"
        context = self._css_context()
        # each stylesheet parsed alone, so that what WeasyPrint says about one names its file
        # (and its line, in custom.css); later ones win, custom.css last
        self.css = []
        for name in ("frame.css.j2", "cover.css.j2"):
            text = self._render_html(name, **context)
            with ENGINE_WARNINGS.about(self.template_file(name)):
                self.css.append(CSS(string=text, base_url=self.base_url,
                                    url_fetcher=self.fetcher, font_config=self.font_config))
        custom = templates / CUSTOM_CSS if templates else None
        self.custom_css = []
        if custom is not None and custom.is_file():  # the office's own rules, last
            with ENGINE_WARNINGS.about(str(custom), lines=True):
                self.custom_css.append(CSS(
                    string=custom.read_text(encoding="utf-8", errors="replace"),
                    base_url=self.base_url, url_fetcher=self.fetcher,
                    font_config=self.font_config))
        self.css.extend(self.custom_css)
        self._kit_css: list[Any] | None = None

    def _template(self, name: str) -> Any:
        import jinja2

        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderRefused(template_mistake(
                place_words(str(exc.filename or exc.name), exc.lineno), exc),
                code="template.syntax") from None
        except jinja2.TemplateNotFound:
            raise RenderRefused(_("no template {name} in the template folders").format(
                name=name), code="template.not_found") from None

    def frame_source(self, name: str = "frame.html.j2") -> str:
        """The card frame's template as an error names it: with the folder's custom.css,
        when there is one, for the mistake may be there."""
        html = self.template_file(name)
        custom = self.templates / CUSTOM_CSS if self.templates else None
        if custom is not None and custom.is_file():
            return _("{file} (or {custom})").format(file=html, custom=custom)
        return html

    def template_file(self, name: str) -> str:
        """Where a template comes from: the user's folder or the bundled one."""
        return str(self._template(name).filename)

    def _css_context(self) -> dict[str, Any]:
        fonts = [{"family": family, "url": path.as_uri(),
                  "weight": 700 if family == BOLD_FAMILY else 400}
                 for family, path in font_files(self.config).items()]
        fallbacks = [f'"{font["family"]}"' for font in fonts[2:]]
        regular = ", ".join([f'"{REGULAR_FAMILY}"', *fallbacks])
        bold = ", ".join([f'"{BOLD_FAMILY}"', *fallbacks])
        scale = self.paper.scale
        palette = [{"key": c.key, "hex": c.hex, "order": c.order, "char": c.char,
                    "ink": ink_for(c.hex), "pattern_css": pattern_css(c, scale)}
                   for c in self.config.palette.values()]
        return {"paper": self.paper, "palette": palette, "fonts": fonts, "font_stack": regular,
                "bold": f"font-family: {bold}; font-weight: 700",
                "regular": f"font-family: {regular}; font-weight: 400",
                "text": self.config.card.text, "line": self.config.card.line_factor,
                "sizes": {name: self.config.card.type_size(name, scale)
                          for name in self.config.card.text},
                "smallest": {"text": self.config.card.smallest_text,
                             "rule": self.config.card.smallest_rule},
                "grow_max": self.config.card.household_grow, "bleed": self.options.bleed,
                "gutter": self.config.card.gutter, "notes_lines": self.config.card.notes_lines,
                "notes_shares": notes_shares(len(self.config.card.notes_columns)),
                "card_log_columns": self.config.duplex.columns}

    def _render_html(self, name: str, moved: Mapping[str, str] | None = None,
                     **context: Any) -> str:
        """A template rendered; `moved`: names the template used to be given, now drawn by
        cardgen into the element with the id each maps to (an older custom template that
        still writes one is told where it went)."""
        import jinja2

        template = self._template(name)
        try:
            return str(template.render(**context))
        except jinja2.TemplateError as exc:  # undefined names, sandbox refusals
            place = template_place(exc, template)
            used = re.findall(r"'([^']+)'", str(exc))
            if isinstance(exc, jinja2.UndefinedError) and moved and used and used[-1] in moved:
                raise RenderRefused(_(
                    "template {place}: “{name}” is no longer given to the template: cardgen "
                    "prints it into the element with id “{id}” (docs/templates.md lists the "
                    "ids)").format(place=place, name=used[-1], id=moved[used[-1]]),
                    code="template.missing_id") from None
            raise RenderRefused(template_mistake(place, exc), code="template.error") from None

    def _frames_html(self, frames: list[Frame]) -> str:
        variants = [{"colour": self.config.palette.get(f.colour), "emergency": f.emergency,
                     "verso": f.verso, "first": f.first, "grow": f.grow, "rows": f.rows,
                     "log": f.log}
                    for f in frames]
        card = {"sticker_slots": self.config.flags.sticker_slots,
                "log_title": self.config.duplex.title,
                "log_columns": self.config.duplex.columns,
                "notes_title": self.config.card.notes_title,
                "notes_columns": self.config.card.notes_columns,
                "notes_shares": notes_shares(len(self.config.card.notes_columns)),
                "notes_lines": self.config.card.notes_lines,
                "confidential": self.config.card.confidential}
        return self._render_html("frame.html.j2", frames=variants, card=card)

    def probe(self, emergency: bool, verso: bool) -> list[Places]:
        """The places of the first page, the 续页 and the plain page (and on a back page,
        the visit log), laid out with as many ruled rows as the members table could show:
        what fits, and where. Only laid out, not written: this is the geometry pass. (A
        grown first page follows from the first page, see layout/geometry.py `grown`; its
        frame is checked when it is rendered.)"""
        rows = probe_rows(self.config, self.paper)
        colour = self.config.default_colour
        frames = [Frame(colour, emergency, verso, True, 0, rows),
                  Frame(colour, emergency, verso, False, 0, rows), Frame("", verso=verso)]
        if verso:
            frames.append(Frame(colour, emergency, verso, True, 0, rows, log=True))
        document = self._layout(self._frames_html(frames))
        self._check_pages(document, len(frames), _("the card frames"))
        places = [self._places(page) for page in document.pages]
        check_pages(places, self.config, self.paper, self.frame_source())
        for page in document.pages:  # after the places' own checks: they say more
            check_clear(page, self.frame_source())
        return places

    def frame_pdf(self, frame: Frame) -> tuple[bytes, Places]:
        """One frame variant as a one-page PDF, and its places."""
        document = self._layout(self._frames_html([frame]))
        self._check_pages(document, 1, _("the card frames"))
        check_clear(document.pages[0], self.frame_source())
        data = document.write_pdf()  # PDF/A and such are made when the pages are composed
        assert isinstance(data, bytes)
        return data, self._places(document.pages[0])

    def cover_frame_pdf(self, cover: Mapping[str, Any], doc: Mapping[str, str]) -> \
            tuple[bytes, Places, dict[str, PlaceStyle]]:
        """A ledger's cover frame (`cover`: what stays from month to month, see
        printing/run.cover_view) as a one-page PDF, its places and their type: the counts, the
        date and the pages are drawn by cardgen (README, "Templates")."""
        palette = sorted(self.config.palette.values(), key=lambda c: c.order)
        html = self._render_html("cover.html.j2", COVER_MOVED, ledgers=[cover], palette=palette,
                                 doc=doc)
        document = self._layout(html)
        self._check_pages(document, 1, _("the ledger covers"))
        page = document.pages[0]
        places = self._places(page)
        names = cover_places(cover)
        for name in names:
            if name not in places:
                raise RenderRefused(_(
                    "{file} has no element with id “{id}”: cardgen prints the ledger's "
                    "words and counts there (docs/templates.md lists the ids)").format(
                    file=self.template_file("cover.html.j2"), id=name),
                    code="template.missing_id")
        data = document.write_pdf()  # PDF/A and such are made when the pages are composed
        assert isinstance(data, bytes)
        return data, places, place_styles(page, {*names, "cover-numbers"})

    def kit_frame_pdf(self, name: str, context: Mapping[str, Any]) -> \
            tuple[bytes, Places, dict[str, PlaceStyle]]:
        """A one-page frame of the emergency kit (roster.html.j2, mingbai.html.j2, styled
        by kit.css.j2 and custom.css), its places and their type: cardgen draws the
        people's data into the places (README, "The emergency kit")."""
        from weasyprint import CSS

        if self._kit_css is None:
            text = self._render_html("kit.css.j2", **self._css_context())
            with ENGINE_WARNINGS.about(self.template_file("kit.css.j2")):
                self._kit_css = [CSS(string=text, base_url=self.base_url,
                                     url_fetcher=self.fetcher, font_config=self.font_config),
                                 *self.custom_css]
        document = self._layout(self._render_html(name, **context), self._kit_css)
        if len(document.pages) != 1:
            raise RenderRefused(_("{file} made {made} pages where one was planned; a template "
                                  "change may have made the page overflow").format(
                file=self.template_file(name), made=len(document.pages)),
                code="template.pages")
        page = document.pages[0]
        places = self._places(page)
        data = document.write_pdf()
        assert isinstance(data, bytes)
        return data, places, place_styles(page, set(places.boxes))

    def _places(self, page: Any) -> Places:
        return Places.from_anchors(page.anchors, (page.width * PX, page.height * PX))

    def _write(self, html_text: str, planned: int, what: str) -> bytes:
        document = self._layout(html_text)
        self._check_pages(document, planned, what)
        data = document.write_pdf()  # PDF/A and such are made when the pages are composed
        assert isinstance(data, bytes)
        return data

    def _layout(self, html_text: str, stylesheets: list[Any] | None = None) -> Any:
        """The laid-out WeasyPrint document of `html_text` (in the card's styles, or in
        `stylesheets`)."""
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError

        html = HTML(string=html_text, base_url=self.base_url, url_fetcher=self.fetcher)
        try:
            return html.render(stylesheets=self.css if stylesheets is None else stylesheets,
                               font_config=self.font_config)
        except FatalURLFetchingError as exc:
            raise RenderRefused(_("a template asked for a file or URL it may not load: "
                                  "{reason}").format(reason=exc.__cause__ or exc),
                                code="template.fetch") from None

    def _check_pages(self, document: Any, planned: int, what: str) -> None:
        """A document of the run's paper size with as many pages as planned."""
        width, height = (document.pages[0].width * PX, document.pages[0].height * PX)
        paper = self.paper
        if abs(width - paper.width) > 0.5 or abs(height - paper.height) > 0.5:
            raise RenderRefused(_(
                "{file}: the page is {width:.0f} × {height:.0f} mm, but the paper is {paper} "
                "({paper_width:g} × {paper_height:g} mm); choose the paper with --paper or "
                "[paper] in the config, not in @page").format(
                file=self.frame_source("frame.css.j2"), width=width, height=height,
                paper=paper.name, paper_width=paper.width, paper_height=paper.height),
                code="template.paper")
        if len(document.pages) != planned:
            raise RenderRefused(_("{what} made {made} pages where {planned} were planned; a "
                                  "template change may have made a page overflow").format(
                what=what, made=len(document.pages), planned=planned), code="template.pages")


# The desk's pool workers keep the Renderer they made (keep_renderers): a Renderer parses
# the styles and loads the fonts (about 0.15 s), and a worker draws one card after another
# with the same configuration and templates. Keyed by the cache's scope, which covers the
# configuration and the templates' content, and by the paper and bleed the styles are made
# for. The command line makes one per run, as before: it reports what WeasyPrint says about
# a user's styles while they are parsed (ENGINE_WARNINGS), which a kept Renderer would not.
_kept: dict[tuple[str, Paper, float], Renderer] | None = None


def keep_renderers() -> None:
    """Reuse Renderers in this process (see `renderer_for`)."""
    global _kept
    if _kept is None:
        _kept = {}


def renderer_for(config: Config, templates: Path | None, options: PrintOptions,
                 scope: str) -> Renderer:
    """A Renderer for a print run: a new one, or in a process that keeps them (the desk's
    workers, keep_renderers) the one made before for the same scope, paper and bleed. A
    run without a cache (`scope` "") always gets a new one."""
    if _kept is None or not scope:
        return Renderer(config, templates, options)
    memo = (scope, paper_for(config, options), options.bleed)
    found = _kept.get(memo)
    if found is None:
        _kept.clear()  # another configuration or template version: the old one goes
        found = _kept[memo] = Renderer(config, templates, options)
    return found


# A cover place's type as the template styles it: size (pt), bold, colour (hex), alignment.
PlaceStyle = tuple[float, bool, str, str]


def cover_places(cover: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids a ledger's cover frame must have (`cover-numbers` too, when it is there)."""
    colours = tuple(f"count-{row['key']}" for row in cover["colours"])
    flags = tuple(f"flag-{what}-{n}" for n in range(1, cover["flag_columns"] + 1)
                  for what in ("name", "people", "households"))
    editions = ("cover-editions",) if cover["has_editions"] else ()
    return (*COVER_WORDS, *editions, "cover-households", "cover-members", "cover-date",
            "cover-pages", "cover-footer", *colours, *flags)


# The places of a ledger's cover that hold the grid's own words (printing/run.cover_values)
COVER_WORDS = ("cover-title", "cover-community", "cover-grid", "cover-worker", "cover-phone",
               "cover-footer-title")
# What a cover template was given before cardgen drew the grid's words: the place of each
COVER_MOVED = {"title": "cover-title", "community": "cover-community", "grid": "cover-grid",
               "grid_worker": "cover-worker", "grid_worker_phone": "cover-phone",
               "editions": "cover-editions", "flags": "flag-name-N"}


def place_styles(page: Any, names: set[str]) -> dict[str, PlaceStyle]:
    """The type of each named place, as WeasyPrint computed it for its element."""
    found: dict[str, PlaceStyle] = {}

    def walk(box: Any) -> None:
        element = getattr(box, "element", None)
        name = element.get("id") if element is not None else None
        if name in names and name not in found:
            style = box.style
            red, green, blue = style["color"].to("srgb").coordinates
            colour = "#" + "".join(f"{round(min(1.0, max(0.0, v)) * 255):02X}"
                                   for v in (red, green, blue))
            align = str(style["text_align_all"])
            found[name] = (round(style["font_size"] * 0.75, 3),  # CSS px to pt
                           int(style["font_weight"]) >= 600, colour,
                           align if align in ("right", "center") else "left")
        for child in getattr(box, "children", ()):
            walk(child)

    walk(page._page_box)
    return found


def template_place(exc: BaseException, template: Any) -> str:
    """`file, line N` of the template line an error happened on."""
    line = None
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == template.filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return place_words(str(template.filename), line)


def place_words(file: str, line: int | None) -> str:
    """`file, line N`, in the user's language."""
    return _("{file}, line {line}").format(file=file, line=line) if line else file


UNKNOWN_FILTER = re.compile(r"No filter named '([^']+)'")
UNKNOWN_TEST = re.compile(r"No test named '([^']+)'")


def template_mistake(place: str, exc: BaseException) -> str:
    """What kind of mistake a Jinja error is, in a sentence naming the template's file and
    line; Jinja's own words follow in brackets."""
    import jinja2

    detail = str(getattr(exc, "message", None) or exc)
    if (found := UNKNOWN_FILTER.search(detail)):
        return _("template {place}: unknown filter “{name}” ({detail})").format(
            place=place, name=found[1], detail=detail)
    if (found := UNKNOWN_TEST.search(detail)):
        return _("template {place}: unknown test “{name}” ({detail})").format(
            place=place, name=found[1], detail=detail)
    if isinstance(exc, jinja2.UndefinedError):
        names = re.findall(r"'([^']+)'", detail)
        return _("template {place}: “{name}” is used but does not exist; check the spelling "
                 "({detail})").format(place=place, name=names[-1] if names else detail,
                                     detail=detail)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return _("template {place}: syntax error ({detail})").format(place=place,
                                                                     detail=detail)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return _("template {place}: the template does something templates may not do "
                 "({detail})").format(place=place, detail=detail)
    return _("template {place}: the template went wrong ({detail})").format(
        place=place, detail=detail)


def check_options(config: Config, options: PrintOptions) -> None:
    """Print options that cannot work together, or name nothing, are usage errors.

    `--bleed` and `--marks` work with `--impose`: the sheet grows to keep each card's
    bleed and to carry its crop marks (cardgen/pdf/compose.py, `plan_sheet`); so does
    `--duplex`: each sheet is followed by its back, turned over (`plan_back`)."""
    from cardgen.i18n import _

    if options.paper and options.paper not in config.papers.sizes:
        raise UsageError(_("--paper {paper}: no such paper size; use one of: {choices}").format(
            paper=options.paper, choices=", ".join(config.papers.sizes)), code="print.paper")
    if options.impose is None:
        return
    imposition = config.papers.impositions.get(options.impose)
    if imposition is None:
        raise UsageError(_("--impose {name}: no such imposition; use one of: {choices}").format(
            name=options.impose,
            choices=", ".join(config.papers.impositions) or _("none configured")),
            code="print.imposition")
    if options.paper and options.paper != imposition.paper:
        raise UsageError(_("--impose {name} takes {paper} cards; leave out --paper {asked}")
                         .format(name=imposition.name, paper=imposition.paper,
                                 asked=options.paper), code="print.imposition_paper")


def paper_for(config: Config, options: PrintOptions) -> Paper:
    """The one paper size of a run: --paper, the imposition's card paper, or the config's."""
    check_options(config, options)
    paper = options.paper
    if options.impose:
        paper = config.papers.impositions[options.impose].paper
    return config.papers.size(paper)


def notes_shares(columns: int) -> list[float]:
    """The notes strip's columns as shares of its width: a date and a signature (the first
    and the last) a third of what the matter between them takes (2026-11-30 and a name,
    written by hand, against a sentence)."""
    if columns <= 2:
        return [1.0, 3.0][:columns] if columns else []
    return [1.0, *[3.0 / (columns - 2)] * (columns - 2), 1.0]


def probe_rows(config: Config, paper: Paper) -> int:
    """Ruled rows enough to fill any members table: a page's height in lines of body text."""
    line = config.card.type_size("body", paper.scale) * PT * config.card.line_factor
    return int(paper.height / line) + 1


class _Recorder(logging.Handler):
    """Keeps WeasyPrint's warnings (ignored CSS, missing glyphs) instead of printing them;
    one about a stylesheet being read (`about`) says so in the user's language, naming the
    file and, where WeasyPrint gives it, the line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.source: tuple[str, bool] | None = None

    @contextlib.contextmanager
    def about(self, source: str, lines: bool = False) -> Iterator[None]:
        """Warnings in the block are about `source` (its lines are WeasyPrint's when
        `lines`: a file read as it is, not one made from a template)."""
        self.source = (source, lines)
        try:
            yield
        finally:
            self.source = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(REPEATED_ID):
            return
        if self.source is not None:
            source, lines = self.source
            found = CSS_PLACE.search(message) if lines else None
            if found:
                message = _("{file}, line {line}: this CSS is not understood and is ignored "
                            "({message})").format(file=source, line=found[1], message=message)
            else:
                message = _("{file}: this CSS is not understood and is ignored "
                            "({message})").format(file=source, message=message)
        self.messages.append(message)


CSS_PLACE = re.compile(r" at (\d+):(\d+)")  # WeasyPrint's "Ignored `…` at 3:5, …"


# The geometry pass lays out one page per kind of frame in one document, each with the same
# ids: WeasyPrint's warning about it says nothing about the templates.
REPEATED_ID = "Anchor defined twice"


ENGINE_WARNINGS = _Recorder()
_engine_log = logging.getLogger("weasyprint")
_engine_log.addHandler(ENGINE_WARNINGS)
_engine_log.propagate = False


TOLERANCE = 0.05  # mm: two layouts of one place agree within this


def check_pages(pages: list[Places], config: Config, paper: Paper, source: str) -> None:
    """The geometry pass's pages (first page, 续页, plain page, and a back page's visit
    log) hold every place, each big enough for a line of its text, on the run's paper,
    with equal ruled rows; else the template is refused."""
    for index, places in enumerate(pages):
        first, plain, log = index == 0, index == 2, index == 3
        for name in required_places(first, plain, len(config.flags.sticker_slots), log):
            if name not in places:
                raise RenderRefused(_(
                    "{file} has no element with id “{id}”: cardgen prints the household's "
                    "data there (docs/templates.md lists the ids)").format(file=source, id=name),
                    code="template.missing_id")
        if plain:
            continue
        rows = places.rows_inside()
        need = [(name, config.card.text[style]) for name, style in PLACE_STYLES.items()
                if name in places]
        need += [(f"slot-{n}", config.card.text["sticker"])
                 for n in range(1, len(places.slots()) + 1)]
        need += [(f"member-row-{n}", config.card.text["body"]) for n in range(1, len(rows) + 1)]
        for name, style in need:
            box = places.rows[int(name.rsplit("-", 1)[1]) - 1] if name.startswith(
                "member-row-") else places[name]
            size = max(style.size * paper.scale, style.least, config.card.smallest_text)
            line = size * PT * config.card.line_factor
            em = size * PT
            if box.height + TOLERANCE < line or box.width + TOLERANCE < em:
                raise RenderRefused(_(
                    "{file}: the box “{id}” is {width:.1f} × {height:.1f} mm, too small for "
                    "one line of its text ({line:.1f} mm tall)").format(
                    file=source, id=name, width=box.width, height=box.height, line=line),
                    code="template.box_too_small")
        if log:
            continue
        if not rows:
            raise RenderRefused(_("{file}: the members table “members” holds no whole ruled "
                                  "row “member-row-1”").format(file=source),
                                code="template.no_rows")
        if any(abs(row.height - rows[0].height) > TOLERANCE for row in rows):
            raise RenderRefused(_("{file}: the ruled rows “member-row-N” must be equally "
                                  "tall").format(file=source), code="template.rows_unequal")


def check_frame(places: Places, expected: Places, frame: Frame, source: str) -> None:
    """A frame's places are those the geometry pass found for its kind of page: a card's
    colour (or a page's side) must not move what cardgen fills."""
    rows = expected.rows[:frame.rows] if frame.colour else ()
    pairs = [(name, box, places.boxes.get(name)) for name, box in expected.boxes.items()]
    pairs += [(f"member-row-{n}", box, places.rows[n - 1] if n <= len(places.rows) else None)
              for n, box in enumerate(rows, 1)]
    for name, want, found in sorted(pairs, key=lambda pair: (pair[1].y, pair[1].x)):  # topmost
        if found is None or any(abs(a - b) > TOLERANCE for a, b in zip(
                (want.x, want.y, want.width, want.height),
                (found.x, found.y, found.width, found.height), strict=True)):
            raise RenderRefused(_(
                "{file}: the place “{id}” is not where the geometry pass found it on a "
                "{colour} card (growth {grow}): the places cardgen fills must be the same "
                "on every colour, and a taller household block must move only what "
                "follows it, down to the members table").format(
                file=source, id=name, colour=frame.colour or "-", grow=frame.grow),
                code="template.places_differ")


OVERLAP = 0.2  # mm: the frame's own ink may come this far into a place (anti-aliasing, hairlines)
# The places whose boxes the household's data is drawn into (the header cells `col-*` only
# give the columns' edges, and `content` holds a plain page's footer).
# ids that are no place data is printed in: column titles, rows, and the landmarks of
# whole sections (the sticker section around its slots, the notes strip kept for writing)
CLEAR_EXCEPT = re.compile(r"col-|content$|(?:member|log)-row-|stickers$|notes$")


def check_clear(page: Any, source: str) -> None:
    """Nothing the frame itself paints (a border, a background, its own words) reaches into
    a place cardgen fills, unless the place lies inside it (a section's frame around its
    place): else cardgen would print the household's data over the frame's lines. A
    template change that makes a section overflow, or puts one over another, is refused."""
    from weasyprint.formatting_structure import boxes as wboxes

    places: dict[int, str] = {}  # id(element) of a place's element -> its id
    around: dict[str, set[int]] = {}  # a place -> id(element) of its element's ancestors

    def find(box: Any, elements: tuple[int, ...]) -> None:
        element = getattr(box, "element", None)
        name = element.get("id") if element is not None else None
        if name and name in page.anchors and not CLEAR_EXCEPT.match(name):
            places[id(element)] = name
            around.setdefault(name, set()).update(elements)
        if element is not None and (not elements or elements[-1] != id(element)):
            elements = (*elements, id(element))
        for child in getattr(box, "children", ()):
            find(child, elements)

    find(page._page_box, ())
    rects = {name: tuple(v * PX for v in page.anchors[name]) for name in around}

    def painted(box: Any) -> list[tuple[str, tuple[float, float, float, float]]]:
        if box.style["visibility"] != "visible":
            return []
        x, y = box.border_box_x() * PX, box.border_box_y() * PX
        width, height = box.border_width() * PX, box.border_height() * PX
        if isinstance(box, wboxes.TextBox):
            return [("text", (x, y, x + width, y + height))] if box.text.strip() else []
        found = []
        background = getattr(box, "background", None)
        if background is not None and (background.color.alpha > 0 or any(
                layer.image is not None for layer in background.layers)):
            found.append(("background", (x, y, x + width, y + height)))
        for side, edge in (("top", (x, y, x + width, y + box.border_top_width * PX)),
                           ("bottom", (x, y + height - box.border_bottom_width * PX,
                                       x + width, y + height)),
                           ("left", (x, y, x + box.border_left_width * PX, y + height)),
                           ("right", (x + width - box.border_right_width * PX, y,
                                      x + width, y + height))):
            if getattr(box, f"border_{side}_width") > 0 and box.style[
                    f"border_{side}_style"] not in ("none", "hidden"):
                found.append(("line", edge))
        return found

    def walk(box: Any, within: str) -> None:
        element = getattr(box, "element", None)
        if element is not None and id(element) in places:
            return  # the place's own content (the ruled rows in `members`)
        if element is not None and not isinstance(box, wboxes.PageBox):
            for kind, (x1, y1, x2, y2) in painted(box):
                for name, (px1, py1, px2, py2) in rects.items():
                    if id(element) in around[name]:
                        continue
                    if min(x2, px2) - max(x1, px1) > OVERLAP and \
                            min(y2, py2) - max(y1, py1) > OVERLAP:
                        raise RenderRefused(_(
                            "{file}: {what} of the frame (the element {element}) runs into "
                            "the place “{id}”, where cardgen prints the household's data: "
                            "a section overflows or lies over another; give it room in the "
                            "template or custom.css (see the README, “Templates”)").format(
                            file=source, what=INK_WORDS[kind](),
                            element=describe_element(element, within), id=name),
                            code="template.overlap")
        if element is not None and element.get("class"):
            within = describe_element(element, "")
        for child in getattr(box, "children", ()):
            walk(child, within)

    walk(page._page_box, "")


INK_WORDS = {"text": lambda: _("the words"), "background": lambda: _("a filled area"),
             "line": lambda: _("a line")}


def describe_element(element: Any, within: str) -> str:
    """`<div class="head">`, or `<td>` in `<section class="strip">`: an element as a
    template writer finds it."""
    tag = str(element.tag).rsplit("}", 1)[-1]
    classes = element.get("class")
    if classes:
        return f'<{tag} class="{classes}">'
    return f"<{tag}> ({within})" if within else f"<{tag}>"
