"""HTTP/1.1 read by llhttp (through `httptools`, the parser uvicorn uses): the default session.

llhttp parses in C and calls back per element, so a request head costs a few microseconds
where h11's pure-Python state machine costs tens. It parses whatever it is fed, so this session
feeds it one message at a time and keeps the rest unfed: the head up to the blank line that
ends it, then exactly the declared body (a chunked body line by line), so the bytes of a
pipelined next request stay in `_buffer`, counted for its own size cap and clock, and are
answered in order.

What the h11 session does, this one does the same way (the tests run both): a HEAD answer
has the GET's headers and no body; `Expect: 100-continue` gets `100 Continue` when the body is
wanted (or 413 when the declared body is too large); HTTP/1.0 and `Connection: close` end the
connection after the answer (with `Connection: close` in it); an HTTP/1.1 request without
exactly one Host header is a 400, as is anything llhttp rejects, and what `request.refusal`
refuses (another HTTP version, CONNECT) is refused as the h11 session refuses it; heads with bare
LF line ends are read (h11 reads them: llhttp's leniency covers header lines, and the request
line's LF is given its CR here). Replies are framed by `framing.Framer`, a fixed one once.
"""

from __future__ import annotations

from collections.abc import Callable

import httptools

from ..connection import Connection
from ..errors import BadRequest, RequestTooLarge
from .base import Ready, Session
from .framing import CONTINUE, HEAD_END, Framer, closes, may_end_head
from .replies import Reply, canned
from .request import REFUSED_METHODS, VERSIONS, ParsedRequest, Request, answer, refusal

__all__ = ["LlhttpSession"]

_BAD_REQUEST = canned(400)


class _Refused(Exception):
    """A head llhttp parsed but this server does not serve: `request.refusal`'s, or an
    HTTP/1.1 head without exactly one Host header (h11 rejects it; llhttp does not)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.reply = canned(status)


class _Message:
    """What llhttp's callbacks have said about the message being parsed.

    The parser holds this object and it holds nothing back: a parser holding its session
    (which holds the parser) made every closed connection a reference cycle, left to the
    garbage collector, whose full collections then paused the server 30-50 ms under load.
    """

    __slots__ = (
        "body_seen",
        "chunked",
        "close",
        "complete",
        "declared",
        "fields",
        "head_done",
        "hosts",
        "target",
    )

    def __init__(self) -> None:
        self.on_message_begin()
        self.head_done = False

    def on_message_begin(self) -> None:
        self.target = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.hosts = 0
        self.declared: int | None = None
        self.chunked = False
        self.close = False
        self.complete = False
        self.body_seen = 0

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        value = value.strip(b" \t")
        self.fields.append((name, value))
        if name == b"host":
            self.hosts += 1
        elif name == b"content-length":
            self.declared = int(value)  # llhttp has checked it is a number, and the only one
        elif name == b"transfer-encoding":
            self.chunked = True  # llhttp refuses a request whose last coding is not chunked
        elif name == b"connection" and not self.close:
            tokens = value.lower()
            # Nearly always one token: compared whole, with no split and no generator frame.
            self.close = tokens == b"close" or (
                b"," in tokens and b"close" in [t.strip() for t in tokens.split(b",")]
            )

    def on_headers_complete(self) -> None:
        self.head_done = True  # taken (and cleared) by the session once the head is fed

    def on_body(self, body: bytes) -> None:
        self.body_seen += len(body)

    def on_message_complete(self) -> None:
        self.complete = True


class LlhttpSession(Session):
    """One HTTP connection: reads a whole request, answers it in one write, honours keep-alive."""

    frames = True

    # Per-connection state, its starting values at class level (a new connection sets none).
    _buffer = b""  # received, not yet fed to the parser
    _fed = 0  # bytes of an unfinished head already fed
    _tail = b""  # the last two bytes received: a head's end may straddle two reads
    _eof = False
    _error: Exception | None = None  # the parser's, or _Refused; it then stops
    _upgrade = False  # the client asked to switch protocols: answer, then close
    # The request-line state: not yet ended, a byte of it fed, the last byte fed.
    _line_open = True
    _line_begun = False
    _last = b""
    _head: ParsedRequest | None = None  # whole, not yet served
    _keep_alive = True

    def __init__(self, app: Callable[[Request], Reply], max_request_bytes: int, framer: Framer):
        self._app = app
        self._max_bytes = max_request_bytes
        self._framer = framer
        self._msg = _Message()
        self._parser = httptools.HttpRequestParser(self._msg)
        self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)

    # --- the readiness stage's side ---------------------------------------------------------

    def receive_data(self, data: bytes) -> bool:
        if not data:
            self._eof = True
            return True
        at_start = not self._buffer and not self._fed
        self._buffer += data
        tail = self._tail
        self._tail = data[-2:] if len(data) > 1 else (tail + data)[-2:]
        return may_end_head(tail, data, at_start, skips_blank=True)

    def _receive(self, data: bytes) -> None:
        if data:
            self._buffer += data
        else:
            self._eof = True

    def ready(self) -> Ready:
        if self._head is not None:
            return Ready.REQUEST
        if self._buffer and self._error is None and self._feed_head():
            return Ready.REQUEST
        if self._error is not None:
            # Closed part-way through a request: nothing to answer. Else the 400 is the answer.
            return Ready.CLOSED if self._eof else Ready.REQUEST
        return Ready.CLOSED if self._eof else Ready.NEED_DATA

    def buffered(self) -> int:
        return len(self._buffer) + self._fed

    # --- feeding the parser one message at a time ----------------------------------------------

    def _feed_head(self) -> bool:
        """Feed the buffer up to the end of the next head (all of it if none is there yet);
        True once the head is whole."""
        while self._buffer and not self._msg.head_done and self._error is None:
            found = HEAD_END.search(self._buffer)
            end = found.end() if found is not None else len(self._buffer)
            chunk, self._buffer = self._buffer[:end], self._buffer[end:]
            self._fed += len(chunk)
            if self._line_open:
                chunk = self._close_request_line(chunk)
            self._feed(chunk)
        msg = self._msg
        if not msg.head_done:
            return False
        msg.head_done = False
        self._fed = 0
        version = self._parser.get_http_version().encode("ascii")
        method = self._parser.get_method()
        # `refusal` is asked only when its own sets say it would refuse: this runs for every
        # request. llhttp itself refuses a body framed twice.
        refused = None
        if version not in VERSIONS or method in REFUSED_METHODS:
            refused = refusal(method, version, framed_twice=False)
        elif version == b"1.1" and msg.hosts != 1:
            refused = 400, "an HTTP/1.1 request needs exactly one Host header"
        if refused is not None:
            self._error = _Refused(*refused)
            return False
        self._head = ParsedRequest(method, msg.target, tuple(msg.fields), version)
        self._keep_alive = version == b"1.1" and not msg.close
        return True

    def _close_request_line(self, chunk: bytes) -> bytes:
        """Give the request line's bare LF its CR (llhttp's leniency covers only the header
        lines); empty lines before it, which llhttp skips, pass as they are."""
        start = 0
        end = chunk.find(b"\n")
        if end > 0 and chunk[end - 1] == 0x0D and not chunk.startswith(b"\r"):
            self._line_open = False  # the common case: a request line that ends in CRLF
            return chunk
        while (end := chunk.find(b"\n", start)) >= 0:
            if self._line_begun or chunk[start:end].strip(b"\r"):
                self._line_open = False
                before = chunk[end - 1 : end] if end > 0 else self._last
                if before != b"\r":
                    chunk = chunk[:end] + b"\r" + chunk[end:]
                return chunk
            start = end + 1
        self._line_begun = self._line_begun or bool(chunk[start:].strip(b"\r"))
        self._last = chunk[-1:] or self._last
        return chunk

    def _feed_body(self) -> None:
        """Feed the buffer up to the end of the current body: exactly what the head declared,
        or a chunked body a line at a time (its end is always the end of a line)."""
        msg = self._msg
        while self._buffer and not msg.complete and self._error is None:
            if msg.chunked:
                newline = self._buffer.find(b"\n")
                end = len(self._buffer) if newline < 0 else newline + 1
            else:
                end = (msg.declared or 0) - msg.body_seen
            chunk, self._buffer = self._buffer[:end], self._buffer[end:]
            self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        try:
            self._parser.feed_data(chunk)
        except httptools.HttpParserUpgrade:
            self._upgrade = True  # what follows is not HTTP: answer this request, then close
        except httptools.HttpParserError as exc:
            self._error = exc

    # --- a worker's side ------------------------------------------------------------------

    def serve(self, conn: Connection) -> bool:
        head = self._read_head(conn)
        if head is None or not self._read_body(conn, head):
            return False
        reply = answer(conn, self._app, head)
        keep = self._keep_alive and not self._upgrade and not (reply.headers and closes(reply))
        conn.sendall(self._framer.frame(reply, head=head.method == b"HEAD", close=not keep))
        self._head = None
        self._line_open, self._line_begun, self._last = True, False, b""
        return keep

    def _read_head(self, conn: Connection) -> ParsedRequest | None:
        """The next request's head, read as needed; None if the peer closed cleanly."""
        while True:
            step = self.ready()
            if step is Ready.CLOSED:
                return None
            if step is Ready.REQUEST:
                if self._head is None:
                    error = self._error
                    reply = error.reply if isinstance(error, _Refused) else _BAD_REQUEST
                    raise BadRequest(str(error), reply=reply)
                return self._head
            self._receive(conn.recv())

    def _read_body(self, conn: Connection, head: ParsedRequest) -> bool:
        """Read (and discard) the body, asking for it first if the client waits to be asked;
        False if the peer closed part-way through it (nothing to answer)."""
        asked = False
        msg = self._msg
        while True:
            self._feed_body()
            if self._error is not None:
                if self._eof:
                    return False
                raise BadRequest(str(self._error), reply=_BAD_REQUEST)
            if msg.complete or self._upgrade:
                return True
            if self._eof:
                return False
            if not asked:
                asked = True
                declared = msg.declared
                if declared is not None and declared > self._max_bytes:
                    raise RequestTooLarge(f"declared body of {declared} bytes is too large")
                if msg.body_seen == 0 and _expects_continue(head):
                    conn.send_interim(CONTINUE)
            self._receive(conn.recv())


def _expects_continue(head: ParsedRequest) -> bool:
    """An HTTP/1.1 client that sent `Expect: 100-continue` waits to be asked for its body."""
    if head.http_version != b"1.1":
        return False
    return any(
        name == b"expect" and value.lower() == b"100-continue" for name, value in head.headers
    )
