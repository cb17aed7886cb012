"""`cardgen init`: a starter configuration and a copy of the templates to change.

The starter configuration is `defaults.toml` with its comments in the user's language: each
run of comment lines, and each comment after a value, is a message of the catalogue (context
`defaults.toml`, extracted by `tools/i18n.py`), so the defaults stay written once.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from cardgen import resources
from cardgen.config import DEFAULTS_PATH
from cardgen.errors import UsageError
from cardgen.i18n import _, pgettext

CONFIG_NAME = "cardgen.toml"
TEMPLATES_NAME = "templates"
COMMENTS = "defaults.toml"  # the catalogue's context for the config's comments
_NO_WORDS = re.compile(r"^\s*#[\s#=-]*$")  # a ruler or an empty comment line: kept as it is


def comment_start(line: str) -> int | None:
    """Where the comment of a TOML line starts (a `#` outside strings), or None."""
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return index
    return None


def comments(text: str) -> Iterator[tuple[int, int, str]]:
    """(first line, line after the last, text) of every comment of a TOML text with words in
    it: a run of whole comment lines (their text joined by line breaks, the indent after
    "# " kept), or the comment after a value (end = first + 1)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        start = comment_start(line)
        if start is None or _NO_WORDS.match(line):
            index += 1
            continue
        if line[:start].strip():  # a comment after a value
            yield index, index + 1, line[start + 1:].strip()
            index += 1
            continue
        first = index
        bodies = []
        while index < len(lines) and lines[index].lstrip().startswith("#") \
                and not _NO_WORDS.match(lines[index]):
            body = lines[index].lstrip()[1:]
            bodies.append(body[1:] if body.startswith(" ") else body)
            index += 1
        yield first, index, "\n".join(bodies)


def translated_config(text: str, translate: Callable[[str], str]) -> str:
    """`text` (TOML) with every comment translated; values and layout unchanged."""
    lines = text.splitlines()
    out: list[str] = []
    done = 0
    for first, end, comment in comments(text):
        out.extend(lines[done:first])
        said = translate(comment)
        if end == first + 1 and lines[first][:comment_start(lines[first]) or 0].strip():
            line = lines[first]
            out.append(line[:comment_start(line)] + "# " + " ".join(said.splitlines()))
        else:
            indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
            out.extend(f"{indent}# {part}".rstrip() for part in said.split("\n"))
        done = end
    out.extend(lines[done:])
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def write_starter(folder: Path, force: bool = False) -> list[Path]:
    """Write FOLDER/cardgen.toml (every default, commented in the user's language) and
    FOLDER/templates/."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(_("{path} is a file; give a folder to write the starter into").format(
            path=folder), code="output.is_file")
    if not folder.parent.is_dir():
        raise UsageError(_("{folder} does not exist; create it first").format(
            folder=folder.parent), code="output.no_folder")
    config = folder / CONFIG_NAME
    copies = [(path, folder / TEMPLATES_NAME / path.name)
              for path in sorted(resources.TEMPLATES.glob("*.j2"))]
    existing = [target for target in (config, *(t for _s, t in copies)) if target.exists()]
    if existing and not force:
        raise UsageError(_("would overwrite {files}; choose another folder or add --force").format(
            files=", ".join(str(p) for p in existing)), code="output.exists")
    (folder / TEMPLATES_NAME).mkdir(parents=True, exist_ok=True)
    defaults = DEFAULTS_PATH.read_text(encoding="utf-8")
    config.write_text(translated_config(defaults, lambda text: pgettext(COMMENTS, text)),
                      encoding="utf-8")
    for source, target in copies:
        shutil.copyfile(source, target)
    return [config, *(target for _source, target in copies)]
