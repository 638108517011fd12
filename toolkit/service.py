"""Serving connections: run a handler's sessions, turn every ending into one close reason.

Every model (iterative, thread-per-connection, pool, readiness) serves through this one place,
so close reasons, the live registry that shutdown needs, and rejections are the same for all.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from dataclasses import dataclass

from .config import ServerConfig
from .connection import Connection
from .errors import ConnectionEnded
from .events import CloseReason, EventLog
from .handlers import Handler, Session
from .overload import reject_socket
from .pool import Job

__all__ = ["Live", "Service"]

logger = logging.getLogger(__name__)

# SO_LINGER on, zero seconds: close() sends RST and discards unsent data.
_ABORT = struct.pack("ii", 1, 0)


@dataclass(slots=True)
class Live:
    """A connection being served and its handler session."""

    conn: Connection
    session: Session


class Service:
    """Opens, steps and finishes connections; knows every live one so shutdown can close them."""

    def __init__(self, config: ServerConfig, handler: Handler, log: EventLog) -> None:
        self.config = config
        self.handler = handler
        self.log = log
        self.stopping = threading.Event()
        self._live: dict[int, Live] = {}
        self._cond = threading.Condition()

    # --- one connection -------------------------------------------------------------------

    def serve(
        self, sock: socket.socket, conn_id: int, peer: tuple, since: float | None = None
    ) -> None:
        """Serve a connection until it ends (the on-accept way: one worker for its whole life).

        `since` is when it was accepted: its idle clock runs from then, queue wait included.
        """
        live = self.open(sock, conn_id, peer, since)
        reason = None
        while reason is None:
            reason = self.step(live)
        self.finish(live, reason)

    def open(
        self, sock: socket.socket, conn_id: int, peer: tuple, since: float | None = None
    ) -> Live:
        conn = Connection(sock, conn_id, peer, self.config, self.log, self.stopping, since)
        live = Live(conn, self.handler.session())
        with self._cond:
            self._live[conn_id] = live
        self.log.dispatched(conn_id)
        return live

    def step(self, live: Live) -> CloseReason | None:
        """Serve one request; None if the connection stays open for another."""
        conn = live.conn
        try:
            keep = live.session.serve(conn)
        except ConnectionEnded as exc:
            return CloseReason.SHUTDOWN if conn.forced else exc.reason
        except Exception:
            if conn.forced:
                return CloseReason.SHUTDOWN
            logger.exception("handler %s failed on connection %d", self.handler.name, conn.id)
            return CloseReason.HANDLER_ERROR
        if conn.forced:
            return CloseReason.SHUTDOWN
        if not keep:
            return CloseReason.COMPLETED if conn.bytes_out else CloseReason.PEER_CLOSED
        if self.stopping.is_set():
            return CloseReason.SHUTDOWN
        return None

    def finish(self, live: Live, reason: CloseReason) -> None:
        conn = live.conn
        try:
            if reason is CloseReason.WRITE_TIMEOUT:
                # Abort: a plain close would leave the unsent response in an orphaned socket
                # that the kernel keeps retrying for minutes, invisible to the stalled peer.
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORT)
            conn.sock.close()
        finally:
            with self._cond:
                self._live.pop(conn.id, None)
                self._cond.notify_all()
            self.log.closed(conn.id, reason, conn.bytes_in, conn.bytes_out)

    def detach(self, live: Live) -> None:
        """The connection leaves its worker to wait (parked) for its next request."""
        with self._cond:
            self._live.pop(live.conn.id, None)
            self._cond.notify_all()

    def attach(self, live: Live) -> None:
        """A parked connection is back on a worker."""
        with self._cond:
            self._live[live.conn.id] = live

    def reject(
        self, sock: socket.socket, conn_id: int, reason: CloseReason, live: Live | None = None
    ) -> None:
        """Turn a connection away at once under the overload policy; never blocks."""
        reply = self.handler.busy_reply if self.config.overload == "busy" else b""
        reject_socket(sock, reply)
        if live is None:
            self.log.closed(conn_id, reason)
        else:
            self.log.closed(conn_id, reason, live.conn.bytes_in, live.conn.bytes_out)

    def reject_job(self, job: Job, reason: CloseReason) -> None:
        """Turn away a job that waited too long or outlived the server."""
        self.reject(job.sock, job.conn_id, reason, job.live)

    # --- all connections (shutdown) -------------------------------------------------------

    def close_awaiting(self) -> int:
        """Close connections idle between requests; in-flight ones keep their grace period."""
        with self._cond:
            lives = list(self._live.values())
        return sum(live.conn.close_if_awaiting() for live in lives)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until no connection is being served, or `timeout` passes."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._live, timeout)

    def force_close_all(self) -> int:
        """Unblock every connection still being served; their threads close and log them."""
        with self._cond:
            lives = list(self._live.values())
        for live in lives:
            live.conn.force_close()
        return len(lives)
