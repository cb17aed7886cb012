"""The command line: options in, a library call, problems and an exit status out (DOMAIN §6)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cardgen import __version__
from cardgen.errors import CardgenError, DataRefused, Problem

MAX_LISTED_WARNINGS = 10  # more are counted, not listed
INTERRUPTED, TERMINATED = 130, 143  # exit statuses after Ctrl-C and SIGTERM
F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


input_options = _stack(
    click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                 help="TOML file of settings over the defaults (see `cardgen init`)."),
    click.option("--date", "date", type=click.DateTime(formats=["%Y-%m-%d"]),
                 help="Reference date for ages and the printed date (default: today)."),
    click.option("--sheet-name", help="Worksheet of an .xlsx input (default: the first)."),
)
common_options = _stack(
    input_options,
    click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
                 help="Folder of templates looked in before the bundled ones."),
)
selection_options = _stack(
    click.option("--household", "households", multiple=True, metavar="ID",
                 help="Household number (户编号); repeat for more."),
    click.option("--colour", "--color", "colours", multiple=True, metavar="COLOUR",
                 help="red, orange, yellow, blue or green; repeat for more."),
    click.option("--flag", "flags", multiple=True, metavar="FLAG",
                 help="A flag such as 低保 or 残疾; repeat for more."),
    click.option("--grid", "grids", multiple=True, metavar="NAME", help="Grid (网格) name."),
)
print_options = _stack(
    click.option("--no-cache", is_flag=True,
                 help="Draw everything again, without reading or writing the cache."),
    click.option("--paper", metavar="SIZE", help="A4 (default), A5 or a size from the config."),
    click.option("--bleed", type=click.FloatRange(0, 10), default=0.0, show_default=True,
                 help="Bleed in millimetres around the trimmed card."),
    click.option("--marks", is_flag=True, help="Crop marks around each card."),
    click.option("--impose", metavar="NAME",
                 help="Place cards on bigger sheets, e.g. a4-2up: two A5 cards per A4."),
    click.option("--pdf-variant", type=click.Choice(["pdf/a-2b"]),
                 help="Archival PDF/A-2b (metadata, sRGB output intent, language)."),
)


def format_problem(problem: Problem) -> str:
    place = [problem.source]
    if problem.row is not None:
        place.append(f"row {problem.row}")
    if problem.column:
        place.append(f"column {problem.column}")
    value = f" {problem.value!r}" if problem.value not in (None, "") else ""
    return f"{problem.severity.value}: {', '.join(place)}:{value} {problem.message}"


def _echo_problems(problems: list[Problem], err: bool = True) -> None:
    for problem in problems:
        click.echo(format_problem(problem), err=err)


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that every `finally` cleans up."""


def _on_stop(signum: int, frame: object) -> None:
    """The first Ctrl-C or SIGTERM stops the run; later ones are ignored, so that a second
    Ctrl-C cannot cut short the clean-up (temporary files, worker processes) under way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _run(action: Callable[[], int | None]) -> None:
    """Call the library; turn its exceptions into messages and exit statuses."""
    context = click.get_current_context()
    debug = bool(context.find_root().params.get("debug"))
    render = sys.modules.get("cardgen.frame.render")
    heard = len(render.ENGINE_WARNINGS.messages) if render else 0
    try:
        code = action()
        _echo_template_warnings(context, heard)
    except DataRefused as exc:
        _echo_problems(exc.problems)
        click.echo(f"cardgen: {exc}", err=True)
        context.exit(exc.exit_code)
    except CardgenError as exc:
        click.echo(f"cardgen: {exc}", err=True)
        context.exit(exc.exit_code)
    except (KeyboardInterrupt, Terminated) as exc:
        click.echo("cardgen: interrupted; files already finished stay, nothing is left "
                   "half-written", err=True)
        context.exit(TERMINATED if isinstance(exc, Terminated) else INTERRUPTED)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"cardgen: internal error ({type(exc).__name__}: {exc}); please report it "
                   "with the output of the same command run with `cardgen --debug …`", err=True)
        context.exit(3)
    context.exit(code or 0)


def _echo_template_warnings(context: click.Context, heard: int) -> None:
    """What WeasyPrint said about a user's own templates (ignored CSS, a missing image)
    during this command (`heard`: messages from before it)."""
    render = sys.modules.get("cardgen.frame.render")
    if context.params.get("templates") is None or render is None:
        return
    for message in dict.fromkeys(render.ENGINE_WARNINGS.messages[heard:]):
        click.echo(f"warning: your templates: {message}", err=True)


def _echo_warnings(warnings: list[Problem]) -> None:
    """The selected households' warnings: each if few, else how many."""
    if len(warnings) <= MAX_LISTED_WARNINGS:
        _echo_problems(warnings)
    else:
        click.echo(f"warning: {len(warnings)} warnings for the selected households; "
                   "`cardgen validate` lists them", err=True)


def _load(source: Path, config_path: Path | None, date: dt.datetime | None,
          sheet_name: str | None, use_cache: bool = True) -> Any:
    from cardgen.cache import Cache
    from cardgen.config import load_config
    from cardgen.pipeline import load

    config = load_config(config_path)
    today = date.date() if date else dt.date.today()
    return load(source, config, today, sheet_name, Cache.open(use_cache, config.cache_max_mb))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cardgen")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
def cli(debug: bool) -> None:
    """Five-colour household cards (五色户卡) from household records, as print-ready PDF."""


@cli.command()
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
@click.option("--explain", is_flag=True, help="List every household's colour and why.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--sheet-name")
@click.option("--date", "date", type=click.DateTime(formats=["%Y-%m-%d"]))
def validate(source: Path, output_format: str, explain: bool, config_path: Path | None,
             sheet_name: str | None, date: dt.datetime | None) -> None:
    """Check INPUT and list every problem; exit 1 if there are errors."""
    def action() -> int:
        from cardgen.data.categorise import explain as explain_colour
        from cardgen.errors import InputError

        try:
            loaded = _load(source, config_path, date, sheet_name)
        except InputError as exc:
            if output_format != "json":
                raise
            click.echo(json.dumps({"ok": False, "households": 0, "members": 0, "problems": [
                {"severity": "error", "source": str(source), "row": None, "column": None,
                 "field": None, "value": None, "message": str(exc)}]},
                ensure_ascii=False, indent=2))
            return 1
        dataset = loaded.dataset
        members = sum(len(h.members) for h in dataset.households)
        ok = not dataset.errors
        if output_format == "json":
            click.echo(json.dumps({
                "ok": ok, "households": len(dataset.households), "members": members,
                "problems": [p.as_dict() for p in dataset.problems],
            }, ensure_ascii=False, indent=2))
            return 0 if ok else 1
        _echo_problems(dataset.problems, err=False)
        if explain:
            for household in dataset.households:
                category = loaded.categories[household.household_id]
                click.echo(f"{household.household_id}\t{loaded.numbers[household.household_id]}"
                           f"\t{explain_colour(category.key, category.reasons)}"
                           f"\t{category.visit}")
        errors, warnings = len(dataset.errors), len(dataset.warnings)
        click.echo(f"{source}: {len(dataset.households)} households, {members} members: "
                   f"{errors} error(s), {warnings} warning(s)")
        return 0 if ok else 1
    _run(action)


@cli.command()
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="The PDF to write.")
@selection_options
@click.option("--emergency", is_flag=True, help="Emergency mode: the colour tab on top.")
@print_options
@common_options
def reprint(source: Path, out: Path, households: tuple[str, ...], colours: tuple[str, ...],
            flags: tuple[str, ...], grids: tuple[str, ...], emergency: bool, no_cache: bool,
            paper: str | None, bleed: float, marks: bool, impose: str | None,
            pdf_variant: str | None, config_path: Path | None, templates: Path | None,
            date: dt.datetime | None, sheet_name: str | None) -> None:
    """Print the cards of selected households (all, without a selection) into one PDF."""
    def action() -> int:
        from cardgen.cache import Cache
        from cardgen.data.select import make_selection
        from cardgen.frame.render import PrintOptions
        from cardgen.pipeline import reprint as reprint_cards

        loaded = _load(source, config_path, date, sheet_name, not no_cache)
        selection = make_selection(loaded.config, households, colours, flags, grids)
        cache = Cache.open(not no_cache, loaded.config.cache_max_mb)
        printed = reprint_cards(loaded, selection, out, emergency, templates,
                                PrintOptions(paper=paper, bleed=bleed, marks=marks,
                                             impose=impose, pdf_variant=pdf_variant), cache)
        _echo_warnings(printed.warnings)
        if printed.errors_elsewhere:
            click.echo(f"warning: {printed.errors_elsewhere} other household(s) in {source} "
                       "have errors (not printed here); `cardgen validate` lists them",
                       err=True)
        click.echo(f"wrote {out}: {printed.households} card(s), {printed.pages} page(s)",
                   err=True)
        return 0
    _run(action)


class Progress:
    """A one-line progress bar on stderr: cards done, rate, time left. Silent off a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 and done else 0.0
        left = f"{(total - done) / rate:.0f} s left" if rate else "starting"
        filled = int(30 * done / total)
        bar = "#" * filled + "-" * (30 - filled)
        click.echo(f"\r[{bar}] {done}/{total} cards  {rate:.1f} cards/s  {left}   ",
                   err=True, nl=False)
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            click.echo("", err=True)


@cli.command()
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", "folder", required=True,
              type=click.Path(path_type=Path), help="Folder for the ledger PDFs.")
@click.option("--by", type=click.Choice(["grid", "community", "all"]), default="grid",
              show_default=True, help="One ledger per grid, per community, or one for all.")
@selection_options
@click.option("--emergency", is_flag=True, help="Emergency mode: the colour tabs on top.")
@click.option("--duplex", is_flag=True,
              help="Two-sided printing: every card starts on a right-hand page.")
@click.option("--skip-invalid", is_flag=True,
              help="Print the households without errors; list the others on the cover.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: the number of CPUs).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@print_options
@common_options
def ledger(source: Path, folder: Path, by: str, households: tuple[str, ...],
           colours: tuple[str, ...], flags: tuple[str, ...], grids: tuple[str, ...],
           emergency: bool, duplex: bool, skip_invalid: bool, jobs: int | None, quiet: bool,
           no_cache: bool, paper: str | None, bleed: float, marks: bool, impose: str | None,
           pdf_variant: str | None, config_path: Path | None,
           templates: Path | None, date: dt.datetime | None, sheet_name: str | None) -> None:
    """Print bound ledgers: one PDF per grid with a cover, an index and the cards."""
    def action() -> int:
        from cardgen.cache import Cache
        from cardgen.data.select import make_selection
        from cardgen.frame.render import PrintOptions
        from cardgen.pipeline import ledger as print_ledgers

        loaded = _load(source, config_path, date, sheet_name, not no_cache)
        selection = make_selection(loaded.config, households, colours, flags, grids)
        progress = Progress(enabled=not quiet and sys.stderr.isatty())
        cache = Cache.open(not no_cache, loaded.config.cache_max_mb)
        try:
            run = print_ledgers(loaded, selection, folder, by, emergency, duplex, skip_invalid,
                                jobs or os.cpu_count() or 1, templates,
                                PrintOptions(paper=paper, bleed=bleed, marks=marks,
                                             impose=impose, pdf_variant=pdf_variant),
                                progress, cache)
        finally:
            progress.finish()
        if run.skipped:
            _echo_problems(run.skipped)
            skipped = len({p.household_id for p in run.skipped})
            click.echo(f"warning: skipped {skipped} household(s) with errors (listed on "
                       "their ledgers' covers)", err=True)
        for group, ids in run.unprinted_groups.items():
            click.echo(f"warning: no ledger for {group}: all its {len(ids)} household(s) have "
                       f"errors ({', '.join(ids)})", err=True)
        if run.errors_elsewhere:
            click.echo(f"warning: {run.errors_elsewhere} unselected household(s) in {source} "
                       "have errors; `cardgen validate` lists them", err=True)
        for path in run.files:
            click.echo(f"wrote {path}", err=True)
        click.echo(f"ledgers: {len(run.files)}, cards: {run.cards}, pages: {run.pages}, "
                   f"{run.seconds:.1f} s ({run.cards / run.seconds:.1f} cards/s); "
                   f"manifest: {run.manifest}", err=True)
        return 0
    _run(action)


@cli.command()
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="The PDF of label sheets to write.")
@selection_options
@click.option("--sheet", metavar="NAME|FILE",
              help="A label sheet from the config (a4-3x8, a4-2x7 …) or a TOML file.")
@click.option("--skip", type=click.IntRange(0), default=0, show_default=True,
              help="Labels already used on the first sheet.")
@click.option("--no-cache", is_flag=True, help="Without reading or writing the cache.")
@input_options
def stickers(source: Path, out: Path, households: tuple[str, ...], colours: tuple[str, ...],
             flags: tuple[str, ...], grids: tuple[str, ...], sheet: str | None, skip: int,
             no_cache: bool, config_path: Path | None, date: dt.datetime | None,
             sheet_name: str | None) -> None:
    """Label sheets: a colour-tab label and a sticker per flag for each household."""
    def action() -> int:
        from cardgen.cache import Cache
        from cardgen.config import load_sheet_file
        from cardgen.data.select import make_selection
        from cardgen.errors import UsageError
        from cardgen.pipeline import stickers as print_stickers

        loaded = _load(source, config_path, date, sheet_name, not no_cache)
        selection = make_selection(loaded.config, households, colours, flags, grids)
        name = sheet or loaded.config.default_sheet
        if name in loaded.config.sheets:
            geometry = loaded.config.sheets[name]
        elif name.endswith(".toml") or Path(name).is_file():
            geometry = load_sheet_file(Path(name))
        else:
            raise UsageError(f"--sheet {name!r} is no label sheet; use one of: "
                             + ", ".join(loaded.config.sheets) + ", or a .toml file")
        cache = Cache.open(not no_cache, loaded.config.cache_max_mb)
        printed = print_stickers(loaded, selection, out, geometry, skip, cache)
        _echo_warnings(printed.warnings)
        click.echo(f"wrote {out}: labels for {printed.households} household(s) on "
                   f"{printed.pages} {geometry.name} sheet(s)", err=True)
        return 0
    _run(action)


@cli.command()
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--household", required=True, metavar="ID", help="The household to show.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="The PNG to write.")
@click.option("--dpi", type=click.IntRange(20, 600), default=110, show_default=True)
@click.option("--emergency", is_flag=True, help="Emergency mode: the colour tab on top.")
@click.option("--no-cache", is_flag=True, help="Draw everything again.")
@click.option("--paper", metavar="SIZE", help="A4 (default), A5 or a size from the config.")
@common_options
def preview(source: Path, household: str, out: Path, dpi: int, emergency: bool,
            no_cache: bool, paper: str | None, config_path: Path | None,
            templates: Path | None, date: dt.datetime | None, sheet_name: str | None) -> None:
    """A PNG of one household's card, for a quick check or a chat message."""
    def action() -> int:
        from cardgen.cache import Cache
        from cardgen.frame.render import PrintOptions
        from cardgen.pipeline import preview as preview_card

        loaded = _load(source, config_path, date, sheet_name, not no_cache)
        cache = Cache.open(not no_cache, loaded.config.cache_max_mb)
        shown = preview_card(loaded, household, out, dpi, emergency, templates,
                             PrintOptions(paper=paper), cache)
        _echo_warnings(shown.warnings)
        click.echo(f"wrote {out}: {shown.pages} page(s) at {dpi} dpi", err=True)
        return 0
    _run(action)


@cli.command()
@click.option("-o", "--output", "out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("cardgen-demo"), show_default=True, help="Folder for the PDFs.")
@click.option("--date", "date", type=click.DateTime(formats=["%Y-%m-%d"]))
def demo(out: Path, date: dt.datetime | None) -> None:
    """Render the bundled sample households, routine and emergency: the one-command tour."""
    def action() -> int:
        from cardgen.cli.demo import run_demo

        today = date.date() if date else dt.date.today()
        for path, what in run_demo(out, today):
            click.echo(f"wrote {path}: {what}")
        return 0
    _run(action)


@cli.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files already there.")
def init(folder: Path, force: bool) -> None:
    """Write a starter config (every default, commented) and a copy of the templates."""
    def action() -> int:
        from cardgen.cli.starter import CONFIG_NAME, TEMPLATES_NAME, write_starter

        for path in write_starter(folder, force):
            click.echo(f"wrote {path}")
        click.echo(f"next: edit {folder / CONFIG_NAME} and the templates, then add "
                   f"--config {folder / CONFIG_NAME} --templates {folder / TEMPLATES_NAME} "
                   "to reprint, ledger, stickers or preview")
        return 0
    _run(action)


@cli.command()
def doctor() -> None:
    """Check fonts, Pango, HarfBuzz subsetting and versions; exit 1 if cards would be wrong."""
    def action() -> int:
        from cardgen.cli.doctor import run_checks

        failed = False
        for check in run_checks():
            mark = "ok  " if check.ok else "FAIL"
            click.echo(f"[{mark}] {check.name}: {check.detail}")
            failed = failed or not check.ok
        return 1 if failed else 0
    _run(action)


def main() -> None:
    signal.signal(signal.SIGINT, _on_stop)
    signal.signal(signal.SIGTERM, _on_stop)
    cli(prog_name="cardgen")


if __name__ == "__main__":
    main()
