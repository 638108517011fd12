"""Serving connections, and the one owner of every close.

Every model (iterative, thread-per-connection, pool with either dispatch front) accepts,
serves and closes through this one place, so close reasons, the live registry that shutdown
needs, rejections and the lingering close are the same for all. `close` is the only way a
connection ends: it logs exactly one reason and releases the socket the way that reason needs
(an abort after a write timeout, a lingering close after a final status, else a plain close).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from .clock import now
from .config import ServerConfig
from .connection import Connection
from .errors import ConnectionEnded
from .events import REJECTIONS, CloseReason, EventLog
from .handlers import Handler, Ready, Session
from .handshake import established
from .linger import Lingerer, send_nowait, shut_and_drain
from .peek import unread_bytes

__all__ = ["Service"]

logger = logging.getLogger(__name__)

# SO_LINGER on, zero seconds: close() sends RST and discards unsent data.
_ABORT = struct.pack("ii", 1, 0)


class Service:
    """Accepts, serves and closes connections; knows every one on a worker, for shutdown.

    Without a `lingerer` (a service used on its own, as in tests), a lingering close drains
    only what has already arrived before it closes.
    """

    def __init__(
        self,
        config: ServerConfig,
        handler: Handler,
        log: EventLog,
        lingerer: Lingerer | None = None,
    ) -> None:
        self.config = config
        self.handler = handler
        self.log = log
        self.lingerer = lingerer
        self.stopping = threading.Event()
        self._live: dict[int, Connection] = {}
        self._lock = threading.Lock()
        # Signalled as connections leave a worker, while `wait_drained` waits (only shutdown
        # does; every request passes here, so no notify otherwise).
        self._drained = threading.Condition(self._lock)
        self._drain_waiters = 0
        self._on_close: list[Callable[[Connection], None]] = []
        # True once the sockets to accept come with TCP_NODELAY from their listener.
        self.accepted_nodelay = False

    def on_close(self, hook: Callable[[Connection], None]) -> None:
        """Call `hook(conn)` as each connection closes, before its socket is released (a
        part that watches sockets forgets it there, before the descriptor can be reused)."""
        self._on_close.append(hook)

    # --- one connection -------------------------------------------------------------------

    def accept(
        self, sock: socket.socket, peer: tuple[Any, ...], *, admitted: bool = False
    ) -> Connection:
        """Log a just-accepted socket (`admitted`: counted as open from now) and make the one
        object that carries it to its close."""
        kernel = established(sock)
        # The clock after the kernel's answer, whose wait runs to its own call: read before,
        # a thread descheduled between the two would date the handshake early.
        t = now()
        connected = t - kernel.waited
        conn_id = self.log.accepted(peer, t, admitted=admitted, connected=connected)
        conn = Connection(
            sock,
            conn_id,
            peer,
            self.config,
            self.log,
            self.stopping,
            t,
            new_session=self.handler.session,
            connected=connected,
            nodelay=not self.accepted_nodelay,
        )
        if kernel.arrived:
            conn.state.input_waiting()
        return conn

    def run(
        self,
        conn: Connection,
        park: Callable[[Connection], None] | None = None,
        requeue: Callable[[Connection, Callable[[Connection], None]], Connection | None]
        | None = None,
    ) -> Connection | None:
        """Serve `conn` on this thread until it closes; or, given `park`, until its next
        request is not whole in the session's buffer, when it goes to `park` instead of
        keeping this thread waiting on the client; or, given `requeue`, until that takes it
        (a next request whole, others waiting for a worker) to wait its turn, returning the
        connection this thread is to serve instead."""
        if conn.state.taken(now()):
            self.log.dispatched(conn.id)
        with self._lock:
            self._live[conn.id] = conn
        session = conn.session
        parking = park is not None and session.frames
        try:
            step = self._first_step(conn, parking)
            while True:
                if step is Ready.CLOSED:
                    self.close(conn, conn.state.clean_close_reason())
                    return None
                if step is Ready.NEED_DATA and park is not None:
                    self._let_go(conn)
                    park(conn)
                    return None
                ending = self._serve_one(conn, session)
                if ending is not None:
                    self.close(conn, *ending)
                    return None
                # Without parking, the next serve reads whatever comes (within the deadlines).
                step = session.ready() if park is not None else Ready.REQUEST
                if step is Ready.REQUEST and requeue is not None:
                    instead = requeue(conn, self._let_go)
                    if instead is not None:
                        return instead
        except ConnectionEnded as exc:  # in the first read (serving catches its own)
            self.close(conn, *self.ending(conn, exc))
        except Exception:
            logger.exception("serving connection %d failed", conn.id)
            if conn.state.reason is None:
                self.close(conn, CloseReason.HANDLER_ERROR)
        return None

    def _first_step(self, conn: Connection, parking: bool) -> Ready:
        """What a worker does first with `conn`: serve a request (reading as it goes) if it
        does not park; else ask its session whether its bytes complete a request (handed
        over by the readiness stage, they may not quite yet: then it goes straight back),
        reading first what its acceptor left in the socket."""
        unread, conn.unread = conn.unread, False
        if not parking:
            return Ready.REQUEST
        return self.receive(conn) if unread else conn.session.ready()

    def receive(self, conn: Connection) -> Ready:
        """Read what has arrived for `conn`'s framing session, without waiting: NEED_DATA to
        wait for more, CLOSED, or REQUEST when the bytes may complete a request (a worker
        parses; if the request is not whole after all, it parks the connection again).
        Raises ConnectionEnded (a reset, a request too large)."""
        session = conn.session
        data = conn.recv_nowait()
        if data is None:
            return Ready.NEED_DATA  # a spurious wake-up
        news = session.receive_data(data)
        if not data:
            return session.ready()  # the peer's EOF: closed, or one last request to answer
        return Ready.REQUEST if news else Ready.NEED_DATA

    def _serve_one(self, conn: Connection, session: Session) -> tuple[CloseReason, bytes] | None:
        """Serve one request of `conn` (`session` is its session); how the connection ends, or
        None if it stays open."""
        try:
            keep = session.serve(conn)
        except ConnectionEnded as exc:
            if conn.forced:
                return CloseReason.SHUTDOWN, b""
            return self.ending(conn, exc)
        except Exception:
            if conn.forced:
                return CloseReason.SHUTDOWN, b""
            logger.exception("handler %s failed on connection %d", self.handler.name, conn.id)
            return CloseReason.HANDLER_ERROR, self.final_reply(conn, CloseReason.HANDLER_ERROR)
        conn.state.response_complete(session.buffered() if keep else 0)
        if conn.forced:
            return CloseReason.SHUTDOWN, b""
        if not keep:
            return conn.state.clean_close_reason(), b""
        if self.stopping.is_set():
            return CloseReason.SHUTDOWN, b""
        return None

    def ending(self, conn: Connection, exc: ConnectionEnded) -> tuple[CloseReason, bytes]:
        """How `exc` ends `conn`: its reason, and the reply it carries or else the final one."""
        return exc.reason, exc.reply or self.final_reply(conn, exc.reason)

    def final_reply(self, conn: Connection, reason: CloseReason) -> bytes:
        """The handler's final status for ending `conn` for `reason`, unless a response has
        already begun (then nothing more can be said)."""
        if conn.state.write_started is not None:
            return b""
        return self.handler.reply_for(reason)

    def reject(self, conn: Connection, reason: CloseReason) -> None:
        """Turn a connection away at once under the overload policy; never blocks."""
        reply = self.handler.busy_reply if self.config.overload == "busy" else b""
        self.close(conn, reason, reply)

    def close(self, conn: Connection, reason: CloseReason, reply: bytes = b"") -> None:
        """End `conn` for `reason`, once: send `reply` (a final status) if any, log the close,
        then release the socket as the reason needs. Never blocks on the client.

        The close is logged before the client can see it (its EOF or reset), so a client that
        has seen its connection end finds the server's record of it already there."""
        state = conn.state
        if not state.close(now(), reason):
            self.log.closed(conn.id, reason)  # counted by the log as a duplicate close
            return
        self._leave(conn)
        for hook in self._on_close:
            hook(conn)
        abort = reason is CloseReason.WRITE_TIMEOUT
        lingers = not abort and self._lingers(conn, reason, reply)
        try:
            if lingers and reply:
                state.wrote(now(), send_nowait(conn.sock, reply))
        finally:
            self.log.closed(
                conn.id,
                reason,
                state.bytes_in,
                state.bytes_out,
                responses=state.responses,
                worker_time=state.worker_time,
                worker_longest=state.worker_longest,
            )
        if abort:
            # Abort: a plain close would leave the unsent response in an orphaned socket
            # that the kernel keeps retrying for minutes, invisible to the stalled peer.
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORT)
            except OSError:
                pass  # already reset by the peer
            conn.sock.close()
        elif not lingers or shut_and_drain(conn.sock) or not self._hold(conn):
            conn.sock.close()

    def _hold(self, conn: Connection) -> bool:
        """Hand a shut connection to the lingerer; False if there is none or it is full."""
        return self.lingerer is not None and self.lingerer.hold(conn)

    def _lingers(self, conn: Connection, reason: CloseReason, reply: bytes) -> bool:
        """Whether the client may still be sending when we close: after a final status or a
        rejection, or when the server ends the conversation (HTTP/1.0, `Connection: close`)
        with input it has not read. Idle and shutdown closes have none to speak of."""
        if reply or reason in REJECTIONS:
            return True
        if reason is not CloseReason.COMPLETED or conn.state.peer_eof:
            return False
        # Unread bytes only: a client that has closed after reading its answer (its FIN is
        # all that waits) is closed plainly, with no shutdown and drain to learn it.
        return conn.session.buffered() > 0 or unread_bytes(conn.sock) > 0

    def _let_go(self, conn: Connection) -> None:
        """This worker lets go of open `conn` (parked or queued next)."""
        self._leave(conn)
        conn.state.released(now())

    def _leave(self, conn: Connection) -> None:
        """`conn` is no longer on a worker (parked again, or closed)."""
        with self._lock:
            if self._live.pop(conn.id, None) is not None and self._drain_waiters:
                self._drained.notify_all()

    # --- all connections (shutdown) -------------------------------------------------------

    def close_awaiting(self) -> int:
        """Close connections idle between requests; in-flight ones keep their grace period."""
        with self._lock:
            lives = list(self._live.values())
        return sum(conn.close_if_awaiting() for conn in lives)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until no connection is being served, or `timeout` passes."""
        with self._lock:
            self._drain_waiters += 1
            try:
                return self._drained.wait_for(lambda: not self._live, timeout)
            finally:
                self._drain_waiters -= 1

    def force_close_all(self) -> int:
        """Unblock every connection still being served; their threads close and log them."""
        with self._lock:
            lives = list(self._live.values())
        for conn in lives:
            conn.force_close()
        return len(lives)
