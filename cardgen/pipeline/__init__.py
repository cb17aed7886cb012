"""The one place the stages meet: read → validate → categorise → layout → number → draw/compose
→ assemble → write. The CLI and the web page call these functions only, one module per
command in the order a register goes through them: `register` (load, open_book and the
checks before printing), `cards` (reprint, preview, stickers), `ledgers`, `updates`, `kit`
(the emergency kit) and `reports` (validation report, search). Each command that prints
numbers is given the folder of a previous book, or None for a first print.

The names are re-exported here for callers that want the whole pipeline at once."""

from cardgen.pipeline.cards import Printed, cards_document, preview, reprint, stickers
from cardgen.pipeline.kit import KitGrid, KitRequest, KitRun, emergency_kit
from cardgen.pipeline.ledgers import LedgerRequest, LedgerRun, ledger
from cardgen.pipeline.register import Loaded, check_printable, load, open_book
from cardgen.pipeline.reports import Found, search, validation_report
from cardgen.pipeline.updates import UpdateRequest, UpdateRun, update

__all__ = [
    "Found", "KitGrid", "KitRequest", "KitRun", "LedgerRequest", "LedgerRun", "Loaded",
    "Printed", "UpdateRequest", "UpdateRun", "cards_document", "check_printable",
    "emergency_kit", "ledger", "load", "open_book", "preview", "reprint", "search",
    "stickers", "update", "validation_report",
]
