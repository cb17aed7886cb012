"""The emergency kit (README, "The emergency kit"): per grid, the roster, the 明白卡 and
the cards with their tabs on top (book/roster.py and printing/kit.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cardgen.book.ledger import group_households
from cardgen.book.publish import folders_locked, held, publication
from cardgen.book.roster import RosterEntry
from cardgen.data.select import Selection, select_households
from cardgen.errors import DataRefused, NothingSelected, Problem, Severity, UsageError
from cardgen.frame.render import check_options
from cardgen.i18n import _, ngettext
from cardgen.layout.fonts import coverage
from cardgen.layout.geometry import PrintOptions
from cardgen.pipeline.register import Loaded, check_file, check_in_book, open_book, warnings_of
from cardgen.printing.run import PrintRun, make_cards
from cardgen.printing.workers import Setup, Workers
from cardgen.write import check_folder


@dataclass(frozen=True)
class KitRequest:
    """What `cardgen emergency` prints (the selected households, with the numbers of
    `book`), how (duplex, `copies` 明白卡 a household, the print options, templates, worker
    processes) and where (`out`, a new or empty folder unless `force`)."""

    out: Path
    selection: Selection = field(default_factory=Selection)
    book: Path | None = None
    skip_invalid: bool = False  # make the kit without the households that have errors
    duplex: bool = False
    copies: int = 1
    options: PrintOptions | None = None
    templates: Path | None = None
    jobs: int = 1
    force: bool = False  # replace what `out` holds


@dataclass
class KitGrid:
    """What the kit holds for one grid."""

    group: str
    files: list[Path]
    roster: list[RosterEntry]
    households: int
    without_plan: list[str]

    def as_dict(self) -> dict[str, object]:
        """The grid's part of `emergency --format json` (no ID numbers)."""
        return {"grid": self.group, "roster": [e.as_dict() for e in self.roster],
                "households": self.households, "without_plan": self.without_plan}


@dataclass
class KitRun:
    """What `cardgen emergency` wrote."""

    folder: Path
    grids: list[KitGrid]
    seconds: float
    warnings: list[Problem]
    skipped: list[Problem]  # the errors of the households left out (--skip-invalid)

    @property
    def files(self) -> list[Path]:
        return [path for grid in self.grids for path in grid.files]

    def as_dict(self) -> dict[str, object]:
        return {"grids": [grid.as_dict() for grid in self.grids]}


def emergency_kit(loaded: Loaded, request: KitRequest) -> KitRun:
    """Per grid, the roster of who needs help first, the 明白卡 and the emergency cards,
    written into a private folder that becomes `request.out` in one step (it must be new or
    empty, unless `force`). Households with errors stop it, unless `skip_invalid`: then
    the kit leaves them out and says which (an emergency must not wait for a typo)."""
    from cardgen.book.roster import check_plans

    started = time.perf_counter()
    out = request.out
    check_options(loaded.config, request.options or PrintOptions())
    check_plans(loaded.config, coverage(loaded.config, loaded.cache))
    check_folder(out)
    if out.is_dir() and any(out.iterdir()) and not request.force:
        raise UsageError(_("{folder} is not empty; give a new folder with -o, or add --force "
                           "to replace what is in it").format(folder=out),
                         code="output.not_empty")
    with folders_locked(out, request.book):
        return _kit(loaded, request, started)


def _kit(loaded: Loaded, request: KitRequest, started: float) -> KitRun:
    from cardgen.book.roster import plan_kit
    from cardgen.printing.kit import mingbai_cards, write_cards, write_mingbai, write_roster

    cache, config = loaded.cache, loaded.config
    out, book, duplex = request.out, request.book, request.duplex
    chosen = select_households(loaded.dataset.households, loaded.categories,
                               request.selection)
    check_file(loaded, "emergency")
    skipped = loaded.errors_of(chosen)
    if skipped and not request.skip_invalid:
        count = len({p.household_id for p in skipped})
        raise DataRefused(ngettext(
            "emergency: {count} household has errors; nothing was written (fix it, or use "
            "--skip-invalid to make the kit without it)",
            "emergency: {count} households have errors; nothing was written (fix them, or use "
            "--skip-invalid to make the kit without them)", count).format(count=count),
            skipped, code="data.household_errors")
    chosen = [h for h in chosen if h.household_id not in {p.household_id for p in skipped}]
    if not chosen:
        raise NothingSelected(_("emergency: every selected household has errors; nothing was "
                                "written"), code="selection.all_errors")
    numbering = open_book(loaded, book)
    check_in_book(numbering, chosen, book)
    numbers = numbering.numbers
    plans = plan_kit(group_households(chosen, "grid", numbers), numbers, loaded.categories,
                     config, loaded.today)
    printing = PrintRun.start(config, request.options, request.templates, loaded.today, cache)
    workers = Workers(Setup(config, printing.options, request.templates, loaded.today,
                            printing.cache), request.jobs)
    grids = []
    try:  # an earlier kit in `out` (there only with --force) goes as the new one comes
        with publication(out, held(out), set(), request.force) as staged:
            work = staged.folder
            for kit in plans:
                files = [out / f"{kit.name}-应急名单.pdf", out / f"{kit.name}-明白卡.pdf"]
                write_roster(work / files[0].name, printing, kit.group, kit.worker, kit.roster,
                             len(kit.households))
                write_mingbai(work / files[1].name, printing,
                              mingbai_cards(kit.households, numbers, config, loaded.today,
                                            request.copies),
                              config.emergency.cards_across, config.emergency.cards_down,
                              config.card.words.format("pdf_mingbai", group=kit.group))
                if kit.tabbed:
                    made = make_cards(kit.tabbed, loaded.categories, numbers, printing, True,
                                      workers.builder())
                    files.append(out / f"{kit.name}-应急户卡.pdf")
                    write_cards(work / files[2].name, printing, made, duplex,
                                config.card.words.format("pdf_emergency", group=kit.group),
                                workers.drawer())
                grids.append(KitGrid(kit.group, files, kit.roster, len(kit.households),
                                     kit.without_plan))
            staged.publish()
    finally:
        workers.close()
    cache.prune()
    return KitRun(out, grids, time.perf_counter() - started, warnings_of(loaded, chosen),
                  [p for p in skipped if p.severity is Severity.ERROR])
