"""Data stages: read records, validate them into households, categorise each household
(its colour, why, its visits), select the households a command prints."""
