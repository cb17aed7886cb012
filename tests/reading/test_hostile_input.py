"""Damaged, hostile and huge input: always exit 0 or 1 with a message, never a traceback,
never a partial file; and property-based tests over the readers and the validator."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardgen.cli.commands import cli
from cardgen.config import load_config
from cardgen.data.read import read_records
from cardgen.data.validate import validate_records
from cardgen.errors import CardgenError
from cardgen.pipeline.register import load
from cardgen.samplegen import generate, to_csv
from tests.conftest import DATE, TODAY
from tests.corpus.make_corpus import HERE as CORPUS
from tests.corpus.make_corpus import big_inputs, corpus

CONFIG = load_config()
COMMITTED = sorted(p for p in CORPUS.iterdir() if p.suffix != ".py" and p.is_file())


def invoke(*args: str | Path) -> tuple[int, str]:
    """Run the CLI as a user would; any exception it lets out is a crash."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crash: {result.exception!r}\n{result.output}")
    return result.exit_code, result.output


def test_the_committed_corpus_is_what_the_script_makes() -> None:
    made = corpus()
    assert sorted(made) == [p.name for p in COMMITTED]
    for path in COMMITTED:
        assert path.read_bytes() == made[path.name], path.name


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_every_damaged_file_gets_a_message_not_a_traceback(path: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, output = invoke("validate", path, "--date", DATE)
    assert code in (0, 1), output
    assert "Traceback" not in output and output.strip()
    out = tmp_path / "card.pdf"
    code, output = invoke("reprint", path, "-o", out, "--date", DATE)
    assert code in (0, 1), output
    assert "Traceback" not in output
    assert out.exists() == (code == 0)
    assert [p.name for p in tmp_path.iterdir() if p.name != "card.pdf"] == []
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # input untouched


def test_big_inputs_are_refused_or_read_by_their_limits(tmp_path: Path) -> None:
    paths = big_inputs(tmp_path)
    code, output = invoke("validate", paths["2mb-cell.csv"], "--format", "json")
    assert code == 1
    [problem] = [p for p in json.loads(output)["problems"] if p["field"] == "address"]
    assert "[limits] address_chars" in problem["message"] and problem["row"] == 2
    assert len(problem["value"]) <= 41  # the value is quoted cut short
    started = time.perf_counter()
    code, output = invoke("validate", paths["100k-rows.csv"])
    assert code == 0, output
    assert "33334 households, 100000 members" in output
    assert time.perf_counter() - started < 60


def test_limits_are_settings_named_in_their_errors(tmp_path: Path) -> None:
    config = tmp_path / "small.toml"
    config.write_text("[limits]\nrows = 10\nfile_mb = 1\n", encoding="utf-8")
    source = tmp_path / "twenty.csv"
    source.write_text(to_csv(list(generate(20, seed=1))), encoding="utf-8")
    code, output = invoke("validate", source, "--config", config)
    assert code == 1 and "[limits] rows" in output
    source.write_bytes(b"x" * (2 * 2**20))
    code, output = invoke("validate", source, "--config", config)
    assert code == 1 and "[limits] file_mb" in output
    code, output = invoke("validate", CORPUS / "too-many-members.csv")
    assert code == 1 and "[limits] members" in output


def test_debug_shows_the_traceback_of_an_internal_error(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import cardgen.pipeline.register

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cardgen.pipeline.register, "load", broken)
    source = CORPUS / "gb18030.csv"
    result = CliRunner().invoke(cli, ["validate", str(source)])
    assert result.exit_code == 3 and "internal error" in result.output
    assert "--debug" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["--debug", "validate", str(source)])
    assert isinstance(result.exception, RuntimeError)


# ---- property-based: the readers and the validator take anything ----------------------

FIELDS = ["户编号", "社区", "网格", "地址", "房屋状态", "姓名", "与户主关系", "身份证号",
          "出生日期", "性别", "联系电话", "居住状态", "特殊情况", "户卡颜色", "一人多套房",
          "出租出售计划", "备注", "乱七八糟"]
FAST = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
CELL = st.one_of(TEXT, st.sampled_from(["", "户主", "02", "低保、残疾", "空置", "出租", "红", "是",
                                        "360426199101010071", "36042619910102009X",
                                        "１１０１０５１９４９１２３１００２ｘ", "1990-02-30",
                                        "2999-01-01", "男", "流动", "<b>x</b>", "{{ 1 }}"]))


def _survives(data: bytes, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        records = read_records(path, CONFIG)
        dataset = validate_records([records], CONFIG, TODAY)
    except CardgenError:
        return
    assert all(p.message for p in dataset.problems)


@settings(max_examples=150, **FAST)
@given(data=st.binary(max_size=2000))
def test_any_bytes(tmp_path: Path, data: bytes) -> None:
    _survives(data, tmp_path, "any.csv")


@settings(max_examples=150, **FAST)
@given(header=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=10),
       rows=st.lists(st.lists(CELL, max_size=12), max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_any_csv_table(tmp_path: Path, header: list[str], rows: list[list[str]],
                       encoding: str) -> None:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    try:
        data = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        data = buffer.getvalue().encode("utf-8")
    _survives(data, tmp_path, "table.csv")


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from([*FIELDS, "members", "x"]), children, max_size=5),
    max_leaves=20)


@settings(max_examples=150, **FAST)
@given(document=JSON_VALUE)
def test_any_json(tmp_path: Path, document: object) -> None:
    _survives(json.dumps(document, ensure_ascii=False).encode(), tmp_path, "any.json")


@settings(max_examples=25, **FAST)
@given(rows=st.lists(st.lists(st.one_of(CELL, st.integers(), st.floats(allow_nan=False,
                                                                       allow_infinity=False),
                                        st.dates().map(lambda d: dt.datetime(d.year, d.month,
                                                                             d.day))),
                              max_size=8), max_size=6))
def test_any_xlsx_cells(tmp_path: Path, rows: list[list[object]]) -> None:
    import openpyxl
    from openpyxl.utils.exceptions import IllegalCharacterError

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(FIELDS[:8])
    for row in rows:
        try:
            sheet.append(row)
        except (ValueError, TypeError, IllegalCharacterError):  # refused by openpyxl itself
            return
    buffer = io.BytesIO()
    book.save(buffer)
    _survives(buffer.getvalue(), tmp_path, "cells.xlsx")


@settings(max_examples=40, **FAST)
@given(rows=st.lists(st.fixed_dictionaries({
    "户编号": st.sampled_from(["H1", "H2"]), "姓名": TEXT, "地址": TEXT, "特殊情况": CELL,
    "备注": TEXT, "社区": TEXT}), min_size=1, max_size=6))
def test_any_valid_household_is_drawn_with_its_pages(tmp_path: Path,
                                                     rows: list[dict[str, str]]) -> None:
    """Whatever the text, a household without errors becomes a card: planned pages = drawn."""
    import csv

    from cardgen.cache import Cache
    from cardgen.pipeline.cards import cards_document
    from cardgen.printing.run import PrintRun, make_cards

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "h.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        loaded = load(path, CONFIG, TODAY)
    except CardgenError:
        return
    good = [h for h in loaded.dataset.households if not loaded.errors_of([h])]  # glyphs too
    if not good:
        return
    printing = PrintRun.start(CONFIG, None, None, TODAY, Cache.open(CONFIG, None))
    data = io.BytesIO()
    cards = cards_document(loaded, good, printing, emergency=False, out=data)
    import pikepdf

    with pikepdf.open(data) as pdf:
        assert len(pdf.pages) == sum(card.page_count for card in cards)
    assert len(make_cards(good, loaded.categories, loaded.numbers, printing, False)) == len(good)


# ---- interrupted ledgers leave only whole files ------------------------------------------

@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_ledger_leaves_no_partial_files(tmp_path: Path,
                                                       sent: signal.Signals) -> None:
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(1500, seed=9, grids=3))), encoding="utf-8")
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = tmp_path / "books"
    env = {**os.environ, "CARDGEN_CACHE_DIR": "off"}
    process = subprocess.Popen([sys.executable, "-m", "cardgen", "ledger", str(source), "-o",
                                str(out), "--date", DATE, "--quiet"], env=env,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while not any(tmp_path.glob(".books.cardgen-*")):  # its private folder, beside out
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(1.0)  # well into drawing the cards
    os.killpg(process.pid, sent)  # to every process, workers too, as Ctrl-C in a terminal
    _, err = process.communicate(timeout=60)
    assert process.returncode == (130 if sent == signal.SIGINT else 143), err
    assert "Traceback" not in err and "interrupted" in err
    # the folder is published in one step: absent, or whole
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == [] or left == ["manifest.json", *sorted(p for p in left if p.endswith(".pdf"))]
    assert not [name for name in left if name.startswith(".")]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    for pdf in out.glob("*.pdf"):
        subprocess.run(["qpdf", "--check", str(pdf)], check=True, capture_output=True)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before


def test_sigterm_before_the_run_begins_is_an_interruption_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM while the command line is still being read (a busy machine still importing,
    as the fuzzer once caught in CI): said in words, exit 143, no traceback."""
    from cardgen.cli import commands

    def terminated_while_parsing(**_: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends

    monkeypatch.setattr(commands, "cli", terminated_while_parsing)
    monkeypatch.setattr(commands, "_STOPPED", [])
    try:
        with pytest.raises(SystemExit) as stopped:
            commands.main()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert stopped.value.code == 143
    said = capsys.readouterr().err
    assert "已中断" in said or "interrupted" in said, said


def test_a_killed_runs_work_folder_goes_with_the_next_run(tmp_path: Path) -> None:
    """`kill -9` leaves a run's hidden work folder; the next run into that folder on the
    same machine removes it. A live process's, or another machine's, stays."""
    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(3, seed=9))), encoding="utf-8")
    out = tmp_path / "books"
    out.mkdir()
    host = "".join(c for c in os.uname().nodename if c.isalnum())[:20] or "host"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = out / f".cardgen-{host}-{dead}-x1"
    running = out / f".cardgen-{host}-{os.getpid()}-x2"
    elsewhere = out / ".cardgen-othermachine-1-x3"
    for folder in (killed, running, elsewhere):
        (folder / "part.pdf").parent.mkdir()
        (folder / "part.pdf").write_bytes(b"%PDF-")
    result = subprocess.run([sys.executable, "-m", "cardgen", "ledger", str(source), "-o",
                             str(out), "--date", DATE, "--quiet"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert not killed.exists() and running.exists() and elsewhere.exists()


def test_an_unwritable_output_folder_is_one_line(tmp_path: Path) -> None:
    source = CORPUS / "gb18030.csv"
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: use /proc instead
        target = Path("/proc/self/cardgen-books")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        target = locked / "books"
    code, output = invoke("ledger", source, "-o", target)  # the folder, not the usage: 1
    assert code == 1 and len(output.strip().splitlines()) == 1
    code, output = invoke("reprint", source, "-o", target / "x.pdf")  # no such folder: 2
    assert code == 2 and len(output.strip().splitlines()) == 1


def test_the_mutation_fuzzer_finds_nothing() -> None:
    """tools/fuzz.py, briefly: its mutants (its interrupted ledgers and unwritable folder are
    this module's test_an_interrupted_ledger_leaves_no_partial_files and
    test_an_unwritable_output_folder_is_one_line, on the same paths)."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "tools" / "fuzz.py"), "--count", "20",
                             "--seed", "3", "--mutants-only"], capture_output=True, text=True,
                            timeout=300,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "crashes: 0; partial outputs or leftovers: 0; requests to the trap server: 0" \
        in result.stdout


def test_a_killed_runs_workers_do_not_stay_behind(tmp_path: Path) -> None:
    """`kill -9` of a ledger (or the OOM killer) while its workers draw: they end too,
    rather than wait forever on the pool's pipes, each holding its fonts."""
    import psutil

    source = tmp_path / "grid.csv"
    source.write_text(to_csv(list(generate(600, seed=9))), encoding="utf-8")
    run = psutil.Popen([sys.executable, "-m", "cardgen", "ledger", str(source), "-o",
                        str(tmp_path / "books"), "--date", DATE, "--quiet", "--jobs", "2"],
                       env={**os.environ, "CARDGEN_CACHE_DIR": str(tmp_path / "cache")},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
        with contextlib.suppress(psutil.Error):
            # spawned or forked (a fork has the ledger's own command line); not the
            # multiprocessing resource tracker
            workers = [child for child in run.children()
                       if "resource_tracker" not in " ".join(child.cmdline())]
        time.sleep(0.01)
    assert len(workers) == 2, "the ledger ended before its workers were seen"
    run.send_signal(signal.SIGKILL)
    run.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    for left in alive:
        left.kill()
    assert alive == []



def test_a_stop_does_not_wait_for_the_workers_nor_for_threads_that_wait_on_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM to the whole process group may end a worker halfway through handing back a
    result: the pool's thread then waits for the rest of it for ever (a CI run timed out
    here, session 11). So a pool closed as a stop goes by does not wait for it, and a
    stopped command leaves at once, whatever thread is still waiting."""
    from cardgen.printing import workers

    closed: list[tuple[bool, bool]] = []

    class Pool:
        def shutdown(self, wait: bool, cancel_futures: bool) -> None:
            closed.append((wait, cancel_futures))

    pool = workers.Workers(None, 2)  # type: ignore[arg-type]
    pool._pool = Pool()  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        try:
            raise KeyboardInterrupt
        finally:
            pool.close()
    pool._pool = Pool()  # type: ignore[assignment]
    with pytest.raises(ValueError):
        try:
            raise ValueError("a register refused")
        finally:
            pool.close()  # an error is no stop: the workers' ends are waited for
    pool._pool = Pool()  # type: ignore[assignment]
    pool.close()
    assert closed == [(False, True), (True, True), (True, True)]

    script = textwrap.dedent("""
        import threading
        from cardgen.cli import commands
        threading.Thread(target=threading.Event().wait).start()  # waits for ever
        commands._STOPPED.append(15)
        commands._leave(143)
    """)
    done = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert done.returncode == 143
