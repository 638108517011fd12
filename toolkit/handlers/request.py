"""What an HTTP app is given: a request head, whichever parser read it; and the one way a
session calls the app.

`Request` is the shape both sessions hand an app: h11's own `h11.Request` already has it, and
the llhttp session builds a `ParsedRequest`. Header names are lower-case, values stripped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .replies import Reply

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = [
    "REFUSED_METHODS",
    "VERSIONS",
    "ParsedRequest",
    "Request",
    "answer",
    "content_length",
    "framed_twice",
    "refusal",
]


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


# The HTTP versions served. Another one (HTTP/2's connection preface, say) is answered 505,
# as nginx answers it.
VERSIONS = frozenset({b"1.0", b"1.1"})
# Methods refused whatever their target, and how. CONNECT asks a proxy for a tunnel, which a
# 2xx would open (both parsers read what follows as no longer HTTP): this server is no proxy.
REFUSED_METHODS = {b"CONNECT": (501, "CONNECT is not served: this server is no proxy")}


def refusal(method: bytes, version: bytes, *, framed_twice: bool) -> tuple[int, str] | None:
    """Why a parsed head is not served, as the status to answer and why, or None: a version
    not in VERSIONS, a method in REFUSED_METHODS, or a body framed twice (by Content-Length
    and Transfer-Encoding: RFC 9112 lets a server refuse it, and one that reads it must close
    after, since a proxy in front may have framed it the other way). Each session gives the
    facts as its parser found them."""
    if version not in VERSIONS:
        return 505, f"HTTP/{version.decode('ascii', 'replace')} is not served"
    refused = REFUSED_METHODS.get(method)
    if refused is not None:
        return refused
    if framed_twice:
        return 400, "the body is framed by both Content-Length and Transfer-Encoding"
    return None


def framed_twice(request: Request) -> bool:
    """Whether the head declares both a Content-Length and a Transfer-Encoding."""
    names = {name for name, _ in request.headers}
    return b"content-length" in names and b"transfer-encoding" in names


def content_length(request: Request) -> int | None:
    """The Content-Length the parser validated, if the request declares one."""
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return None


def answer(conn: Connection, app: Callable[[Request], Reply], request: Request) -> Reply:
    """The app's reply to a whole request: its clock stops, the app runs (and its simulated
    work, cut short if the server force-closes the connection)."""
    conn.request_done()
    reply = app(request)
    if reply.delay > 0:
        conn.pause(reply.delay)
    return reply
