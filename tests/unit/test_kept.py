"""What `cardgen prepare` works out once for every run besides the frames: the bundled
defaults parsed (config.keep_defaults) and the code's fingerprint (cache.keep_code_fingerprint).
A run takes them only while they are what it would work out itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cardgen import cache, config

PROBE = """
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


def probe(folder: Path | str, *args: str) -> dict[str, object]:
    environment = {**os.environ, "CARDGEN_PREPARED_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=environment,
                          capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_run_takes_the_defaults_and_the_code_fingerprint_as_prepared(tmp_path: Path) -> None:
    fresh = probe("off", "-")
    assert fresh["parsed"] is True and fresh["read"] is True
    probe("off", "keep", str(tmp_path))
    kept = probe(tmp_path, "-")
    assert kept["parsed"] is False and kept["read"] is False  # neither worked out again
    assert kept["config"] == fresh["config"] and kept["words"] == fresh["words"] == "▣ {mark}"
    assert kept["code"] == fresh["code"]

    # kept for another defaults file, or damaged; for other modules: worked out again
    defaults = tmp_path / config.DEFAULTS_KEPT
    data = defaults.read_bytes()
    for changed in (bytes([data[0] ^ 1]) + data[1:], data[:-20] + bytes([data[-20] ^ 1])
                    + data[-19:]):
        defaults.write_bytes(changed)
        again = probe(tmp_path, "-")
        assert again["parsed"] is True and again["config"] == fresh["config"]
    kept_code = tmp_path / cache.CODE_KEPT
    other = json.loads(kept_code.read_text(encoding="utf-8"))
    kept_code.write_text(json.dumps({**other, "files": "another install's"}), encoding="utf-8")
    again = probe(tmp_path, "-")
    assert again["read"] is True and again["code"] == fresh["code"]
