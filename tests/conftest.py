"""Shared fixtures: small households written as real files, the CLI, and real PDF readers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardgen.cache import Cache
from cardgen.cli.commands import cli
from cardgen.config import Config, load_config
from cardgen.i18n import set_language


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regenerate-references", action="store_true",
                     help="write tests/reference/*.png anew from the cards as they print now "
                          "(look at each one before committing it)")


def pytest_configure(config: pytest.Config) -> None:
    """The suite keeps its cache apart from the user's: a fresh folder per run, one for all
    of pytest-xdist's workers (the cache is made to be shared by runs at once), made and
    removed by the process that started them."""
    import os
    import tempfile

    worker = getattr(config, "workerinput", None)
    if worker is not None:
        os.environ["CARDGEN_CACHE_DIR"] = worker["cardgen_cache_dir"]
    else:
        os.environ["CARDGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="cardgen-test-cache-")
    # nor frames a `cardgen prepare` of this environment laid out: a test of a cache miss
    # misses (tests/test_prepared.py gives its own folder)
    os.environ["CARDGEN_PREPARED_DIR"] = "off"
    # Chinese is the default; tests written against the English messages say so here,
    # tests of the Chinese ones ask for it (tests/cli/test_i18n.py)
    os.environ["CARDGEN_LANG"] = "en"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # type: ignore[no-untyped-def]
    """Each pytest-xdist worker is told the run's cache folder."""
    import os

    node.workerinput["cardgen_cache_dir"] = os.environ["CARDGEN_CACHE_DIR"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): one worker per CPU this process may use."""
    import os

    if hasattr(os, "sched_getaffinity"):  # Linux: the CPUs this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The test files that take longest (seconds, each file's share of a quiet 2-core machine's
# full run, from a run's per-test times: refresh them when one changes much). `--dist
# loadfile` hands each worker a whole file; xdist's own order is by number of tests, which
# left the browser's 15 tests and the prepared frames' 5 to start late, one worker running
# them while the other had finished. Longest first ends the two workers within the last
# small files of each other.
SLOW_FILES = {
    "tests/templates/test_templates.py": 75, "tests/desk/test_browser.py": 60,
    "tests/desk/test_web.py": 50, "tests/print/test_preflight.py": 45,
    "tests/print/test_print.py": 45, "tests/reading/test_hostile_input.py": 40,
    "tests/emergency/test_emergency.py": 26, "tests/print/test_cache.py": 25,
    "tests/book/test_book.py": 20, "tests/book/test_ledger.py": 19,
    "tests/card/test_print_layout.py": 13, "tests/cli/test_cli.py": 11,
    "tests/print/test_imposed_duplex.py": 11, "tests/cli/test_security.py": 11,
    "tests/reading/test_registers.py": 11, "tests/print/test_prepared.py": 11,
    "tests/book/test_trust.py": 8, "tests/card/test_fit.py": 6,
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    """`--dist loadfile`, the longest files first (SLOW_FILES; any other file by its number
    of tests, a tenth of a second each), so no long file starts when the other worker is
    nearly done."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):  # type: ignore[misc]
        def _assign_work_unit(self, node):  # type: ignore[no-untyped-def]
            def weight(scope: str) -> float:
                return SLOW_FILES.get(scope, 0.1 * len(self.workqueue[scope]))

            self.workqueue.move_to_end(max(self.workqueue, key=weight), last=False)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    import os
    import shutil

    if getattr(config, "workerinput", None) is None:
        shutil.rmtree(os.environ.pop("CARDGEN_CACHE_DIR", ""), ignore_errors=True)


TODAY = dt.date(2026, 11, 29)
DATE = TODAY.isoformat()

# Public test vectors (python-stdnum cn.ric) and numbers made with the GB 11643 check digit.
VALID_ID = "360426199101010071"
WRONG_CHECK_ID = "36042619910102009X"
IMPOSSIBLE_DATE_ID = "360426199113010079"
FEMALE_ID = "11010519491231002X"  # GB 11643's own example: 1949-12-31, female

HEADER = ["户编号", "社区", "网格", "地址", "房屋状态", "姓名", "与户主关系", "身份证号",
          "联系电话", "居住状态", "特殊情况", "户卡颜色"]


def household_rows(hid: str = "H001", **overrides: str) -> list[dict[str, str]]:
    """One two-person household in grid 第3网格, as dicts keyed by HEADER."""
    base = {"户编号": hid, "社区": "恒安社区", "网格": "第3网格", "地址": "阳光花园2号楼1单元302",
            "房屋状态": "自住", "姓名": "张秀英", "与户主关系": "户主", "身份证号": VALID_ID,
            "联系电话": "13812345678", "居住状态": "常住", "特殊情况": "低保", "户卡颜色": ""}
    base.update(overrides)
    second = {**base, "姓名": "李明", "与户主关系": "配偶", "身份证号": FEMALE_ID,
              "联系电话": "", "特殊情况": ""}
    return [base, second]


def write_csv(path: Path, rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER,
              encoding: str = "utf-8", bom: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\r\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.fixture(autouse=True)
def english() -> None:
    """Every test starts in English, as CARDGEN_LANG says: a Chinese CLI run in the same
    process (tests/cli/test_i18n.py) leaves the language it set behind."""
    set_language("en")


@pytest.fixture
def config() -> Config:
    return load_config()


@pytest.fixture
def run() -> Callable[..., Result]:
    """Invoke the CLI the way a user does; returns click's Result (exit code, output)."""
    def invoke(*args: str | Path) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return invoke


@pytest.fixture
def cache_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every Cache.get from here on, as (kind, name): what a test says was read."""
    reads: list[tuple[str, str]] = []
    get = Cache.get

    def counted(cache: Cache, kind: str, name: str) -> bytes | None:
        reads.append((kind, name))
        return get(cache, kind, name)

    monkeypatch.setattr(Cache, "get", counted)
    return reads


def suite_cache(config: Config | None = None) -> Cache:
    """The cache a CLI run of the suite opens (its folder, made once per run, and the
    config's scope): a test that calls the pipeline itself reads the frames the suite has
    rendered, instead of WeasyPrint laying each one out again (a cache of None keeps
    nothing)."""
    return Cache.open(config or load_config(), None)


def cache_entries(folder: Path, kind: str) -> dict[str, object]:
    """The entries of `kind` in a cache folder, by name: a file's inode, or for an entry of
    a pack (cache.PACKS) the pack and where in it, as its index has them."""
    from cardgen.cache import PACKS

    found: dict[str, object] = {path.name: path.stat().st_ino
                                for path in (folder / kind).iterdir()
                                if not path.name.startswith(".")}
    for index in sorted((folder / PACKS).glob(f"{kind}-*.idx")):
        for line in index.read_text(encoding="ascii").splitlines():
            name, pack, offset, _length = line.split()
            found[name] = (pack, int(offset))
    return found


def own_process(*modules: str, before: str = "") -> str:
    """Python source that runs `cardgen` with its own argv in a process of its own (the test
    runner has imported everything), `before` it, and prints the exit code and which of
    `modules` it had imported: {"code": ..., "loaded": {module: bool}} (python -c SOURCE
    ARGS...; the last line of its output)."""
    return f"""
import json, sys
{before}
from cardgen.cli.commands import main
sys.argv = ["cardgen", *sys.argv[1:]]
try:
    main(leave_at_once=False)
except SystemExit as exit_:
    code = exit_.code
print(json.dumps({{"code": code, "loaded": {{m: m in sys.modules for m in {list(modules)!r}}}}}))
"""


def pdftotext(path: Path, *pages: int) -> str:
    args = ["pdftotext", "-layout"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return subprocess.run([*args, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def page_count(path: Path) -> int:
    import pikepdf

    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def render_page(path: Path, index: int = 0, dpi: int = 50, grey: bool = False):  # type: ignore[no-untyped-def]
    """Page `index` as a Pillow RGB image at `dpi`, by pdfium (a real PDF renderer)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        image = document[index].render(scale=dpi / 72, grayscale=grey).to_pil().convert("RGB")
    finally:
        document.close()
    return image


def mm_to_px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def dominant_colour(image, box_mm: tuple[float, float, float, float], dpi: int) -> str:  # type: ignore[no-untyped-def]
    """The most common colour in a box (left, top, right, bottom in mm) as #RRGGBB."""
    left, top, right, bottom = (mm_to_px(v, dpi) for v in box_mm)
    counts: Counter[tuple[int, int, int]] = Counter()
    for x in range(max(0, left), min(image.width, right)):
        for y in range(max(0, top), min(image.height, bottom)):
            counts[image.getpixel((x, y))] += 1
    (r, g, b), _ = counts.most_common(1)[0]
    return f"#{r:02X}{g:02X}{b:02X}"


def close_colour(a: str, b: str, tolerance: int = 6) -> bool:
    return all(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) <= tolerance for i in (1, 3, 5))
