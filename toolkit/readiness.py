"""The readiness stage: idle connections wait in one I/O thread's selector, not in a worker.

A new connection, or a keep-alive one between requests, is parked: registered with a selector
(epoll on Linux) and given a deadline in a timer heap. It costs a descriptor and a small
record, not a thread. When it becomes readable it is handed to the worker pool. For protocols
with a framer (HTTP), the I/O thread first reads the request head itself, enforcing the idle
and request deadlines and the size cap as it goes, so a client trickling its head never
occupies a worker: waitress's design, plus the total deadline that waitress lacks.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .clock import now
from .events import CloseReason
from .models import PoolModel
from .pool import Job
from .service import Live, Service
from .timers import TimerHeap

__all__ = ["Parked", "Parker", "ReadinessModel"]

logger = logging.getLogger(__name__)

# Read at most this much per readable event while collecting a request head.
PREFETCH_CHUNK = 16 * 1024


@dataclass(slots=True, eq=False)
class Parked:
    """A connection waiting for its next request, and what has arrived of it so far."""

    conn_id: int
    sock: socket.socket
    peer: tuple
    live: Live | None  # None until a worker has served it once
    last: float = field(default_factory=now)  # when it parked, or its last byte arrived
    first_at: float | None = None  # first byte of the request being collected
    buffer: bytearray = field(default_factory=bytearray)


class Parker:
    """One thread and one selector holding every parked connection until it has work."""

    def __init__(
        self,
        service: Service,
        dispatch: Callable[[Parked], None],
        tick: Callable[[], float | None],
    ) -> None:
        self._service = service
        self._tick = tick
        self._config = service.config
        self._log = service.log
        self._dispatch = dispatch
        self._frames = service.handler.framer(b"") is not None
        self._selector = selectors.DefaultSelector()
        self._timers = TimerHeap()
        self._parked: dict[int, Parked] = {}
        self._incoming: deque[Parked] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="toolkit-io", daemon=True)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def start(self) -> None:
        self._thread.start()

    # --- from other threads ---------------------------------------------------------------

    def park(self, entry: Parked) -> None:
        """Hand a connection to the I/O thread; closed at once if the stage has stopped."""
        with self._lock:
            taken = not self._closed
            if taken:
                self._incoming.append(entry)
            wake = taken and len(self._incoming) == 1  # the first since the last wake-up
        if not taken:
            self._close(entry, CloseReason.SHUTDOWN, registered=False)
        elif wake:
            self._wake()

    def stop(self) -> None:
        """Stop the I/O thread; it closes every parked connection (reason shutdown) on its way."""
        with self._lock:
            self._closed = True
        self._wake()

    def join(self, timeout: float) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass  # drained (EAGAIN)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending, or we are shutting down

    # --- the I/O thread -------------------------------------------------------------------

    def _run(self) -> None:
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while True:
                ready = self._selector.select(self._next_timeout())
                # Drain wake-ups before taking the queue: a park landing after this point
                # writes a fresh wake-up, so none is lost.
                if any(key.fileobj is self._wake_r for key, _ in ready):
                    self._drain_wake()
                with self._lock:
                    incoming, self._incoming = self._incoming, deque()
                    closed = self._closed
                if closed:
                    for entry in incoming:
                        self._close(entry, CloseReason.SHUTDOWN, registered=False)
                    return
                for entry in incoming:
                    self._register(entry)
                for key, _ in ready:
                    if key.fileobj is not self._wake_r and key.data.conn_id in self._parked:
                        self._guarded(self._readable, key.data)
                for conn_id in self._timers.pop_due(now()):
                    self._guarded(self._expire, self._parked[conn_id])
        except Exception:
            logger.exception("readiness stage failed")
        finally:
            for entry in list(self._parked.values()):
                self._close(entry, CloseReason.SHUTDOWN)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _next_timeout(self) -> float | None:
        """Until the next parked deadline or the next tick of the pool, whichever is first."""
        waits = [self._tick()]
        deadline = self._timers.next_deadline()
        if deadline is not None:
            waits.append(max(0.0, deadline - now()))
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    def _guarded(self, action: Callable[[Parked], None], entry: Parked) -> None:
        """One connection's failure must not stop the stage for all the others."""
        try:
            action(entry)
        except Exception:
            logger.exception("readiness stage failed on connection %d", entry.conn_id)
            if entry.conn_id in self._parked:
                self._close(entry, CloseReason.HANDLER_ERROR)

    def _register(self, entry: Parked) -> None:
        try:
            entry.sock.setblocking(False)
            self._selector.register(entry.sock, selectors.EVENT_READ, entry)
        except (OSError, ValueError):
            self._close(entry, CloseReason.RESET, registered=False)
            return
        self._parked[entry.conn_id] = entry
        self._log.gauge("parked", 1)
        self._timers.arm(entry.conn_id, self._deadline(entry))

    def _deadline(self, entry: Parked) -> float:
        deadline = entry.last + self._config.idle_timeout
        if entry.first_at is not None:
            deadline = min(deadline, entry.first_at + self._config.request_timeout)
        return deadline

    def _readable(self, entry: Parked) -> None:
        if not self._frames:
            self._hand_off(entry)
            return
        try:
            data = entry.sock.recv(PREFETCH_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self._close(entry, CloseReason.RESET)
            return
        if not data:
            self._hand_off(entry)  # EOF is sticky: the worker reads it again and decides
            return
        t = now()
        if entry.first_at is None:
            entry.first_at = t
        entry.last = t
        entry.buffer += data
        if len(entry.buffer) > self._config.max_request_bytes or self._service.handler.framer(
            bytes(entry.buffer)
        ):
            self._hand_off(entry)  # a whole head, or too much: a worker answers either way
        else:
            self._timers.arm(entry.conn_id, self._deadline(entry))

    def _expire(self, entry: Parked) -> None:
        t = now()
        if entry.first_at is not None and t >= entry.first_at + self._config.request_timeout:
            self._close(entry, CloseReason.REQUEST_TIMEOUT, self._service.handler.timeout_reply)
        else:
            self._close(entry, CloseReason.IDLE_TIMEOUT)

    def _unpark(self, entry: Parked) -> None:
        self._selector.unregister(entry.sock)
        self._timers.cancel(entry.conn_id)
        del self._parked[entry.conn_id]
        self._log.gauge("parked", -1)

    def _hand_off(self, entry: Parked) -> None:
        self._unpark(entry)
        self._dispatch(entry)

    def _close(
        self, entry: Parked, reason: CloseReason, reply: bytes = b"", *, registered: bool = True
    ) -> None:
        if registered:
            self._unpark(entry)
        if reply:
            try:
                entry.sock.send(reply)  # non-blocking: best effort, never waits on the peer
            except OSError:
                pass
        if entry.live is not None:
            entry.live.conn.bytes_in += len(entry.buffer)
            self._service.finish(entry.live, reason)
        else:
            entry.sock.close()
            self._log.closed(entry.conn_id, reason, len(entry.buffer), 0)


class ReadinessModel(PoolModel):
    """The pool model with a readiness stage in front: workers only ever see ready requests."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        # Jobs are queued by the I/O thread, so it (not the acceptor) expires them.
        self.parker = Parker(service, self._dispatch, super().on_tick)

    def start(self) -> None:
        self.parker.start()
        super().start()

    def on_accept(self, sock: socket.socket, peer: tuple) -> None:
        conn_id = self.log.accepted(peer)
        if self.log.open_count >= self.config.max_connections:
            self.service.reject(sock, conn_id, CloseReason.REJECTED_CONNECTION_LIMIT)
            return
        self.log.admitted(conn_id)
        self.parker.park(Parked(conn_id, sock, peer, None))

    def on_tick(self) -> float | None:
        return None

    def stop_admitting(self) -> None:
        self.parker.stop()
        super().stop_admitting()

    def threads(self) -> list[threading.Thread]:
        return [self.parker.thread, *super().threads()]

    def join(self, timeout: float) -> list[threading.Thread]:
        deadline = now() + timeout
        stuck = [] if self.parker.join(timeout) else [self.parker.thread]
        return stuck + self.pool.join(max(0.0, deadline - now()))

    def _dispatch(self, entry: Parked) -> None:
        """On the I/O thread: queue a ready connection for a worker, or turn it away now."""
        job = Job(
            entry.conn_id, entry.sock, entry.peer, entry.live, bytes(entry.buffer), entry.first_at
        )
        if not self.pool.offer(job):
            self.service.reject_job(job, self._refusal())

    def _run(self, job: Job) -> None:
        service = self.service
        if job.live is None:
            live = service.open(job.sock, job.conn_id, job.peer)
        else:
            live = job.live
            service.attach(live)
        if job.prefetched:
            assert job.first_at is not None
            live.conn.preload(job.prefetched, job.first_at)
        reason = service.step(live)
        while reason is None and live.session.buffered():
            reason = service.step(live)
        if reason is None:
            service.detach(live)
            self.parker.park(Parked(live.conn.id, live.conn.sock, live.conn.peer, live))
        else:
            service.finish(live, reason)
