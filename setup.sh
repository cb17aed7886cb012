#!/bin/sh
# Set up cardgen on a fresh Debian 12 machine, then run the demo or the tests.
#   ./setup.sh demo   system packages, .venv, cardgen, its prepared frames, then `cardgen demo -o demo-out`
#   ./setup.sh test   the same plus test tools, then ruff, mypy and pytest
set -eu
cd "$(dirname "$0")"
mode="${1:-demo}"

# System libraries: Pango (WeasyPrint's text engine), HarfBuzz with its subsetter (without it
# one card takes ~13 s), Python's venv; for the tests, the PDF readers and a font with
# Extension B characters for the fallback-font test, Ghostscript for the preflight, a
# name-keyed CFF font (URW) for the subset test, and the browser the web desk is tested in.
packages="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 python3-venv"
if [ "$mode" = test ]; then
  packages="$packages poppler-utils qpdf ghostscript fonts-hanazono fonts-urw-base35 chromium"
fi
missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $package"
done
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip==26.3
if [ "$mode" = test ]; then
  .venv/bin/python -m pip install -q -c constraints.txt ".[test]"
else
  .venv/bin/python -m pip install -q -c constraints.txt .
fi

case "$mode" in
  demo)
    .venv/bin/cardgen doctor
    # the bundled templates' frames, laid out once beside the install: the first card
    # (and the desk's first preview) then starts without WeasyPrint
    .venv/bin/cardgen prepare
    .venv/bin/cardgen demo -o demo-out
    ;;
  test)
    .venv/bin/ruff check cardgen tests tools benchmarks setup.py
    .venv/bin/mypy
    .venv/bin/python -m pytest -q -n auto --dist loadfile
    ;;
  *)
    echo "usage: ./setup.sh [demo|test]" >&2
    exit 2
    ;;
esac
