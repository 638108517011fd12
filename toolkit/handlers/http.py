"""HTTP/1.1 over a `Connection`, framed by h11: the glue between h11's events and an app.

The app is a pure function from an `h11.Request` to a `Reply`, so what a server answers is
tested without sockets; this module only moves bytes between h11 and the connection.
"""

from __future__ import annotations

from collections.abc import Callable

import h11

from ..connection import Connection
from ..errors import BadRequest, ConnectionEnded, RequestTimeout, RequestTooLarge
from .base import Handler, Session
from .replies import Reply, canned, phrase

__all__ = ["App", "HttpHandler", "HttpSession"]

App = Callable[[h11.Request], Reply]

_BUSY = canned(503)
_ERROR_REPLIES = {RequestTimeout: canned(408), RequestTooLarge: canned(413)}


class HttpSession(Session):
    """One HTTP connection: reads a whole request, answers it in one write, honours keep-alive."""

    def __init__(self, app: App, max_request_bytes: int) -> None:
        self._app = app
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=max_request_bytes)

    def serve(self, conn: Connection) -> bool:
        request = self._read_request(conn)
        if request is None:
            return False
        conn.request_done()
        reply = self._app(request)
        if reply.delay > 0:
            conn.pause(reply.delay)
        conn.sendall(self._frame(reply))
        if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
            return False
        self._h11.start_next_cycle()
        return True

    def buffered(self) -> bool:
        return bool(self._h11.trailing_data[0])

    def _read_request(self, conn: Connection) -> h11.Request | None:
        """The next whole request (body discarded), or None if the peer closed cleanly."""
        request = None
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if conn.peer_eof:
                    return None  # closed part-way through a request: nothing to answer
                _answer(conn, canned(exc.error_status_hint))
                raise BadRequest(str(exc)) from None
            if event is h11.NEED_DATA:
                try:
                    data = conn.recv()
                except (RequestTimeout, RequestTooLarge) as exc:
                    _answer(conn, _ERROR_REPLIES[type(exc)])
                    raise
                self._h11.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage):
                return request
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    def _frame(self, reply: Reply) -> bytes:
        # Head and body in one write: with Nagle's algorithm two writes cost a delayed ACK.
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(reply.body)))]
        headers.extend(reply.headers)
        head = h11.Response(status_code=reply.status, headers=headers, reason=phrase(reply.status))
        return b"".join(
            (
                self._h11.send(head),
                self._h11.send(h11.Data(data=reply.body)) if reply.body else b"",
                self._h11.send(h11.EndOfMessage()),
            )
        )


def _answer(conn: Connection, response: bytes) -> None:
    """Best-effort error reply before closing; the connection is ending whatever happens."""
    try:
        conn.sendall(response)
    except ConnectionEnded:
        pass


class HttpHandler(Handler):
    """Serves an HTTP app; rejected connections get a 503 with `Connection: close`."""

    busy_reply = _BUSY
    timeout_reply = _ERROR_REPLIES[RequestTimeout]

    def __init__(self, name: str, app: App, max_request_bytes: int = 64 * 1024) -> None:
        self.name = name
        self._app = app
        self._max_request_bytes = max_request_bytes

    def session(self) -> Session:
        return HttpSession(self._app, self._max_request_bytes)

    def framer(self, buffer: bytes) -> bool | None:
        # The blank line ending the head; h11 also accepts bare LF line endings.
        return b"\r\n\r\n" in buffer or b"\n\n" in buffer
