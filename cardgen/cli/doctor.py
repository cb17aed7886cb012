"""`cardgen doctor`: is this machine able to make correct cards, and fast?"""

from __future__ import annotations

import datetime as dt
import platform
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cardgen import __version__, resources
from cardgen.i18n import _


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def harfbuzz_subsetting() -> tuple[bool, str]:
    """WeasyPrint subsets fonts with libharfbuzz-subset (>= 4.1), else ~40x slower fontTools."""
    import ctypes
    import ctypes.util

    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    library = ctypes.util.find_library("harfbuzz") or "libharfbuzz.so.0"
    version_string = ctypes.CDLL(library).hb_version_string
    version_string.restype = ctypes.c_char_p
    version = version_string().decode()
    if harfbuzz_subset is None:
        return False, _("HarfBuzz {version} without libharfbuzz-subset: one card would take "
                        "seconds; install it with `apt-get install libharfbuzz-subset0`"
                        ).format(version=version)
    if not harfbuzz.hb_version_atleast(4, 1, 0):
        return False, _("HarfBuzz {version} is older than 4.1: subsetting falls back to "
                        "fontTools, which is slow").format(version=version)
    return True, _("HarfBuzz {version} with libharfbuzz-subset").format(version=version)


def run_checks() -> Iterator[Check]:
    yield Check("cardgen", True, _("{version} on Python {python}").format(
        version=__version__, python=platform.python_version()))
    try:
        import weasyprint
        from weasyprint.text.ffi import pango
    except (ImportError, OSError) as exc:
        yield Check("WeasyPrint", False, _("cannot be loaded ({error}); install Pango: "
                                           "`apt-get install libpango-1.0-0 "
                                           "libpangoft2-1.0-0`").format(error=exc))
        return
    pango_version = pango.pango_version()
    major, minor = pango_version // 10000, pango_version // 100 % 100
    yield Check("WeasyPrint", True, weasyprint.__version__)
    yield Check("Pango", (major, minor) >= (1, 44), f"{major}.{minor}.{pango_version % 100}")
    ok, detail = harfbuzz_subsetting()
    yield Check(_("HarfBuzz subsetting"), ok, detail)

    fonts_ok = resources.REGULAR_FONT.is_file() and resources.BOLD_FONT.is_file()
    yield Check(_("fonts"), fonts_ok, f"{resources.FONTS}" if fonts_ok else
                _("Noto Sans CJK SC missing from {folder}; reinstall cardgen").format(
                    folder=resources.FONTS))
    if not fonts_ok:
        return
    from cardgen.layout.fonts import BOLD_FAMILY, REGULAR_FAMILY, load_face

    regular = set(load_face(resources.REGULAR_FONT, REGULAR_FAMILY).cmap)
    bold = set(load_face(resources.BOLD_FONT, BOLD_FAMILY).cmap)
    yield Check(_("font coverage"), regular == bold and len(regular) > 40000,
                _("{count} characters in Regular and Bold").format(count=len(regular)))
    yield _prepared()
    if ok:
        yield _test_render()


def _prepared() -> Check:
    """Whether `cardgen prepare` laid out the bundled frames for this install (not a
    failure without: the first card then starts WeasyPrint, about a second more)."""
    from cardgen.config import load_config
    from cardgen.printing.prepared import prepared_for
    from cardgen.resources import prepared_folder

    folder = prepared_folder()
    frames = prepared_for(load_config(), folder)
    if frames is None:
        return Check(_("prepared frames"), True, _(
            "none for this version (a first card takes about a second more); run "
            "`cardgen prepare` once"))
    return Check(_("prepared frames"), True, _("{frames} in {folder}").format(
        frames=frames, folder=folder))


def _test_render() -> Check:
    from cardgen.config import load_config
    from cardgen.data.select import Selection
    from cardgen.pipeline.cards import reprint
    from cardgen.pipeline.register import load

    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        loaded = load(resources.SAMPLES / "households.csv", load_config(), dt.date(2026, 11, 1))
        first = loaded.dataset.households[0].household_id
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "card.pdf"
            reprint(loaded, Selection(households=(first,)), out)
            size = out.stat().st_size
    except Exception as exc:  # doctor reports every failure instead of stopping
        return Check(_("test card"), False, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    # judged on this process's CPU time: a machine busy with other work is slow on the clock
    # but fine, while fontTools subsetting instead of HarfBuzz (~40x) or a broken font cache
    # costs CPU here
    cpu_seconds = time.process_time() - cpu_started
    return Check(_("test card"), cpu_seconds < 5, _("one sample card in {seconds:.2f} s, {size} "
                                                 "bytes").format(seconds=seconds, size=size))
