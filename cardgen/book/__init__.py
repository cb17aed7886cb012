"""The book of record: the order cards stand in a grid's book, their numbers, the ledger's
page plan and its manifest."""
