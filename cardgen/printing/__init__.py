"""The print run: what drawing needs for one run (`run`: geometry probed from WeasyPrint's
frames, fonts, words, the card cache), the cards made and drawn with it, in worker
processes when there are many (`workers`), and what a household prints besides its card:
label sheets (`stickers`) and the emergency kit's roster and 明白卡 (`kit`). It stands on
`pdf/`, the PDF plumbing (writer, subset, compose, canvas, draw)."""
