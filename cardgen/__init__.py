"""cardgen: five-colour household cards (五色户卡) from household records, as print-ready PDF."""

__version__ = "0.1.0"
