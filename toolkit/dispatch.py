"""Dispatch fronts: when the pool model hands an admitted connection to its workers.

The pool model takes a front as a part. `OnAcceptFront` offers each connection to the pool as
soon as it is accepted and leaves it on its worker for life; `ReadinessFront` (in
`readiness.py`) parks it on the I/O loop until a request is ready, and again between requests.
Both offer and expire through the helpers here, so the queue's rules live once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .clock import now
from .connection import Connection
from .events import CloseReason
from .pool import WorkerPool
from .service import Service

__all__ = ["Front", "OnAcceptFront", "expire_queued", "hand_off"]


class Front(Protocol):
    """How a pool model's connections reach its workers."""

    # True if a connection counts as open from its accept (it is logged admitted with it);
    # False if from when the pool queues it.
    open_at_accept: bool

    def admit(self, conn: Connection) -> None:
        """A new connection, within the connection limit; on the acceptor thread, never blocks."""

    def on_tick(self) -> float | None:
        """Periodic work on the acceptor thread; seconds until it is next due, or None."""

    # True if a worker hands a connection whose next request is not whole yet to `park`;
    # False to keep serving it (its worker then waits on the client, within the deadlines).
    parks: bool

    def park(self, conn: Connection) -> None:
        """Take back a connection between requests until its next request is ready."""

    def requeue(self, conn: Connection, let_go: Callable[[Connection], None]) -> Connection | None:
        """From its worker: a connection whose next request is whole swaps places with the
        first one waiting for a worker, if any waits (`WorkerPool.requeue`), which its worker
        serves next; a front that parks only."""

    def stop_admitting(self) -> None:
        """Shutdown began: close what waits for a client; later arrivals are closed at once."""


def hand_off(service: Service, pool: WorkerPool, conn: Connection, *, admit: bool = False) -> bool:
    """Offer `conn` to the pool, or turn it away at once (full, or shutting down); `admit`:
    it counts as open once queued."""
    if pool.offer(conn, admit=admit):
        return True
    service.reject(
        conn, CloseReason.SHUTDOWN if service.stopping.is_set() else CloseReason.REJECTED_OVERLOAD
    )
    return False


def expire_queued(service: Service, pool: WorkerPool) -> float | None:
    """Close the queued connections whose deadline has passed; when the next one is due."""
    expired, upcoming = pool.take_expired(now())
    for conn, reason in expired:
        if reason is CloseReason.REJECTED_QUEUE_TIMEOUT:
            service.reject(conn, reason)
        else:
            service.close(conn, reason)
    return upcoming


class OnAcceptFront:
    """Each connection goes to the pool at once and keeps its worker until it closes.

    Queued connections are expired by the acceptor's tick: it wakes for the next deadline.
    """

    parks = False
    open_at_accept = False

    def __init__(self, service: Service, pool: WorkerPool) -> None:
        self._service = service
        self._pool = pool

    def admit(self, conn: Connection) -> None:
        hand_off(self._service, self._pool, conn, admit=True)

    def on_tick(self) -> float | None:
        upcoming = expire_queued(self._service, self._pool)
        return None if upcoming is None else max(0.0, upcoming - now())

    def park(self, conn: Connection) -> None:
        raise AssertionError("the on-accept front never parks")

    def requeue(self, conn: Connection, let_go: Callable[[Connection], None]) -> Connection | None:
        raise AssertionError("the on-accept front never parks")

    def stop_admitting(self) -> None:
        return None
