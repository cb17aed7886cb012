"""Text as cardgen compares it: the one folding rule for spellings users write."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKC (full-width letters and digits, compatibility forms), no spaces, lower case:
    how a written spelling (a flag, say) is compared with the config's spellings."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()
