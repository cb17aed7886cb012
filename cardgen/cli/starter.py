"""`cardgen init`: a starter configuration and a copy of the templates to change."""

from __future__ import annotations

import shutil
from pathlib import Path

from cardgen import resources
from cardgen.config import DEFAULTS_PATH
from cardgen.errors import UsageError
from cardgen.i18n import _

CONFIG_NAME = "cardgen.toml"
TEMPLATES_NAME = "templates"


def write_starter(folder: Path, force: bool = False) -> list[Path]:
    """Write FOLDER/cardgen.toml (every default, commented) and FOLDER/templates/."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(_("{path} is a file; give a folder to write the starter into").format(
            path=folder), code="output.is_file")
    if not folder.parent.is_dir():
        raise UsageError(_("{folder} does not exist; create it first").format(
            folder=folder.parent), code="output.no_folder")
    targets = [(DEFAULTS_PATH, folder / CONFIG_NAME)]
    targets += [(path, folder / TEMPLATES_NAME / path.name)
                for path in sorted(resources.TEMPLATES.glob("*.j2"))]
    existing = [target for _source, target in targets if target.exists()]
    if existing and not force:
        raise UsageError(_("would overwrite {files}; choose another folder or add --force").format(
            files=", ".join(str(p) for p in existing)), code="output.exists")
    (folder / TEMPLATES_NAME).mkdir(parents=True, exist_ok=True)
    for source, target in targets:
        shutil.copyfile(source, target)
    return [target for _source, target in targets]
