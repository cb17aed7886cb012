"""Unit tests: the PDF plumbing (cardgen/pdf/) and the book (cardgen/book/), each part on
its own, without WeasyPrint."""
