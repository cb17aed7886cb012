"""Where the bundled templates, fonts and samples are, installed or in a source checkout."""

from __future__ import annotations

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
