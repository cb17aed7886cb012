"""The command-line contract: exit statuses, selections, messages, nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cardgen.cli.commands import cli
from tests.conftest import DATE, WRONG_CHECK_ID, household_rows, page_count, pdftotext, write_csv

Run = Callable[..., Result]


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    rows = [*household_rows("H1"),
            *household_rows("H2", 特殊情况="", 房屋状态="出租"),
            {**household_rows("H3", 特殊情况="残疾")[0], "身份证号": WRONG_CHECK_ID},
            *household_rows("H4", 网格="第4网格", 特殊情况="社区矫正")]
    return write_csv(tmp_path / "grid.csv", rows)


def test_every_command_is_documented(run: Run) -> None:
    assert isinstance(cli.commands, dict)
    for name, command in cli.commands.items():
        assert command.help, name
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_unknown_colour_is_usage_error_listing_the_colours(run: Run, grid: Path,
                                                           tmp_path: Path) -> None:
    result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--colour", "purple")
    assert result.exit_code == 2
    assert "red, orange, yellow, blue, green" in result.output


def test_unknown_flag_is_usage_error_listing_the_flags(run: Run, grid: Path,
                                                       tmp_path: Path) -> None:
    result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--flag", "富豪")
    assert result.exit_code == 2 and "低保" in result.output


def test_bad_date_is_usage_error(run: Run, grid: Path, tmp_path: Path) -> None:
    assert run("reprint", grid, "-o", tmp_path / "x.pdf", "--date", "29/11/2026").exit_code == 2


def test_nothing_matched_is_exit_1(run: Run, grid: Path, tmp_path: Path) -> None:
    result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--household", "NOPE")
    assert result.exit_code == 1 and "NOPE" in result.output
    result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--colour", "green")
    assert result.exit_code == 1 and "no household matches" in result.output
    assert "the input has 第3网格 3, 第4网格 1; red 1, orange 2, blue 1" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_selected_household_with_errors_is_refused(run: Run, grid: Path,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = run("reprint", grid, "-o", out, "--household", "H3", "--date", DATE)
    assert result.exit_code == 1
    assert "check digit" in result.output and "H6 (身份证号)" in result.output
    assert not out.exists()


def test_errors_elsewhere_only_warn_with_a_count(run: Run, grid: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = run("reprint", grid, "-o", out, "--household", "H1", "--date", DATE)
    assert result.exit_code == 0
    assert "1 other household in" in result.output
    assert page_count(out) == 1


def test_selection_options_combine(run: Run, grid: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = run("reprint", grid, "-o", out, "--colour", "orange", "--colour", "red",
                 "--grid", "第3网格", "--household", "H1", "--household", "H2", "--date", DATE)
    assert result.exit_code == 0
    text = pdftotext(out)
    assert "户号 H1" in text and "H2" not in text and "H4" not in text
    result = run("reprint", grid, "-o", out, "--flag", "重点人员", "--date", DATE)
    assert result.exit_code == 1  # 社区矫正 is red's sub-type, not 重点人员 itself
    result = run("reprint", grid, "-o", out, "--flag", "社区矫正", "--date", DATE)
    assert result.exit_code == 0 and "户号 H4" in pdftotext(out)


def test_output_beside_the_input_never_overwrites_it(run: Run, grid: Path) -> None:
    before = grid.read_bytes()
    result = run("reprint", grid, "-o", grid, "--household", "H1")
    assert result.exit_code == 2 and "is the input file" in result.output
    assert grid.read_bytes() == before


def test_missing_output_folder_is_one_line(run: Run, grid: Path, tmp_path: Path) -> None:
    result = run("reprint", grid, "-o", tmp_path / "no" / "such" / "x.pdf", "--household", "H1")
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output


def test_bad_config_names_file_and_setting(run: Run, grid: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[palette.red]\nhex = "red"\n', encoding="utf-8")
    result = run("validate", grid, "--config", config)
    assert result.exit_code == 2
    assert str(config) in result.output and "palette.red.hex" in result.output
    config.write_text("[nonsense]\nx = 1\n", encoding="utf-8")
    result = run("validate", grid, "--config", config)
    assert result.exit_code == 2 and "no setting nonsense" in result.output


def test_config_changes_the_palette_and_labels(run: Run, grid: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[palette.orange]\nname = "重点帮扶户"\n[card]\n'
                      'notes_columns = ["日期", "事由", "经办人"]\n', encoding="utf-8")
    out = tmp_path / "x.pdf"
    assert run("reprint", grid, "-o", out, "--household", "H1", "--config", config).exit_code == 0
    text = pdftotext(out)
    assert "重点帮扶户" in text and "经办人" in text


def test_demo_renders_routine_and_emergency(run: Run, tmp_path: Path) -> None:
    result = run("demo", "-o", tmp_path / "demo", "--date", DATE)
    assert result.exit_code == 0, result.output
    demo = tmp_path / "demo"
    routine, emergency = demo / "routine.pdf", demo / "emergency.pdf"
    assert page_count(routine) >= 5 and page_count(emergency) >= 1
    assert "应急" in pdftotext(emergency, 1)
    assert "常态" in pdftotext(routine, 1)
    [book] = list((demo / "ledger").glob("*.pdf"))
    assert "户卡台账" in pdftotext(book, 1) and (demo / "ledger" / "manifest.json").exists()
    assert "户号" in pdftotext(demo / "stickers.pdf", 1)
    assert "应急名单" in pdftotext(demo / "kit" / "第1网格-应急名单.pdf", 1)
    assert page_count(demo / "a5-2up.pdf") * 2 >= page_count(routine)
    assert (demo / "preview.png").read_bytes()[:4] == b"\x89PNG"


def test_doctor_passes_on_a_set_up_machine(run: Run) -> None:
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert "HarfBuzz subsetting" in result.output and "FAIL" not in result.output


def test_progress_bar_counts_cards_and_time_left(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from cardgen.cli.commands import Progress

    monkeypatch.setattr("click._termui_impl.isatty", lambda stream: True)
    bar = Progress(enabled=True)
    bar(0, 200)
    bar(50, 200)
    bar.finish()
    err = capsys.readouterr().err
    assert "50/200" in err and "[#########-" in err
    assert err.endswith("\n")
    silent = Progress(enabled=False)
    silent(10, 20)
    silent.finish()
    assert capsys.readouterr().err == ""


def test_ledger_is_quiet_off_a_terminal_and_ends_with_a_summary(run: Run, grid: Path,
                                                                tmp_path: Path) -> None:
    result = run("ledger", grid, "-o", tmp_path / "books", "--skip-invalid", "--date", DATE)
    assert result.exit_code == 0
    assert "cards/s" in result.output.splitlines()[-1]
    assert "\r[" not in result.output  # CliRunner is no terminal: no bar


def test_a_ctrl_c_swallowed_on_the_way_still_stops_the_run(
        run: Run, grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C that lands in a library's bare `except:` (fontTools has some) used to vanish:
    the run went on and exited 0. It is said and the exit status is 130 all the same."""
    import contextlib
    import signal

    import cardgen.cli.commands as commands
    import cardgen.pipeline.cards as pipeline

    real = pipeline.reprint

    def swallowing(*args: object, **kwargs: object) -> object:
        with contextlib.suppress(BaseException):  # as a bare `except: pass` does
            commands._on_stop(signal.SIGINT, None)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(pipeline, "reprint", swallowing)
    try:
        result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--household", "H1",
                     "--date", DATE)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        commands._STOPPED.clear()
    assert result.exit_code == commands.INTERRUPTED, result.output
    assert "interrupted" in result.output


def test_an_error_a_stop_caused_is_said_as_the_stop(
        run: Run, grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGTERM sent to the whole group may end a worker before this process stops: the
    pool says it is broken first. That is the stop, said as one (exit 143), not an internal
    error (exit 3, 1 run in 76 by hand, session 11)."""
    from concurrent.futures.process import BrokenProcessPool

    import cardgen.cli.commands as commands
    import cardgen.pipeline.cards as pipeline

    def broken(*args: object, **kwargs: object) -> object:
        commands._STOPPED.append(15)  # as _on_stop, its exception not yet raised
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(pipeline, "reprint", broken)
    try:
        result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--household", "H1",
                     "--date", DATE)
    finally:
        commands._STOPPED.clear()
    assert result.exit_code == commands.TERMINATED, result.output
    assert "interrupted" in result.output and "internal error" not in result.output

    # without a stop: a worker ended from outside (the OOM killer), said as such
    monkeypatch.setattr(pipeline, "reprint", lambda *args, **kwargs: (_ for _ in ()).throw(
        BrokenProcessPool("A process in the process pool was terminated abruptly")))
    result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--household", "H1", "--date",
                 DATE)
    assert result.exit_code == 1, result.output
    assert "a worker process ended before its work was done" in result.output
    assert "--jobs 1" in result.output and not (tmp_path / "x.pdf").exists()


def test_a_thread_that_fails_as_a_stop_ends_the_workers_shows_no_traceback(
        run: Run, grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the workers a stop ended go, the pool's thread may fail: that is the stop, and no
    traceback comes before "interrupted" (a CI run, session 11). A thread that fails in a
    run that was not stopped is still said, as the run ends."""
    import threading

    import cardgen.cli.commands as commands
    import cardgen.pipeline.cards as pipeline

    def failing_thread(stop: bool) -> Callable[..., object]:
        def reprint(*args: object, **kwargs: object) -> object:
            if stop:
                commands._STOPPED.append(15)
            thread = threading.Thread(target=lambda: 1 / 0, name="a pool's thread")
            thread.start()
            thread.join()
            if stop:
                raise commands.Terminated
            raise ValueError("done")
        return reprint

    said: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", said.append)  # what says a thread's failure
    monkeypatch.setattr(pipeline, "reprint", failing_thread(True))
    try:
        result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--household", "H1",
                     "--date", DATE)
    finally:
        commands._STOPPED.clear()
    assert result.exit_code == commands.TERMINATED, result.output
    assert said == [] and threading.excepthook == said.append  # given back
    monkeypatch.setattr(pipeline, "reprint", failing_thread(False))
    result = run("reprint", grid, "-o", tmp_path / "x.pdf", "--household", "H1", "--date",
                 DATE)
    assert result.exit_code == 3
    assert [failure.exc_type for failure in said] == [ZeroDivisionError]  # as the run ended


@pytest.mark.parametrize("args", [["validate", "{grid}", "--explain"],
                                  ["validate", "{grid}", "--format", "json"],
                                  ["--help"], ["reprint", "--help"]])
def test_a_closed_pipe_ends_quietly(grid: Path, args: list[str]) -> None:
    """`cardgen validate … --explain | head -1`: the reader is gone before cardgen writes."""
    import os
    import subprocess
    import sys

    reader, writer = os.pipe()
    os.close(reader)  # every write to `writer` now fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "cardgen",
                               *[a.format(grid=grid) for a in args], "--lang", "zh"]
                              if args[0] != "--help" else
                              [sys.executable, "-m", "cardgen", *args],
                              stdout=writer, stderr=subprocess.PIPE, text=True, timeout=60,
                              check=False)
    finally:
        os.close(writer)
    assert done.returncode in (0, 141), done.stderr
    assert done.stderr == ""


def test_an_output_name_gets_its_extension_or_is_refused(run: Run, grid: Path,
                                                         tmp_path: Path) -> None:
    result = run("preview", grid, "--household", "H1", "-o", tmp_path / "预览.pdf")
    assert result.exit_code == 2 and "预览.png" in result.output
    assert list(tmp_path.glob("预览*")) == []
    result = run("preview", grid, "--household", "H1", "-o", tmp_path / "预览", "--dpi", "90")
    assert result.exit_code == 0 and "预览.png" in result.output
    from PIL import Image

    with Image.open(tmp_path / "预览.png") as png:  # pHYs: a viewer prints it at card size
        assert png.format == "PNG" and png.info["dpi"] == pytest.approx((90, 90), abs=0.01)
    result = run("reprint", grid, "--household", "H1", "-o", tmp_path / "户卡")
    assert result.exit_code == 0 and "户卡.pdf" in result.output
    assert (tmp_path / "户卡.pdf").read_bytes().startswith(b"%PDF")
    assert not (tmp_path / "户卡").exists()


def test_a_selection_that_matches_nothing_says_what_there_is(run: Run, grid: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = run("reprint", grid, "-o", out, "--grid", "第一网格")
    assert result.exit_code == 1 and "第3网格, 第4网格" in result.output
    result = run("reprint", grid, "-o", out, "--household", "H11")
    assert result.exit_code == 1 and "did you mean H1" in result.output
    assert not out.exists()
    assert run("reprint", grid, "-o", out, "--household", "h1").exit_code == 0
    assert "户号 H1" in pdftotext(out)


@pytest.mark.parametrize("command", ["validate", "reprint", "ledger", "stickers", "preview",
                                     "serve"])
def test_a_missing_input_file_is_exit_1_in_every_command(run: Run, tmp_path: Path,
                                                         command: str) -> None:
    missing = tmp_path / "no-such.xlsx"
    extra = {"reprint": ["-o", tmp_path / "x.pdf"], "ledger": ["-o", tmp_path / "books"],
             "stickers": ["-o", tmp_path / "x.pdf"],
             "preview": ["-o", tmp_path / "x.png", "--household", "H1"]}
    result = run(command, missing, *extra.get(command, []))
    assert result.exit_code == 1 and "no such file" in result.output, result.output


def test_the_label_sheet_option_says_it_is_not_the_worksheet(run: Run) -> None:
    result = run("stickers", "--help")
    assert "--label-sheet, --sheet" in result.output and "--sheet-name" in result.output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_what_users_read_cites_no_document_they_lack(run: Run, tmp_path: Path,
                                                     lang: str) -> None:
    """--help and the cardgen.toml of `init` send users to docs/ in the repository, never to
    the spec (DOMAIN.md) they do not have."""
    assert isinstance(cli.commands, dict)
    said = [run("--help", "--lang", lang).output]
    said += [run(name, "--help", "--lang", lang).output for name in cli.commands]
    assert run("init", tmp_path / "starter", "--lang", lang).exit_code == 0
    said.append((tmp_path / "starter" / "cardgen.toml").read_text(encoding="utf-8"))
    for text in said:
        assert "DOMAIN" not in text and "§" not in text, text[:300]
    assert "docs/cli.md" in run("validate", "--help", "--lang", lang).output


def test_the_index_page_is_called_as_the_readme_calls_it() -> None:
    from cardgen.config import load_config

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "封面、目录" in readme
    assert load_config().card.words.format("index_title", title="x").startswith("目录")


# `cardgen` as its entry point runs it, with an exit handler of the caller's and os._exit
# watched: whether the process left at once (cli/commands._leave), and with what
LEAVING = """
import atexit, os, sys
atexit.register(lambda: print("exit handler ran", flush=True))
real_exit = os._exit
def watched(code):
    print("left at once", code, flush=True)
    real_exit(code)
os._exit = watched
if os.environ.get("PROFILED"):  # as under python -m cProfile
    sys.setprofile(lambda *_: None)
from cardgen.cli.commands import main
sys.argv = ["cardgen", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(("valid", "profiled"), [(True, False), (False, False), (True, True)])
def test_cardgen_leaves_at_once_when_done_with_its_exit_code_and_output(
        tmp_path: Path, valid: bool, profiled: bool) -> None:
    """Once the command is done the process ends without taking down every module and
    object (0.24 s of a 1,000-household ledger): the exit handlers still run, everything
    said is on the terminal, and the exit status is the command's. Not under a profiler,
    which writes its figures once the program returns."""
    import os
    import subprocess
    import sys

    import cardgen

    rows = household_rows("G01-0001")
    if not valid:
        rows[0]["身份证号"] = "12345"  # too short: an error
    source = tmp_path / "grid.csv"
    write_csv(source, rows)
    done = subprocess.run([sys.executable, "-c", LEAVING, "validate", str(source)],
                          env={**os.environ, "PYTHONPATH": str(Path(cardgen.__file__).parents[1]),
                               "CARDGEN_LANG": "zh", "PROFILED": "1" if profiled else ""},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == (0 if valid else 1), done.stderr
    said = done.stdout.splitlines()
    if profiled:  # Python's own exit, the profiler's figures written
        assert said[-1] == "exit handler ran" and "left at once" not in done.stdout
    else:
        assert said[-2:] == ["exit handler ran", f"left at once {done.returncode}"]
    assert "1 户" in done.stdout + done.stderr  # the summary, flushed before it left
