"""cardgen/book/publish.py: a run's folder published in one step — or not at all — whatever
fails on the way; earlier runs' files refused or removed; one run at a time on a folder."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cardgen.book import publish as publish_module
from cardgen.book.publish import (
    PRIVATE,
    FolderBusy,
    Publication,
    folders_locked,
    publication,
    said,
)
from cardgen.errors import CardgenError


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in the folder (and below) with its bytes; private folders and locks too."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.rglob("*") if PRIVATE in p.name
                  and not p.name.endswith(".lock"))


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A published book: its record, its ledger, and a note of the user's."""
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "manifest.json").write_text("old record", encoding="utf-8")
    (folder / "第3网格.pdf").write_bytes(b"old ledger")
    (folder / "我的笔记.txt").write_text("the user's own", encoding="utf-8")
    return folder


def stage(target: Path, files: dict[str, bytes], earlier: set[str] | None = None,
          force: bool = False) -> Publication:
    staged = Publication(target, earlier if earlier is not None else
                         {"manifest.json", "第3网格.pdf"}, set(), force)
    for name, data in files.items():
        (staged.folder / name).write_bytes(data)
    return staged


NEW = {"第3网格.pdf": b"new ledger", "manifest.json": b"new record"}


def test_a_new_folder_appears_whole(tmp_path: Path) -> None:
    target = tmp_path / "new"
    staged = stage(target, NEW, earlier=set())
    assert staged.folder.parent == tmp_path and PRIVATE in staged.folder.name
    staged.publish()
    assert snapshot(target) == NEW
    assert leftovers(tmp_path) == []


def test_an_existing_book_is_swapped_keeping_the_users_files(book: Path) -> None:
    note = (book / "我的笔记.txt").stat().st_ino
    staged = stage(book, NEW)
    staged.publish()
    staged.discard()
    assert snapshot(book) == {**NEW, "我的笔记.txt": b"the user's own"}
    assert (book / "我的笔记.txt").stat().st_ino == note  # the same file, linked
    assert leftovers(book.parent) == []


def test_files_of_an_earlier_run_are_refused_by_name_unless_forced(book: Path) -> None:
    before = snapshot(book)
    earlier = {"manifest.json", "第3网格.pdf", *(f"第{n}网格 变更.pdf" for n in range(10))}
    for name in earlier - set(before):
        (book / name).write_bytes(b"an earlier packet")
    before = snapshot(book)
    staged = stage(book, NEW, earlier)
    with pytest.raises(CardgenError) as refused:
        staged.publish()
    message = str(refused.value)
    assert refused.value.code == "book.earlier_run"
    assert "第0网格 变更.pdf, 第1网格 变更.pdf" in message and "and 2 more" in message
    assert "add --force to remove them" in message
    assert snapshot(book) == before  # nothing was written
    staged.discard()
    forced = stage(book, NEW, earlier, force=True)
    forced.publish()
    assert snapshot(book) == {**NEW, "我的笔记.txt": b"the user's own"}


def test_without_a_swap_the_files_move_in_one_by_one_the_record_last(
        book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish_module, "_exchange", lambda new, old: False)
    moved: list[str] = []
    real = os.replace

    def replace(source: Path, destination: Path) -> None:
        if Path(destination).parent == book:
            moved.append(Path(destination).name)
        real(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    files = {"a.pdf": b"a", **NEW, "z.pdf": b"z"}
    staged = stage(book, files)
    staged.publish()
    staged.discard()
    assert moved == ["a.pdf", "z.pdf", "第3网格.pdf", "manifest.json"]
    assert snapshot(book) == {**files, "我的笔记.txt": b"the user's own"}
    assert leftovers(book.parent) == []


@pytest.mark.parametrize("failing", range(5))
def test_a_move_that_fails_one_by_one_puts_every_file_back(
        book: Path, monkeypatch: pytest.MonkeyPatch, failing: int) -> None:
    """Each of the five moves fails once: the ledger there set aside, the new one moved
    in, the new grid's ledger moved in, the record set aside, the new one moved in."""
    monkeypatch.setattr(publish_module, "_exchange", lambda new, old: False)
    before = snapshot(book)
    calls = [0]
    real = os.replace

    def replace(source: Path, destination: Path) -> None:
        calls[0] += 1
        if calls[0] == failing + 1:
            raise OSError(errno.EIO, "input/output error")
        real(source, destination)

    staged = stage(book, {**NEW, "第4网格.pdf": b"another"})
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="input/output error"):
        staged.publish()
    monkeypatch.setattr(os, "replace", real)
    assert snapshot(book) == before
    assert calls[0] > failing  # the failing move was reached
    staged.discard()
    assert leftovers(book.parent) == []


def test_a_run_that_fails_before_publishing_leaves_the_book_and_no_trace(
        book: Path) -> None:
    before = snapshot(book)
    with pytest.raises(CardgenError) as failed, publication(book, set(), set(), False) as staged:
        (staged.folder / "第3网格.pdf").write_bytes(b"half a ledger")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert failed.value.code == "output.disk_full"
    assert "the disk holding" in str(failed.value) and "is full" in str(failed.value)
    assert snapshot(book) == before and leftovers(book.parent) == []


def test_a_full_disk_while_linking_is_said_and_changes_nothing(
        book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(book)

    def link(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(CardgenError, match="is full"), \
            publication(book, {"manifest.json", "第3网格.pdf"}, set(), False) as staged:
        for name, data in NEW.items():
            (staged.folder / name).write_bytes(data)
        staged.publish()
    assert snapshot(book) == before and leftovers(book.parent) == []


def test_a_write_that_fails_is_said_in_words(tmp_path: Path) -> None:
    read_only = said(OSError(errno.EROFS, "Read-only file system"), tmp_path)
    assert read_only.code == "output.not_writable" and "cannot be written" in str(read_only)
    other = said(OSError(errno.EIO, "Input/output error"), tmp_path)
    assert other.code == "output.failed" and "(Input/output error)" in str(other)
    assert "nothing was written and the book is as it was" in str(other)


def test_a_killed_runs_private_folder_is_removed_by_the_next_run(book: Path) -> None:
    dead = 2**22 + 1  # above Linux's highest process id (PID_MAX_LIMIT): never alive
    host = publish_module._host()
    killed = book.parent / f".book{PRIVATE}{host}-{dead}-x1"
    living = book.parent / f".book{PRIVATE}{host}-{os.getppid()}-x2"
    for folder in (killed, living):
        folder.mkdir()
        (folder / "manifest.json").write_text("half", encoding="utf-8")
    Publication(book, set(), set(), False).discard()
    assert not killed.exists()
    assert living.exists()  # a live run's: left alone


def test_one_run_at_a_time_on_a_folder_and_readers_share_a_book(tmp_path: Path) -> None:
    target, other, book = tmp_path / "out", tmp_path / "out2", tmp_path / "book"
    for folder in (target, other, book):
        folder.mkdir()
    with folders_locked(target, book):
        with pytest.raises(FolderBusy, match=r"out is in use by another cardgen run") as busy, \
                folders_locked(target, None):
            pass
        assert busy.value.code == "book.busy"
        with folders_locked(other, book):  # another run reading the same book
            pass
        with pytest.raises(FolderBusy), folders_locked(book, None):  # writing it: no
            pass
    with folders_locked(target, None):  # free again
        pass
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")] == []
