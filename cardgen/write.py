"""Write stage: a file appears under its final name complete, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cardgen.errors import UsageError
from cardgen.i18n import _


def check_output(path: Path, inputs: list[Path]) -> None:
    """Refuse an output that would overwrite an input or land in a missing folder."""
    resolved = path.resolve()
    for source in inputs:
        with contextlib.suppress(OSError):
            if resolved == source.resolve():
                raise UsageError(_("{path} is the input file; choose another output name "
                                   "(the input is never modified)").format(path=path),
                                 code="output.is_input")
    if not path.parent.resolve().is_dir():
        raise UsageError(_("{folder} does not exist; create the folder first or choose "
                           "another output path").format(folder=path.parent),
                         code="output.no_folder")
    if resolved.is_dir():
        raise UsageError(_("{path} is a folder; give a file name such as {example}").format(
            path=path, example=path / "cards.pdf"), code="output.is_folder")


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file to write `path` through: a temporary file beside it, renamed over `path`
    when the block ends normally, removed when it does not."""
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.",
                                             suffix=".part")
    except FileNotFoundError:
        raise UsageError(_("{folder} does not exist; create the folder first").format(
            folder=folder), code="output.no_folder") from None
    except PermissionError:
        raise UsageError(_("{folder} is not writable; choose another output folder").format(
            folder=folder), code="output.not_writable") from None
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
