"""Where the bundled templates, fonts and samples are, installed or in a source checkout."""

from __future__ import annotations

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
    """Where `cardgen prepare` keeps the bundled templates' frames (cache.py) and the
    dataclasses' methods compiled (compiled.py): CARDGEN_PREPARED_DIR (off: nowhere), else
    share/cardgen/prepared under the Python environment cardgen is installed in (a venv's
    own folder)."""
    configured = os.environ.get("CARDGEN_PREPARED_DIR")
    if configured is not None:
        return None if configured.lower() in ("", "off", "0", "no") else Path(configured)
    return Path(sys.prefix) / "share" / "cardgen" / "prepared"
