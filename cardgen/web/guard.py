"""The security rules of DOMAIN §9, applied to every request before the routes see it:

- on loopback without a token, only a loopback Host header (a page elsewhere cannot reach the
  desk by pointing a name of its own at 127.0.0.1: DNS rebinding);
- with --token-file, the token on every request (`Authorization: Bearer …`, or the cookie the
  login form sets), but for the login page and the bundled assets;
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
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cardgen.i18n import _
from cardgen.web.failures import CsrfRefused, TooLarge, Unauthorized, WebError, internal_failure

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


@dataclass(frozen=True)
class Rules:
    token: str | None  # --token-file's token; None: loopback only
    secret: bytes  # signs CSRF tokens; new at every start
    upload_bytes: int
    body_bytes: int = 64 * 1024

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

    def session(self) -> str:
        """The login cookie's value: derived from the token, so a restart keeps people logged
        in and a new token logs everybody out."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"cardgen session", hashlib.sha256).hexdigest()

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
            if not ((bearer and rules.token_matches(bearer))
                    or (session and hmac.compare_digest(session, rules.session()))):
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
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", b"/login"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        extra = [(b"www-authenticate", b"Bearer")] if isinstance(refused, Unauthorized) else []
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
