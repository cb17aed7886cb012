"""The bundled samples print byte for byte as they did: a reprint of a few households, a
grid's ledger and a grid's emergency kit from samples/households.csv, on a fixed date, are
compared file by file with the SHA-256 sums in tests/reference/sample-bytes.json. A change
meant to alter what prints writes them anew with
`pytest tests/print/test_bytes.py --regenerate-references` (look at the PDFs before committing)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cardgen.resources import SAMPLES
from tests.conftest import DATE

Run = Callable[..., Result]

SUMS = Path(__file__).parents[1] / "reference" / "sample-bytes.json"
REGISTER = SAMPLES / "households.csv"
GRID = "第2网格"


def sums(folder: Path) -> dict[str, str]:
    """Every file under `folder` (by its path inside it) -> the SHA-256 of its bytes."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_samples_print_the_same_bytes(run: Run, tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    commands = {
        "reprint": ("reprint", REGISTER, "-o", tmp_path / "reprint" / "cards.pdf",
                    "--household", "G01-0001", "--household", "G01-0002",
                    "--household", "G02-0003"),
        "ledger": ("ledger", REGISTER, "-o", tmp_path / "ledger", "--grid", GRID),
        "emergency": ("emergency", REGISTER, "-o", tmp_path / "emergency", "--grid", GRID),
    }
    (tmp_path / "reprint").mkdir()
    found: dict[str, dict[str, str]] = {}
    for name, command in commands.items():
        result = run(*command, "--date", DATE)
        assert result.exit_code == 0, f"{name}: {result.output}"
        found[name] = sums(tmp_path / name)
    if request.config.getoption("--regenerate-references"):
        SUMS.write_text(json.dumps(found, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
    expected = json.loads(SUMS.read_text(encoding="utf-8"))
    assert found == expected
