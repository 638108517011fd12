"""A bounded worker pool: at most `workers` threads, at most `max_pending` waiting connections.

`offer` never blocks: it admits a connection if a worker is idle or the pending queue has
room, and otherwise says no, so the caller can reject the connection at once instead of
hanging it. How long a queued connection may wait is its state's rule (`take_expired`).

An idle worker sleeps on a lock of its own, which `offer` releases to wake exactly that
worker: one plain lock hand-off per request, where a Condition allocates a lock per wait and
runs its bookkeeping in Python on both sides.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from .clock import now
from .connection import Connection
from .events import CloseReason, EventLog

__all__ = ["WorkerPool"]

logger = logging.getLogger(__name__)


class WorkerPool:
    """Threads that run `run(conn)` for each admitted connection, first come first served."""

    def __init__(self, *, workers: int, max_pending: int, log: EventLog) -> None:
        self._workers = workers
        self._max_pending = max_pending
        self._log = log
        self._queue: deque[Connection] = deque()
        self._lock = threading.Lock()  # guards everything below
        self._sleepers: deque[threading.Lock] = deque()  # idle workers' wake-up locks, held
        self._idle = 0
        # The log's busy and pending gauges, with their high-water marks, are counted here,
        # under the lock every take and offer holds anyway (`EventLog.count_elsewhere`).
        self._busy = self._busy_peak = 0
        self._pending = self._pending_peak = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        log.count_elsewhere("busy", lambda: (self._busy, self._busy_peak))
        log.count_elsewhere("pending", lambda: (self._pending, self._pending_peak))

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def start(self, run: Callable[[Connection], Connection | None]) -> None:
        """Start the workers, each running `run(conn)` for the connections it takes; `run`
        returns the connection it took from the queue for its worker to serve next, if any."""
        for i in range(self._workers):
            thread = threading.Thread(
                target=self._work, args=(run,), name=f"toolkit-worker-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def offer(self, conn: Connection, *, admit: bool = False) -> bool:
        """Queue `conn` if a worker is idle or the queue has room; never blocks. `admit`: it
        counts as open from now (else its front has counted it already)."""
        with self._lock:
            # Connections beyond the idle workers' share are the ones that really wait.
            if self._stopping or len(self._queue) - self._idle >= self._max_pending:
                return False
            if admit:
                self._log.admitted(conn.id)
            conn.state.queued(now())
            self._queue.append(conn)
            self._sync_pending()
            sleeper = self._sleepers.popleft() if self._sleepers else None  # the longest idle
        if sleeper is not None:
            sleeper.release()
        return True

    def offer_idle(self, conn: Connection) -> bool:
        """Hand `conn` straight to a sleeping worker, only if the pool is idle (no worker busy,
        nothing queued); else False and `conn` is untouched. It waits in no queue, so it needs
        no queue deadline."""
        with self._lock:
            if self._stopping or self._queue or self._busy or not self._sleepers:
                return False
            conn.state.queued(now())
            self._queue.append(conn)
            sleeper = self._sleepers.popleft()
        sleeper.release()
        return True

    def requeue(self, conn: Connection, let_go: Callable[[Connection], None]) -> Connection | None:
        """If connections wait for a worker beyond the idle workers' share, `conn` (its next
        request whole) swaps places with the first of them, which is returned for its worker
        to serve next: the queue neither grows nor shrinks. None if none waits; its worker
        then serves it on. `let_go(conn)` runs first, under the lock: no other worker can
        take `conn` before its worker has let go of it."""
        with self._lock:
            if self._stopping or self._pending == 0:
                return None
            let_go(conn)
            first = self._queue.popleft()
            conn.state.queued(now())
            self._queue.append(conn)
        return first

    def take_expired(self, t: float) -> tuple[list[tuple[Connection, CloseReason]], float | None]:
        """Remove the queued connections whose deadline has passed at `t` (with the reason),
        and return the next deadline among those still queued.

        A connection due for silence is first asked whether bytes wait for it: if so it is not
        silent, and waits out its queue deadline instead.
        """
        expired: list[tuple[Connection, CloseReason]] = []
        upcoming: float | None = None
        with self._lock:
            for conn in list(self._queue):  # at most max_pending plus the idle workers' share
                due = conn.state.next_deadline()
                if due is None:
                    continue
                if due[0] <= t and due[1] is CloseReason.IDLE_TIMEOUT and conn.has_input():
                    due = conn.state.next_deadline()
                    assert due is not None
                if due[0] <= t:
                    self._queue.remove(conn)
                    expired.append((conn, due[1]))
                elif upcoming is None or due[0] < upcoming:
                    upcoming = due[0]
            self._sync_pending()
        return expired, upcoming

    def drain(self) -> list[Connection]:
        """Stop admitting; remove and return every waiting connection."""
        with self._lock:
            self._stopping = True
            conns = list(self._queue)
            self._queue.clear()
            self._sync_pending()
            self._wake_all()
        return conns

    def join(self, timeout: float) -> list[threading.Thread]:
        """Let workers exit once idle; return those still alive after `timeout` in total."""
        with self._lock:
            self._stopping = True
            self._wake_all()
        deadline = now() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - now()))
        return [t for t in self._threads if t.is_alive()]

    def _wake_all(self) -> None:
        """Holds `_lock`: wake every sleeping worker (to see that the pool stops)."""
        for sleeper in self._sleepers:
            sleeper.release()
        self._sleepers.clear()

    def _sync_pending(self) -> None:
        """Report as pending only the connections no idle worker is about to take. Holds `_lock`."""
        waiting = max(0, len(self._queue) - self._idle)
        if waiting != self._pending:
            self._pending = waiting
            self._pending_peak = max(self._pending_peak, waiting)
            self._log.moved()

    def _busy_by(self, delta: int) -> None:
        """Holds `_lock`: one more (or one fewer) worker busy."""
        self._busy += delta
        self._busy_peak = max(self._busy_peak, self._busy)
        self._log.moved()

    def _work(self, run: Callable[[Connection], Connection | None]) -> None:
        conn: Connection | None = None
        handed: Connection | None = None  # taken from the queue by `requeue`, this worker's
        busy = False
        wake = threading.Lock()
        wake.acquire()  # held: an `offer` releases it to wake this worker
        lock = self._lock
        while True:
            if handed is not None:
                conn, handed = handed, None
            else:
                with lock:
                    # A worker that takes the next connection straight away stays busy; one that
                    # goes idle ends busy and begins idle in one step, so `busy == 0` means
                    # "will admit".
                    if not self._queue or self._stopping:
                        if busy:
                            self._busy_by(-1)
                            busy = False
                        self._idle += 1
                        self._sync_pending()
                        while not self._queue and not self._stopping:
                            self._sleepers.append(wake)
                            lock.release()
                            try:
                                wake.acquire()
                            finally:
                                lock.acquire()
                        self._idle -= 1
                        if not self._queue:
                            return
                    conn = self._queue.popleft()
                    self._sync_pending()
                    if not busy:
                        self._busy_by(1)
                        busy = True
            try:
                handed = run(conn)
            except Exception:
                logger.exception("worker failed on connection %d", conn.id)
