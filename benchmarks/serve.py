"""Benchmark `cardgen serve` as an office uses it: twenty grid workers asking for a card at once.

    python -m benchmarks.serve                    # a register of 1,000 households
    python -m benchmarks.serve --households 10000 --clients 20
    python -m benchmarks.serve --drawing preview  # the previews (PNG) the page shows

Starts the desk as a user does (`python -m cardgen serve REGISTER --port 0`) with an empty
cache, then measures: the seconds until it prints its address, until /healthz answers and
until a search answers (the register read); then `--clients` card PDFs of different
households asked for at once (cold: empty cache, workers just started), the same again
(warm), and once more from a second desk started on the now warm cache. Latency is per
request, p50 and p95; memory is the peak resident set of the whole process tree (server,
pool workers) while the cards are drawn. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.registers import DATE, machine, write_input

CARDGEN = [sys.executable, "-m", "cardgen"]


@dataclass
class Desk:
    process: psutil.Popen
    address: str
    printed: float  # seconds until it printed its address
    healthy: float  # … until /healthz answered
    searched: float  # … until a search answered (the register read)


class PeakMemory:
    """Samples the resident memory of a process and its children every 20 ms."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree
                                               if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def post_json(address: str, path: str, body: dict[str, object]) -> object:
    """A POST as the page sends it: the CSRF cookie from GET /, echoed in a header."""
    with urllib.request.urlopen(address, timeout=60) as page:
        cookie = page.headers["set-cookie"].split(";")[0]
    request = urllib.request.Request(address + path.lstrip("/"), data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Cookie": cookie,
                                              "X-CSRF-Token": cookie.split("=", 1)[1]})
    with urllib.request.urlopen(request, timeout=300) as answer:
        return json.loads(answer.read())


@contextmanager
def desk(register: Path, env: dict[str, str], extra: Sequence[str] = ()) -> Iterator[Desk]:
    started = time.perf_counter()
    process = psutil.Popen([*CARDGEN, "serve", str(register), "--port", "0", "--date", DATE,
                            *extra],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           env=env, cwd=register.parent)  # the installed cardgen, see bench.py
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        printed = time.perf_counter() - started
        found = re.search(r"http://\S+/", line)
        if not found:
            raise SystemExit(f"cardgen serve did not start: {line!r}")
        address = found.group(0)
        urllib.request.urlopen(address + "healthz", timeout=60).read()
        healthy = time.perf_counter() - started
        post_json(address, "/api/search", {"q": "G01-0001"})
        searched = time.perf_counter() - started
        yield Desk(process, address, printed, healthy, searched)
    finally:
        process.send_signal(2)
        process.wait(timeout=120)


DRAWINGS = {"card": ("card.pdf", b"%PDF"), "preview": ("preview.png", b"\x89PNG")}


def burst(desk: Desk, households: list[str], drawing: str = "card"
          ) -> tuple[list[float], float, int]:
    """All the cards asked for at once: each request's seconds, the wall time, peak MiB."""
    name, magic = DRAWINGS[drawing]

    def fetch(household: str) -> float:
        started = time.perf_counter()
        url = f"{desk.address}api/households/{household}/{name}?mode=routine"
        with urllib.request.urlopen(url, timeout=600) as answer:
            if answer.status != 200 or not answer.read().startswith(magic):
                raise SystemExit(f"{household}: no card ({answer.status})")
        return time.perf_counter() - started

    started = time.perf_counter()
    with PeakMemory(desk.process) as memory, ThreadPoolExecutor(len(households)) as pool:
        seconds = list(pool.map(fetch, households))
    return seconds, time.perf_counter() - started, memory.peak // 2**20


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--drawing", choices=sorted(DRAWINGS), default="card",
                        help="what each client asks for: a card PDF or a preview PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cardgen-bench-serve-") as temp:
        folder = Path(temp)
        register = write_input(folder, args.households)
        env = {**os.environ, "CARDGEN_CACHE_DIR": str(folder / "cache")}
        with register.open(encoding="utf-8-sig") as handle:
            numbers = list(dict.fromkeys(row["户编号"] for row in csv.DictReader(handle)))
        ids = numbers[::max(1, len(numbers) // args.clients)][:args.clients]
        rows = []
        with desk(register, env) as first:
            starts = [("empty cache", first)]
            rows.append(("cold: empty cache, workers just started",
                         *burst(first, ids, args.drawing)))
            rows.append(("warm: the same cards again", *burst(first, ids, args.drawing)))
        with desk(register, env) as second:
            starts.append(("warm cache", second))
            rows.append(("a new desk on the warm cache", *burst(second, ids, args.drawing)))
    print(f"cardgen serve, {args.households} households, {args.clients} clients at once; "
          f"{machine()}")
    print()
    print("| start | address printed | /healthz | first search |")
    print("|---|---:|---:|---:|")
    for name, started in starts:
        print(f"| {name} | {started.printed:.2f} s | {started.healthy:.2f} s | "
              f"{started.searched:.2f} s |")
    print()
    what = {"card": "card PDFs", "preview": "previews"}[args.drawing]
    print(f"| {args.clients} {what} at once | p50 | p95 | all done | peak memory |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, wall, peak in rows:
        print(f"| {name} | {percentile(seconds, 0.5):.2f} s | {percentile(seconds, 0.95):.2f} s "
              f"| {wall:.2f} s | {peak} MiB |")


if __name__ == "__main__":
    main()
