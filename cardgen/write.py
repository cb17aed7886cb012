"""Write stage: a file appears under its final name complete, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cardgen.errors import UsageError


def check_output(path: Path, inputs: list[Path]) -> None:
    """Refuse an output that would overwrite an input or land in a missing folder."""
    resolved = path.resolve()
    for source in inputs:
        with contextlib.suppress(OSError):
            if resolved == source.resolve():
                raise UsageError(f"{path} is the input file; choose another output name "
                                 "(the input is never modified)")
    if not path.parent.resolve().is_dir():
        raise UsageError(f"{path.parent} does not exist; create the folder first or choose "
                         "another output path")
    if resolved.is_dir():
        raise UsageError(f"{path} is a folder; give a file name such as {path / 'cards.pdf'}")


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file to write `path` through: a temporary file beside it, renamed over `path`
    when the block ends normally, removed when it does not."""
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.",
                                             suffix=".part")
    except FileNotFoundError:
        raise UsageError(f"{folder} does not exist; create the folder first") from None
    except PermissionError:
        raise UsageError(f"{folder} is not writable; choose another output folder") from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` all at once or not at all."""
    with atomic_file(path) as out:
        out.write(data)
