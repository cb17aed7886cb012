"""The desk's memory while it runs a job: a grid's ledger asked for on a district's register.

    python -m benchmarks.desk_job                       # 10,000 households, grid 第1网格's ledger
    python -m benchmarks.desk_job --kind emergency_kit --prepared
    python -m benchmarks.desk_job --households 2000 --keep /tmp/out  # the job's result kept

Starts the desk as a user does (`python -m cardgen serve REGISTER --port 0 --book BOOK`) with
an empty cache (or one `cardgen prepare` filled, `--prepared`), waits until the register is
read and the worker is warm, then asks for one job (POST /api/jobs, as the page does) and
polls it until it is done. Memory is what benchmarks/serve.py and the README count: the
resident memory (RSS) of the desk's whole process tree — server, pool worker, the job's
process — summed, sampled every 20 ms; the peak while the job runs, the tree before it (idle)
and the biggest of each process are printed. PSS (which shares the pages forked children
share) is printed beside it. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from benchmarks.registers import DATE, machine, write_input
from benchmarks.serve import CARDGEN, desk, post_json


class TreeMemory:
    """The process tree's summed RSS and PSS, sampled every 20 ms; the peak of each, and of
    each process by its name (server, worker, job)."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.rss = self.pss = 0
        self.each: dict[str, int] = {}
        self._before = {p.pid for p in process.children(recursive=True)}  # pool, tracker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _role(self, process: psutil.Process) -> str:
        if process.pid == self.process.pid:
            return "server"
        return "worker" if process.pid in self._before else "job"

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                rss = pss = 0
                for process in tree:
                    try:
                        full = process.memory_full_info()
                    except psutil.Error:
                        continue
                    rss += full.rss
                    pss += full.pss
                    role = self._role(process)
                    self.each[role] = max(self.each.get(role, 0), full.rss)
                self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            except psutil.Error:
                pass
            time.sleep(0.02)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_now(process: psutil.Process) -> tuple[int, int, list[int]]:
    """The tree's RSS and PSS now, and each process's RSS (the server's first)."""
    rss = pss = 0
    each = []
    for member in [process, *process.children(recursive=True)]:
        full = member.memory_full_info()
        rss, pss = rss + full.rss, pss + full.pss
        each.append(full.rss)
    return rss, pss, each


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=60) as answer:
        found: dict[str, object] = json.loads(answer.read())
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=10000)
    parser.add_argument("--kind", default="ledger",
                        choices=["ledger", "emergency", "emergency_kit", "update", "stickers"])
    parser.add_argument("--grid", default="第1网格", help="the grid asked for ('' : all)")
    parser.add_argument("--prepared", action="store_true",
                        help="the cache filled by `cardgen prepare` first")
    parser.add_argument("--keep", type=Path, help="copy the job's result into this folder")
    args = parser.parse_args()
    mib = 2**20
    with tempfile.TemporaryDirectory(prefix="cardgen-bench-job-") as temp:
        folder = Path(temp)
        register = write_input(folder, args.households)
        env = {**os.environ, "CARDGEN_CACHE_DIR": str(folder / "cache")}
        if args.prepared:
            subprocess.run([*CARDGEN, "prepare"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        book = None
        if args.kind == "update":  # the update compares with a book: print one first
            book = folder / "book"
            subprocess.run([*CARDGEN, "ledger", str(register), "-o", str(book), "--date",
                            DATE, "--grid", args.grid], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        extra = ["--book", str(book)] if book else []
        with desk(register, env, extra) as started:
            time.sleep(3)  # the worker warms (reads the register) after the first search
            idle = tree_now(started.process)
            body = {"kind": args.kind, "grid": args.grid or None}
            begun = time.perf_counter()
            with TreeMemory(started.process) as memory:
                job = post_json(started.address, "/api/jobs", body)
                assert isinstance(job, dict), job
                status: dict[str, object] = {}
                while status.get("state") not in ("done", "failed", "cancelled"):
                    time.sleep(0.25)
                    status = get_json(f"{started.address}api/jobs/{job['job']}")
            seconds = time.perf_counter() - begun
            if status["state"] != "done":
                raise SystemExit(f"the job {status['state']}: {status.get('error')}")
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                url = f"{started.address}api/jobs/{job['job']}/result"
                with urllib.request.urlopen(url, timeout=300) as answer:
                    name = "result" + (".pdf" if answer.headers["content-type"].startswith(
                        "application/pdf") else ".zip")
                    with (args.keep / name).open("wb") as out:
                        shutil.copyfileobj(answer, out)
    print(f"cardgen serve, {args.households} households, job {args.kind} grid "
          f"{args.grid or 'all'}, {'prepared frames' if args.prepared else 'empty cache'}, "
          f"{status['total']} households; {machine()}")
    print(f"idle (register read, worker warm): RSS {idle[0] // mib} MiB, PSS {idle[1] // mib} "
          f"MiB (each: {', '.join(str(size // mib) for size in idle[2])} MiB)")
    print(f"peak during the job ({seconds:.1f} s): RSS {memory.rss // mib} MiB, "
          f"PSS {memory.pss // mib} MiB")
    print("largest RSS of each: " + ", ".join(f"{role} {size // mib} MiB"
                                              for role, size in sorted(memory.each.items())))


if __name__ == "__main__":
    main()
