"""What both benchmarks use: the invented registers they print, the date they print on, and
the machine they ran on (printed beside the figures)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

import psutil

from cardgen.samplegen import generate, to_csv

DATE = "2026-11-29"
NEXT_MONTH = "2026-12-29"


def write_input(folder: Path, households: int, changed: bool = False,
                month: bool = False) -> Path:
    """Invented households; `changed`: the same with one member's phone number changed;
    `month` (on top of that): a month later, 10 households changed — 3 phones, 3 new 低保
    flags, 2 gone, 2 new ones."""
    path = folder / f"households-{households}{'-changed' if changed else ''}" \
                    f"{'-month' if month else ''}.csv"
    if not path.exists():
        rows = list(generate(households, seed=3, grids=max(1, households // 1000)))
        if changed:
            person = next(r for r in rows[len(rows) // 2:] if r["联系电话"])
            person["联系电话"] = "13900001111"
        if month:
            rows = month_later(rows)
        path.write_text(to_csv(rows), encoding="utf-8")
    return path


def month_later(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    heads = [r for r in rows if r["与户主关系"] == "户主" and r["户编号"].endswith(("3", "7"))]
    for index, head in enumerate(heads[:6]):
        if index < 3:
            head["联系电话"] = f"1360000000{index}"
        else:
            head["特殊情况"] = "、".join(f for f in (head["特殊情况"], "低保") if f)
    gone = {heads[6]["户编号"], heads[7]["户编号"]}
    new = [{**r, "户编号": r["户编号"] + "N", "身份证号": "", "门牌号": r["门牌号"] + "A"}
           for r in rows if r["户编号"] in gone]
    return [r for r in rows if r["户编号"] not in gone] + new


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
            f"Python {platform.python_version()}, {dt.date.today().isoformat()}")
