"""cardgen: five-colour household cards (五色户卡) from household records, as print-ready PDF."""

__version__ = "0.1.0"

# first of all: the dataclasses' methods compiled at install (compiled.py)
from cardgen import compiled as _compiled
from cardgen.resources import prepared_folder as _prepared_folder

_folder = _prepared_folder()
_compiled.use(None if _folder is None else str(_folder))
