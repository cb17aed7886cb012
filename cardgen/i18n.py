"""Language: every word cardgen says, from gettext catalogs (made with Babel), in Simplified
Chinese by default and in English on request (`--lang en`, or CARDGEN_LANG).

Messages are written in English in the code as gettext message ids — `_("…")` for a message
said now, `N_("…")` for one said later (help texts) — and translated by
`cardgen/locale/zh_CN/LC_MESSAGES/cardgen.po`. English is the ids themselves. Click's own
messages ("Usage:", "Missing argument …") are in the same catalogue: Click asks
`gettext.gettext` for them, and `set_language` points Click at our catalogue.

`tools/i18n.py` extracts the ids, updates the catalogue and checks it; an installed cardgen
carries the compiled catalogue (setup.py compiles it when the package is built), a source
checkout compiles it in memory from the .po.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "cardgen"
LOCALES = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"zh": "zh_CN", "en": "en"}
DEFAULT = "zh"

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = ""


def language_from(environ: Mapping[str, str], asked: str | None = None) -> str:
    """The language to speak: `asked` (--lang), else CARDGEN_LANG, else English when the
    locale (LC_ALL, LC_MESSAGES, LANG, whichever is set first) is an English one, else
    Simplified Chinese."""
    for value in (asked, environ.get("CARDGEN_LANG")):
        if value:
            return "en" if value.strip().lower().startswith("en") else DEFAULT
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT
    return DEFAULT


def set_language(language: str) -> None:
    """Speak `language` ("zh" or "en") from now on, Click included."""
    global _current, _language
    if language == _language:
        return
    _current = gettext.NullTranslations() if language == "en" else catalog(LANGUAGES[DEFAULT])
    _language = language
    _teach_click()


def language() -> str:
    if not _language:
        set_language(DEFAULT)
    return _language


def _(message: str) -> str:
    """`message` (an English message id) in the current language."""
    if not _language:
        set_language(DEFAULT)
    return _current.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    if not _language:
        set_language(DEFAULT)
    return _current.ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """`message` in the current language, as meant in `context` (the config's comments)."""
    if not _language:
        set_language(DEFAULT)
    return _current.pgettext(context, message)


def N_(message: str) -> str:
    """Marks `message` for the catalogue; it is translated where it is shown (help texts)."""
    return message


@functools.cache
def catalog(locale: str) -> gettext.GNUTranslations:
    """The compiled catalogue of `locale`: the .mo an installed package carries, or (in a
    source checkout, or when the .po is newer) the .po compiled in memory by Babel."""
    folder = LOCALES / locale / "LC_MESSAGES"
    compiled, source = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if compiled.is_file() and (not source.is_file()
                               or compiled.stat().st_mtime_ns >= source.stat().st_mtime_ns):
        with compiled.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    return gettext.GNUTranslations(io.BytesIO(compile_po(source)))


def compile_po(source: Path) -> bytes:
    """A .po file compiled to .mo bytes (Babel's reader and writer)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with source.open("rb") as handle:
        messages = read_po(handle, locale=source.parent.parent.name)
    out = io.BytesIO()
    write_mo(out, messages, use_fuzzy=False)
    return out.getvalue()


CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser",
                 "shell_completion", "termui", "types", "utils", "_termui_impl")


def _teach_click() -> None:
    """Click translates its messages with `from gettext import gettext as _` in each of its
    modules, looked up when a message is made: those names are pointed at ours."""
    import importlib

    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    # A Path type names its kind ("directory") when the command is declared, before the
    # language is chosen: looked up again when a message says it, so it reads as Chinese.
    import click

    if not isinstance(vars(click.Path).get("name"), property):
        def kind(self: click.Path) -> str:
            return _(vars(self).get("_cardgen_name") or vars(self).get("name") or "path")

        def set_kind(self: click.Path, value: str) -> None:
            vars(self)["_cardgen_name"] = value

        click.Path.name = property(kind, set_kind)  # type: ignore[assignment]
