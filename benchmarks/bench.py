"""Benchmark cardgen as users run it: reading registers, cold start, cold reprint, whole
ledgers, the ledger of a new register after `cardgen demo`, the monthly update of a
1,000-household book, the emergency kit of a 1,000-household grid, 20,000 households as one
book, the Typst peer. Each figure that has a goal (issue 26) is printed beside it.

    python benchmarks/bench.py                   # 1, 100, 1,000 and 10,000 households
    python benchmarks/bench.py --sizes 1000,20000
    python benchmarks/bench.py --no-typst
    python benchmarks/bench.py --one-book 0      # without the 20,000-household book
    python benchmarks/bench.py --reading         # only `validate` of 10,000-household registers
    python benchmarks/bench.py --no-desk         # without the desk's first previews

Issue 26's goals are printed beside the cases they bound. The first card from an empty cache
and the desk's first previews are measured without the frames `cardgen prepare` lays out at
install, and again with them when this install has them.

Reading: `cardgen validate` (read + validate) of 10,000 invented households as .xlsx, and as
.xls when LibreOffice (soffice) is there to save it.

Every case runs `cardgen` in a fresh process, as a user would, and samples the peak resident
memory of the whole process tree (workers included). With the `typst` package installed, the
same 1,000 cards (made by cardgen's own pipeline) are compiled by Typst in the same run and
the ledger's time is printed as a ratio of Typst's. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/bench.py`
    sys.path.insert(0, str(ROOT))

from benchmarks.registers import DATE, NEXT_MONTH, machine, write_input
from cardgen.cache import Cache
from cardgen.config import load_config
from cardgen.layout.cards import Card, build_card
from cardgen.layout.colours import ink_for
from cardgen.pipeline.register import load
from cardgen.printing.run import PrintRun
from cardgen.samplegen import generate, write_xlsx

TYPST_TEMPLATE = Path(__file__).with_name("typst") / "cards.typ"
CARDGEN = [sys.executable, "-m", "cardgen"]


@dataclass
class Measure:
    case: str
    households: int
    seconds: float
    peak_mib: float
    out_bytes: int = 0
    cards: int = 0


# Issue 26's goals: (case, households) -> (seconds at most, as a multiple of what (None:
# seconds), peak MiB at most); "typst" is the peer's 1,000 cards, "one change" the ledger
# of 1,000 households with one phone changed.
GOALS: dict[tuple[str, int], tuple[float | None, str | None, float | None]] = {
    ("cold ledger, empty cache", 1000): (1.0, "typst", None),
    ("ledger of a new register after `cardgen demo`", 1000): (0.5, "typst", None),
    ("ledger, one phone changed", 1000): (0.2, "typst", None),
    ("cold reprint, empty cache", 1000): (1.0, None, None),
    ("cold reprint, empty cache, prepared", 1000): (1.0, None, None),
    ("desk first preview p50", 1000): (1.0, None, None),  # 20 previews asked for at once
    ("desk first preview p50, prepared", 1000): (1.0, None, None),
    ("cold reprint, after `cardgen demo`", 1000): (0.3, None, None),
    ("update, 10 households changed", 1000): (0.5, "one change", None),
    ("cold ledger, empty cache", 10000): (12.0, None, 300.0),
    ("one book (--by all), empty cache", 20000): (None, None, 300.0),
}


def goal_text(m: Measure, yardsticks: dict[str, float]) -> str:
    """The goal of a measure and whether it is met (ok / OVER), or "" without one."""
    goal = GOALS.get((m.case, m.households))
    if goal is None:
        return ""
    seconds, against, mib = goal
    parts = []
    if seconds is not None and against is None:
        parts.append(f"<= {seconds:g} s {'ok' if m.seconds <= seconds else 'OVER'}")
    elif seconds is not None and against in yardsticks:
        ratio = m.seconds / yardsticks[against]
        parts.append(f"<= {seconds:g}x {against}: {ratio:.2f}x "
                     f"{'ok' if ratio <= seconds else 'OVER'}")
    if mib is not None:
        parts.append(f"<= {mib:g} MiB {'ok' if m.peak_mib <= mib else 'OVER'}")
    return "; ".join(parts)


ENV = dict(os.environ)


def run_measured(args: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command and all its children."""
    started = time.perf_counter()
    process = psutil.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=ENV)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err.decode(errors='replace')}")
    return seconds, peak / 2**20


def write_workbooks(folder: Path, households: int) -> dict[str, Path]:
    """The invented households as an .xlsx, and as an .xls saved by LibreOffice if it is
    installed (a benchmark may use it; the tests do not)."""
    rows = list(generate(households, seed=3, grids=max(1, households // 1000)))
    books = {"xlsx": folder / f"households-{households}.xlsx"}
    write_xlsx(rows, books["xlsx"])
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        subprocess.run([soffice, "--headless", "--convert-to", "xls", "--outdir", str(folder),
                        str(books["xlsx"])], check=True, capture_output=True)
        books["xls"] = books["xlsx"].with_suffix(".xls")
    return books


def reading(folder: Path, households: int = 10000) -> list[Measure]:
    """Read + validate of a register as .xlsx and .xls, best of three fresh processes."""
    found = []
    for kind, path in write_workbooks(folder, households).items():
        seconds, peak = best_of(3, [*CARDGEN, "validate", str(path), "--date", DATE])
        found.append(Measure(f"read + validate, .{kind}", households, seconds, peak))
    return found


def best_of(times: int, args: list[str]) -> tuple[float, float]:
    runs = [run_measured(args) for _ in range(times)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def typst_cards(source: Path) -> list[dict[str, object]]:
    """cardgen's own cards for `source`, as the data the Typst template reads."""
    config = load_config()
    loaded = load(source, config, dt.date.fromisoformat(DATE))
    printing = PrintRun.start(config, None, None, loaded.today, Cache.off())
    geometry, typesetter = printing.geometry(False), printing.typesetter

    cards = []
    page = 1
    for household in loaded.dataset.households:
        card: Card = build_card(household, loaded.categories[household.household_id], config,
                                geometry, loaded.today, loaded.numbers[household.household_id],
                                False, typesetter)
        members = [m for p in card.pages for m in p.members]
        cards.append({
            "hex": card.colour.hex, "ink": ink_for(card.colour.hex), "char": card.colour.char,
            "name": card.colour.name, "order": card.colour.order, "emergency": False,
            "reasons": card.reasons, "household_id": card.household_id,
            "ledger_number": card.ledger_number, "community": card.community,
            "grid": card.grid, "address": card.address, "housing": card.housing,
            "marks": " ".join(("▣ " if m.checked else "□ ") + m.label for m in card.marks),
            "grid_worker": card.grid_worker, "grid_worker_phone": card.grid_worker_phone,
            "stickers": [{"label": s.label, "filled": s.filled, "names": s.names}
                         for s in card.stickers],
            "chips": [{"label": c.label, "names": c.names} for c in card.chips],
            "members": [{k: str(getattr(m, k)) for k in (
                "number", "name", "relation", "sex", "ethnicity", "age", "id_text", "phone",
                "residence", "flags")} for m in members],
            "visit": card.visit, "member_count": card.member_count,
            "notes_title": config.card.notes_title,
            "notes_columns": list(config.card.notes_columns),
            "date": DATE, "mode": "常态", "page": page,
        })
        page += card.page_count
    return cards


def typst_compile(source: Path, folder: Path) -> Measure | None:
    try:
        import typst  # noqa: F401
    except ImportError:
        return None
    cards = typst_cards(source)
    data = folder / "typst-cards.json"
    data.write_text(json.dumps(cards, ensure_ascii=False), encoding="utf-8")
    shutil.copy(TYPST_TEMPLATE, folder / "cards.typ")
    out = folder / "typst.pdf"
    fonts = str(Path(__file__).resolve().parent.parent / "fonts")
    script = ("import typst; typst.compile('cards.typ', output='typst.pdf', root='.', "
              f"font_paths=[{fonts!r}], ignore_system_fonts=True, "
              "sys_inputs={'data': 'typst-cards.json'})")
    seconds, peak = run_measured([sys.executable, "-c", script], cwd=folder)
    return Measure("typst compile (peer)", len(cards), seconds, peak, out.stat().st_size,
                   len(cards))


def reprint_cases(results: list[Measure], reprint: list[str], cache: Path, card: Path) -> None:
    """A user's first card from an empty cache: without the frames `cardgen prepare` laid
    out at install (CARDGEN_PREPARED_DIR=off), then with them (when this install has them)."""
    ENV["CARDGEN_PREPARED_DIR"] = "off"
    seconds, peak = run_measured(reprint)
    results.append(Measure("cold reprint, empty cache", 1000, seconds, peak,
                           card.stat().st_size, 1))
    del ENV["CARDGEN_PREPARED_DIR"]
    if prepared_frames():
        shutil.rmtree(cache, ignore_errors=True)
        seconds, peak = run_measured(reprint)
        results.append(Measure("cold reprint, empty cache, prepared", 1000, seconds, peak,
                               card.stat().st_size, 1))


def prepared_frames() -> bool:
    """Whether `cardgen prepare` laid out the frames for the cardgen this bench runs."""
    script = ("from cardgen.cache import prepared_folder; from cardgen.config import "
              "load_config; from cardgen.printing.prepared import prepared_for; "
              "print(prepared_for(load_config(), prepared_folder()) is not None)")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env={k: v for k, v in ENV.items() if k != "CARDGEN_PREPARED_DIR"})
    return found.stdout.strip() == "True"


def desk_cases(folder: Path, households: int = 1000, clients: int = 20) -> list[Measure]:
    """`cardgen serve` just started on an empty cache, `clients` previews asked for at once
    (benchmarks/serve.py): the median and the 95th percentile of their seconds, and the
    peak memory of the desk's processes; without the prepared frames, then with them."""
    import csv

    from benchmarks.serve import burst, desk, percentile

    register = write_input(folder, households)
    with register.open(encoding="utf-8-sig") as handle:
        numbers = list(dict.fromkeys(row["户编号"] for row in csv.DictReader(handle)))
    ids = numbers[::max(1, len(numbers) // clients)][:clients]
    found = []
    for prepared in (False, True) if prepared_frames() else (False,):
        env = {**ENV, "CARDGEN_CACHE_DIR": str(folder / f"desk-cache-{prepared}")}
        if not prepared:
            env["CARDGEN_PREPARED_DIR"] = "off"
        with desk(register, env) as started:
            seconds, _wall, peak = burst(started, ids, "preview")
        said = ", prepared" if prepared else ""
        found += [Measure(f"desk first preview p50{said}", households,
                          percentile(seconds, 0.5), peak),
                  Measure(f"desk first preview p95{said}", households,
                          percentile(seconds, 0.95), peak)]
    return found


def command_cases(folder: Path, sizes: list[int], jobs: int, with_typst: bool,
                  one_book: int = 0) -> tuple[list[Measure], Measure | None]:
    """Cold start, cold reprints, whole ledgers, the ledger after the demo, the monthly
    update and `one_book` households as one book; the Typst peer on the 1,000 cards."""
    results: list[Measure] = []
    cache = folder / "cache"
    seconds, peak = best_of(3, [*CARDGEN, "--help"])
    results.append(Measure("cardgen --help", 0, seconds, peak))
    thousand = write_input(folder, 1000)
    card = folder / "one.pdf"
    reprint = [*CARDGEN, "reprint", str(thousand), "-o", str(card), "--household",
               "G01-0001", "--date", DATE]
    reprint_cases(results, reprint, cache, card)
    seconds, peak = best_of(3, reprint)
    results.append(Measure("cold reprint, warm cache", 1000, seconds, peak,
                           card.stat().st_size, 1))
    # what a new user has after the README's first command: the demo's cache, whose
    # frames (bundled templates, default config) the reprint of a new household uses
    shutil.rmtree(cache, ignore_errors=True)
    run_measured([*CARDGEN, "demo", "-o", str(folder / "demo"), "--date", DATE])
    seconds, peak = run_measured(reprint)
    results.append(Measure("cold reprint, after `cardgen demo`", 1000, seconds, peak,
                           card.stat().st_size, 1))
    # a new user's second step: a register of their own (new households, so no cards in the
    # cache) printed as one book, with the frames the demo left
    shutil.rmtree(cache, ignore_errors=True)
    run_measured([*CARDGEN, "demo", "-o", str(folder / "demo-2"), "--date", DATE])
    out = folder / "ledger-after-demo"
    seconds, peak = run_measured([*CARDGEN, "ledger", str(thousand), "-o", str(out), "--by",
                                  "all", "--date", DATE, "--quiet", "--jobs", str(jobs)])
    results.append(Measure("ledger of a new register after `cardgen demo`", 1000, seconds,
                           peak, sum(p.stat().st_size for p in out.glob("*.pdf")), 1000))
    typst_source = None
    for size in sizes:
        shutil.rmtree(cache, ignore_errors=True)
        source = write_input(folder, size)
        out = folder / f"ledger-{size}"
        command = [*CARDGEN, "ledger", str(source), "-o", str(out), "--by", "all",
                   "--date", DATE, "--quiet", "--jobs", str(jobs)]
        seconds, peak = run_measured(command)
        size_bytes = sum(p.stat().st_size for p in out.glob("*.pdf"))
        results.append(Measure("cold ledger, empty cache", size, seconds, peak,
                               size_bytes, size))
        if size >= 100:
            command[command.index(str(source))] = str(write_input(folder, size, True))
            seconds, peak = run_measured(command)
            results.append(Measure("ledger, one phone changed", size, seconds, peak,
                                   size_bytes, size))
        if size == 1000:
            typst_source = source
            # the monthly update of a grid's book, a month on: the book printed as an
            # office prints it (by grid, the default; not timed), with the cache that run left
            book = folder / "book-1000"
            run_measured([*CARDGEN, "ledger", str(source), "-o", str(book), "--date", DATE,
                          "--quiet", "--jobs", str(jobs)])
            update = [*CARDGEN, "update", str(write_input(folder, size, True, True)),
                      "--book", str(book), "-o", str(folder / "update-1000"),
                      "--date", NEXT_MONTH]
            seconds, peak = run_measured(update)
            results.append(Measure("update, 10 households changed", size, seconds,
                                   peak))
            # the emergency kit of the same grid (roster, 明白卡, cards with tabs on top),
            # from an empty cache as the cold ledger: its goal is that ledger's time
            shutil.rmtree(cache, ignore_errors=True)
            kit = folder / "kit-1000"
            seconds, peak = run_measured([*CARDGEN, "emergency", str(source), "-o", str(kit),
                                          "--date", DATE, "--jobs", str(jobs)])
            results.append(Measure("emergency kit, empty cache", size, seconds, peak,
                                   sum(p.stat().st_size for p in kit.glob("*.pdf"))))
    if one_book:
        # a whole town as one book: the main process holds every household and card plan
        shutil.rmtree(cache, ignore_errors=True)
        source = write_input(folder, one_book)
        out = folder / f"book-all-{one_book}"
        seconds, peak = run_measured([*CARDGEN, "ledger", str(source), "-o", str(out),
                                      "--by", "all", "--date", DATE, "--quiet",
                                      "--jobs", str(jobs)])
        results.append(Measure("one book (--by all), empty cache", one_book, seconds, peak,
                               sum(p.stat().st_size for p in out.glob("*.pdf")), one_book))
    typst = None
    if with_typst and typst_source is not None:
        typst = typst_compile(typst_source, folder)
        if typst:
            results.append(typst)
    return results, typst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100,1000,10000",
                        help="household counts for whole ledgers (comma-separated)")
    parser.add_argument("--no-typst", action="store_true", help="skip the Typst peer")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--one-book", type=int, default=20000,
                        help="households printed as one book (--by all) for its memory; "
                             "0: not")
    parser.add_argument("--reading", action="store_true",
                        help="only read + validate 10,000-household registers")
    parser.add_argument("--no-desk", action="store_true",
                        help="skip the desk's first previews")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="cardgen-bench-") as temp:
        folder = Path(temp)
        # Commands run from the bench's folder, as a user runs the installed `cardgen`: from
        # the repository, `python -m cardgen` would import the source checkout instead, which
        # has no compiled catalogue (.mo) and, under PYTHONDONTWRITEBYTECODE, no bytecode, and
        # pay about 0.45 s a command a user never pays (measured on the reprint, session 5).
        home = Path.cwd()
        os.chdir(folder)
        cache = folder / "cache"
        ENV["CARDGEN_CACHE_DIR"] = str(cache)
        results += reading(folder)
        typst = None
        if not args.reading:
            cases, typst = command_cases(folder, sizes, args.jobs, not args.no_typst,
                                         args.one_book)
            results += cases
            if not args.no_desk:
                results += desk_cases(folder)
        os.chdir(home)

    cold = {m.households: m.seconds for m in results if m.case == "cold ledger, empty cache"}
    print(f"machine: {machine()}")
    print(f"prepared frames (`cardgen prepare`): {'yes' if prepared_frames() else 'no'}")
    one = next((m.seconds for m in results
                if m.case == "ledger, one phone changed" and m.households == 1000), None)
    yardsticks = {name: value for name, value in (
        ("typst", typst.seconds if typst else None), ("one change", one)) if value}
    print(f"{'case':46} {'households':>10} {'wall s':>8} {'cards/s':>8} {'peak MiB':>9} "
          f"{'bytes/card':>10} {'x typst':>8}  goal")
    for m in results:
        rate = f"{m.cards / m.seconds:.1f}" if m.cards else ""
        per_card = f"{m.out_bytes // m.cards}" if m.cards and m.out_bytes else ""
        ratio = (f"{m.seconds / typst.seconds:.2f}" if typst and m.households == 1000
                 and m.cards == 1000 else "")
        print(f"{m.case:46} {m.households:>10} {m.seconds:>8.2f} {rate:>8} "
              f"{m.peak_mib:>9.0f} {per_card:>10} {ratio:>8}  {goal_text(m, yardsticks)}")
    update = next((m.seconds for m in results if m.case == "update, 10 households changed"),
                  None)
    if one and update:
        print(f"update / ledger with one phone changed (1,000 households): "
              f"{update / one:.2f}x (goal: at most 0.5x, issue 26)")
    kit = next((m.seconds for m in results if m.case == "emergency kit, empty cache"), None)
    if kit and 1000 in cold:
        print(f"emergency kit / cold ledger (1,000 households): {kit / cold[1000]:.2f}x "
              f"(goal: at most 1x, issue 23)")
    for size in sorted(cold):
        if size > 1000 and 1000 in cold:
            print(f"cold ledger {size:,} / 1,000 households: {cold[size] / cold[1000]:.1f}x the "
                  f"time for {size / 1000:.0f}x the cards")


if __name__ == "__main__":
    main()
