"""The one place the stages meet: read → validate → categorise → layout → number → draw/compose
→ assemble → write. The CLI and the web page call these functions only, one module per
command in the order a register goes through them: `register` (load, open_book and the
checks before printing), `cards` (reprint, preview, stickers), `ledgers`, `updates`, `kit`
(the emergency kit) and `reports` (validation report, search). Each command that prints
numbers is given the folder of a previous book, or None for a first print.

The names are re-exported here for callers that want the whole pipeline at once."""

from __future__ import annotations

import importlib
from typing import Any

# name -> its module. Imported when first asked for (PEP 562), not with the package: a
# reprint imports `cards` and `register` alone, not the ledger, update and kit modules
# (about 0.1 s of a one-card reprint, measured with python -X importtime)
_MODULES = {
    "Printed": "cards", "cards_document": "cards", "preview": "cards", "reprint": "cards",
    "stickers": "cards", "KitGrid": "kit", "KitRequest": "kit", "KitRun": "kit",
    "emergency_kit": "kit", "LedgerRequest": "ledgers", "LedgerRun": "ledgers",
    "ledger": "ledgers", "Loaded": "register", "check_printable": "register",
    "load": "register", "open_book": "register", "Found": "reports", "search": "reports",
    "validation_report": "reports", "UpdateRequest": "updates", "UpdateRun": "updates",
    "update": "updates",
}
__all__ = sorted(_MODULES, key=str.casefold)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def import_all() -> None:
    """Every module of the pipeline, now: the desk's processes import them (and WeasyPrint
    with them) once, before any request."""
    for module in dict.fromkeys(_MODULES.values()):
        importlib.import_module(f"{__name__}.{module}")
