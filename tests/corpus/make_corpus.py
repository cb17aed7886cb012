"""Write the corpus of damaged and hostile inputs the hardening tests feed to cardgen.

    python tests/corpus/make_corpus.py

Deterministic: the committed files are what this script writes. The two big inputs (a
2 MB cell, 100,000 rows) are made by the tests themselves (`big_inputs`), not committed.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "户编号,社区,网格,地址,房屋状态,姓名,与户主关系,身份证号,联系电话,特殊情况\n"
GOOD_ROW = ("H1,恒安社区,第3网格,阳光花园2号楼,自住,张秀英,户主,360426199101010071,"
            "13812345678,低保\n")


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def corpus() -> dict[str, bytes]:
    rng = random.Random(20261129)
    sample = (HERE.parent.parent / "samples" / "households.xlsx").read_bytes()
    files: dict[str, bytes] = {
        "empty.csv": b"",
        "blank.csv": b" \r\n\t\r\n",
        "header-only.csv": HEADER.encode(),
        "no-household-column.csv": "姓名,身份证号\n张三,360426199101010071\n".encode(),
        "duplicate-columns.csv": ("户编号,地址,住址,姓名\nH1,一号,二号,张三\n").encode(),
        "binary.bin": bytes(rng.randrange(256) for _ in range(4096)),
        "nul-bytes.csv": (HEADER + GOOD_ROW).encode().replace(b"\xe5\xbc\xa0", b"\x00\x00"),
        "mixed-encoding.csv": (HEADER + GOOD_ROW).encode()
        + "H2,恒安社区,第3网格,二号楼,自住,李四,户主,,,\n".encode("gbk"),
        "utf16-tabs.csv": (HEADER + GOOD_ROW).replace(",", "\t").encode("utf-16"),
        "truncated.xlsx": sample[: len(sample) // 2],
        "zip-not-xlsx.xlsx": _zip({"readme.txt": b"not a workbook", "data.bin": b"\0" * 64}),
        "damaged-sheet.xlsx": _zip({"[Content_Types].xml": b"<Types/>",
                                    "xl/workbook.xml": b"<workbook><sheets><sheet",
                                    "xl/worksheets/sheet1.xml": b"\x00garbage"}),
        "zip-bomb.xlsx": _zip({"xl/workbook.xml": b"<workbook/>",
                               "xl/worksheets/sheet1.xml": b"\0" * (420 * 2**20)}),
        "old-excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024,
        "wrong-shape.json": json.dumps({"households": {"H1": {}}}).encode(),
        "numbers.json": json.dumps([1, 2, 3]).encode(),
        "members-not-list.json": json.dumps([{"户编号": "H1", "members": "张三"}],
                                            ensure_ascii=False).encode(),
        "nested-values.json": json.dumps([{"户编号": {"a": [1, 2]}, "members": [
            {"姓名": ["张三"]}]}], ensure_ascii=False).encode(),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "broken.json": b'[{"\xe6\x88\xb7\xe7\xbc\x96\xe5\x8f\xb7": "H1", ',
        "quotes.csv": (HEADER + 'H1,"恒安社区,第3网格\n').encode(),
        "ragged.csv": (HEADER + "H1,a\nH2,b,c,d,e,f,g,h,i,j,k,l,m,n\n,,,,\n").encode(),
        "control-chars.csv": (HEADER + "H1,恒安\u202e社区,第3网格,a\u0007b,自住,张\u200b三,"
                              "户主,,,\n").encode(),
        "hostile.csv": (HEADER + "H1,<img src=x>,{{7*7}},</td><style>*{}</style>,自住,"
                        "{% include '/etc/passwd' %},户主,,javascript:alert(1),"
                        "url(file:///etc/passwd)\n").encode(),
        "too-many-members.csv": (HEADER + "".join(
            f"H1,恒安社区,第3网格,一号楼,自住,成员{i},子,,,\n" for i in range(61))).encode(),
        "gb18030.csv": (HEADER + GOOD_ROW).encode("gb18030"),
    }
    return files


def big_inputs(folder: Path) -> dict[str, Path]:
    """The corpus's two big files, made on demand: a 2 MB cell and 100,000 rows."""
    paths = {"2mb-cell.csv": folder / "2mb-cell.csv", "100k-rows.csv": folder / "100k-rows.csv"}
    long_cell = "长" * (2 * 2**20 // 3)
    paths["2mb-cell.csv"].write_bytes(
        (HEADER + f"H1,恒安社区,第3网格,{long_cell},自住,张三,户主,,,\n").encode())
    lines = [HEADER] + [f"H{i // 3},恒安社区,第{i // 3 % 7}网格,{i // 3}号楼,自住,居民{i},"
                        f"{'户主' if i % 3 == 0 else '子'},,,\n" for i in range(100_000)]
    paths["100k-rows.csv"].write_text("".join(lines), encoding="utf-8")
    return paths


def main() -> None:
    for name, data in corpus().items():
        (HERE / name).write_bytes(data)
        print(HERE / name, len(data))


if __name__ == "__main__":
    main()
