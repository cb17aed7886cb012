"""Extract the Simplified Chinese faces of Noto Sans CJK into fonts/ (one-off, documented).

The bundled fonts/NotoSansCJKsc-*.otf were made with this script from Debian's
fonts-noto-cjk package: `python tools/extract_fonts.py`. WeasyPrint would pick face 0
(Japanese) from the .ttc collection, so we ship the SC face on its own.
"""

from pathlib import Path

from fontTools.ttLib import TTCollection

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


if __name__ == "__main__":
    main()
