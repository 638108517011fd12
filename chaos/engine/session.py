"""One client connection's bookkeeping: the single place where socket errors become outcomes.

Faults drive a :class:`Session` (connect, send, receive, half-close, abort) and never see a raw
``OSError``: a reset is stamped as the server's reset, anything else becomes an ``error`` outcome
with its text. Every timestamp is ``time.monotonic()``: a connect and the first bytes read as
the kernel heard them (:mod:`.heard`), the rest as we saw them.
"""

from __future__ import annotations

import errno
import hashlib
import select
import socket
import struct
import time
from typing import Protocol

import trio

from ..jsondata import Scalar
from ..record import REPLY_HEAD, ClientRecord, Outcome, ServerEnd, server_end
from ..target import Endpoint
from .heard import data_at, handshake_at
from .kernel import TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, their_end_of

__all__ = [
    "IP_BIND_ADDRESS_NO_PORT",
    "RECV_SIZE",
    "Failing",
    "Session",
    "describe",
    "fail",
    "may_decide",
    "peer_broke",
    "settle",
]

# One read takes at most this much; loopback segments are 64 KiB.
RECV_SIZE = 65536
# Linux's socket option for "bind the address now, the port at connect time" (include/uapi/
# linux/in.h), so many source addresses share the port range; not every Python names it.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
_PEER_BROKE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def describe(exc: BaseException) -> str:
    """A one-line description of a socket error, e.g. ``OSError: Too many open files``."""
    text = getattr(exc, "strerror", None) or str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"


def peer_broke(exc: OSError, *, connected: bool) -> bool:
    """True when ``exc`` is the server breaking the connection (a reset), not an error of ours.

    ENOTCONN once connected means the kernel already tore the connection down: a reset too.
    """
    return isinstance(exc, _PEER_BROKE) or (exc.errno == errno.ENOTCONN and connected)


class Failing(Protocol):
    """What :func:`fail` stamps: when a connection opened and was reset, its error, its outcome."""

    connected: float | None
    reset: float | None
    error: str | None

    def decide(self, outcome: Outcome) -> None: ...


def fail(conn: Failing, exc: OSError) -> None:
    """The one rule for a socket error: the server's reset (stamped once), or an error of ours
    (the outcome ``error``, with its text)."""
    if peer_broke(exc, connected=conn.connected is not None):
        if conn.reset is None:
            conn.reset = time.monotonic()
    else:
        if conn.error is None:
            conn.error = describe(exc)
        conn.decide(Outcome.ERROR)


def may_decide(
    outcome: Outcome,
    *,
    connected: float | None,
    server_eof: float | None,
    reset: float | None,
    server_closed: float | None = None,
) -> bool:
    """Whether an explicit decision may settle a connection: "held to end" never hides a server
    close (its FIN read, its socket seen closed behind our unread bytes, or its RST), nor
    stands for a connection that never opened."""
    if outcome is not Outcome.HELD_TO_END:
        return True
    ended = server_end(server_eof, reset, server_closed)
    return ended is None and connected is not None


def settle(
    decided: Outcome | None,
    *,
    connected: float | None,
    server_eof: float | None,
    reset: float | None,
    server_closed: float | None = None,
) -> Outcome:
    """A connection's outcome: the decision if one was made; else the server's end (see
    :func:`~chaos.record.server_end`); else held to the end if it opened, a connect timeout if
    not."""
    if decided is not None:
        return decided
    ended = server_end(server_eof, reset, server_closed)
    if ended is not None:
        return Outcome.RESET_BY_SERVER if ended[0] is ServerEnd.RESET else Outcome.CLOSED_BY_SERVER
    if connected is not None:
        return Outcome.HELD_TO_END
    return Outcome.CONNECT_TIMEOUT


class Session:
    """A client connection in progress; :meth:`record` freezes what it saw into a record.

    Outcome rules: an explicit decision (refused, connect timeout, error, completed, held to the
    end) wins if made first; otherwise the server's EOF or reset, whichever came first; otherwise
    a connection cancelled while open was held to the end, and one never opened timed out.
    """

    __slots__ = (
        "_digest",
        "_head",
        "_outcome",
        "_theirs",
        "bytes_received",
        "bytes_sent",
        "closed",
        "connected",
        "detail",
        "endpoint",
        "error",
        "first_byte",
        "first_sent",
        "index",
        "kind",
        "last_sent",
        "local_port",
        "opened",
        "rcvbuf",
        "reset",
        "server_closed",
        "server_eof",
        "sock",
        "source",
        "started",
        "status",
    )

    def __init__(
        self,
        *,
        kind: str,
        index: int,
        endpoint: Endpoint,
        rcvbuf: int | None = None,
        source: str | None = None,
    ) -> None:
        self.kind = kind
        self.index = index
        self.endpoint = endpoint
        self.rcvbuf = rcvbuf
        self.source = source
        self.sock: trio.socket.SocketType | None = None
        self.local_port: int | None = None
        self.started = time.monotonic()
        # When the kernel completed the connect (what durations are measured from), and when
        # this client saw it (what its hold and schedule count from: a client woken late still
        # gets its whole hold, so it sends what its plan says).
        self.connected: float | None = None
        self.opened: float | None = None
        self.first_sent: float | None = None
        self.last_sent: float | None = None
        self.first_byte: float | None = None
        self.server_eof: float | None = None
        self.reset: float | None = None
        # When the server's socket was seen closed with its FIN stuck behind bytes we had
        # not read (see ``check_peer``), and whether its socket was ever seen open before it.
        self.server_closed: float | None = None
        self._theirs = False
        self.closed: float | None = None
        self.bytes_sent = 0
        self.bytes_received = 0
        self.status: int | None = None
        self.error: str | None = None
        self.detail: dict[str, Scalar] = {}
        self._outcome: Outcome | None = None
        self._digest = hashlib.sha256()
        self._head = b""  # the first REPLY_HEAD bytes received

    def decide(self, outcome: Outcome) -> None:
        """Settle the outcome unless already settled (see :func:`may_decide`)."""
        if self._outcome is None and may_decide(
            outcome,
            connected=self.connected,
            server_eof=self.server_eof,
            reset=self.reset,
            server_closed=self.server_closed,
        ):
            self._outcome = outcome

    def _note_port(self) -> None:
        if self.local_port is None and self.sock is not None:
            try:
                port = self.sock.getsockname()[1]
            except OSError:
                return
            self.local_port = port or None

    async def connect(self, timeout: float) -> bool:
        """Open the TCP connection; False (with the outcome decided) if it did not open."""
        self.started = time.monotonic()
        try:
            sock = self.sock = trio.socket.socket(self.endpoint.family, socket.SOCK_STREAM)
            if self.rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            if self.source is not None:
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                await sock.bind((self.source, 0))
        except OSError as exc:
            fail(self, exc)
            self.close()
            return False
        try:
            with trio.move_on_after(timeout) as scope:
                await sock.connect(self.endpoint.sockaddr)
        except ConnectionRefusedError:
            self.decide(Outcome.REFUSED)
        except OSError as exc:
            fail(self, exc)
        else:
            if not scope.cancelled_caught:
                self.opened = time.monotonic()
                self.connected = handshake_at(sock, self.opened, began=self.started)
                self._note_port()
                return True
            self.decide(Outcome.CONNECT_TIMEOUT)
        self._note_port()
        self.close()
        return False

    async def send_all(self, data: bytes) -> bool:
        """Send every byte of ``data``; False if the connection broke first."""
        view = memoryview(data)
        while view:
            if self.sock is None:
                return False
            try:
                sent = await self.sock.send(view)
            except OSError as exc:
                fail(self, exc)
                return False
            now = time.monotonic()
            if self.first_sent is None:
                self.first_sent = now
            self.last_sent = now
            self.bytes_sent += sent
            self._digest.update(view[:sent])
            view = view[sent:]
        return True

    async def recv(self, size: int = RECV_SIZE) -> bytes:
        """Receive up to ``size`` bytes; ``b""`` means the stream ended (EOF, reset or error)."""
        if self.sock is None:
            return b""
        try:
            data = await self.sock.recv(size)
        except OSError as exc:
            fail(self, exc)
            return b""
        now = time.monotonic()
        if not data:
            if self.server_eof is None:
                self.server_eof = now
            return b""
        if self.first_byte is None:
            self.first_byte = self._arrived(now)
        if len(self._head) < REPLY_HEAD:
            self._head += data[: REPLY_HEAD - len(self._head)]
        self.bytes_received += len(data)
        return data

    def shutdown_write(self) -> bool:
        """Send our FIN (SHUT_WR) while keeping the read side open."""
        if self.sock is None:
            return False
        at = time.monotonic()  # before the FIN leaves, like ``closed``
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            fail(self, exc)
            return False
        self.detail["write_shutdown"] = at
        return True

    def _arrived(self, seen: float) -> float:
        """When the bytes read at ``seen`` arrived, as the kernel heard them (:mod:`.heard`)."""
        assert self.sock is not None
        return data_at(self.sock, seen, after=self.connected or self.started)

    def check_peer(self) -> None:
        """Stamp a server FIN or RST from the kernel's TCP state, without reading (Linux);
        and the first byte's arrival, if nothing was read yet, from the socket's readability.

        A client that never reads cannot see EOF through ``recv``; TCP_INFO still can. Nor
        does it see when the answer began, which is when a server's write clock starts. And
        while bytes wait unread, a server's FIN waits behind whatever its kernel still has
        to send: where the server is on this host, its own socket says when it closed
        (``server_closed``).
        """
        if self.sock is None or not hasattr(socket, "TCP_INFO"):
            return
        try:
            state = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
            if state == TCP_ESTABLISHED:
                waiting = self._readable()
                if self.first_byte is None and waiting:
                    self.first_byte = self._arrived(time.monotonic())
                if waiting and self.server_closed is None:
                    self._check_theirs()
            elif state == TCP_CLOSE_WAIT:
                if self.server_eof is None:
                    self.server_eof = time.monotonic()
            elif state == TCP_CLOSE:
                err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err in (errno.ECONNRESET, errno.EPIPE):
                    if self.reset is None:
                        self.reset = time.monotonic()
                elif self.server_eof is None:
                    self.server_eof = time.monotonic()
        except OSError:
            return

    def _check_theirs(self) -> None:
        """Ask the kernel for the server's end of this connection: its FIN queued, once seen
        open, stamps ``server_closed``. Never seen open (a server elsewhere, or one whose
        handshake the kernel has not finished), nothing is concluded; nor from an end gone
        from the tables, as a reset leaves it (the RST, on its way, is TCP_INFO's to see)."""
        assert self.sock is not None
        theirs = their_end_of(self.sock)
        if theirs is None:
            return
        if theirs.state == TCP_ESTABLISHED:
            self._theirs = True
        elif self._theirs and theirs.fin_queued:
            self.server_closed = time.monotonic()

    def _readable(self) -> bool:
        """Whether bytes wait unread (or the stream ended), asked without waiting."""
        assert self.sock is not None
        readable, _, _ = select.select([self.sock.fileno()], [], [], 0)
        return bool(readable)

    def abort(self) -> None:
        """Close with SO_LINGER 0, so the kernel sends RST instead of FIN."""
        if self.sock is not None:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.detail["aborted"] = True
        self.close()

    def close(self) -> None:
        """Close the socket (idempotent); stamps ``closed`` once."""
        if self.sock is None:
            return
        self._note_port()
        if self.connected is not None:
            # Stamped before the FIN/RST leaves, so it never postdates the server seeing it.
            self.closed = time.monotonic()
        self.sock.close()
        self.sock = None

    def outcome(self) -> Outcome:
        """The outcome by the rules in the class docstring (see :func:`settle`)."""
        return settle(
            self._outcome,
            connected=self.connected,
            server_eof=self.server_eof,
            reset=self.reset,
            server_closed=self.server_closed,
        )

    def record(self) -> ClientRecord:
        """Freeze the session (closing it if still open) into a :class:`ClientRecord`."""
        self.close()
        return self.snapshot()

    def snapshot(self) -> ClientRecord:
        """The session as a record so far, left as it is: one still open reads as held to
        the end, with no ``closed`` (what a watcher reads while clients run)."""
        return ClientRecord(
            kind=self.kind,
            index=self.index,
            local_port=self.local_port,
            started=self.started,
            connected=self.connected,
            first_sent=self.first_sent,
            last_sent=self.last_sent,
            first_byte=self.first_byte,
            server_eof=self.server_eof,
            server_closed=self.server_closed,
            reset=self.reset,
            closed=self.closed,
            bytes_sent=self.bytes_sent,
            bytes_received=self.bytes_received,
            outcome=self.outcome(),
            error=self.error,
            status=self.status,
            sent_digest=self._digest.hexdigest(),
            reply_head=self._head.decode("latin-1"),
            detail=dict(self.detail),
        )
