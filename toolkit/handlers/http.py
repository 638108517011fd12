"""HTTP/1.1 over a `Connection`: the handler, and which parser's session reads the requests.

The app is a pure function from a `Request` to a `Reply`, so what a server answers is tested
without sockets; a session only moves bytes between its parser and the connection. Two
sessions keep the same behaviour (the tests run both): `llhttp` (the default, through
`httptools`: C, a few microseconds a head) and `h11` (pure Python, its own state machine).
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import DEFAULT_HTTP_PARSER, HTTP_PARSERS
from ..events import CloseReason
from .base import Handler, Session
from .framing import Framer
from .h11_session import H11Session
from .llhttp_session import LlhttpSession
from .replies import Reply, canned
from .request import Request

__all__ = ["App", "HttpHandler"]

App = Callable[[Request], Reply]

# Framed once, by h11: the final statuses sent when a request cannot be answered.
_REPLIES = {
    CloseReason.REQUEST_TIMEOUT: canned(408),
    CloseReason.TOO_LARGE: canned(413),
    CloseReason.BAD_REQUEST: canned(400),
    CloseReason.HANDLER_ERROR: canned(500),
}


class HttpHandler(Handler):
    """Serves an HTTP app; rejected connections get a 503 with `Connection: close`."""

    busy_reply = canned(503)
    timeout_reply = _REPLIES[CloseReason.REQUEST_TIMEOUT]

    def __init__(
        self,
        name: str,
        app: App,
        max_request_bytes: int = 64 * 1024,
        parser: str = DEFAULT_HTTP_PARSER,
    ) -> None:
        if parser not in HTTP_PARSERS:
            raise ValueError(
                f"http_parser must be one of {', '.join(HTTP_PARSERS)}, got {parser!r}"
            )
        self.name = name
        self.parser = parser
        self._app = app
        self._max_request_bytes = max_request_bytes
        self._framer = Framer()

    def reply_for(self, reason: CloseReason) -> bytes:
        return _REPLIES.get(reason) or super().reply_for(reason)

    def session(self) -> Session:
        if self.parser == "h11":
            return H11Session(self._app, self._max_request_bytes)
        return LlhttpSession(self._app, self._max_request_bytes, self._framer)
