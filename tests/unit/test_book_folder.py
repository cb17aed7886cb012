"""cardgen/book/folder.py and the ledger's names: one folder holds one book; a run that
would mix books, overwrite strangers' files or renumber a book unasked is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardgen.book.folder import Writing, check_book_folder, earlier_files, replaced_files
from cardgen.book.ledger import natural_key, safe_file_name, update_file_names
from cardgen.book.record import MANIFEST, Edition, Entry, GridBook, manifest_bytes
from cardgen.errors import CardgenError

GROUP = "恒安社区 第3网格"
LEDGER = "恒安社区-第3网格.pdf"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding the book of 第3网格: H1 as 001, H2 as 002."""
    book = GridBook(GROUP, LEDGER, Edition(1, "2026-01-05"),
                    [Entry("H1", 1, first_page=3, page_count=1),
                     Entry("H2", 2, first_page=4, page_count=1)], [], "恒安社区", "第3网格")
    (tmp_path / MANIFEST).write_bytes(manifest_bytes([book]))
    (tmp_path / LEDGER).write_bytes(b"%PDF")
    return tmp_path


def writing(groups: tuple[str, ...] = (GROUP,), files: tuple[str, ...] = (),
            partial: bool = False,
            numbers: dict[str, dict[str, int]] | None = None) -> Writing:
    return Writing(frozenset(groups), frozenset({MANIFEST, LEDGER, *files}), partial, numbers)


def refusal(folder: Path, what: Writing) -> CardgenError:
    with pytest.raises(CardgenError) as refused:
        check_book_folder(folder, what)
    return refused.value


def test_the_same_book_may_be_written_again(folder: Path) -> None:
    check_book_folder(folder, writing(numbers={GROUP: {"H1": 1, "H2": 2}}))
    check_book_folder(folder / "new", writing())  # no folder yet: nothing to refuse


def test_another_book_is_refused_naming_it_and_what_this_run_prints(folder: Path) -> None:
    refused = refusal(folder, writing(("恒安社区 第4网格",)))
    assert refused.code == "book.other_book"
    assert f"holds another book: {GROUP} (manifest.json, {LEDGER})" in str(refused)
    assert "this run prints 恒安社区 第4网格" in str(refused)


def test_files_no_book_names_are_not_overwritten(folder: Path) -> None:
    (folder / "report.pdf").write_bytes(b"the user's")
    refused = refusal(folder, writing(files=("report.pdf",)))
    assert refused.code == "book.other_book" and "would be overwritten: report.pdf" in str(refused)


def test_a_manifest_that_is_no_book_is_refused(folder: Path) -> None:
    (folder / MANIFEST).write_text("{}", encoding="utf-8")
    refused = refusal(folder, writing())
    assert refused.code == "book.other_book" and "not a book cardgen can read" in str(refused)
    assert replaced_files(folder) == set() and earlier_files(folder) == set()


def test_a_selection_would_replace_the_books_record(folder: Path) -> None:
    refused = refusal(folder, writing(partial=True))
    assert refused.code == "book.would_replace"


def test_a_first_print_that_would_renumber_the_book_says_how_many(folder: Path) -> None:
    refused = refusal(folder, writing(numbers={GROUP: {"H2": 1, "H1": 2, "H3": 3}}))
    assert refused.code == "book.would_renumber"
    assert "would change 3 household number(s)" in str(refused)
    assert f"Add --book {folder} to keep the numbers" in str(refused)


def test_an_earlier_run_is_its_record_ledgers_and_update_files(folder: Path) -> None:
    packet, labels = update_file_names([GROUP])[GROUP]
    (folder / packet).write_bytes(b"%PDF")
    assert earlier_files(folder) == {MANIFEST, LEDGER, packet}  # labels: none printed
    assert replaced_files(folder) == {LEDGER}
    assert (packet, labels) == ("恒安社区-第3网格-变更.pdf", "恒安社区-第3网格-贴纸.pdf")


def test_file_names_are_safe_and_unique_and_addresses_sort_as_read() -> None:
    taken: set[str] = set()
    assert safe_file_name("恒安社区 第3网格", False, taken) == "恒安社区-第3网格.pdf"
    assert safe_file_name("恒安社区 第3网格", False, taken) == "恒安社区-第3网格-2.pdf"
    assert safe_file_name("../a:b*c", True, taken) == "_a_b_c-应急.pdf"
    assert safe_file_name("...", False, taken) == "ledger.pdf"
    addresses = ["10号楼", "2号楼", "2号楼10单元", "2号楼9单元"]
    assert sorted(addresses, key=natural_key) == ["2号楼", "2号楼9单元", "2号楼10单元", "10号楼"]


def test_the_book_held_is_read_again_when_its_manifest_changes(
        folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """held_book reads a manifest once while it stays the same file: another path, inode,
    size or modification time is read anew."""
    import os
    import shutil

    from cardgen.book.folder import held_book
    from cardgen.write import write_atomic

    manifest = folder / MANIFEST
    first = held_book(folder)
    assert first is not None and held_book(folder) is first  # read once

    def rewritten(book: GridBook, same_size: bool = False, in_place: bool = True) -> set[str]:
        """The files of the book held once the manifest holds `book` (the old mtime kept
        unless `same_size`, whose content alone would not tell)."""
        before = manifest.stat()
        data = manifest_bytes([book])
        if same_size:
            assert len(data) == before.st_size
        if in_place:
            with manifest.open("r+b") as out:
                out.write(data)
                out.truncate()
        else:
            write_atomic(manifest, data)
        if not same_size:
            os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))
        else:
            os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        return replaced_files(folder)

    def book(file: str) -> GridBook:
        return GridBook(GROUP, file, Edition(1, "2026-01-05"), [Entry("H1", 1, first_page=3,
                        page_count=1)], [], "恒安社区", "第3网格")

    assert rewritten(book("a-longer-name.pdf")) == {"a-longer-name.pdf"}  # its size
    assert rewritten(book("b-longer-name.pdf"), same_size=True) == {"b-longer-name.pdf"}
    manifest.write_bytes(manifest_bytes([book("c-longer-name.pdf")]))
    held_book(folder)
    assert rewritten(book("d-longer-name.pdf"), in_place=False) == {"d-longer-name.pdf"}
    other = tmp_path_factory.mktemp("other")
    shutil.copy2(manifest, other / MANIFEST)  # another path (and inode)
    assert replaced_files(other) == {"d-longer-name.pdf"}
