"""Layout stage: the card's geometry, the card as data (what it prints, page by page), the
ledger index's rows, fonts and typesetting."""
