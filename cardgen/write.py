"""Write stage: a file appears under its final name complete, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cardgen.errors import CardgenError, UsageError
from cardgen.i18n import _

# Endings of files that are not what a command writes: an output named so is refused rather
# than written in another format under that name (`preview -o 预览.pdf`).
OTHER_KINDS = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp",
                         ".webp", ".svg", ".xlsx", ".xls", ".ods", ".csv", ".json", ".txt",
                         ".toml", ".doc", ".docx", ".html", ".zip"})


def output_name(path: Path, suffix: str, inputs: tuple[Path, ...] = (),
                option: str = "-o") -> Path:
    """`path` as the output file a command writes in the format of `suffix` (".pdf"): kept
    when it ends so (any case), with `suffix` added when it has no ending or one that names
    no file type (户卡, 户卡.11月), refused when it names another type (预览.pdf for a PNG).
    A folder or one of the `inputs` is left as it is for `check_output` to refuse."""
    ending = path.suffix.lower()
    if ending == suffix or path.is_dir() or _same_file(path, inputs):
        return path
    if ending in OTHER_KINDS:
        raise UsageError(_("{option} {path}: this command writes a {kind} file, not {ending}; "
                           "give a name ending in {suffix}, such as {example}").format(
            option=option, path=path, kind=suffix[1:].upper(), ending=path.suffix,
            suffix=suffix, example=path.with_suffix(suffix).name), code="output.extension")
    return path.with_name(path.name + suffix)


def _same_file(path: Path, others: tuple[Path, ...]) -> bool:
    with contextlib.suppress(OSError):
        return any(path.resolve() == other.resolve() for other in others)
    return False


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


def check_folder(folder: Path) -> None:
    """The output folder must exist or be creatable in an existing parent, and be writable.

    Nothing is created here: a ledger refused for its data leaves no empty folder."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(_("{folder} is a file, not a folder; give a folder with -o").format(
            folder=folder), code="output.not_a_folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise UsageError(_("{parent} does not exist; create it first or choose another "
                           "output folder").format(parent=folder.parent),
                         code="output.no_folder")
    if not os.access(folder if folder.exists() else folder.parent, os.W_OK | os.X_OK):
        # a read-only folder is no wrong usage but a place that cannot take it: exit 1
        # (docs/cli.md), as a disk that fills up on the way is
        raise CardgenError(_("{folder} is not writable; choose another output folder").format(
            folder=folder if folder.exists() else folder.parent), code="output.not_writable")


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
    except PermissionError:  # a place that cannot take it, as in check_folder: exit 1
        raise CardgenError(_("{folder} is not writable; choose another output folder").format(
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
