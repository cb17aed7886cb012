"""The desk's security rules (README, "In a browser"), applied to every request before
the routes see it:

- on loopback without a token, only a loopback Host header (a page elsewhere cannot reach the
  desk by pointing a name of its own at 127.0.0.1: DNS rebinding);
- with --token-file, the token on every request (`Authorization: Bearer …`, or the session
  cookie the login form sets), but for the login page and the bundled assets. A session is a
  random id the server keeps (never derived from the token): logging out ends it, and it ends
  by itself after SESSION_IDLE without a request or SESSION_MOST in all. Wrong tokens cost a
  client a growing delay, and after LOGIN_TRIES in a row it is refused (429) for a while;
- on every request but GET and HEAD, the CSRF token that `GET /` sets in the cookie
  `cardgen_csrf`, echoed in the header `X-CSRF-Token` (signed by the server, so a made-up
  pair fails too);
- request bodies bounded (uploads more, JSON less);
- answers carry a Content-Security-Policy with no inline script and no other origin, and are
  not cached, framed or sniffed;
- the log names the route a request took, never its path or its body (which may hold names);
  an unexpected error is logged without its message and answered 500 in JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import quote

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cardgen.i18n import _
from cardgen.web.failures import (
    CsrfRefused,
    TooLarge,
    TooManyTries,
    Unauthorized,
    WebError,
    internal_failure,
)

CSRF_COOKIE = "cardgen_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "cardgen_session"
SAFE_METHODS = ("GET", "HEAD")
OPEN_PATHS = ("/login", "/static/")  # reachable without the token: nothing in them is data
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
               "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
               "frame-ancestors 'none'")
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
SESSION_IDLE = 60 * 60.0  # seconds without a request that end a session: an hour
SESSION_MOST = 12 * 60 * 60.0  # seconds a session lasts however busy: a working day
SESSIONS_KEPT = 1000  # sessions open at once; logging in beyond ends the oldest
LOGIN_DELAY = 1.0  # seconds the n-th wrong token in a row waits: n × this
LOGIN_TRIES = 5  # wrong tokens in a row before a client is refused (429)
LOGIN_LOCKOUT = 60.0  # seconds refused after LOGIN_TRIES; doubled at each further wrong try
LOGIN_FORGET = 15 * 60.0  # seconds after which a client's wrong tries are forgotten
log = logging.getLogger("cardgen.web")


def is_loopback(host: str) -> bool:
    """Whether a --host (a name or an address) is this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BodyTooLarge(TooLarge):
    """Raised by the bounded `receive` when a body outgrows its limit."""


class Sessions:
    """The logged-in browsers: a random id each (secrets.token_urlsafe, so a cookie tells
    nothing of the token and one copied stops working at logout), kept in memory (a restart
    logs everybody out), each with when it started and when it was last used."""

    def __init__(self, idle: float = SESSION_IDLE, most: float = SESSION_MOST,
                 kept: int = SESSIONS_KEPT, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle
        self.most = most
        self.kept = kept
        self.clock = clock
        self._open: dict[str, tuple[float, float]] = {}  # id -> (started, last used)

    def open(self) -> str:
        while len(self._open) >= self.kept:
            del self._open[next(iter(self._open))]
        session = secrets.token_urlsafe(32)
        now = self.clock()
        self._open[session] = (now, now)
        return session

    def valid(self, session: str) -> bool:
        """Whether `session` is open and not expired; using it keeps it from going idle."""
        times = self._open.get(session)
        if times is None:
            return False
        now = self.clock()
        started, used = times
        if now - used > self.idle or now - started > self.most:
            del self._open[session]
            return False
        self._open[session] = (started, now)
        return True

    def close(self, session: str) -> None:
        self._open.pop(session, None)


@dataclass
class Tries:
    failures: int = 0
    last: float = 0.0


class Throttle:
    """Wrong tokens per client (its address): the n-th in a row waits n × `delay`; from the
    `tries`-th on, the client is refused for `lockout` seconds, doubled at each further one.
    A right token forgets the client's tries; so does `forget` seconds without one."""

    def __init__(self, delay: float = LOGIN_DELAY, tries: int = LOGIN_TRIES,
                 lockout: float = LOGIN_LOCKOUT, forget: float = LOGIN_FORGET,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self.tries = tries
        self.lockout = lockout
        self.forget = forget
        self.clock = clock
        self._clients: dict[str, Tries] = {}

    def _tries(self, client: str) -> Tries | None:
        tries = self._clients.get(client)
        if tries is not None and self.clock() - tries.last > max(self.forget, self.locked_for(
                tries.failures)):
            del self._clients[client]
            return None
        return tries

    def locked_for(self, failures: int) -> float:
        if failures < self.tries:
            return 0.0
        return min(self.lockout * 2.0 ** (failures - self.tries), 24 * 3600.0)

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again (0: it may now)."""
        tries = self._tries(client)
        if tries is None:
            return 0.0
        return max(0.0, tries.last + self.locked_for(tries.failures) - self.clock())

    def failed(self, client: str) -> float:
        """Count a wrong token; the seconds its answer waits."""
        tries = self._tries(client)
        if tries is None:
            while len(self._clients) >= 10_000:  # a flood of addresses: forget the oldest
                del self._clients[next(iter(self._clients))]
            tries = self._clients[client] = Tries()
        tries.failures += 1
        tries.last = self.clock()
        return min(tries.failures, self.tries) * self.delay

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


@dataclass(frozen=True)
class Rules:
    token: str | None  # --token-file's token; None: loopback only
    secret: bytes  # signs CSRF tokens; new at every start
    upload_bytes: int
    body_bytes: int = 64 * 1024
    sessions: Sessions = field(default_factory=Sessions)
    throttle: Throttle = field(default_factory=Throttle)

    def new_csrf(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce)}"

    def valid_csrf(self, value: str | None) -> bool:
        if not value or "." not in value:
            return False
        nonce, signature = value.rsplit(".", 1)
        return hmac.compare_digest(signature, self._sign(nonce))

    def _sign(self, nonce: str) -> str:
        return hmac.new(self.secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def token_matches(self, offered: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def limit(self, path: str) -> int:
        return self.upload_bytes if path == "/api/validate" else self.body_bytes


def cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is no cookie
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class Guard:
    """The pure ASGI middleware that applies the rules (no BaseHTTPMiddleware: it would hide
    a client's disconnect from the routes, which cancel work on it)."""

    def __init__(self, app: ASGIApp, rules: Rules, routes: Callable[[Scope], str]) -> None:
        self.app = app
        self.rules = rules
        self.routes = routes  # the route a request took, as written in the code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent: dict[str, int] = {}

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                secure(MutableHeaders(scope=message))
            await send(message)

        try:
            refused = self.refusal(scope)
            if refused is not None:
                await self.refuse(scope, refused, answer)
            else:
                await self.app(scope, self.bounded(scope, receive), answer)
        except Exception as error:
            if "status" not in sent:
                failure = internal_failure(error)
                await respond(failure.status, failure.body(), answer)
        finally:
            log.info("%s %s %s %.3fs", scope["method"], self.routes(scope),
                     sent.get("status", "-"), time.perf_counter() - started)

    def refusal(self, scope: Scope) -> WebError | None:
        headers = Headers(scope=scope)
        path: str = scope["path"]
        rules = self.rules
        if rules.token is None and not loopback_host(headers.get("host")):
            return WebError(_("this desk answers only on this computer (127.0.0.1); start it "
                              "with --token-file to serve an office network"), "web.host")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > rules.limit(path)):
            return too_large(rules.limit(path))
        if rules.token is not None and not path.startswith(OPEN_PATHS):
            authorization = headers.get("authorization", "")
            bearer = authorization[7:] if authorization.lower().startswith("bearer ") else ""
            session = cookies(headers).get(SESSION_COOKIE, "")
            if bearer:  # a script's token: guessed ones count as wrong logins
                client = client_of(scope)
                waiting = rules.throttle.wait(client)
                if waiting:
                    return too_many_tries(waiting)
                if not rules.token_matches(bearer):
                    rules.throttle.failed(client)
                    return Unauthorized(_("wrong access token"))
                rules.throttle.succeeded(client)
            elif not (session and rules.sessions.valid(session)):
                return Unauthorized(_("this desk needs its access token: log in, or send "
                                      "Authorization: Bearer …"))
        if scope["method"] not in SAFE_METHODS:
            cookie = cookies(headers).get(CSRF_COOKIE)
            echoed = headers.get(CSRF_HEADER)
            if not (cookie and echoed and hmac.compare_digest(cookie, echoed)
                    and rules.valid_csrf(cookie)):
                return CsrfRefused(_("the page is out of date (its security token is missing "
                                     "or wrong); reload the page and try again"))
        return None

    async def refuse(self, scope: Scope, refused: WebError, send: Send) -> None:
        headers = Headers(scope=scope)
        if (isinstance(refused, Unauthorized) and scope["method"] == "GET"
                and "text/html" in headers.get("accept", "")):
            asked = scope["path"] + ("?" + scope["query_string"].decode("latin-1")
                                     if scope.get("query_string") else "")
            target = "/login" if local_path(asked) in ("/", None) else (
                "/login?next=" + quote(asked, safe=""))
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", target.encode()), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        extra = [(b"www-authenticate", b"Bearer")] if isinstance(refused, Unauthorized) else []
        if isinstance(refused, TooManyTries):
            extra = [(b"retry-after", str(refused.retry_after).encode())]
        await respond(refused.status, {"code": refused.code, "message": str(refused)}, send,
                      extra)

    def bounded(self, scope: Scope, receive: Receive) -> Receive:
        """`receive` that refuses a body growing past the route's limit (a body sent in
        chunks has no Content-Length to check up front)."""
        limit = self.rules.limit(scope["path"])
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit, BodyTooLarge)
            return message
        return bounded_receive


def client_of(scope: Scope) -> str:
    """The address a request came from: whom wrong tokens are counted against."""
    client = scope.get("client")
    return str(client[0]) if client else "?"


def too_many_tries(seconds: float) -> TooManyTries:
    wait = max(1, math.ceil(seconds))
    refused = TooManyTries(_("too many wrong access tokens from this device: wait {seconds} "
                             "seconds, then try again").format(seconds=wait))
    refused.retry_after = wait
    return refused


LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\s]*")


def local_path(asked: object) -> str | None:
    """`asked` if it is a path on this desk (`/…`, not `//host` nor `/\\host`, no scheme, no
    spaces or control characters): where a login may go back to; else None (no open
    redirect)."""
    if not isinstance(asked, str) or len(asked) > 2000 or not LOCAL_PATH.fullmatch(asked):
        return None
    if not asked.isprintable():
        return None
    return asked


def too_large(limit: int, kind: type[TooLarge] = TooLarge) -> TooLarge:
    if limit >= 2**20:
        return kind(_("the file is larger than {mb} MB, the most the desk takes; split it, by "
                      "grid for example").format(mb=limit // 2**20))
    return kind(_("the request is larger than {kb} KB").format(kb=limit // 1024))


def loopback_host(host: str | None) -> bool:
    """Whether a Host header names this machine (a name, an IPv4 or a [IPv6] address)."""
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") and host.count(":") == 1 else host
    if name.startswith("[") and "]" in name:
        name = name[1:name.index("]")]
    return is_loopback(name)


def secure(headers: MutableHeaders) -> None:
    """Headers every answer carries; a page or JSON also its Content-Security-Policy."""
    kind = headers.get("content-type", "")
    if kind.startswith("text/html"):
        headers["content-security-policy"] = PAGE_POLICY
    elif kind.startswith(("application/json", "text/plain")):
        headers["content-security-policy"] = DATA_POLICY
    headers["x-content-type-options"] = "nosniff"
    headers["x-frame-options"] = "DENY"
    headers["referrer-policy"] = "no-referrer"
    headers["cross-origin-opener-policy"] = "same-origin"
    headers["cross-origin-resource-policy"] = "same-origin"
    if "cache-control" not in headers:
        headers["cache-control"] = "no-store"  # cards and names stay off a shared PC's disk


async def respond(status: int, body: dict[str, object], send: Send,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(data)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": data})
