"""`cardgen serve`: check the binding and the token, bind the socket, set up the desk and run
it under uvicorn until Ctrl-C or SIGTERM."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from cardgen.config import Config
from cardgen.data.read import SheetChoice
from cardgen.errors import UsageError
from cardgen.i18n import _, language
from cardgen.web.app import Desk, make_app
from cardgen.web.guard import Rules, is_loopback
from cardgen.web.registers import Registers
from cardgen.web.work import JobBoard, Pool, Settings, private_folder

UPLOAD_MB = 20  # a district's register of 20,000 households is about 3 MB as .xlsx
TOKEN_CHARS = 16
WAITING_CARDS = 64  # cards, previews and checks waiting for a worker; more are told to wait
# Pool workers for cards, previews and checks: one. Each holds its own copy of every register
# (10,000 households: ~55 MiB) and, while it draws the card frames with WeasyPrint, peaks at
# ~220 MiB; two took the desk to 528 MiB at 10,000 households, one keeps it at 365 MiB
# (benchmarks/serve.py, 2 CPUs). A card asked again is answered by the server (work.Drawn),
# frames are drawn once, not once per worker, and jobs run in processes of their own.
CARD_WORKERS = 1


def read_token(path: Path | None) -> str | None:
    """The access token in --token-file: one line, at least TOKEN_CHARS characters."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(_("cannot read the token file {path} ({error})").format(
            path=path, error=getattr(error, "strerror", None) or type(error).__name__)) from None
    if len(token) < TOKEN_CHARS or any(char.isspace() for char in token):
        raise UsageError(_("the token file {path} must hold one token of at least {chars} "
                           "characters, without spaces; make one with: python3 -c \"import "
                           "secrets; print(secrets.token_urlsafe(32))\" > {path}").format(
            path=path, chars=TOKEN_CHARS))
    return token


def check_binding(host: str, token: str | None) -> None:
    if token is None and not is_loopback(host):
        raise UsageError(_("--host {host} opens the desk to the network: give --token-file "
                           "too, so that every request needs the token").format(host=host))


def listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _name, where = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(128)
    except OSError as error:
        raise UsageError(_("cannot listen on {host} port {port} ({error}); choose another "
                           "--port or --host").format(host=host, port=port,
                                                       error=error.strerror or error)) from None
    return sock


def address_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class Server(uvicorn.Server):
    """uvicorn's server, saying where to point the browser once it is listening."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.announce()


def build_desk(sources: list[Path], config: Config, templates: Path | None,
               date: dt.date | None, sheet_name: SheetChoice | str | None, book: Path | None,
               token: str | None, workers: int | None = None,
               upload_mb: int = UPLOAD_MB) -> Desk:
    """The desk's parts: settings, the worker pool, the registers, the job board, the rules."""
    # The pipeline package is imported here, once, before any request: a route imports its
    # modules in the event loop while a book is opened in a thread (open_book), and two
    # threads importing one package's modules at once failed with KeyError in importlib
    # (seen in the --book browser test; a 0.36 s import, measured)
    import cardgen.pipeline
    cardgen.pipeline.import_all()
    cpus = workers or os.cpu_count() or 1  # jobs: half the CPUs, each its own process
    settings = Settings(config, templates, date, sheet_name, book, language(),
                        private_folder())
    pool = Pool(settings, workers=workers or CARD_WORKERS, waiting=WAITING_CARDS)
    upload_bytes = min(upload_mb, config.limits.file_mb) * 2**20
    return Desk(settings, Registers(sources, settings, pool), pool,
                JobBoard(settings, running=max(1, cpus // 2)),
                Rules(token, secrets.token_bytes(32), upload_bytes), upload_bytes)


def log_to_stderr() -> None:
    """The desk's log (one line a request, the registers read) and uvicorn's warnings."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    for name in ("cardgen.web", "uvicorn"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("cardgen.web").setLevel(logging.INFO)


def serve(sources: list[Path], host: str, port: int, config: Config, templates: Path | None,
          date: dt.date | None, sheet_name: SheetChoice | str | None, book: Path | None,
          token_file: Path | None, say: Callable[[str], None]) -> None:
    """Serve the registers at `sources` until stopped."""
    token = read_token(token_file)
    check_binding(host, token)
    sock = listen(host, port)
    log_to_stderr()
    desk = build_desk(sources, config, templates, date, sheet_name, book, token)
    address = address_of(sock)

    def announce() -> None:
        say(_("cardgen desk: open {address} in a browser (Ctrl+C stops it)").format(
            address=address))
        if token is None:
            say(_("only this computer can reach it; to serve an office network, see "
                  "--token-file"))

    server = Server(uvicorn.Config(
        make_app(desk), lifespan="on", log_config=None, log_level="warning", access_log=False,
        server_header=False, limit_concurrency=200, timeout_graceful_shutdown=5), announce)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        shutil.rmtree(desk.settings.scratch, ignore_errors=True)
