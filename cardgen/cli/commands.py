"""The commands: options in, a library call, problems and an exit status out (docs/cli.md).

Every word here is a message id (`_`, or `N_` for help texts, translated when shown), so
that cardgen speaks the user's language (Simplified Chinese unless English is asked for:
`--lang en`, CARDGEN_LANG=en or an English locale).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import itertools
import json
import os
import signal
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from cardgen import __version__
from cardgen.errors import CardgenError, DataRefused, Problem, Severity
from cardgen.i18n import N_, _, language, language_from, ngettext, set_language
from cardgen.write import output_name

if TYPE_CHECKING:
    from cardgen.data.read import SheetChoice

MAX_LISTED_WARNINGS = 10  # more are counted, not listed
INTERRUPTED, TERMINATED = 130, 143  # exit statuses after Ctrl-C and SIGTERM
PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1` under pipefail
F = TypeVar("F", bound=Callable[..., Any])


# ---- help texts are message ids, translated when they are shown ------------------------

@contextmanager
def _translated(obj: Any, *names: str) -> Iterator[None]:
    """`obj`'s attributes `names` (message ids) in the current language, for a moment."""
    kept = {name: getattr(obj, name) for name in names if hasattr(obj, name)}
    for name, value in kept.items():
        if isinstance(value, str) and value:
            setattr(obj, name, _(inspect.cleandoc(value)))
    try:
        yield
    finally:
        for name, value in kept.items():
            setattr(obj, name, value)


# Words Click writes without asking gettext: the usage line's, and the names of the
# value types it shows after an option.
USAGE_WORDS = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."), N_("PATH"), N_("FILE"),
               N_("DIRECTORY"), N_("TEXT"), N_("INTEGER"), N_("INTEGER RANGE"), N_("FLOAT"),
               N_("FLOAT RANGE"))


def display_width(text: str) -> int:
    """Columns a text takes on a terminal: a Chinese character takes two. Click counts
    characters (`term_len`), which left the Chinese help's option list out of line; its
    formatter measures with this instead."""
    plain = click.unstyle(text)
    return len(plain) + sum(1 for char in plain if unicodedata.east_asian_width(char) in "WF")


click.formatting.term_len = display_width  # type: ignore[attr-defined,assignment]


class Command(click.Command):
    """A command whose help, short help and usage words are translated when shown."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated(self, "help"):
            super().format_help_text(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated(self, "help", "short_help"):
            return super().get_short_help_str(limit)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        with _translated(self, "options_metavar", "subcommand_metavar"):
            return super().collect_usage_pieces(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # Click's parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as wrong:
            said = wrong.format_message()
            if isinstance(wrong, click.MissingParameter) and language() == "zh" and \
                    said.endswith("."):
                # Click ends "Missing argument 'INPUT'." with an ASCII full stop of its
                # own, outside the catalogue: a Chinese sentence ends in 。
                said = said[:-1] + "。"
            if _asks_json(given):  # a program asked for JSON: it gets JSON, even for this
                from cardgen.problems import book_failure, register_failure

                # `book check` reports a book (docs/book.md), the others a register's problems
                _echo_json(book_failure("usage", said, None) if self is book_check
                           else register_failure("usage", said, None))
                ctx.exit(2)
            if said != wrong.format_message():
                raise click.UsageError(said, ctx) from None
            raise


def _echo_json(data: object) -> None:
    """What a command prints for programs (`--format json`)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _asks_json(args: list[str]) -> bool:
    """`--format json` (or `--format=json`) among a command's arguments."""
    return "--format=json" in args or any(
        pair == ("--format", "json") for pair in itertools.pairwise(args))


def _silence_closed_pipe() -> None:
    """After the reader of stdout (or stderr) went away (`cardgen … | head -1`): point both
    at the null device, so that nothing more, not even Python's last flush at exit, fails."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives until exit
    null = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(null, stream.fileno())  # type: ignore[union-attr]


@contextmanager
def _ends_quietly_on_closed_pipe() -> Iterator[None]:
    """A closed pipe ends the run at once with PIPE_CLOSED, saying nothing (Click's own
    handling would exit 1)."""
    try:
        yield
    except BrokenPipeError:
        _silence_closed_pipe()
        raise click.exceptions.Exit(PIPE_CLOSED) from None


class Group(Command, click.Group):
    command_class = Command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every run starts in the language the environment asks for; --lang may change it."""
        set_language(language_from(os.environ))
        return super().main(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _ends_quietly_on_closed_pipe():  # `cardgen --help | head -1`
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _ends_quietly_on_closed_pipe():
            return super().invoke(ctx)


Group.group_class = Group


class Option(click.Option):
    """An option whose help and metavar are translated when shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        with _translated(self, "help", "metavar"):
            return super().get_help_record(ctx)

    def make_metavar(self, ctx: click.Context) -> str:
        return _(super().make_metavar(ctx))


class Argument(click.Argument):
    def make_metavar(self, ctx: click.Context) -> str:
        with _translated(self, "metavar"):
            return super().make_metavar(ctx)


def option(*names: str, **attrs: Any) -> Callable[[F], F]:
    return click.option(*names, cls=Option, **attrs)


def argument(*names: str, **attrs: Any) -> Callable[[F], F]:
    return click.argument(*names, cls=Argument, **attrs)


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


def _set_language(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        set_language(language_from(os.environ, value))


lang_option = option("--lang", type=click.Choice(["zh", "en"]), is_eager=True,
                     expose_value=False, callback=_set_language,
                     help=N_("Language of messages: zh (Simplified Chinese, the default) or en."))
cache_option = option("--no-cache", is_flag=True,
                      help=N_("Draw everything again, without reading or writing the cache."))
source_argument = argument("source", metavar=N_("INPUT"), type=click.Path(path_type=Path))


def _sheets(function: F) -> F:
    """--sheet-name (repeatable) reaches the command as one `sheet_name`: the sheets to
    read, a SheetChoice. --all-sheets, what every workbook now gets, is still accepted."""
    @functools.wraps(function)
    def command(*args: Any, sheet_name: tuple[str, ...] = (), all_sheets: bool = False,
                **kwargs: Any) -> Any:
        from cardgen.data.read import SheetChoice

        return function(*args, sheet_name=SheetChoice(tuple(sheet_name)), **kwargs)
    return cast(F, command)


class Day(click.DateTime):
    """A date written YYYY-MM-DD; a wrong one is said in the user's words, not strptime's."""

    def __init__(self) -> None:
        super().__init__(formats=["%Y-%m-%d"])

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(_("{value} is not a date; write it as year-month-day, for example "
                        "2026-11-30").format(value=value), param, ctx)


input_options = _stack(
    option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
           help=N_("TOML file of settings over the defaults (see `cardgen init`).")),
    option("--date", "date", type=Day(),
           metavar=N_("YYYY-MM-DD"),
           help=N_("Reference date for ages and the printed date (default: today).")),
    option("--sheet-name", multiple=True, metavar=N_("NAME"),
           help=N_("Sheet of a workbook (.xlsx, .xls, .ods) to read; repeat for more "
                   "(default: every sheet that holds records; a sheet's name is then the grid "
                   "of a table with no 网格 column).")),
    option("--all-sheets", is_flag=True, hidden=True),  # the default since issue 21
    lang_option,
    _sheets,
)
common_options = _stack(
    input_options,
    option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
           help=N_("Folder of templates looked in before the bundled ones.")),
)
selection_options = _stack(
    option("--household", "households", multiple=True, metavar=N_("ID"),
           help=N_("Household number (户编号); repeat for more.")),
    option("--colour", "--color", "colours", multiple=True, metavar=N_("COLOUR"),
           help=N_("red, orange, yellow, blue or green (or 红 橙 黄 蓝 绿); repeat for more.")),
    option("--flag", "flags", multiple=True, metavar=N_("FLAG"),
           help=N_("A flag such as 低保 or 残疾; repeat for more.")),
    option("--grid", "grids", multiple=True, metavar=N_("NAME"),
           help=N_("Grid (网格) name; repeat for more.")),
)
print_options = _stack(
    cache_option,
    option("--paper", metavar=N_("SIZE"),
           help=N_("A4 (default), A5 or a size from the config.")),
    option("--bleed", type=click.FloatRange(0, 10), default=0.0, show_default=True,
           help=N_("Bleed in millimetres around the trimmed card.")),
    option("--marks", is_flag=True, help=N_("Crop marks around each card.")),
    option("--impose", metavar=N_("NAME"),
           help=N_("Place cards on bigger sheets, e.g. a4-2up: two A5 cards per A4.")),
    option("--pdf-variant", type=click.Choice(["pdf/a-2b", "press"]),
           help=N_("pdf/a-2b: archival (metadata, sRGB output intent, language); press: "
                   "for a print shop (an output intent naming the printing condition).")),
)


def _renames(ctx: click.Context, param: click.Parameter,
             value: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for text in value:
        old, equals, new = text.partition("=")
        if not equals or not old.strip() or not new.strip():
            raise click.BadParameter(_("{value}: write it as OLD=NEW, for example "
                                       "第4网格=第5网格").format(value=text), ctx, param)
        pairs.append((old.strip(), new.strip()))
    return tuple(pairs)


rename_option = option(
    "--rename-grid", "renames", multiple=True, metavar=N_("OLD=NEW"), callback=_renames,
    help=N_("With --book: the book's grid OLD is now called NEW (the office renamed it); "
            "its numbers stay, its cards are reprinted with the new name. Repeatable."))


book_option = option(
    "--book", type=click.Path(path_type=Path, file_okay=False), metavar=N_("DIR"),
    help=N_("The folder of the grid's book (its manifest.json): print its numbers."))


# ---- problems and messages ----------------------------------------------------------------

def format_problem(problem: Problem) -> str:
    """One line a person reads: severity, file and cell, the value as written, the message."""
    severity = _("error") if problem.severity is Severity.ERROR else _("warning")
    place = " ".join(part for part in (problem.source, problem.where) if part)
    if problem.value not in (None, ""):
        return _("{severity}: {place} “{value}”: {message}").format(
            severity=severity, place=place, value=problem.value, message=problem.message)
    return _("{severity}: {place}: {message}").format(severity=severity, place=place,
                                                      message=problem.message)


def _echo_problems(problems: list[Problem], err: bool = True) -> None:
    for problem in problems:
        click.echo(format_problem(problem), err=err)


def _say(message: str) -> None:
    """A line of cardgen's own on stderr."""
    click.echo(_("cardgen: {message}").format(message=message), err=True)


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that every `finally` cleans up."""


_STOPPED: list[int] = []  # the signal that asked the run to stop


def _on_stop(signum: int, frame: object) -> None:
    """The first Ctrl-C or SIGTERM stops the run; later ones are ignored, so that a second
    Ctrl-C cannot cut short the clean-up (temporary files, worker processes) under way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _STOPPED.append(signum)
    raise _stop_exception(signum)


def _stop_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _run(action: Callable[[], int | None]) -> None:
    """Call the library; turn its exceptions into messages and exit statuses. What a thread
    of the run fails with is said as the run ends, unless it was stopped: as the workers a
    stop ended go, the pool's thread may fail, and a traceback came before "interrupted"
    (CI, session 11)."""
    import threading

    held: list[Any] = []
    said = threading.excepthook
    threading.excepthook = held.append
    try:
        _run_action(action)
    finally:
        threading.excepthook = said
        for failure in held if not _STOPPED else ():  # stopped: they go with the process
            said(failure)


def _run_action(action: Callable[[], int | None]) -> None:
    context = click.get_current_context()
    debug = bool(context.find_root().params.get("debug"))
    render = sys.modules.get("cardgen.frame.render")
    heard = len(render.ENGINE_WARNINGS.messages) if render else 0
    try:
        code = action()
        if _STOPPED:  # raised where a library's bare `except:` swallowed it (one run in CI)
            raise _stop_exception(_STOPPED[0])
        _echo_template_warnings(context, heard)
    except DataRefused as exc:
        _echo_problems(exc.problems)
        _say(str(exc))
        context.exit(exc.exit_code)
    except CardgenError as exc:
        _say(str(exc))
        context.exit(exc.exit_code)
    except (KeyboardInterrupt, Terminated) as exc:
        _stopped(context, isinstance(exc, Terminated))
    except BrokenPipeError:  # the reader went away (`… | head -1`): nothing to say to anyone
        _silence_closed_pipe()
        context.exit(PIPE_CLOSED)
    except Exception as exc:
        from cardgen.book.publish import WRITE_ERRORS, said

        if _STOPPED and not debug:  # what the stop caused first: a worker the signal sent
            # to the whole group ended, the pool said broken (1 run in 76, session 11)
            _stopped(context, _STOPPED[0] != signal.SIGINT)
        pools = sys.modules.get("concurrent.futures.process")
        if pools is not None and isinstance(exc, pools.BrokenProcessPool) and not debug:
            # a worker ended from outside: the OOM killer, a task manager (said as an
            # internal error before, session 11); every `finally` has cleaned up
            _say(_("a worker process ended before its work was done (the computer may have "
                   "run out of memory, or a task manager ended it); nothing was written. "
                   "Close other programs and run the same command again, or add --jobs 1 "
                   "to use less memory"))
            context.exit(1)
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRORS and not debug:
            # a full disk or a read-only folder met while writing (files are written whole
            # or not at all): said in words, exit 1
            _say(str(said(exc, Path(exc.filename).parent if exc.filename else Path.cwd())))
            context.exit(1)
        if debug:
            raise
        _say(_("internal error ({kind}: {error}); please report it with the output of the "
               "same command run with `cardgen --debug …`").format(kind=type(exc).__name__,
                                                                  error=exc))
        context.exit(3)
    context.exit(code or 0)


def _stopped(context: click.Context, terminated: bool) -> NoReturn:
    _say(_("interrupted; nothing is left half-written, and a book or folder being "
           "written is as it was"))
    context.exit(TERMINATED if terminated else INTERRUPTED)


def _echo_template_warnings(context: click.Context, heard: int) -> None:
    """What WeasyPrint said about a user's own templates (ignored CSS, a missing image)
    during this command (`heard`: messages from before it)."""
    render = sys.modules.get("cardgen.frame.render")
    if context.params.get("templates") is None or render is None:
        return
    for message in dict.fromkeys(render.ENGINE_WARNINGS.messages[heard:]):
        click.echo(_("warning: your templates: {message}").format(message=message), err=True)


def _echo_warnings(warnings: list[Problem]) -> None:
    """The selected households' warnings: each if few, else how many."""
    if len(warnings) <= MAX_LISTED_WARNINGS:
        _echo_problems(warnings)
    else:
        click.echo(_("warning: {count} warnings for the selected households; `cardgen "
                     "validate` lists them").format(count=len(warnings)), err=True)


def _echo_errors_elsewhere(count: int, source: Path) -> None:
    if count:
        click.echo(ngettext(
            "warning: {count} other household in {source} has errors (not printed here); "
            "`cardgen validate` lists them",
            "warning: {count} other households in {source} have errors (not printed here); "
            "`cardgen validate` lists them", count).format(count=count, source=source),
            err=True)


def _load(source: Path, config_path: Path | None, date: dt.datetime | None,
          sheet_name: SheetChoice | str | None, use_cache: bool = True,
          templates: Path | None = None, starting: Callable[..., None] | None = None) -> Any:
    """Read, validate and categorise the input (the one cache of the command with it);
    `starting(config, cache, today)` is called before the input is read."""
    from cardgen.cache import Cache
    from cardgen.config import load_config
    from cardgen.pipeline.register import load

    config = load_config(config_path)
    today = date.date() if date else dt.date.today()
    cache = Cache.open(config, templates, use_cache)
    if starting is not None:
        starting(config, cache, today)
    return load(source, config, today, sheet_name, cache)


# ---- the commands ---------------------------------------------------------------------------

@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]},
             help=N_("Five-colour household cards (五色户卡) from household records, as "
                     "print-ready PDF."))
@click.version_option(__version__, prog_name="cardgen", cls=Option,
                      help=N_("Show the version and exit."))
@option("--debug", is_flag=True, help=N_("Show the traceback of an internal error."))
@lang_option
def cli(debug: bool) -> None:
    pass



@cli.command(help=N_("Check INPUT and list every problem; exit 1 if there are errors."))
@source_argument
@option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
        show_default=True,
        help=N_("text for people, json for programs (docs/cli.md describes its fields)."))
@option("--explain", is_flag=True, help=N_("List every household's colour and why."))
@input_options
def validate(source: Path, output_format: str, explain: bool, config_path: Path | None,
             sheet_name: SheetChoice, date: dt.datetime | None) -> None:
    def action() -> int:
        from cardgen.pipeline.reports import validation_report
        from cardgen.problems import register_failure

        try:
            loaded = _load(source, config_path, date, sheet_name)
        except CardgenError as exc:  # a file, setting or sheet that cannot be read at all
            if output_format != "json":
                raise
            _echo_json(register_failure(exc.code, str(exc), str(source)))
            return exc.exit_code
        dataset = loaded.dataset
        members = sum(len(h.members) for h in dataset.households)
        ok = not dataset.errors
        explained = [{"household_id": household.household_id,
                      "number": loaded.numbers[household.household_id],
                      "grid": household.grid, "colour": category.key,
                      "reasons": list(category.reasons),
                      "visit": category.visit}
                     for household in dataset.households
                     for category in (loaded.categories[household.household_id],)]
        if output_format == "json":
            report = validation_report(loaded)
            if explain:
                report["explained"] = explained
            _echo_json(report)
            return 0 if ok else 1
        _echo_problems(dataset.problems, err=False)
        if explain:  # one row per household under a header; the reasons as the card says them
            click.echo("\t".join((_("household"), _("number"), _("grid"), _("colour"),
                                   _("reasons (as on the card)"), _("visits (as on the card)"))))
            for row in explained:
                click.echo("\t".join((str(row["household_id"]), str(row["number"]),
                                       str(row["grid"]), _(str(row["colour"])),
                                       "、".join(row["reasons"]),
                                       str(row["visit"]))))
        click.echo(_("{source}: {households} households, {members} members: {errors} "
                     "error(s), {warnings} warning(s)").format(
            source=source, households=len(dataset.households), members=members,
            errors=len(dataset.errors), warnings=len(dataset.warnings)))
        return 0 if ok else 1
    _run(action)


@cli.command(help=N_("Print the cards of selected households (all, without a selection) "
                     "into one PDF."))
@source_argument
@option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
        help=N_("The PDF to write (.pdf is added to a name without it)."))
@selection_options
@option("--emergency", is_flag=True, help=N_("Emergency mode: the colour tab on top."))
@book_option
@print_options
@common_options
def reprint(source: Path, out: Path, households: tuple[str, ...], colours: tuple[str, ...],
            flags: tuple[str, ...], grids: tuple[str, ...], emergency: bool, book: Path | None,
            no_cache: bool, paper: str | None, bleed: float, marks: bool, impose: str | None,
            pdf_variant: str | None, config_path: Path | None, templates: Path | None,
            date: dt.datetime | None, sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.data.select import make_selection
        from cardgen.frame.helper import FrameHelper
        from cardgen.layout.geometry import PrintOptions
        from cardgen.pipeline.cards import reprint as reprint_cards

        pdf = output_name(out, ".pdf", (source,))
        options = PrintOptions(paper=paper, bleed=bleed, marks=marks, impose=impose,
                               pdf_variant=pdf_variant)
        helpers: list[FrameHelper | None] = []  # WeasyPrint's part, begun beside the read
        try:
            loaded = _load(source, config_path, date, sheet_name, not no_cache, templates,
                           lambda config, cache, today: helpers.append(FrameHelper.start(
                               config, cache, today, options, emergency, templates)))
            selection = make_selection(loaded.config, households, colours, flags, grids)
            printed = reprint_cards(loaded, selection, pdf, emergency, templates, options,
                                    loaded.cache, book, helpers[0])
        finally:
            for helper in helpers:
                if helper is not None:
                    helper.close()
        _echo_warnings(printed.warnings)
        _echo_errors_elsewhere(printed.errors_elsewhere, source)
        click.echo(_("wrote {path}: {cards} card(s), {pages} page(s)").format(
            path=pdf, cards=printed.households, pages=printed.pages), err=True)
        return 0
    _run(action)


class Progress:
    """Click's progress bar on stderr (cards done, how many, time left); silent off a
    terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=_("cards"), file=sys.stderr,
                                         show_pos=True, show_eta=True)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command(help=N_("Print bound ledgers: one PDF per grid with a cover, an index and "
                     "the cards."))
@source_argument
@option("-o", "--output", "folder", required=True, type=click.Path(path_type=Path),
        help=N_("Folder for the ledger PDFs."))
@option("--by", type=click.Choice(["grid", "community", "all"]), default="grid",
        show_default=True, help=N_("One ledger per grid, per community, or one for all."))
@selection_options
@option("--emergency", is_flag=True, help=N_("Emergency mode: the colour tabs on top."))
@option("--duplex", is_flag=True,
        help=N_("Two-sided printing, flipped on the long edge: every card starts on a "
                "right-hand page; with --impose each sheet is followed by its back."))
@option("--skip-invalid", is_flag=True,
        help=N_("Print the households without errors; list the others on the cover."))
@book_option
@option("--renumber", is_flag=True,
        help=N_("With --book: start a new edition, numbered in address order again."))
@rename_option
@option("--force", is_flag=True,
        help=N_("Write even over another book's files in the output folder."))
@option("--jobs", type=click.IntRange(1, 64), default=None,
        help=N_("Worker processes (default: the number of CPUs)."))
@option("--quiet", is_flag=True, help=N_("No progress bar."))
@print_options
@common_options
def ledger(source: Path, folder: Path, by: str, households: tuple[str, ...],
           colours: tuple[str, ...], flags: tuple[str, ...], grids: tuple[str, ...],
           emergency: bool, duplex: bool, skip_invalid: bool, book: Path | None,
           renumber: bool, renames: tuple[tuple[str, str], ...], force: bool,
           jobs: int | None, quiet: bool, no_cache: bool,
           paper: str | None, bleed: float, marks: bool, impose: str | None,
           pdf_variant: str | None, config_path: Path | None, templates: Path | None,
           date: dt.datetime | None, sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.data.select import make_selection
        from cardgen.layout.geometry import PrintOptions
        from cardgen.pipeline.ledgers import LedgerRequest, LedgerWorkers, early_workers
        from cardgen.pipeline.ledgers import ledger as print_ledgers

        options = PrintOptions(paper=paper, bleed=bleed, marks=marks, impose=impose,
                               pdf_variant=pdf_variant)
        workers: list[LedgerWorkers | None] = []

        def starting(config: Any, cache: Any, today: dt.date) -> None:
            workers.append(early_workers(source, config, options, templates, today, cache,
                                         jobs or os.cpu_count() or 1))

        progress = Progress(enabled=not quiet and sys.stderr.isatty())
        try:
            loaded = _load(source, config_path, date, sheet_name, not no_cache, templates,
                           starting)
            selection = make_selection(loaded.config, households, colours, flags, grids)
            _echo_warnings([p for p in loaded.dataset.warnings if p.household_id is None])
            request = LedgerRequest(
                folder, selection, by=by, book=book, renumber=renumber, renames=renames,
                skip_invalid=skip_invalid, emergency=emergency, duplex=duplex,
                options=options, templates=templates, jobs=jobs or os.cpu_count() or 1,
                force=force)
            run = print_ledgers(loaded, request, progress, workers=workers[0] if workers
                                else None)
        finally:
            progress.finish()
            for started in workers:
                if started is not None:
                    started.close()
        if run.skipped:
            _echo_problems(run.skipped)
            skipped = len({p.household_id for p in run.skipped})
            click.echo(_("warning: skipped {count} household(s) with errors (listed on their "
                         "ledgers' covers)").format(count=skipped), err=True)
        for group, ids in run.unprinted_groups.items():
            click.echo(_("warning: no ledger for {group}: all its {count} household(s) have "
                         "errors ({ids})").format(group=group, count=len(ids),
                                                 ids=", ".join(ids)), err=True)
        if run.errors_elsewhere:
            click.echo(_("warning: {count} unselected household(s) in {source} have errors; "
                         "`cardgen validate` lists them").format(count=run.errors_elsewhere,
                                                                 source=source), err=True)
        for path in run.files:
            click.echo(_("wrote {path}").format(path=path), err=True)
        _echo_renamed(run.renamed)
        _echo_books(run.books)
        rate = run.cards / run.seconds if run.seconds else 0.0
        click.echo(_("ledgers: {ledgers}, cards: {cards}, pages: {pages}, {seconds:.1f} s "
                     "({rate:.1f} cards/s); manifest: {manifest}").format(
            ledgers=len(run.files), cards=run.cards, pages=run.pages, seconds=run.seconds,
            rate=rate, manifest=run.manifest), err=True)
        return 0
    _run(action)


@cli.command(help=N_("Label sheets: a colour-tab label and a sticker per flag for each "
                     "household."))
@source_argument
@option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
        help=N_("The PDF of label sheets to write (.pdf is added to a name without it)."))
@selection_options
@option("--label-sheet", "--sheet", "sheet", metavar=N_("NAME|FILE"),
        help=N_("The label paper: a sheet of labels from the config (a4-3x8, a4-2x7 …) or a "
                "TOML file. Not --sheet-name, which picks a worksheet of the input; --sheet "
                "is this option's older name."))
@option("--skip", type=click.IntRange(0), default=0, show_default=True,
        help=N_("Labels already used on the first sheet."))
@book_option
@cache_option
@input_options
def stickers(source: Path, out: Path, households: tuple[str, ...], colours: tuple[str, ...],
             flags: tuple[str, ...], grids: tuple[str, ...], sheet: str | None, skip: int,
             book: Path | None, no_cache: bool, config_path: Path | None,
             date: dt.datetime | None, sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.config import load_sheet_file
        from cardgen.data.select import make_selection
        from cardgen.errors import UsageError
        from cardgen.pipeline.cards import stickers as print_stickers

        pdf = output_name(out, ".pdf", (source,))
        loaded = _load(source, config_path, date, sheet_name, not no_cache)
        selection = make_selection(loaded.config, households, colours, flags, grids)
        name = sheet or loaded.config.stickers.default
        if name in loaded.config.stickers.sheets:
            geometry = loaded.config.stickers.sheets[name]
        elif name.endswith(".toml") or Path(name).is_file():
            geometry = load_sheet_file(Path(name))
        else:
            raise UsageError(_("--label-sheet {name!r} is no label sheet; use one of: "
                               "{sheets}, or a .toml file").format(
                                name=name, sheets=", ".join(loaded.config.stickers.sheets)),
                             code="stickers.sheet")
        printed = print_stickers(loaded, selection, pdf, geometry, skip, loaded.cache, book)
        _echo_warnings(printed.warnings)
        click.echo(_("wrote {path}: labels for {households} household(s) on {pages} {sheet} "
                     "sheet(s)").format(path=pdf, households=printed.households,
                                        pages=printed.pages, sheet=geometry.name), err=True)
        return 0
    _run(action)


@cli.command(help=N_("The monthly update of a book: per grid a change list, only the new "
                     "and changed cards, the new cover and index, the labels they need, "
                     "and the new book."))
@source_argument
@option("--book", required=True, type=click.Path(path_type=Path, file_okay=False),
        metavar=N_("DIR"), help=N_("The folder of the book to update (it is only read)."))
@option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
        help=N_("A new folder for the update packet and the new book."))
@selection_options
@option("--emergency", is_flag=True, help=N_("Emergency mode: the colour tabs on top."))
@option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
        show_default=True,
        help=N_("text for people, json for programs (docs/cli.md describes its fields)."))
@option("--force", is_flag=True,
        help=N_("Write even over another book's files in the output folder."))
@option("--skip-invalid", is_flag=True,
        help=N_("Hold back households with errors (their cards and numbers stay as they "
                "are) and update the rest."))
@rename_option
@cache_option
@common_options
def update(source: Path, book: Path, out: Path, households: tuple[str, ...],
           colours: tuple[str, ...], flags: tuple[str, ...], grids: tuple[str, ...],
           emergency: bool, output_format: str, force: bool, skip_invalid: bool,
           renames: tuple[tuple[str, str], ...], no_cache: bool,
           config_path: Path | None, templates: Path | None, date: dt.datetime | None,
           sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.data.select import make_selection
        from cardgen.pipeline.updates import UpdateRequest
        from cardgen.pipeline.updates import update as update_book

        loaded = _load(source, config_path, date, sheet_name, not no_cache, templates)
        selection = make_selection(loaded.config, households, colours, flags, grids)
        run = update_book(loaded, UpdateRequest(
            book, out, selection, renames=renames, skip_invalid=skip_invalid,
            emergency=emergency, templates=templates, force=force))
        _echo_renamed(run.renamed)
        if output_format == "json":
            _echo_json(run.as_dict())
        else:
            _echo_changes(run)
        if run.pending:
            _echo_problems(run.pending)
        _echo_warnings(run.warnings)
        for path in run.files:
            click.echo(_("wrote {path}").format(path=path), err=True)
        if not run.changed:
            click.echo(_("nothing changed since the book in {book}: no cards to print; the "
                         "book is in {manifest}").format(book=book, manifest=run.manifest),
                       err=True)
        else:
            click.echo(_("the new book: {manifest}").format(manifest=run.manifest), err=True)
        return 0
    _run(action)


@cli.command(help=N_("The emergency kit, per grid: the roster of who needs help first "
                     "(应急名单), a 避险转移明白卡 per household, and the cards with their "
                     "tabs on top, in one new folder."))
@source_argument
@option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
        help=N_("A new (or empty) folder for the kit."))
@selection_options
@book_option
@option("--duplex", is_flag=True,
        help=N_("Two-sided printing, flipped on the long edge: every card starts on a "
                "right-hand page; with --impose each sheet is followed by its back."))
@option("--copies", type=click.IntRange(1, 20), default=1, show_default=True,
        help=N_("明白卡 per household (one for the door, one to keep …)."))
@option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("text for people, json for programs (the roster as "
                                   "data; the README describes its fields)."))
@option("--force", is_flag=True, help=N_("Replace what the output folder holds."))
@option("--skip-invalid", is_flag=True,
        help=N_("Make the kit without the households that have errors, and list them."))
@option("--jobs", type=click.IntRange(1, 64), default=None,
        help=N_("Worker processes (default: the number of CPUs)."))
@print_options
@common_options
def emergency(source: Path, out: Path, households: tuple[str, ...], colours: tuple[str, ...],
              flags: tuple[str, ...], grids: tuple[str, ...], book: Path | None,
              duplex: bool, copies: int, output_format: str, force: bool,
              skip_invalid: bool, jobs: int | None,
              no_cache: bool, paper: str | None, bleed: float, marks: bool,
              impose: str | None, pdf_variant: str | None, config_path: Path | None,
              templates: Path | None, date: dt.datetime | None,
              sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.data.select import make_selection
        from cardgen.layout.geometry import PrintOptions
        from cardgen.pipeline.kit import KitRequest, emergency_kit

        loaded = _load(source, config_path, date, sheet_name, not no_cache, templates)
        selection = make_selection(loaded.config, households, colours, flags, grids)
        run = emergency_kit(loaded, KitRequest(
            out, selection, book=book, skip_invalid=skip_invalid, duplex=duplex,
            copies=copies, options=PrintOptions(paper=paper, bleed=bleed, marks=marks,
                                                impose=impose, pdf_variant=pdf_variant),
            templates=templates, jobs=jobs or os.cpu_count() or 1, force=force))
        _echo_warnings(run.warnings)
        if run.skipped:
            _echo_problems(run.skipped)
            click.echo(_("warning: {count} household(s) with errors are not in the kit: "
                         "{ids}").format(count=len({p.household_id for p in run.skipped}),
                                         ids=", ".join(dict.fromkeys(
                                             str(p.household_id) for p in run.skipped))),
                       err=True)
        for grid in run.grids:
            if grid.without_plan:
                click.echo(_("warning: {grid}: no emergency plan for {buildings}; their 明白卡 "
                             "leave the shelter, route and signal ruled for writing in (add "
                             "them to [emergency.plans] in the config)").format(
                    grid=grid.group, buildings="、".join(grid.without_plan)), err=True)
        if output_format == "json":
            _echo_json(run.as_dict())
        for path in run.files:
            click.echo(_("wrote {path}").format(path=path), err=True)
        click.echo(_("emergency kit: {grids} grid(s), {people} people on the roster, "
                     "{seconds:.1f} s").format(grids=len(run.grids),
                                               people=sum(len(g.roster) for g in run.grids),
                                               seconds=run.seconds), err=True)
        return 0
    _run(action)


def _echo_changes(run: Any) -> None:
    """The change list as text: per grid, one line per card to add, replace or take out."""
    words = {"add": _("add"), "insert": _("insert"), "replace": _("replace"),
             "remove": _("remove"), "pending": _("held back (errors)")}
    for grid in run.grids:
        counts = {action: len(grid.of(action)) for action in words}
        if grid.empty and not counts["pending"]:
            click.echo(_("{grid}: nothing changed").format(grid=grid.group))
            continue
        click.echo(_("{grid} (edition {edition}): {added} new, {replaced} replaced, "
                     "{removed} removed").format(grid=grid.group, edition=grid.edition.number,
                                                 added=counts["add"] + counts["insert"],
                                                 replaced=counts["replace"],
                                                 removed=counts["remove"]))
        for change in grid.changes:
            reasons = _("; ").join(change.reasons)
            click.echo(f"  {change.number:03d}  {change.household_id}  {words[change.action]}"
                       + (f"  {reasons}" if reasons else ""))


def _echo_renamed(renamed: list[Any]) -> None:
    """Grids the register spells otherwise than the book: read as the book's."""
    for grid in renamed:
        if grid.explicit:
            click.echo(_("{book} is now {register} (--rename-grid): its numbers stay, its "
                         "cards are reprinted with the new name").format(
                register=grid.register, book=grid.book), err=True)
            continue
        click.echo(_("note: the register's {register} is the book's {book}: its cards keep "
                     "the book's name").format(register=grid.register, book=grid.book),
                   err=True)


def _echo_books(books: list[Any]) -> None:
    """What a ledger printed with a book did to its numbers."""
    for grid in books:
        if grid.previous is None:
            continue
        if grid.new_edition:
            click.echo(_("{grid}: edition {edition}, numbered in address order").format(
                grid=grid.group, edition=grid.edition.number), err=True)
        elif grid.arrived or grid.left:
            click.echo(_("{grid}: numbers kept; {added} new at the back, {retired} number(s) "
                         "retired").format(grid=grid.group, added=len(grid.arrived),
                                           retired=len(grid.left)), err=True)


@cli.group(cls=Group, help=N_("The book of record in a ledger folder (its manifest.json)."))
def book() -> None:
    pass


@book.command(name="check", help=N_("Report a book's state (grids, numbers, retired numbers, "
                                     "editions) and every contradiction in its record; exit "
                                     "1 when it contradicts itself."))
@argument("folder", metavar=N_("DIR"), type=click.Path(path_type=Path))
@option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
        show_default=True,
        help=N_("text for people, json for programs (docs/book.md describes its fields)."))
@lang_option
def book_check(folder: Path, output_format: str) -> None:
    def action() -> int:
        from cardgen.book.record import (
            book_report,
            check_book,
            inconsistent_message,
            read_book,
        )
        from cardgen.problems import book_failure

        try:
            found = read_book(folder, check=False)
        except CardgenError as exc:
            if output_format != "json":
                raise
            _echo_json(book_failure(exc.code, str(exc), str(folder)))
            return exc.exit_code
        problems = check_book(found)
        report = book_report(found, problems)
        if output_format == "json":
            _echo_json(report)
            return 1 if problems else 0
        _echo_book(report)
        if problems:
            click.echo(inconsistent_message(found, problems, refused=False))
            return 1
        click.echo(_("the record is consistent: every number belongs to one household"))
        return 0
    _run(action)


def _echo_book(report: dict[str, Any]) -> None:
    """`book check`'s text: one paragraph per grid's book."""
    click.echo(_("{folder}: {count} grid book(s), last made or updated {date}").format(
        folder=report["folder"], count=len(report["grids"]),
        date=report["last_update"] or _("(no date)")))
    for grid in report["grids"]:
        edition = grid["edition"]
        click.echo(_("{grid} ({file}): edition {edition} since {date}, updated {updated}")
                   .format(grid=grid["grid"], file=grid["file"], edition=edition["number"],
                           date=edition["date"] or "-", updated=edition["updated"] or "-"))
        retired = [r["number"] for r in grid["retired"]]
        click.echo("  " + _("{households} household(s), numbers {first}–{highest}; {retired} "
                            "retired{numbers}; {unprinted} waiting for their first card")
                   .format(households=grid["households"], first=grid["first"] or "-",
                           highest=grid["highest"] or "-", retired=len(retired),
                           numbers=_(" ({numbers})").format(numbers=_(", ").join(retired))
                           if retired else "",
                           unprinted=grid["unprinted"]))


@cli.command(help=N_("A PNG of one household's card, for a quick check or a chat message."))
@source_argument
@option("--household", required=True, metavar=N_("ID"), help=N_("The household to show."))
@option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
        help=N_("The PNG to write (.png is added to a name without it)."))
@option("--dpi", type=click.IntRange(20, 600), default=110, show_default=True,
        help=N_("Resolution of the picture, in dots per inch."))
@option("--emergency", is_flag=True, help=N_("Emergency mode: the colour tab on top."))
@book_option
@cache_option
@option("--paper", metavar=N_("SIZE"), help=N_("A4 (default), A5 or a size from the config."))
@common_options
def preview(source: Path, household: str, out: Path, dpi: int, emergency: bool,
            book: Path | None, no_cache: bool, paper: str | None, config_path: Path | None,
            templates: Path | None, date: dt.datetime | None, sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.layout.geometry import PrintOptions
        from cardgen.pipeline.cards import preview as preview_card

        png = output_name(out, ".png", (source,))
        loaded = _load(source, config_path, date, sheet_name, not no_cache, templates)
        shown = preview_card(loaded, household, png, dpi, emergency, templates,
                             PrintOptions(paper=paper), loaded.cache, book)
        _echo_warnings(shown.warnings)
        click.echo(_("wrote {path}: {pages} page(s) at {dpi} dpi").format(
            path=png, pages=shown.pages, dpi=dpi), err=True)
        return 0
    _run(action)


@cli.command(help=N_("The card desk in a browser: search, preview and print the cards of "
                     "REGISTER files or folders (read again when they change)."))
@argument("registers", metavar=N_("REGISTER..."), nargs=-1, required=True,
          type=click.Path(path_type=Path))
@option("--host", default="127.0.0.1", show_default=True,
        help=N_("Address to listen on; other than this computer's needs --token-file."))
@option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
        help=N_("Port to listen on (0: any free port)."))
@option("--book", type=click.Path(path_type=Path, file_okay=False, exists=True),
        help=N_("The book of record (a ledger folder) whose numbers reprints carry."))
@option("--token-file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help=N_("File holding the access token every request must carry."))
@common_options
def serve(registers: tuple[Path, ...], host: str, port: int, book: Path | None,
          token_file: Path | None, config_path: Path | None, templates: Path | None,
          date: dt.datetime | None, sheet_name: SheetChoice) -> None:
    def action() -> int:
        from cardgen.config import load_config
        from cardgen.errors import InputError
        from cardgen.web.serve import serve as serve_desk

        for register in registers:  # a missing input is exit 1 in every command (docs/cli.md)
            if not register.exists():
                raise InputError(_("{source}: no such file").format(source=register),
                                 code="input.missing")
        try:
            serve_desk(list(registers), host, port, load_config(config_path), templates,
                       date.date() if date else None, sheet_name, book, token_file,
                       click.echo)
        except (KeyboardInterrupt, Terminated):
            _STOPPED.clear()  # handled here
            _say(_("stopped"))  # the usual end of a server: exit 0
        return 0
    _run(action)


@cli.command(help=N_("Render the bundled sample households, routine and emergency: the "
                     "one-command tour."))
@option("-o", "--output", "out", type=click.Path(path_type=Path, file_okay=False),
        default=Path("cardgen-demo"), show_default=True, help=N_("Folder for the PDFs."))
@option("--date", "date", type=Day(),
        metavar=N_("YYYY-MM-DD"),
        help=N_("Reference date for ages and the printed date (default: today)."))
@lang_option
def demo(out: Path, date: dt.datetime | None) -> None:
    def action() -> int:
        from cardgen.cli.demo import run_demo

        today = date.date() if date else dt.date.today()
        for path, what in run_demo(out, today):
            click.echo(_("wrote {path}: {what}").format(path=path, what=what))
        return 0
    _run(action)


@cli.command(help=N_("Write a starter config (every default, commented) and a copy of the "
                     "templates."))
@argument("folder", metavar=N_("DIR"), type=click.Path(path_type=Path))
@option("--force", is_flag=True, help=N_("Overwrite files already there."))
@lang_option
def init(folder: Path, force: bool) -> None:
    def action() -> int:
        from cardgen.cli.starter import CONFIG_NAME, TEMPLATES_NAME, write_starter

        for path in write_starter(folder, force):
            click.echo(_("wrote {path}").format(path=path))
        click.echo(_("next: edit {config} and the templates, then add --config {config} "
                     "--templates {templates} to reprint, ledger, update, emergency or preview "
                     "(stickers take --config only)").format(
            config=folder / CONFIG_NAME, templates=folder / TEMPLATES_NAME))
        return 0
    _run(action)


@cli.command(help=N_("Lay out the bundled templates' page frames once, beside the install "
                     "(setup.sh runs it): a first card then starts without WeasyPrint."))
@lang_option
def prepare() -> None:
    def action() -> int:
        from cardgen.config import load_config
        from cardgen.errors import UsageError
        from cardgen.printing.prepared import prepare as prepare_frames
        from cardgen.resources import prepared_folder

        folder = prepared_folder()
        if folder is None:
            raise UsageError(_("CARDGEN_PREPARED_DIR is off: there is no folder to prepare "
                               "the frames in"), code="prepare.off")
        done = prepare_frames(load_config(), folder, dt.date.today())
        click.echo(_("prepared {frames} page frames in {folder}: a first card needs no "
                     "WeasyPrint").format(frames=done.frames, folder=done.folder))
        return 0
    _run(action)


@cli.command(help=N_("Check fonts, Pango, HarfBuzz subsetting and versions; exit 1 if cards "
                     "would be wrong."))
@lang_option
def doctor() -> None:
    def action() -> int:
        from cardgen.cli.doctor import run_checks

        failed = False
        for check in run_checks():
            mark = _("ok  ") if check.ok else _("FAIL")
            click.echo(f"[{mark}] {check.name}: {check.detail}")
            failed = failed or not check.ok
        return 1 if failed else 0
    _run(action)


def main(leave_at_once: bool = True) -> None:
    """The `cardgen` command. `leave_at_once`: end the process as soon as the command is
    done (`_leave`); False for a caller that goes on (tests/conftest.own_process)."""
    signal.signal(signal.SIGINT, _on_stop)
    signal.signal(signal.SIGTERM, _on_stop)
    try:
        cli(prog_name="cardgen")
    except SystemExit as done:
        if leave_at_once:
            _leave(done.code)
        raise
    except Terminated:  # before a command's run began (still importing): nothing written yet
        _say(_("interrupted; nothing is left half-written, and a book or folder being "
               "written is as it was"))
        sys.exit(TERMINATED)


def _leave(code: object) -> None:
    """End the process now, its work done, with `code` (SystemExit's): the exit handlers
    run and the output is flushed, as at any exit, but the interpreter does not then take
    down every module and object one by one. That took 0.24 s of a cold 1,000-household
    ledger after its last file was written, and in pairs the ledger with one phone changed
    took 0.95x, the reprint after `cardgen demo` 0.92x the time without it (session 9).
    Only when this process runs no other thread (Python would wait for it), the code is a
    number (else Python prints it), and no profiler or tracer watches it (cProfile writes
    its figures once the program returns; coverage's are written by its exit handler)."""
    import atexit
    import threading

    if _STOPPED and isinstance(code, int):
        # stopped (Ctrl-C, SIGTERM): every `finally` has cleaned up (temporary files, staging
        # folders), and nothing more is waited for: not a workers' pool whose thread may
        # wait for ever on a worker the same signal ended (printing/workers.Workers.close),
        # nor the exit handlers that would join it and its queues
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    if not (code is None or isinstance(code, int)) or threading.active_count() > 1:
        return
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: its own exit
        return
    run_exit_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: Python's own exit says nothing either
        return
    os._exit(code or 0)


if __name__ == "__main__":
    main()
