"""The event log: one record per connection, live gauges and counters that never lose counts.

Thread-safe. Finished records roll off after `capacity`; counters and high-water marks do not,
so tests and checkers can reconcile totals however long the server ran.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from .clock import now

__all__ = ["CloseReason", "ConnectionRecord", "EventLog", "Stats"]


class CloseReason(StrEnum):
    """Why a connection ended: exactly one per connection."""

    COMPLETED = "completed"  # served at least one response, then closed cleanly by either side
    PEER_CLOSED = "peer_closed"  # the peer closed before any response was sent
    RESET = "reset"
    IDLE_TIMEOUT = "idle_timeout"
    REQUEST_TIMEOUT = "request_timeout"
    WRITE_TIMEOUT = "write_timeout"
    TOO_LARGE = "too_large"
    BAD_REQUEST = "bad_request"  # the peer broke the protocol (e.g. malformed HTTP)
    REJECTED_OVERLOAD = "rejected_overload"
    REJECTED_QUEUE_TIMEOUT = "rejected_queue_timeout"
    REJECTED_CONNECTION_LIMIT = "rejected_connection_limit"
    SHUTDOWN = "shutdown"
    HANDLER_ERROR = "handler_error"


REJECTIONS = frozenset(
    {
        CloseReason.REJECTED_OVERLOAD,
        CloseReason.REJECTED_QUEUE_TIMEOUT,
        CloseReason.REJECTED_CONNECTION_LIMIT,
    }
)


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """One connection's life on the server's monotonic clock; `peer_port` joins client records."""

    id: int
    peer_host: str
    peer_port: int
    accepted: float
    admitted: float | None  # counted as open (queued or parked); None if rejected at accept
    dispatched: float | None  # first handed to a worker
    first_byte: float | None
    closed: float | None
    reason: CloseReason | None
    bytes_in: int
    bytes_out: int
    # What a worker spent on it: responses sent, seconds held in all, the longest single hold
    # (a worker that waits on a client shows here: readiness keeps it near the app's own time).
    responses: int = 0
    worker_time: float = 0.0
    worker_longest: float = 0.0
    # When the kernel completed the handshake (or took the client's first bytes, if they came
    # before the accept), at most `accepted`: the idle clock starts there, since a client
    # waiting in the listen backlog is connected. None if the kernel could not say.
    connected: float | None = None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["reason"] = None if self.reason is None else str(self.reason)
        return data


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot of the live gauges, their high-water marks and the lifetime counters."""

    open: int
    busy: int
    pending: int
    parked: int
    max_open: int
    max_busy: int
    max_pending: int
    max_parked: int
    accepted: int
    closed: int
    reasons: dict[str, int]
    accept_backoffs: int
    accept_errors: int
    handler_errors: int
    duplicate_closes: int
    # Closed sockets still draining what their client sends (a lingering close), and the peak.
    lingering: int = 0
    max_lingering: int = 0

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class _Entry:
    """The mutable form of a record while the connection lives."""

    __slots__ = (
        "accepted",
        "admitted",
        "bytes_in",
        "bytes_out",
        "closed",
        "connected",
        "dispatched",
        "first_byte",
        "id",
        "peer_host",
        "peer_port",
        "reason",
        "responses",
        "worker_longest",
        "worker_time",
    )

    def __init__(
        self,
        conn_id: int,
        peer_host: str,
        peer_port: int,
        accepted: float,
        connected: float | None = None,
    ) -> None:
        self.id = conn_id
        self.peer_host = peer_host
        self.peer_port = peer_port
        self.accepted = accepted
        self.connected = connected
        self.admitted: float | None = None
        self.dispatched: float | None = None
        self.first_byte: float | None = None
        self.closed: float | None = None
        self.reason: CloseReason | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.responses = 0
        self.worker_time = 0.0
        self.worker_longest = 0.0

    def row(self) -> _Row:
        """The finished record as a tuple of plain values (the reason by its value): the
        garbage collector stops tracking such a tuple, so a full log costs a collection
        nothing, where as many record objects made every full collection a long pause."""
        return (
            self.id,
            self.peer_host,
            self.peer_port,
            self.accepted,
            self.admitted,
            self.dispatched,
            self.first_byte,
            self.closed,
            None if self.reason is None else str(self.reason),  # a StrEnum's str is its value
            self.bytes_in,
            self.bytes_out,
            self.responses,
            self.worker_time,
            self.worker_longest,
            self.connected,
        )

    def freeze(self) -> ConnectionRecord:
        return _record(self.row())


_Row = tuple[
    int, str, int, float, float | None, float | None, float | None, float | None, str | None,
    int, int, int, float, float, float | None,
]  # fmt: skip


def _record(row: _Row) -> ConnectionRecord:
    reason = row[8]
    return ConnectionRecord(*row[:8], None if reason is None else CloseReason(reason), *row[9:])


class EventLog:
    """Records every connection and keeps gauges: open, busy workers, pending, parked."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Threads in wait_for/wait_record: a change notifies only when someone waits (a
        # notify is Python code on every gauge move, several per request).
        self._waiters = 0
        self._next_id = 1
        self._live: dict[int, _Entry] = {}
        self._finished: deque[_Row] = deque(maxlen=capacity)
        self._reasons: Counter[str] = Counter()
        self._gauges = {"open": 0, "busy": 0, "pending": 0, "parked": 0, "lingering": 0}
        self._peaks = dict(self._gauges)
        # Gauges another part counts under its own lock: name -> read() of (value, peak).
        self._elsewhere: dict[str, Callable[[], tuple[int, int]]] = {}
        self._accepted = 0
        self._closed = 0
        self._accept_backoffs = 0
        self._accept_errors = 0
        self._handler_errors = 0
        self._duplicate_closes = 0

    # --- connection life -------------------------------------------------------------------

    def accepted(
        self,
        peer: tuple[Any, ...],
        at: float | None = None,
        *,
        admitted: bool = False,
        connected: float | None = None,
    ) -> int:
        """Log a connection accepted (at `at`, default now; its handshake at `connected`) and
        return its id; `admitted`: it counts as open from its accept (as `admitted` says, in
        the same step)."""
        host, port = (str(peer[0]), int(peer[1])) if peer else ("", 0)
        t = now() if at is None else at
        entry = _Entry(0, host, port, t, connected)
        with self._lock:
            entry.id = conn_id = self._next_id
            self._next_id += 1
            self._live[conn_id] = entry
            self._accepted += 1
            if admitted:
                entry.admitted = t
                self._bump("open", 1)
            return conn_id

    def admitted(self, conn_id: int) -> None:
        """The connection now counts as open: queued, parked or being served."""
        with self._lock:
            entry = self._live.get(conn_id)
            if entry is not None and entry.admitted is None:
                entry.admitted = now()
                self._bump("open", 1)

    def dispatched(self, conn_id: int) -> None:
        """A worker took the connection (the first time only is recorded)."""
        with self._lock:
            entry = self._live.get(conn_id)
            if entry is not None and entry.dispatched is None:
                entry.dispatched = now()

    def first_byte(self, conn_id: int, at: float) -> None:
        with self._lock:
            entry = self._live.get(conn_id)
            if entry is not None and entry.first_byte is None:
                entry.first_byte = at

    def closed(
        self,
        conn_id: int,
        reason: CloseReason,
        bytes_in: int = 0,
        bytes_out: int = 0,
        *,
        responses: int = 0,
        worker_time: float = 0.0,
        worker_longest: float = 0.0,
    ) -> bool:
        """Log the one close of a connection; a second close is counted as a bug, not recorded."""
        with self._lock:
            entry = self._live.pop(conn_id, None)
            if entry is None:
                self._duplicate_closes += 1
                return False
            entry.closed = now()
            entry.reason = reason
            entry.bytes_in = bytes_in
            entry.bytes_out = bytes_out
            entry.responses = responses
            entry.worker_time = worker_time
            entry.worker_longest = worker_longest
            if entry.admitted is not None:
                self._gauges["open"] -= 1  # a fall: no high-water mark to move
            self._finished.append(entry.row())
            self._reasons[str(reason)] += 1
            self._closed += 1
            if reason is CloseReason.HANDLER_ERROR:
                self._handler_errors += 1
            if self._waiters:
                self._changed.notify_all()
            return True

    # --- gauges and counters ---------------------------------------------------------------

    def gauge(self, name: str, delta: int) -> None:
        """Move a gauge (busy, pending, parked, lingering) and its high-water mark."""
        with self._lock:
            value = self._gauges[name] + delta
            self._gauges[name] = value
            if value > self._peaks[name]:
                self._peaks[name] = value
            if self._waiters:
                self._changed.notify_all()

    def count_elsewhere(self, name: str, read: Callable[[], tuple[int, int]]) -> None:
        """Gauge `name` is counted by another part, under a lock it takes anyway: `read()`
        gives its value and high-water mark when stats are read, and that part calls `moved`
        after each change (a gauge moved twice per request would take this lock twice)."""
        self._elsewhere[name] = read

    def moved(self) -> None:
        """A gauge counted elsewhere has moved: wake the waiters, if there are any.

        Read without the lock: a waiter counts itself (under the lock) before it reads the
        gauge, and the gauge moves before this reads the count, so either the waiter sees the
        move or this sees the waiter."""
        if self._waiters:
            with self._lock:
                self._changed.notify_all()

    def _bump(self, name: str, delta: int) -> None:
        value = self._gauges[name] + delta
        self._gauges[name] = value
        if value > self._peaks[name]:
            self._peaks[name] = value
        self._notify()

    def _notify(self) -> None:
        """Holds `_lock`: wake the waiters, if there are any."""
        if self._waiters:
            self._changed.notify_all()

    def _wait(self, predicate: Callable[[], object], timeout: float) -> bool:
        """Holds `_lock`: wait until `predicate()` holds (re-checked on every change)."""
        self._waiters += 1
        try:
            return bool(self._changed.wait_for(predicate, timeout))
        finally:
            self._waiters -= 1

    def accept_backoff(self) -> None:
        """The acceptor ran out of descriptors (EMFILE/ENFILE) and backed off."""
        with self._lock:
            self._accept_backoffs += 1

    def accept_error(self) -> None:
        with self._lock:
            self._accept_errors += 1

    # --- reading ---------------------------------------------------------------------------

    @property
    def open_count(self) -> int:
        """Open connections now (a cheap read for the acceptor's hot path)."""
        return self._gauges["open"]

    def stats(self) -> Stats:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> Stats:
        g, p = self._gauges, self._peaks
        if self._elsewhere:
            g, p = dict(g), dict(p)
            for name, read in self._elsewhere.items():
                # Read without the counting part's lock: a value may be a step ahead of its
                # high-water mark (moved, the mark not yet), never the other way.
                value, peak = read()
                g[name], p[name] = value, max(peak, value)
        return Stats(
            open=g["open"],
            busy=g["busy"],
            pending=g["pending"],
            parked=g["parked"],
            max_open=p["open"],
            max_busy=p["busy"],
            max_pending=p["pending"],
            max_parked=p["parked"],
            accepted=self._accepted,
            closed=self._closed,
            reasons=dict(self._reasons),
            accept_backoffs=self._accept_backoffs,
            accept_errors=self._accept_errors,
            handler_errors=self._handler_errors,
            duplicate_closes=self._duplicate_closes,
            lingering=g["lingering"],
            max_lingering=p["lingering"],
        )

    def records(self) -> list[ConnectionRecord]:
        """Finished records (oldest first, up to capacity), then the live ones."""
        with self._lock:
            finished = [_record(row) for row in self._finished]
            return finished + [e.freeze() for e in self._live.values()]

    def wait_record(self, peer_port: int, timeout: float) -> ConnectionRecord:
        """The closed record of the connection from `peer_port`, waiting up to `timeout` for it.

        The toolkit's server logs a close before the client can see it; a client that has not
        seen its end yet joins on this. Raises LookupError if no such connection closed in time.
        """

        def find() -> ConnectionRecord | None:
            for row in reversed(self._finished):
                if row[2] == peer_port:
                    return _record(row)
            return None

        with self._lock:
            if self._wait(find, timeout):
                found = find()
                assert found is not None
                return found
        raise LookupError(f"no closed connection from port {peer_port} within {timeout}s")

    def wait_for(self, predicate: Callable[[Stats], bool], timeout: float) -> bool:
        """Block until `predicate(stats)` holds (re-checked on every change) or `timeout` passes."""
        with self._lock:
            return self._wait(lambda: predicate(self._snapshot()), timeout)
