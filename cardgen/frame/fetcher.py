"""The only way WeasyPrint may load anything: files inside allowed folders, and data: URLs."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse


class FetchRefused(ValueError):
    """A template or stylesheet asked for something outside the allowed folders."""


class SafeFetcher(URLFetcher):  # type: ignore[misc]
    """No network, no redirects, no file outside `roots`; a refusal stops the render."""

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False,
                         fail_on_errors=True)
        self.roots = tuple(Path(os.path.realpath(root)) for root in roots)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            parts = urlsplit(url)
            path = Path(os.path.realpath(unquote(parts.path)))
            inside = any(path.is_relative_to(root) for root in self.roots)
            if parts.netloc in ("", "localhost") and inside and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(),
                                          {"Content-Type": content_type})
        raise FetchRefused(f"{url} is outside the template and font folders")
