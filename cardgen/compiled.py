"""The methods `dataclasses` makes for cardgen's records, compiled once, at install.

`@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__` and a frozen
class's `__setattr__` and `__delattr__` as Python source, and compiles it, one `exec` a
method, every time the class's module is imported: in every command. The CLI's 99 classes'
484 methods took 35-49 ms to compile of some 0.13 s of imports (a timed `compile`, session 11),
a tenth of a reprint after `cardgen demo`.

So `cardgen prepare` (`keep`) writes the code each method's source compiles to into the
prepared folder, and every run (`use`, as `cardgen` is imported) hands dataclasses the kept
code for the same source instead of compiling it again: the same code object, as a `.pyc`
keeps a module's, keyed by the whole source text. Nothing else changes: a source not kept (a
class added since, or another library's) is compiled as before. A file written by another
Python (its bytecode's magic number) or damaged is not read. Measured in pairs: the reprint
after the demo 0.91x (15 pairs).

Written by hand, and small: `dataclasses` has no hook for it, so its module's `exec` is
given this one (`_exec`); Python's own `exec` of the code object does the rest.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
from importlib.util import MAGIC_NUMBER
from types import CodeType

from cardgen.resources import read_prepared, write_prepared

FILE = "dataclass-methods.marshal"  # for this Python's bytecode (its magic number)

# source -> its code, marshalled, read by `use`: each made a code object when it is asked
# for (the CLI asks for 484 of the 702 `cardgen prepare` keeps; 7 µs each)
_kept: dict[str, bytes] = {}
_seen: dict[str, CodeType] = {}  # what this process's dataclasses made, for `keep`
compiled_here = 0  # methods compiled by this process (the kept ones are not)


def _exec(source: object, globals: dict[str, object] | None = None,
          locals: dict[str, object] | None = None) -> None:
    """`exec` as dataclasses calls it (`_create_fn`), with the kept code for its source."""
    global compiled_here
    if type(source) is str:
        kept = _kept.get(source)
        code = _code(kept) if kept is not None else None
        if code is None:
            # as exec compiles it there: dataclasses' module has no __future__ imports
            code = compile(source, "<string>", "exec", dont_inherit=True)
            compiled_here += 1
        _seen[source] = code
        source = code
    # where dataclasses' own exec would run it: its module's globals when given none
    builtins.exec(source, vars(dataclasses) if globals is None else globals,  # type: ignore[arg-type]
                  locals)


def use(folder: str | None) -> None:
    """From now on, dataclasses takes the code `keep` wrote into `folder` (None: none)."""
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    data = read_prepared(folder, FILE, MAGIC_NUMBER)  # another Python's is not read
    try:
        kept = marshal.loads(data) if data is not None else None
    except (ValueError, EOFError, TypeError):
        return
    if isinstance(kept, dict):
        _kept.update({source: code for source, code in kept.items()
                      if type(source) is str and type(code) is bytes})


def _code(kept: bytes) -> CodeType | None:
    try:
        code = marshal.loads(kept)
    except (ValueError, EOFError, TypeError):
        return None
    return code if type(code) is CodeType else None


def keep(folder: str) -> int:
    """Write the code of every method this process's dataclasses made into `folder`; how
    many."""
    write_prepared(folder, FILE, MAGIC_NUMBER, marshal.dumps(
        {source: marshal.dumps(code) for source, code in sorted(_seen.items())}))
    return len(_seen)
