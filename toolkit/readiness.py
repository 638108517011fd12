"""The readiness front: connections wait for their client on the I/O loop, not in a worker.

A new connection, or a keep-alive one whose next request is not whole, is parked: watched by
the loop's selector with its state's next deadline armed. It costs a descriptor and a small
record, not a thread. For a session that frames its requests (HTTP), the loop thread reads
what arrives into the session's own parser's buffer, and hands the connection to the pool
only once those bytes may complete a request head: a client trickling its head never occupies
a worker (waitress's design, plus the total deadline waitress lacks). The parsing itself runs
on the worker, which hands the connection straight back if the head is not whole after all:
the loop thread is the one thread every request passes through, so it stays light. A session
without framing is handed over as soon as its socket is readable. Queued connections are
expired here too.
"""

from __future__ import annotations

import logging

from .clock import now
from .connection import Connection
from .dispatch import expire_queued, hand_off
from .errors import ConnectionEnded
from .events import CloseReason
from .handlers import Ready
from .ioloop import IoLoop
from .pool import WorkerPool
from .service import Service

__all__ = ["ReadinessFront"]

logger = logging.getLogger(__name__)


class ReadinessFront:
    """Parks connections on the I/O loop until a request is ready, then queues them."""

    parks = True

    def __init__(self, service: Service, pool: WorkerPool, loop: IoLoop) -> None:
        self._service = service
        self._pool = pool
        self._loop = loop
        self._log = service.log
        self._parked: set[Connection] = set()  # on the loop thread only
        self._stopped = False
        self._queue_timer_at: float | None = None  # on the loop thread only
        loop.on_stop(self._close_all)

    def admit(self, conn: Connection) -> None:
        self._log.admitted(conn.id)
        self.park(conn)

    def on_tick(self) -> float | None:
        return None  # queued connections are expired on the loop thread, which queues them

    # --- from other threads ---------------------------------------------------------------

    def park(self, conn: Connection) -> None:
        """Hand a connection to the loop; closed at once if the front has stopped.

        No lock: one racing `stop_admitting` is caught by `_register`'s own check, on the loop
        thread, which runs after the close-all that `stop_admitting` queues."""
        if self._stopped or not self._loop.call_soon(lambda: self._register(conn)):
            self._service.close(conn, CloseReason.SHUTDOWN)

    def stop_admitting(self) -> None:
        """Close every parked connection (reason shutdown); later arrivals are closed at once."""
        self._stopped = True
        # If the loop has already stopped, its closer has closed them all.
        self._loop.call_soon(self._close_all)

    # --- on the loop thread ---------------------------------------------------------------

    def _register(self, conn: Connection) -> None:
        if self._stopped:
            self._service.close(conn, CloseReason.SHUTDOWN)
            return
        conn.state.parked()
        try:
            self._loop.watch(conn.sock, self._readable, conn)
        except (OSError, ValueError):
            self._service.close(conn, CloseReason.RESET)
            return
        self._parked.add(conn)
        self._log.gauge("parked", 1)
        self._arm(conn)

    def _arm(self, conn: Connection) -> None:
        due = conn.state.next_deadline()
        assert due is not None  # a parked connection always waits on a read deadline
        self._loop.arm(conn, due[0], self._expire)

    def _unpark(self, conn: Connection) -> None:
        self._loop.unwatch(conn.sock)
        self._loop.cancel(conn)
        self._parked.discard(conn)
        self._log.gauge("parked", -1)

    def _readable(self, conn: Connection) -> None:
        if conn not in self._parked:
            return
        try:
            step = self._receive(conn)
        except ConnectionEnded as exc:
            self._unpark(conn)
            reply = exc.reply or self._service.final_reply(conn, exc.reason)
            self._service.close(conn, exc.reason, reply)
            return
        except Exception:
            logger.exception("readiness stage failed on connection %d", conn.id)
            self._unpark(conn)
            self._service.close(conn, CloseReason.HANDLER_ERROR)
            return
        if step is Ready.NEED_DATA:
            self._arm(conn)  # the request may have begun: its deadline is now the earlier one
            return
        self._unpark(conn)
        if step is Ready.CLOSED:
            self._service.close(conn, conn.state.clean_close_reason())
        elif hand_off(self._service, self._pool, conn):
            self._arm_queue_timer()

    def _receive(self, conn: Connection) -> Ready:
        """Read what arrived into the session: NEED_DATA to stay parked, CLOSED, or REQUEST
        when a worker should look (it parses; if the request is not whole after all, it hands
        the connection straight back)."""
        session = conn.session
        if not session.frames:
            conn.state.input_waiting()
            return Ready.REQUEST  # it reads for itself: a worker takes it now
        data = conn.recv_nowait()
        if data is None:
            return Ready.NEED_DATA  # a spurious wake-up
        news = session.receive_data(data)
        if not data:
            return session.ready()  # the peer's EOF: closed, or one last request to answer
        return Ready.REQUEST if news else Ready.NEED_DATA

    def _expire(self, conn: Connection) -> None:
        if conn not in self._parked:
            return
        reason = conn.state.expired(now())
        if reason is None:
            self._arm(conn)  # woken early (the clock's granularity): wait the rest
            return
        self._unpark(conn)
        self._service.close(conn, reason, self._service.final_reply(conn, reason))

    def _arm_queue_timer(self) -> None:
        """Wake for the oldest queued connection's deadline (queued here, so FIFO order)."""
        if self._queue_timer_at is None:
            self._expire_queue(self)

    def _expire_queue(self, _: object) -> None:
        upcoming = expire_queued(self._service, self._pool)
        self._queue_timer_at = upcoming
        if upcoming is not None:
            self._loop.arm(self, upcoming, self._expire_queue)

    def _close_all(self) -> None:
        for conn in list(self._parked):
            self._unpark(conn)
            self._service.close(conn, CloseReason.SHUTDOWN)
