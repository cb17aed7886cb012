"""What `cardgen prepare` works out once for every run besides the frames: the dataclasses'
methods compiled (cardgen/compiled.py), the bundled defaults parsed (config.keep_defaults) and
the code's fingerprint (cache.keep_code_fingerprint). A run takes them only while they are what
it would work out itself: a file of another Python, of other files, or damaged, is not read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cardgen import cache, compiled, config
from cardgen.resources import write_prepared

# what a run imports, then for every dataclass of cardgen's: its methods' code, as data
METHODS = """
import dataclasses, hashlib, json, sys
import cardgen.cli.commands, cardgen.pipeline.ledgers, cardgen.printing.run
from cardgen import cache, compiled, config
from cardgen.resources import write_prepared
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


# the defaults and the code fingerprint a run reads, and whether it worked either out
KEPT = """
import json, sys
from cardgen import cache, config
if sys.argv[1] == "keep":
    folder = __import__("pathlib").Path(sys.argv[2])
    config.keep_defaults(folder)
    cache.keep_code_fingerprint(folder)
read = []
original = cache._read_code
def reading(*args):
    read.append(1)
    return original(*args)
cache._read_code = reading
loaded = config.load_config()
print(json.dumps({"config": loaded.fingerprint, "words": loaded.card.words["checked"],
                  "parsed": "tomllib" in sys.modules, "code": cache.code_fingerprint(),
                  "read": bool(read)}))
"""


def probe(script: str, folder: Path | str, *args: str) -> dict[str, object]:
    """`script` run by a fresh Python with `folder` as the prepared folder: what it printed."""
    environment = {**os.environ, "CARDGEN_PREPARED_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", script, *args], env=environment,
                          capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_run_takes_the_methods_compiled_at_install_and_they_are_the_same(
        tmp_path: Path) -> None:
    fresh = probe(METHODS, "off", "keep", str(tmp_path))  # compiles them all, and keeps them
    assert isinstance(fresh["compiled"], int) and fresh["compiled"] > 300
    assert (tmp_path / compiled.FILE).is_file()
    kept = probe(METHODS, tmp_path)
    assert kept["compiled"] == 0
    assert kept["classes"] == fresh["classes"] and kept["methods"] == fresh["methods"]
    assert kept["repr"] == fresh["repr"] == (
        "Category(key='red', reasons=('张秀英 低保',), explicit=False, visit='每周', "
        "visit_because='低保')")
    assert kept["same"] is kept["hash"] is kept["frozen"] is True

    # another Python's file (its bytecode's magic number), or a damaged one, is not read:
    # every method compiled, the same
    data = (tmp_path / compiled.FILE).read_bytes()
    damaged = data[:-50] + bytes([data[-50] ^ 1]) + data[-49:]
    for put in (lambda: write_prepared(tmp_path, compiled.FILE, b"\0\0\0\0", data[16:]),
                lambda: (tmp_path / compiled.FILE).write_bytes(damaged)):
        put()
        read = probe(METHODS, tmp_path)
        assert read["compiled"] == fresh["compiled"] and read["methods"] == fresh["methods"]


def test_a_run_takes_the_defaults_and_the_code_fingerprint_as_prepared(tmp_path: Path) -> None:
    fresh = probe(KEPT, "off", "-")
    assert fresh["parsed"] is True and fresh["read"] is True
    probe(KEPT, "off", "keep", str(tmp_path))
    kept = probe(KEPT, tmp_path, "-")
    assert kept["parsed"] is False and kept["read"] is False  # neither worked out again
    assert kept["config"] == fresh["config"] and kept["words"] == fresh["words"] == "▣ {mark}"
    assert kept["code"] == fresh["code"]

    # kept for another defaults file, or damaged; for other modules: worked out again
    defaults = tmp_path / config.DEFAULTS_KEPT
    data = defaults.read_bytes()
    for changed in (bytes([data[0] ^ 1]) + data[1:], data[:-20] + bytes([data[-20] ^ 1])
                    + data[-19:]):
        defaults.write_bytes(changed)
        again = probe(KEPT, tmp_path, "-")
        assert again["parsed"] is True and again["config"] == fresh["config"]
    kept_code = (tmp_path / cache.CODE_KEPT).read_bytes()[16:]
    write_prepared(tmp_path, cache.CODE_KEPT, b"another install's modules", kept_code)
    again = probe(KEPT, tmp_path, "-")
    assert again["read"] is True and again["code"] == fresh["code"]


def test_the_kept_exec_runs_code_where_dataclasses_own_exec_would() -> None:
    """compiled._exec stands in for the `exec` dataclasses calls: given no globals, the
    code runs in dataclasses' own (as exec there would), else in those given."""
    import dataclasses

    names: dict[str, object] = {}
    compiled._exec("where = __name__", None, names)
    assert names["where"] == dataclasses.__name__
    compiled._exec("where = __name__", {"__name__": "a record's module"}, names)
    assert names["where"] == "a record's module"
