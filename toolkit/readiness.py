"""The readiness front: connections wait for their client on the I/O loop, not in a worker.

A new connection, or a keep-alive one whose next request is not whole, is parked: armed in the
loop's epoll set for one readable event, with its state's next deadline on the loop's timers.
It costs a descriptor and a small record, not a thread. Whoever parks it arms it, from its
own thread: the acceptor for a new connection, the worker that has just served a response for
a quiet keep-alive one. So a keep-alive request costs the I/O thread one readable event and
nothing else: no hand-back, no wake-up, no timer moved (a deadline that moves later is left
armed early and re-armed when it fires). A new connection is parked too, even when its client has
sent already, so every request reaches the pool through the loop in the order its bytes
arrived: one handed straight from the acceptor would overtake those the loop has yet to read
(under load that doubled the tail of a new connection's latency). Only when nothing could be
overtaken, the loop asleep with nothing read and the pool idle, does a new connection whose
client has sent go straight to a worker, which reads it: a lone client then wakes two threads,
not three.

For a session that frames its requests (HTTP), the loop thread reads what arrives into the
session's parser's buffer, and hands the connection to the pool only once those bytes may
complete a request head: a client trickling its head never holds a worker while it trickles
(waitress's design, plus the total deadline waitress lacks). The parsing itself runs on the
worker, which parks the connection straight back if the head is not whole after all: the loop
thread is the one thread every request passes through, so it stays light. A session without
framing is handed over as soon as its socket is readable. Queued connections are expired here
too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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
    open_at_accept = True  # parked or queued, it is held open from its accept

    def __init__(self, service: Service, pool: WorkerPool, loop: IoLoop) -> None:
        self._service = service
        self._pool = pool
        self._loop = loop
        self._log = service.log
        # Parked connections: added by whoever parks (before the socket is armed), removed by
        # the loop thread when it takes one back (an event, a deadline, shutdown).
        self._parked: set[Connection] = set()
        self._lock = threading.Lock()  # a park is published whole before anyone takes it
        # The log's parked gauge is this set's size, and its high-water mark this, both kept
        # under the lock a park and a take hold anyway.
        self._peak = 0
        self._log.count_elsewhere("parked", lambda: (len(self._parked), self._peak))
        self._stopped = False
        # Requests read in this batch of events, handed to the pool when it ends: a worker
        # woken at once would only wait for the GIL while the loop thread reads the rest.
        self._ready: list[Connection] = []  # on the loop thread only
        loop.on_batch_end(self._hand_over)
        loop.on_stop(self._close_all)
        service.on_close(self._forget)

    def admit(self, conn: Connection) -> None:
        """A new connection: parked, like one between requests (the loop reads it); or, if
        its client has sent already while the server is idle, handed straight to a worker."""
        if not conn.state.awaiting and self._loop.sleeping():
            conn.unread = True
            if self._pool.offer_idle(conn):
                return
            conn.unread = False
        self.park(conn)

    def on_tick(self) -> float | None:
        return None  # queued connections are expired on the loop thread, which queues them

    # --- from any thread ------------------------------------------------------------------

    def park(self, conn: Connection) -> None:
        """Wait for `conn`'s client on the loop: arm its socket and make sure a timer runs by
        its next deadline. On the parking thread; closed at once if the front has stopped."""
        state = conn.state
        with self._lock:
            parked = not self._stopped
            if parked:
                state.parked()
                due = state.next_deadline()
                assert due is not None  # a parked connection always waits on a read deadline
                self._parked.add(conn)
                try:
                    self._loop.arm_by(conn, due[0], self._expire)
                    self._loop.watch(conn.sock, self._readable, conn)
                except (OSError, ValueError):
                    self._parked.discard(conn)
                    parked = False
                self._peak = max(self._peak, len(self._parked))
        if parked:
            self._log.moved()
        else:
            self._service.close(conn, CloseReason.SHUTDOWN)

    def requeue(self, conn: Connection, let_go: Callable[[Connection], None]) -> Connection | None:
        """From its worker: `conn`'s next request is whole; if others wait for a worker, it
        waits behind them and the first of them is returned for the worker to serve, so one
        client's pipelined requests take turns with everyone else's instead of holding the
        worker for all of them."""
        first = self._pool.requeue(conn, let_go)
        if first is not None:
            self._arm_queue_timer()
        return first

    def stop_admitting(self) -> None:
        """Close every parked connection (reason shutdown); later arrivals are closed at once."""
        with self._lock:
            self._stopped = True
        # If the loop has already stopped, its closer has closed them all.
        self._loop.call_soon(self._close_all)

    def _forget(self, conn: Connection) -> None:
        """`conn` is closing (on any thread): drop its timer and its socket's callback."""
        self._loop.cancel(conn)
        self._loop.forget(conn.sock)

    # --- on the loop thread ---------------------------------------------------------------

    def _take(self, conn: Connection) -> bool:
        """Take a parked connection back from the parked set; False if it is not parked."""
        with self._lock:
            if conn not in self._parked:
                return False
            self._parked.discard(conn)
        self._log.moved()
        return True

    def _readable(self, conn: Connection) -> None:
        if conn not in self._parked:
            return
        try:
            step = self._receive(conn)
            if step is Ready.NEED_DATA:
                # The request may have begun: its deadline may now be the earlier one.
                due = conn.state.next_deadline()
                assert due is not None
                self._loop.arm_by(conn, due[0], self._expire)
                self._loop.rearm(conn.sock)
                return
        except ConnectionEnded as exc:
            self._take(conn)
            self._service.close(conn, *self._service.ending(conn, exc))
            return
        except Exception:
            logger.exception("readiness stage failed on connection %d", conn.id)
            self._take(conn)
            self._service.close(conn, CloseReason.HANDLER_ERROR)
            return
        self._take(conn)
        if step is Ready.CLOSED:
            self._service.close(conn, conn.state.clean_close_reason())
        else:
            self._ready.append(conn)

    def _hand_over(self) -> None:
        """Offer the pool what this batch read (each at once turned away if it is full)."""
        if not self._ready:
            return
        ready, self._ready = self._ready, []
        queued = False
        for conn in ready:
            queued = hand_off(self._service, self._pool, conn) or queued
        if queued:
            self._arm_queue_timer()

    def _receive(self, conn: Connection) -> Ready:
        """Read what arrived into the session (`Service.receive`); a session without framing
        goes to a worker as it is, to read for itself."""
        if not conn.session.frames:
            conn.state.input_waiting()
            return Ready.REQUEST
        return self._service.receive(conn)

    def _expire(self, conn: Connection) -> None:
        with self._lock:
            if conn not in self._parked:
                return  # on a worker, queued or closed: its next park arms a timer again
            reason = conn.state.expired(now())
            if reason is None:
                # Armed early (the deadline moved later since): wait the rest.
                due = conn.state.next_deadline()
                assert due is not None
                self._loop.arm(conn, due[0], self._expire)
                return
            self._parked.discard(conn)  # taken back, as `_take` does
        self._log.moved()
        self._service.close(conn, reason, self._service.final_reply(conn, reason))

    def _arm_queue_timer(self) -> None:
        """Make sure the queue is looked at by the deadline of what was just queued: queued
        in FIFO order, so whatever is queued already is due no later."""
        due = now() + self._service.config.queue_timeout
        self._loop.arm_by(self, due, self._expire_queue)

    def _expire_queue(self, _: object) -> None:
        upcoming = expire_queued(self._service, self._pool)
        if upcoming is not None:
            self._loop.arm_by(self, upcoming, self._expire_queue)

    def _close_all(self) -> None:
        self._hand_over()  # read before the stop: the pool turns them away (shutdown)
        with self._lock:
            parked = list(self._parked)
            self._parked.clear()
        self._log.moved()
        for conn in parked:
            self._service.close(conn, CloseReason.SHUTDOWN)
