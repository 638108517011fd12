"""What an HTTP app is given: a request head, whichever parser read it.

`Request` is the shape both sessions hand an app: h11's own `h11.Request` already has it, and
the llhttp session builds a `ParsedRequest`. Header names are lower-case, values stripped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

__all__ = ["ParsedRequest", "Request", "content_length"]


class Request(Protocol):
    """An HTTP request head: method, target, headers (lower-case names) and version."""

    @property
    def method(self) -> bytes: ...

    @property
    def target(self) -> bytes: ...

    @property
    def headers(self) -> Sequence[tuple[bytes, bytes]]: ...

    @property
    def http_version(self) -> bytes: ...


class ParsedRequest(NamedTuple):
    """A request head as the llhttp session read it (a tuple: cheap to make per request)."""

    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    http_version: bytes


def content_length(request: Request) -> int | None:
    """The Content-Length the parser validated, if the request declares one."""
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return None
