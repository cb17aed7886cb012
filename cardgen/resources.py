"""Where the bundled templates, fonts and samples are, installed or in a source checkout."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    installed = _PACKAGE / name  # pip install puts them inside the package
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name  # a source checkout keeps them at the top level


TEMPLATES = _bundled("templates")
FONTS = _bundled("fonts")
SAMPLES = _bundled("samples")
REGULAR_FONT = FONTS / "NotoSansCJKsc-Regular.otf"
BOLD_FONT = FONTS / "NotoSansCJKsc-Bold.otf"


def prepared_folder() -> Path | None:
    """Where `cardgen prepare` keeps the bundled templates' frames (cache.py) and what every
    run would work out as it starts (`write_prepared`): CARDGEN_PREPARED_DIR (off: nowhere), else
    share/cardgen/prepared under the Python environment cardgen is installed in (a venv's
    own folder)."""
    configured = os.environ.get("CARDGEN_PREPARED_DIR")
    if configured is not None:
        return None if configured.lower() in ("", "off", "0", "no") else Path(configured)
    return Path(sys.prefix) / "share" / "cardgen" / "prepared"


# What `cardgen prepare` works out once for every run besides the frames (compiled.py's
# dataclass methods, config.py's parsed defaults, cache.py's code fingerprint) is a file of
# the prepared folder: the first bytes of the SHA-256 of what it was worked out from (its
# `basis`) and of its data, then the data. A run reads it back only for the same basis, and
# whole; else it works the value out itself.
_CHECKED = 16


def _check(basis: bytes, data: bytes) -> bytes:
    digest = hashlib.sha256(basis)
    digest.update(b"\0")
    digest.update(data)
    return digest.digest()[:_CHECKED]


def write_prepared(folder: Path | str, name: str, basis: bytes, data: bytes) -> None:
    """Keep `data`, worked out from `basis`, as the file `name` of the prepared `folder`,
    written whole or not at all (a run reading the folder meanwhile sees none)."""
    path = os.path.join(folder, name)
    with open(path + ".part", "wb") as handle:
        handle.write(_check(basis, data) + data)
    os.replace(path + ".part", path)


def read_prepared(folder: Path | str | None, name: str, basis: bytes) -> bytes | None:
    """The data `write_prepared` kept as `name` in `folder` for this very `basis`, if whole;
    else None (no folder, not prepared, another basis, damaged)."""
    if folder is None:
        return None
    try:
        with open(os.path.join(folder, name), "rb") as handle:
            blob = handle.read()
    except OSError:
        return None
    data = blob[_CHECKED:]
    return data if len(blob) >= _CHECKED and blob[:_CHECKED] == _check(basis, data) else None
