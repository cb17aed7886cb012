"""The dataclasses' methods compiled at install (cardgen/compiled.py): a run that reads them
compiles none, and gets the same methods; a file of another Python, or damaged, is not read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cardgen import compiled

# what a run imports, then for every dataclass of cardgen's: its methods' code, as data
PROBE = """
import dataclasses, hashlib, json, sys
import cardgen.cli.commands, cardgen.pipeline.ledgers, cardgen.printing.run
from cardgen import compiled
if sys.argv[1:2] == ["keep"]:
    compiled.keep(sys.argv[2])
digest = hashlib.sha256()
classes = 0
for name, module in sorted(sys.modules.items()):
    if not name.startswith("cardgen"):
        continue
    for value in list(vars(module).values()):
        if isinstance(value, type) and dataclasses.is_dataclass(value) \\
                and value.__module__ == name:
            classes += 1
            for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__"):
                function = getattr(vars(value).get(method), "__wrapped__", None) or \\
                    vars(value).get(method)
                code = getattr(function, "__code__", None)
                if code is not None:
                    digest.update(repr((value.__qualname__, method, code.co_code,
                                        code.co_consts, code.co_names,
                                        code.co_varnames, function.__qualname__)).encode())
from cardgen.data.model import Category
one = Category("red", ("张秀英 低保",), False, "每周", "低保")
try:
    one.key = "green"
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
print(json.dumps({"compiled": compiled.compiled_here, "classes": classes,
                  "methods": digest.hexdigest(), "repr": repr(one),
                  "same": one == Category("red", ("张秀英 低保",), False, "每周", "低保"),
                  "hash": hash(one) == hash(Category("red", ("张秀英 低保",), False, "每周",
                                                     "低保")),
                  "frozen": frozen}))
"""


def probe(folder: Path | str, *args: str) -> dict[str, object]:
    environment = {**os.environ, "CARDGEN_PREPARED_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=environment,
                          capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_run_takes_the_methods_compiled_at_install_and_they_are_the_same(
        tmp_path: Path) -> None:
    fresh = probe("off", "keep", str(tmp_path))  # compiles them all, and keeps them
    assert isinstance(fresh["compiled"], int) and fresh["compiled"] > 300
    assert (tmp_path / compiled.FILE).is_file()
    kept = probe(tmp_path)
    assert kept["compiled"] == 0
    assert kept["classes"] == fresh["classes"] and kept["methods"] == fresh["methods"]
    assert kept["repr"] == fresh["repr"] == (
        "Category(key='red', reasons=('张秀英 低保',), explicit=False, visit='每周', "
        "visit_because='低保')")
    assert kept["same"] is kept["hash"] is kept["frozen"] is True

    # another Python's file (its bytecode's magic number), or a damaged one, is not read:
    # every method compiled, the same
    data = (tmp_path / compiled.FILE).read_bytes()
    for changed in (data[:4] + b"\0\0\0\0" + data[8:],  # the magic number
                    data[:-50] + bytes([data[-50] ^ 1]) + data[-49:]):
        (tmp_path / compiled.FILE).write_bytes(changed)
        read = probe(tmp_path)
        assert read["compiled"] == fresh["compiled"] and read["methods"] == fresh["methods"]
