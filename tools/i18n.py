"""The message catalogue: extract every message id, update the Chinese catalogue, check it.

    python tools/i18n.py update   # new ids into cardgen/locale/zh_CN/LC_MESSAGES/cardgen.po
    python tools/i18n.py check    # exit 1 on an id without a translation, or wrong placeholders
    python tools/i18n.py missing  # the ids still to translate, as .po entries
    python tools/i18n.py fill F   # translations from F, a JSON object {msgid: msgstr}

Ids come from cardgen's own code (`_`, `N_`, `ngettext`) and from Click's (its usage
errors and help words), so that everything a user reads is in the catalogue. The .po is
written sorted and without source lines, so that a change adds only its own entries.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python tools/i18n.py` reads this checkout, not an install
    sys.path.insert(0, str(ROOT))
CATALOGUE = ROOT / "cardgen" / "locale" / "zh_CN" / "LC_MESSAGES" / "cardgen.po"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
_PERCENT = re.compile(r"%\((\w+)\)[sdr]|%[sdr]")


def sources() -> Iterator[tuple[str, Path, str]]:
    """(name, folder, extraction method) of the code whose messages users read."""
    import click

    yield "cardgen", ROOT / "cardgen", "python"
    yield "click", Path(click.__file__).parent, "python"


def template() -> Catalog:
    """Every message id of cardgen and Click, as Babel extracts them."""
    catalog = Catalog(project="cardgen", charset="utf-8")
    for _name, folder, method in sources():
        for filename, line, message, comments, context in extract_from_dir(
                folder, method_map=[("**.py", method)], keywords=KEYWORDS,
                comment_tags=("Translators:",), strip_comment_tags=True):
            if message in ("d", ("d",)) or "_winconsole" in filename:
                continue  # Click's internals, never shown
            catalog.add(message, None, [(filename, line)], auto_comments=comments,
                        context=context)
    add_config_comments(catalog)
    return catalog


def add_config_comments(catalog: Catalog) -> None:
    """The comments of defaults.toml, which `cardgen init` writes in the user's language."""
    from cardgen.cli.starter import COMMENTS, comments
    from cardgen.config import DEFAULTS_PATH

    for first, _end, text in comments(DEFAULTS_PATH.read_text(encoding="utf-8")):
        catalog.add(text, None, [("cardgen/defaults.toml", first + 1)], context=COMMENTS,
                    flags=("no-python-format",))


def read_catalogue(path: Path = CATALOGUE) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def write_catalogue(catalog: Catalog, path: Path = CATALOGUE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True, omit_header=False,
                 sort_output=True, ignore_obsolete=True, include_previous=False)


def update() -> Catalog:
    """The catalogue with every id the code has now (new ones untranslated, gone ones out)."""
    catalog = read_catalogue() if CATALOGUE.is_file() else Catalog(locale="zh_CN",
                                                                   project="cardgen")
    catalog.update(template(), no_fuzzy_matching=True, update_header_comment=False)
    catalog.fuzzy = False
    write_catalogue(catalog)
    return catalog


def placeholders(text: str) -> set[str]:
    """The placeholders of a message: {name} fields (str.format) and %(name)s ones."""
    fields = set()
    try:
        for _literal, field, spec, conversion in string.Formatter().parse(text):
            if field is not None:
                fields.add("{" + field + ("!" + conversion if conversion else "")
                           + (":" + spec if spec else "") + "}")
    except ValueError:
        fields.add("<unbalanced braces>")
    return fields | {match.group(0) for match in _PERCENT.finditer(text)}


def problems() -> list[str]:
    """What is wrong with the catalogue: ids the code has and the catalogue does not
    translate, and translations whose placeholders differ from their id's."""
    catalog = read_catalogue()
    found = []
    for message in template():
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if entry is None or not entry.string or (
                isinstance(entry.string, tuple) and not all(entry.string)):
            found.append(f"no Chinese translation: {key!r}")
            continue
        if entry.fuzzy:
            found.append(f"translation marked fuzzy: {key!r}")
        ids = [str(part) for part in (message.id if isinstance(message.id, (tuple, list))
                                      else (message.id,))]
        strings = [str(part) for part in (entry.string if isinstance(entry.string, (tuple, list))
                                          else (entry.string,))]
        if message.context:  # the config's comments: words, not format strings
            continue
        expected = placeholders(ids[-1])
        for text in strings:
            if placeholders(text) != expected:
                found.append(f"placeholders differ: {key!r} has {sorted(expected)}, the "
                             f"translation {text!r} has {sorted(placeholders(text))}")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        catalog = update()
        missing = sum(1 for m in catalog if m.id and not m.string)
        print(f"{CATALOGUE}: {len(catalog)} messages, {missing} without a translation")
        return 0
    if command == "missing":
        catalog = update()
        for message in catalog:
            if message.id and (not message.string or (isinstance(message.string, tuple)
                                                      and not all(message.string))):
                print(f"msgid {message.id!r}\n")
        return 0
    if command == "fill" and len(argv) == 2:
        import json

        given = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        catalog = read_catalogue()
        filled = 0
        for message in catalog:
            key = message.id if isinstance(message.id, str) else message.id[0]
            if message.id and key in given:
                text = given[key]
                message.string = tuple(text) if isinstance(text, list) else text
                filled += 1
        write_catalogue(catalog)
        print(f"{filled} translations filled")
        return 0
    if command == "check":
        found = problems()
        for line in found:
            print(line)
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
