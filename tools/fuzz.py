"""Mutate real spreadsheets by the hundred and count what must stay zero.

    python tools/fuzz.py              # 400 mutants, validate + reprint each
    python tools/fuzz.py --count 2000 --seed 7
    python tools/fuzz.py --mutants-only  # the mutants alone (the test suite's run)

Seeds are the bundled samples (CSV UTF-8, CSV GB18030, XLSX, and JSON made from them) and
the damaged-file corpus. Each mutant is a byte-level change (flips, cuts, splices) or a
cell-level one (a cell replaced by hostile, huge or odd text, some pointing at a loopback
trap server). Every mutant goes through `validate` and `reprint` in-process. Counted:
crashes (an exception escaping the CLI), tracebacks printed, partial outputs (a file under
the output name after a failure, or a temporary file left behind, or a PDF that does not
open), and requests reaching the trap server. It then interrupts a 1,000-household ledger
and points one at a folder it cannot write. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pikepdf
from click.testing import CliRunner

from cardgen.cli.commands import cli
from cardgen.samplegen import generate, to_csv, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
DATE = "2026-11-29"


def trap_server() -> tuple[ThreadingHTTPServer, list[str]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def hostile_cells(port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}"
    return [f'<img src="{url}/a.png">', f"<style>@import url({url}/b.css)</style>",
            f"url({url}/c)", '<link rel="attachment" href="file:///etc/passwd">',
            "{{ 7*7 }}", "{% include '/etc/passwd' %}", "../../../etc/passwd", "\x00", "\u202e",
            "长" * 5000, "", " ", "\u3000", "𪚥", "1e400", "-0", "360426199101010071",
            "36042619910102009X", "2026-02-30", "户主", "空置", "出租", "低保、残疾、吸毒",
            "red;}*{x:url(" + url + ")}", "红", "😀", "\ufeff", "\r\n", '"', ",", "\t"]


def mutate(data: bytes, kind: str, rng: random.Random, cells: list[str]) -> bytes:
    if kind == "csv" and rng.random() < 0.5:
        text = data.decode("utf-8-sig", errors="replace")
        rows = list(csv.reader(io.StringIO(text)))
        for _ in range(rng.randint(1, 3)):
            row = rng.choice(rows)
            if row:
                row[rng.randrange(len(row))] = rng.choice(cells)
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode(rng.choice(["utf-8", "utf-8-sig", "gb18030"]),
                                     errors="replace")
    if kind == "json" and rng.random() < 0.5:
        document = json.loads(data)
        for _ in range(rng.randint(1, 4)):
            household = rng.choice(document)
            target = rng.choice([household, *household.get("members", [])])
            key = rng.choice([*target.keys(), "乱", "members"])
            target[key] = rng.choice([*cells, None, 1, [1], {"a": 1}, True, 1.5])
        return json.dumps(document, ensure_ascii=False).encode()
    blob = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        action = rng.random()
        if not blob:
            break
        at = rng.randrange(len(blob))
        if action < 0.4:
            blob[at] = rng.randrange(256)
        elif action < 0.6:
            del blob[at:at + rng.randint(1, 200)]
        elif action < 0.8:
            blob[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        else:
            blob = blob[:at]
    return bytes(blob)


def seeds(folder: Path) -> list[tuple[str, bytes]]:
    rows = list(generate(40, seed=5, grids=2))
    found = [("csv", to_csv(rows).encode("utf-8")), ("csv", to_csv(rows).encode("gb18030"))]
    xlsx = folder / "seed.xlsx"
    write_xlsx(rows, xlsx)
    found.append(("xlsx", xlsx.read_bytes()))
    households: dict[str, dict[str, object]] = {}
    for row in rows:
        household = households.setdefault(row["户编号"], {
            **{k: row[k] for k in list(row)[:16]}, "members": []})
        if row["姓名"]:
            members = household["members"]
            assert isinstance(members, list)
            members.append({k: row[k] for k in list(row)[16:]})
    found.append(("json", json.dumps(list(households.values()), ensure_ascii=False).encode()))
    for path in sorted((ROOT / "tests" / "corpus").iterdir()):
        if path.suffix != ".py" and path.is_file():
            found.append(("bytes", path.read_bytes()))
    return found


def run_one(runner: CliRunner, source: Path, out: Path) -> tuple[list[int], list[str]]:
    """validate, reprint (all or nothing), and ledger --skip-invalid (draws what is good)."""
    codes, failures = [], []
    for args in (["validate", str(source), "--date", DATE],
                 ["reprint", str(source), "-o", str(out), "--date", DATE],
                 ["ledger", str(source), "-o", str(out.parent / "books"), "--skip-invalid",
                  "--date", DATE, "--quiet"]):
        result = runner.invoke(cli, args)
        codes.append(result.exit_code)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            failures.append(f"crash {args[0]}: {result.exception!r}")
        if "Traceback" in result.output:
            failures.append(f"traceback {args[0]}")
        if args[0] == "reprint":
            if result.exit_code != 0 and out.exists():
                failures.append("partial output after a failure")
            if result.exit_code == 0:
                try:
                    with pikepdf.open(out) as pdf:
                        assert len(pdf.pages) > 0
                except Exception as exc:
                    failures.append(f"unreadable PDF: {exc!r}")
            out.unlink(missing_ok=True)
        if args[0] == "ledger":
            books = out.parent / "books"
            if books.exists():
                for book in books.glob("*.pdf"):
                    try:
                        with pikepdf.open(book) as document:
                            assert len(document.pages) > 0
                    except Exception as exc:
                        failures.append(f"unreadable ledger: {exc!r}")
                if result.exit_code != 0 and list(books.glob("*.pdf")):
                    failures.append("ledger files after a failure")
        leftovers = [str(p) for p in out.parent.rglob(".*")]
        if leftovers:
            failures.append(f"temporary files left: {leftovers}")
    return codes, failures


def interrupt_ledger(folder: Path) -> list[str]:
    source = folder / "thousand.csv"
    source.write_text(to_csv(list(generate(1000, seed=8, grids=1))), encoding="utf-8")
    problems = []
    for sent in (signal.SIGINT, signal.SIGTERM):
        out = folder / f"books-{sent.name}"
        process = subprocess.Popen([sys.executable, "-m", "cardgen", "ledger", str(source),
                                    "-o", str(out), "--date", DATE, "--quiet"],
                                   env={**os.environ, "CARDGEN_CACHE_DIR": "off"},
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        process.send_signal(sent)
        _, err = process.communicate(timeout=120)
        left = [p.name for p in out.iterdir()] if out.exists() else []
        partial = [n for n in left if n.startswith(".") or n.endswith((".part", ".tmp"))]
        if "Traceback" in err or partial:
            problems.append(f"{sent.name}: exit {process.returncode}, left {left}")
    locked = Path("/proc/self/books")  # a folder nobody can create, root included
    result = CliRunner().invoke(cli, ["ledger", str(source), "-o", str(locked)])
    if result.exit_code != 1 or len(result.output.strip().splitlines()) != 1:
        problems.append(f"unwritable folder: exit {result.exit_code}: {result.output}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mutants-only", action="store_true",
                        help="leave out the interrupted ledgers and the unwritable folder "
                             "(tests/reading/test_hostile_input.py runs those itself)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    server, hits = trap_server()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cardgen-fuzz-") as temp:
        folder = Path(temp)
        os.environ.setdefault("CARDGEN_CACHE_DIR", str(folder / "cache"))
        pool = seeds(folder)
        cells = hostile_cells(server.server_address[1])
        runner = CliRunner()
        exits: Counter[tuple[int, ...]] = Counter()
        failures: list[str] = []
        samples, damaged = pool[:4], pool[4:]
        for index in range(args.count):
            kind, data = rng.choice(samples if rng.random() < 0.8 else damaged)
            mutant = mutate(data, kind, rng, cells)
            source = folder / f"mutant-{index}.{'xlsx' if kind == 'xlsx' else 'csv'}"
            source.write_bytes(mutant)
            out_dir = folder / f"out-{index}"
            out_dir.mkdir()
            codes, found = run_one(runner, source, out_dir / "card.pdf")
            exits[tuple(codes)] += 1
            failures += [f"mutant {index} ({kind}): {f}" for f in found]
            if source.read_bytes() != mutant:
                failures.append(f"mutant {index}: the input was modified")
        if not args.mutants_only:
            failures += interrupt_ledger(folder)
    server.shutdown()
    also = "" if args.mutants_only else ", 2 interrupted ledgers, 1 unwritable folder"
    print(f"inputs tried: {args.count} mutants x (validate, reprint, ledger){also}, "
          f"in {time.perf_counter() - started:.0f} s")
    print("exit statuses (validate, reprint, ledger --skip-invalid): "
          + ", ".join(f"{k}: {v}" for k, v in sorted(exits.items())))
    crashes = [f for f in failures if "crash" in f or "traceback" in f]
    partial = [f for f in failures if f not in crashes]
    print(f"crashes: {len(crashes)}; partial outputs or leftovers: {len(partial)}; "
          f"requests to the trap server: {len(hits)}")
    for failure in failures[:20]:
        print("  " + failure)
    sys.exit(1 if failures or hits else 0)


if __name__ == "__main__":
    main()
