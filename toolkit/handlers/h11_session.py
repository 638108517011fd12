"""HTTP/1.1 framed by h11 (pure Python): the session that reads requests with h11's own
state machine and answers through it.

One h11 connection per client frames for the readiness stage too (`receive_data`, `ready`).
What h11 and RFC 9110 ask of a server is done here: a HEAD answer has the GET's headers and no
body; `Expect: 100-continue` is answered with `100 Continue` when the body is wanted (or with
413 when it is too large to be); pipelined requests are answered in order; HTTP/1.0 closes
after the response (h11 does not keep 1.0 connections alive; RFC 9112 leaves that optional);
what `request.refusal` refuses (another HTTP version, CONNECT, a body framed twice) is refused
here as the llhttp session refuses it.
"""

from __future__ import annotations

from collections.abc import Callable

import h11

from ..connection import Connection
from ..errors import BadRequest, RequestTooLarge
from .base import Ready, Session
from .framing import may_end_head
from .replies import Reply, canned, phrase
from .request import Request, answer, content_length, framed_twice, refusal

__all__ = ["H11Session"]

_CONTINUE = h11.InformationalResponse(status_code=100, headers=[], reason=phrase(100))


class H11Session(Session):
    """One HTTP connection: reads a whole request, answers it in one write, honours keep-alive."""

    frames = True

    def __init__(self, app: Callable[[Request], Reply], max_request_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_request_bytes
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=max_request_bytes)
        self._eof = False
        # The next request's head (or the protocol error in its place), parsed by `ready()`.
        self._next: h11.Request | h11.RemoteProtocolError | None = None
        # h11 needed more and nothing arrived since: asking again would parse for nothing.
        self._starved = False
        # What h11 held unparsed when it last needed more (is it empty, its last two bytes),
        # for `receive_data`'s test; None until the readiness stage first asks.
        self._unparsed: tuple[bool, bytes] | None = (True, b"")

    def receive_data(self, data: bytes) -> bool:
        unparsed = self._unparsed
        if unparsed is None:
            rest = self._h11.trailing_data[0]
            unparsed = not rest, rest[-2:]
        self._feed(data)
        if not data:
            return True
        empty, tail = unparsed
        self._unparsed = False, (tail + data)[-2:]
        return may_end_head(tail, data, empty, skips_blank=False)

    def _feed(self, data: bytes) -> None:
        self._h11.receive_data(data)
        self._eof = self._eof or not data
        self._starved = False
        self._unparsed = None

    def ready(self) -> Ready:
        if self._next is not None:
            return Ready.REQUEST
        if self._starved:
            return Ready.NEED_DATA
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            if self._eof:
                return Ready.CLOSED  # closed part-way through a request: nothing to answer
            self._next = exc
            return Ready.REQUEST
        # h11's events are ABCs: comparing the type skips ABCMeta's instance check.
        if type(event) is h11.Request:
            self._next = event
            return Ready.REQUEST
        if type(event) is h11.ConnectionClosed:
            return Ready.CLOSED
        self._starved = True
        return Ready.NEED_DATA

    def buffered(self) -> int:
        return len(self._h11.trailing_data[0])

    def serve(self, conn: Connection) -> bool:
        request = self._read_head(conn)
        if request is None or not self._read_body(conn, request):
            return False
        reply = answer(conn, self._app, request)
        conn.sendall(self._frame(request, reply))
        if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
            return False
        self._h11.start_next_cycle()
        self._starved = False  # what was left after this request may be the next one
        return True

    def _read_head(self, conn: Connection) -> h11.Request | None:
        """The next request's head, read as needed; None if the peer closed cleanly."""
        while True:
            step = self.ready()
            if step is Ready.CLOSED:
                return None
            if step is Ready.REQUEST:
                head, self._next = self._next, None
                if isinstance(head, h11.RemoteProtocolError):
                    raise BadRequest(str(head), reply=canned(head.error_status_hint))
                assert head is not None
                refused = refusal(head.method, head.http_version, framed_twice=framed_twice(head))
                if refused is not None:
                    status, why = refused
                    raise BadRequest(why, reply=canned(status))
                return head
            self._feed(conn.recv())

    def _read_body(self, conn: Connection, request: h11.Request) -> bool:
        """Read (and discard) the body, asking for it first if the client waits to be asked;
        False if the peer closed part-way through it (nothing to answer)."""
        asked = False
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self._eof:
                    return False
                raise BadRequest(str(exc), reply=canned(exc.error_status_hint)) from None
            if type(event) is h11.EndOfMessage:
                return True
            if event is h11.NEED_DATA:
                if not asked:
                    asked = True
                    declared = content_length(request)
                    if declared is not None and declared > self._max_bytes:
                        raise RequestTooLarge(f"declared body of {declared} bytes is too large")
                    if self._h11.they_are_waiting_for_100_continue:
                        conn.send_interim(self._h11.send(_CONTINUE))
                self._feed(conn.recv())

    def _frame(self, request: h11.Request, reply: Reply) -> bytes:
        # Head and body in one write: with Nagle's algorithm two writes cost a delayed ACK.
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(reply.body)))]
        headers.extend(reply.headers)
        head = h11.Response(status_code=reply.status, headers=headers, reason=phrase(reply.status))
        # A HEAD answer carries the GET's headers, Content-Length included, and no body.
        body = reply.body if request.method != b"HEAD" else b""
        return b"".join(
            (
                self._h11.send(head),
                self._h11.send(h11.Data(data=body)) if body else b"",
                self._h11.send(h11.EndOfMessage()),
            )
        )
