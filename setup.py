"""Build step: the message catalogues are compiled into the package (everything else is in
pyproject.toml). An installed cardgen then reads them with the standard library's gettext;
the .po files stay the source, in the repository."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):  # type: ignore[misc]
    """build_py, then every cardgen/locale/*/LC_MESSAGES/*.po compiled to a .mo beside it."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for source in sorted(Path("cardgen/locale").glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / source.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as handle:
                catalog = read_po(handle, locale=source.parent.parent.name)
            with target.open("wb") as out:
                write_mo(out, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithCatalogues})
