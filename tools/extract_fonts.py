"""Extract the Simplified Chinese faces of Noto Sans CJK into fonts/ (one-off, documented).

The bundled fonts/NotoSansCJKsc-*.otf were made with this script from Debian's
fonts-noto-cjk package: `python tools/extract_fonts.py`. WeasyPrint would pick face 0
(Japanese) from the .ttc collection, so we ship the SC face on its own. It also writes
fonts/*.metrics (`python tools/extract_fonts.py --metrics` for those alone).
"""

from pathlib import Path

from fontTools.ttLib import TTCollection

from cardgen.layout.fonts import BOLD_FAMILY, REGULAR_FAMILY, write_shipped_metrics

SOURCE = Path("/usr/share/fonts/opentype/noto")
TARGET = Path(__file__).resolve().parent.parent / "fonts"
SC_FACE = 2  # order in the collection: JP, KR, SC, TC, HK, then the Mono faces


def main() -> None:
    for weight in ("Regular", "Bold"):
        collection = TTCollection(SOURCE / f"NotoSansCJK-{weight}.ttc")
        face = collection.fonts[SC_FACE]
        family = face["name"].getDebugName(1)
        if family != "Noto Sans CJK SC":
            raise SystemExit(f"face {SC_FACE} is {family!r}, not Noto Sans CJK SC")
        face.save(TARGET / f"NotoSansCJKsc-{weight}.otf")
    metrics()


def metrics() -> None:
    """The fonts' metrics, precomputed so that a first run need not parse the fonts."""
    write_shipped_metrics(TARGET / "NotoSansCJKsc-Regular.otf", REGULAR_FAMILY)
    write_shipped_metrics(TARGET / "NotoSansCJKsc-Bold.otf", BOLD_FAMILY)


if __name__ == "__main__":
    import sys

    metrics() if "--metrics" in sys.argv else main()
