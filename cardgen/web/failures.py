"""What the desk answers when something goes wrong: a status and a JSON body `{"code",
"message"}` (with `problems` when data is refused), made from cardgen's exceptions; and a log
line for an internal error that names where it happened but never what the data said."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field

from cardgen.errors import (
    CardgenError,
    DataRefused,
    NothingSelected,
    UsageError,
)
from cardgen.i18n import _
from cardgen.problems import problem_data

log = logging.getLogger("cardgen.web")


class WebError(CardgenError):
    """A request the desk refuses; `status` is its HTTP status."""

    status = 400
    code = "web.bad_request"


class Unauthorized(WebError):
    status = 401
    code = "web.unauthorized"


class CsrfRefused(WebError):
    status = 403
    code = "web.csrf"


class NotFound(WebError):
    status = 404
    code = "web.not_found"


class NotInBook(NotFound):
    """A card or stickers asked for a household new since the book (`reprint --book` says
    the same with the command to run; the desk names its own tab and button instead)."""

    code = "book.not_in_book"


class Conflict(WebError):
    status = 409
    code = "web.ambiguous"


class TooLarge(WebError):
    status = 413
    code = "web.too_large"


class TooManyTries(WebError):
    """Too many wrong access tokens from one client in a row: it waits `retry_after`."""

    status = 429
    code = "web.too_many_tries"
    retry_after = 60


class Busy(WebError):
    status = 429
    code = "web.busy"


@dataclass(frozen=True)
class Failure:
    """An error as it crosses from a worker process to the browser (exceptions with extra
    arguments, such as DataRefused's problems, do not survive pickling)."""

    status: int
    code: str
    message: str
    problems: list[dict[str, object]] = field(default_factory=list)

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.problems:
            body["problems"] = self.problems
        return body


class Failed(Exception):
    """A Failure raised again in the server process."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.code)
        self.failure = failure


def status_of(error: CardgenError) -> int:
    """Usage 400, nothing found 404, bad data (unreadable, refused, not drawable) 422."""
    if isinstance(error, WebError):
        return error.status
    if isinstance(error, UsageError):
        return 400
    if isinstance(error, NothingSelected):
        return 404
    return 422


def failure_of(error: CardgenError) -> Failure:
    problems = ([problem_data(p) for p in error.problems] if isinstance(error, DataRefused)
                else [])
    return Failure(status_of(error), error.code, str(error), problems)


def internal_failure(error: BaseException) -> Failure:
    """Log where an unexpected error happened — its kind and the code it went through, not
    its message, which may quote a name or an ID number — and say so to the browser."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(_("internal error {kind} (its message is not logged: it may quote personal "
                "data)\n{frames}").format(kind=type(error).__name__, frames=frames.rstrip()))
    return Failure(500, "internal", _("internal error; the server's log says where it "
                                      "happened"))
