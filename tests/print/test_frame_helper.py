"""A reprint from a cache without the frames begins WeasyPrint's part in a forked helper
(cardgen/frame/helper.py) while it reads the register: the same bytes, WeasyPrint never
loaded by the run itself, and the run does the work itself when the helper cannot."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from multiprocessing import Pipe
from pathlib import Path

import pytest

import cardgen
from cardgen.frame import helper
from tests.conftest import DATE, own_process
from tests.print.test_bytes import REGISTER, SUMS

CHOSEN = ("G01-0001", "G01-0002", "G02-0003")  # tests/test_bytes.py's reprint

# the command line run as a user runs it, in a process of its own (the test runner has
# threads and WeasyPrint loaded: it forks no helper), then what it had loaded
DRIVER = own_process("weasyprint")


def reprint(tmp_path: Path, cache: str, *extra: str) -> tuple[dict[str, object], bytes]:
    out = tmp_path / "cards.pdf"
    command = [a for h in CHOSEN for a in ("--household", h)]
    env = {**os.environ, "CARDGEN_CACHE_DIR": cache, "CARDGEN_PREPARED_DIR": "off",
           "PYTHONPATH": str(Path(cardgen.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", DRIVER, "reprint", str(REGISTER), "-o",
                           str(out), *command, "--date", DATE, *extra], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["code"] == 0, done.stderr
    return said, out.read_bytes()


def test_a_reprint_from_an_empty_cache_leaves_weasyprint_to_its_helper(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    said, pdf = reprint(tmp_path, str(cache))
    expected = json.loads(SUMS.read_text(encoding="utf-8"))["reprint"]["cards.pdf"]
    assert hashlib.sha256(pdf).hexdigest() == expected
    assert said["loaded"]["weasyprint"] is False  # the helper laid out the geometry and the frames
    assert len(list((cache / "frames").iterdir())) >= 2  # the geometry and a frame
    # without a cache folder there is no helper (the cache is how the work is handed
    # over): the run lays them out itself, the same bytes
    said, pdf = reprint(tmp_path, "off")
    assert said["loaded"]["weasyprint"] is True
    assert hashlib.sha256(pdf).hexdigest() == expected


def test_a_helper_that_ends_without_a_word_leaves_the_work_to_the_run() -> None:
    ours, theirs = Pipe()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    theirs.close()  # it ended without a word
    frames = helper.FrameHelper(sleeper.pid, ours)
    assert frames.geometry() is False
    frames.ask([])
    assert frames.frames() is False
    frames.close()  # ended and reaped
    with pytest.raises(ChildProcessError):
        os.waitpid(sleeper.pid, os.WNOHANG)
    sleeper.returncode = 0  # reaped above: Popen must not wait for it again


def test_no_helper_is_forked_where_it_may_not_be(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test runner has loaded WeasyPrint (and may have threads): forking it would hand
    the child Pango's state and other threads' locks."""
    import weasyprint  # noqa: F401

    assert helper.may_fork() is False
