"""HTTP replies as data, and the canned error replies framed once by h11."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

import h11

__all__ = ["Reply", "canned", "phrase"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What an HTTP app answers: status, body, extra headers, and simulated work before it.

    `fixed` says the app answers exactly this every time (a constant): the server frames it
    once and sends the same bytes again."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    fixed: bool = False


def phrase(status: int) -> str:
    """The standard reason phrase for `status` ("" for unknown codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def canned(status: int) -> bytes:
    """A complete, empty-bodied `Connection: close` response with `status`, framed by h11.

    Used where h11's own state would not let us answer (the request never arrived whole).
    """
    framer = h11.Connection(h11.SERVER)
    framer.receive_data(b"GET / HTTP/1.1\r\nHost: canned\r\n\r\n")
    framer.next_event()
    framer.next_event()
    headers = [("Content-Length", "0"), ("Connection", "close")]
    if status == 503:
        headers.append(("Retry-After", "1"))
    return framer.send(
        h11.Response(status_code=status, headers=headers, reason=phrase(status))
    ) + framer.send(h11.EndOfMessage())
