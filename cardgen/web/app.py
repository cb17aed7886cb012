"""The desk's routes (README, "In a browser"; errors: docs/cli.md): the page, the login
form, and the JSON interface the page uses — search, a household's card, preview and
stickers, the check of an uploaded file, and jobs. Each route reads the request, calls the
pipeline in a worker process (`work`) and answers; the rules every request passes first are
in `guard`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from cardgen import resources
from cardgen.errors import CardgenError
from cardgen.i18n import _
from cardgen.web.failures import (
    Failed,
    Failure,
    NotFound,
    NotInBook,
    TooLarge,
    TooManyTries,
    Unauthorized,
    WebError,
    failure_of,
    internal_failure,
)
from cardgen.web.guard import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Guard,
    Rules,
    client_of,
    cookies,
    local_path,
    too_many_tries,
)
from cardgen.web.registers import Register, Registers
from cardgen.web.work import (
    DRAWN_KEPT_MB,
    JOB_KINDS,
    CardWork,
    ClientGone,
    Drawing,
    Drawn,
    JobBoard,
    JobSpec,
    Pool,
    Settings,
    check_upload,
    draw,
    job_register,
)

HERE = Path(__file__).resolve().parent
SEARCH_LIMIT = 50  # households listed for one search
QUERY_CHARS = 100
GRID_HOUSEHOLDS = 3000  # households of one grid a job prints: its book is drawn in memory
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


def bundled_assets() -> dict[str, tuple[bytes, str]]:
    """The page's scripts and styles, read once: no request path reaches the file system."""
    return {path.name: (path.read_bytes(), MEDIA[path.suffix])
            for path in sorted((HERE / "static").iterdir()) if path.suffix in MEDIA}


@dataclass
class Desk:
    """Everything the routes share."""

    settings: Settings
    registers: Registers
    pool: Pool
    board: JobBoard
    rules: Rules
    upload_bytes: int
    pages: Environment = dataclasses.field(default_factory=lambda: Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(
            default=True, default_for_string=True), auto_reload=False))
    assets: dict[str, tuple[bytes, str]] = dataclasses.field(default_factory=bundled_assets)
    drawn: Drawn = dataclasses.field(default_factory=lambda: Drawn(DRAWN_KEPT_MB * 2**20))


def make_app(desk: Desk) -> ASGIApp:
    """The application: the routes behind the guard."""

    def page(name: str, request: Request, **values: Any) -> HTMLResponse:
        """A page, and the CSRF cookie its scripts echo (a valid one is kept)."""
        html = desk.pages.get_template(name).render(token=desk.rules.token is not None,
                                                    **values)
        response = HTMLResponse(html)
        if not desk.rules.valid_csrf(cookies(request.headers).get(CSRF_COOKIE)):
            response.set_cookie(CSRF_COOKIE, desk.rules.new_csrf(), httponly=False,
                                samesite="strict", secure=request.url.scheme == "https")
        return response

    def palette() -> list[dict[str, str]]:
        """The five colours as the page shows them (the config's palette)."""
        return [{"colour": c.key, "char": c.char, "name": c.name, "hex": c.hex}
                for c in sorted(desk.settings.config.palette.values(), key=lambda c: c.order)]

    async def index(request: Request) -> Response:
        return page("index.html.j2", request, palette=palette())

    async def login_page(request: Request) -> Response:
        if desk.rules.token is None:
            return Response(status_code=303, headers={"location": "/"})
        return page("login.html.j2", request)

    async def login(request: Request) -> Response:
        """The access token for a session cookie; wrong ones throttled per client (guard's
        Throttle): each waits longer, and after a few in a row the client is refused (429)."""
        if desk.rules.token is None:
            raise NotFound(_("this desk has no access token"))
        body = await json_body(request)
        offered, client, throttle = body.get("token"), client_of(request.scope), \
            desk.rules.throttle
        waiting = throttle.wait(client)
        if waiting:
            raise too_many_tries(waiting)
        if not isinstance(offered, str) or not desk.rules.token_matches(offered.strip()):
            await asyncio.sleep(throttle.failed(client))
            raise Unauthorized(_("wrong access token"))
        throttle.succeeded(client)
        old = cookies(request.headers).get(SESSION_COOKIE)
        if old:
            desk.rules.sessions.close(old)
        response = JSONResponse({"ok": True, "next": local_path(body.get("next")) or "/"})
        response.set_cookie(SESSION_COOKIE, desk.rules.sessions.open(), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    async def logout(request: Request) -> Response:
        session = cookies(request.headers).get(SESSION_COOKIE)
        if session:
            desk.rules.sessions.close(session)  # a copy of the cookie ends with it
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def asset(request: Request) -> Response:
        found = desk.assets.get(request.path_params["name"])
        if found is None:
            raise NotFound(_("no such file"))
        return Response(found[0], media_type=found[1], headers={"cache-control": "no-cache"})

    async def font(request: Request) -> Response:
        """The bundled Noto Sans CJK, for a PC without a Chinese font of its own (the page
        asks for it only then)."""
        return FileResponse(resources.REGULAR_FONT, media_type="font/otf",
                            headers={"cache-control": "max-age=86400"})

    async def overview(request: Request) -> Response:
        await desk.registers.refresh()
        return JSONResponse({
            "registers": [register.summary() for register in desk.registers.served()],
            "palette": palette(),
            "date": desk.settings.today().isoformat(),
            "book": desk.settings.book is not None,
        })

    async def search(request: Request) -> Response:
        from cardgen.pipeline.reports import search as find

        query = (await json_body(request)).get("q")
        if not isinstance(query, str) or len(query) > QUERY_CHARS:
            raise WebError(_("send the search as {{\"q\": \"…\"}}, at most {chars} characters")
                           .format(chars=QUERY_CHARS))
        await desk.registers.refresh()
        found: list[dict[str, object]] = []
        total = 0
        for register in desk.registers.readable():
            listed, count = await anyio.to_thread.run_sync(
                find, register.loaded, query, SEARCH_LIMIT - len(found), register.numbers)
            total += count
            found += [{**listing(dataclasses.asdict(household), register.unbooked),
                       "register": register.key, "register_name": register.name}
                      for household in listed]
        return JSONResponse({"households": found, "total": total})

    async def drawing(request: Request, kind: Drawing) -> Response:
        household = request.path_params["household_id"]
        mode = request.query_params.get("mode", "routine")
        if mode not in ("routine", "emergency"):
            raise WebError(_("mode is routine or emergency"))
        await desk.registers.refresh()
        register = desk.registers.holding(household, request.query_params.get("register"))
        assert register.path is not None
        if kind != "preview" and household in register.unbooked:
            raise not_in_book(household)  # the preview shows the number it will get
        work = CardWork(register.path, register.stamp, desk.settings.today(), household, kind,
                        mode == "emergency")
        data = desk.drawn.get((work, register.book))
        if data is None:
            try:
                data = await desk.pool.call(draw, work, gone=disconnected(request))
            except Failed as failed:
                if failed.failure.code == NotInBook.code:  # the book changed since the look
                    raise not_in_book(household) from None
                raise
            desk.drawn.put((work, register.book), data)
        if kind == "preview":
            return Response(data, media_type="image/png")
        name = {"card": "五色户卡", "stickers": "五色户卡贴纸"}[kind]
        suffix = "-应急" if mode == "emergency" and kind == "card" else ""
        return Response(data, media_type="application/pdf", headers={
            "content-disposition": disposition(f"{name}-{household}{suffix}.pdf")})

    async def card(request: Request) -> Response:
        return await drawing(request, "card")

    async def preview(request: Request) -> Response:
        return await drawing(request, "preview")

    async def stickers(request: Request) -> Response:
        return await drawing(request, "stickers")

    async def validate(request: Request) -> Response:
        name, data = await uploaded_file(request, desk.upload_bytes)
        folder = desk.settings.scratch / "uploads"  # in the desk's private folder
        folder.mkdir(exist_ok=True)
        lock = "~$" if name.startswith("~$") else ""  # Excel's lock file is told by its name
        path = folder / f"{lock}{secrets.token_hex(8)}{PurePosixPath(name).suffix.lower()[:8]}"
        try:
            await anyio.Path(path).write_bytes(data)
            loaded, report = await desk.pool.call(check_upload, path, desk.settings.today())
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        report = named(report, str(path), name)
        headers = {}
        if loaded is not None and report["ok"]:
            headers["x-cardgen-upload"] = desk.registers.add_upload(loaded).key
        return JSONResponse(report, headers=headers)

    async def create_job(request: Request) -> Response:
        from cardgen.book.ledger import grid_group
        from cardgen.data.select import make_selection, select_households
        from cardgen.pipeline.register import check_printable

        body = await json_body(request)
        kind = body.get("kind")
        if kind not in JOB_KINDS:
            raise WebError(_("kind is one of: {kinds}").format(kinds=", ".join(JOB_KINDS)))
        grid, colours, key = body.get("grid"), body.get("colours") or [], body.get("register")
        if (grid is not None and not isinstance(grid, str)) or not isinstance(colours, list) \
                or not all(isinstance(c, str) for c in colours) \
                or (key is not None and not isinstance(key, str)):
            raise WebError(_("a job is {{\"kind\", \"grid\": name or null, \"colours\": [...], "
                             "\"register\": name or null}}"))
        await desk.registers.refresh()
        register = loaded_register(desk.registers.pick(key))
        loaded = register.loaded
        book = desk.settings.book if register.path is not None else None  # not an upload's
        if kind == "update" and book is None:
            raise WebError(_("the update packet compares the register with its book: start "
                             "the desk with --book DIR (an uploaded file has no book)"),
                           "web.no_book")
        if kind == "emergency" and not colours:  # the cards an emergency needs first
            colours = list(loaded.config.emergency.card_colours)
        if kind == "emergency_kit":  # the kit chooses by need, not by colour
            colours = []
        selection = make_selection(loaded.config, colours=tuple(colours),
                                   grids=(grid,) if grid else ())
        chosen = select_households(loaded.dataset.households, loaded.categories, selection)
        skip_invalid = bool(body.get("skip_invalid")) and kind in ("ledger", "emergency",
                                                                    "update", "emergency_kit")
        if not skip_invalid:  # an update, like a ledger, holds back errors only when asked
            check_printable(loaded, chosen, kind)
        biggest = Counter(grid_group(household) for household in chosen).most_common(1)
        if biggest and biggest[0][1] > GRID_HOUSEHOLDS:  # every grid, one at a time: any size
            raise TooLarge(_("grid {grid} has {count} households, more than one grid's book "
                             "holds ({most}); split the grid in the register").format(
                grid=biggest[0][0], count=biggest[0][1], most=GRID_HOUSEHOLDS),
                "web.job_too_big")
        job = desk.board.submit(JobSpec(kind, selection, skip_invalid, book),
                                job_register(loaded, chosen, kind, book), len(chosen))
        return JSONResponse({"job": job.id}, status_code=202)

    async def job_status(request: Request) -> Response:
        desk.board.tick()
        return JSONResponse(desk.board.get(request.path_params["job_id"]).status())

    async def job_result(request: Request) -> Response:
        desk.board.tick()
        job = desk.board.get(request.path_params["job_id"])
        if job.result is None:
            raise WebError(_("the job is {state}; its result is not ready").format(
                state=job.state), "web.not_ready")
        return FileResponse(job.result.path, media_type=job.result.media_type,
                            headers={"content-disposition": disposition(job.result.file_name)})

    async def cancel_job(request: Request) -> Response:
        job = desk.board.get(request.path_params["job_id"])
        desk.board.cancel(job)
        return JSONResponse(job.status())

    async def cancel_job_by_post(request: Request) -> Response:
        """POST …/cancel: the same, for clients that cannot send DELETE (its own route, so that
        the log tells the two apart)."""
        return await cancel_job(request)

    routes = [
        Route("/", index),
        Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/static/font.otf", font),
        Route("/static/{name}", asset),
        Route("/api/overview", overview),
        Route("/api/search", search, methods=["POST"]),
        Route("/api/households/{household_id:path}/card.pdf", card),
        Route("/api/households/{household_id:path}/preview.png", preview),
        Route("/api/households/{household_id:path}/stickers.pdf", stickers),
        Route("/api/validate", validate, methods=["POST"]),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job_id}", job_status),
        Route("/api/jobs/{job_id}", cancel_job, methods=["DELETE"]),
        Route("/api/jobs/{job_id}/cancel", cancel_job_by_post, methods=["POST"]),
        Route("/api/jobs/{job_id}/result", job_result),
    ]
    paths = {route.endpoint: route.path for route in routes}

    def route_of(scope: Scope) -> str:
        """What the log says of a request: its route as written here, not its path."""
        return paths.get(scope.get("endpoint"), "(no route)")  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        desk.pool.start([path for path in desk.registers.files()], desk.settings.today())
        reading = asyncio.create_task(desk.registers.refresh())
        supervising = asyncio.create_task(supervise(desk.board))
        try:
            yield
        finally:
            supervising.cancel()
            reading.cancel()
            desk.board.close()
            await anyio.to_thread.run_sync(desk.pool.close)
            shutil.rmtree(desk.settings.scratch, ignore_errors=True)

    def answer_failure(request: Request, failure: Failure) -> Response:
        """JSON with the code; to a browser that opened the address itself (a card's PDF
        in a new tab), the same said on a short page."""
        if not wants_page(request):
            return JSONResponse(failure.body(), failure.status)
        html = desk.pages.get_template("refused.html.j2").render(
            message=failure.message, problems=failure.problems)
        return HTMLResponse(html, failure.status)

    def cardgen_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, CardgenError)
        answer = answer_failure(request, failure_of(error))
        if isinstance(error, TooManyTries):
            answer.headers["retry-after"] = str(error.retry_after)
        return answer

    def failed(request: Request, error: Exception) -> Response:
        assert isinstance(error, Failed)
        return answer_failure(request, error.failure)

    def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 405:
            return answer_failure(request, Failure(405, "web.method", _(
                "this address does not take that method")))
        return answer_failure(request, Failure(404, "web.not_found", _("nothing here")))

    def internal_error(request: Request, error: Exception) -> Response:
        return answer_failure(request, internal_failure(error))

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        CardgenError: cardgen_error, Failed: failed, HTTPException: http_error,
        ClientGone: client_gone, Exception: internal_error})
    return Guard(app, desk.rules, route_of)


async def supervise(board: JobBoard) -> None:
    while True:
        board.tick()
        await asyncio.sleep(0.2)


# ---- answers -------------------------------------------------------------------------------

def client_gone(request: Request, error: Exception) -> Response:
    return Response(status_code=499)  # nobody reads it: the client went away


def wants_page(request: Request) -> bool:
    """Whether the browser itself asked for this address (a link opened in a tab), not a
    script: then a refusal is a page a person reads, not JSON."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def listing(found: dict[str, Any], unbooked: frozenset[str]) -> dict[str, Any]:
    """A search result with whether the book holds the household: one new since the book
    has no number yet (`number` is empty), only the one the update packet will give it."""
    if found["household_id"] not in unbooked:
        return {**found, "in_book": True}
    return {**found, "number": "", "in_book": False, "number_after_update": found["number"]}


def not_in_book(household: str) -> NotInBook:
    return NotInBook(_("{household} is new since the book was printed: the book has no number "
                       "and no card for it yet. On the tab 台账与批量打印, the button 更新包 "
                       "(update packet) gives it its number, its card and its stickers").format(
        household=household))


def loaded_register(register: Register) -> Register:
    if register.loaded is None:
        if register.failure is not None:
            raise Failed(register.failure)
        raise NotFound(_("register {name} has not been read yet").format(name=register.name))
    return register


# ---- request helpers -----------------------------------------------------------------------

async def json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise WebError(_("send JSON (Content-Type: application/json)"))
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise WebError(_("the body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise WebError(_("the body is not a JSON object"))
    return body


async def uploaded_file(request: Request, limit: int) -> tuple[str, bytes]:
    """The multipart field `file`: its name as the user's computer had it, and its bytes.
    Starlette's parser is told to keep a file of up to `limit` bytes in memory (the guard
    refuses bigger bodies), so an upload never lands in a shared temporary folder."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise WebError(_("send the file as multipart/form-data, in the field “file”"))
    parser = MultiPartParser(request.headers, request.stream(), max_files=1, max_fields=4)
    parser.spool_max_size = limit + 1
    try:
        form = await parser.parse()
    except CardgenError:
        raise
    except Exception:  # the parser's own errors: a malformed body
        raise WebError(_("the upload is not a readable multipart form")) from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise WebError(_("send the file as multipart/form-data, in the field “file”"))
        data = await upload.read()
        return display_name(upload.filename), data
    finally:
        await form.close()


def display_name(filename: str | None) -> str:
    """The uploaded file's own name, without folders or control characters: shown in the
    problems as their source, never used as a path."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(char for char in name if char.isprintable()).strip()[:100]
    return name or "upload"


def named(report: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    """The validate object with the uploaded file's name where the temporary path was."""
    for problem in report["problems"]:
        if problem["source"] == path:
            problem["source"] = name
        problem["message"] = str(problem["message"]).replace(path, name)
    return report


def disposition(file_name: str) -> str:
    """Content-Disposition for a PDF shown by the browser, with its (Chinese) file name."""
    plain = "".join(c if (c.isascii() and c.isalnum()) or c in "-._" else "_" for c in file_name)
    return f"inline; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name)}"


def disconnected(request: Request) -> Callable[[], Awaitable[None]]:
    """Waits until the client closes its connection (the request's body is read)."""
    async def wait() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return
    return wait

