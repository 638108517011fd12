"""Server models: what happens to an accepted connection.

- `iterative`: the acceptor serves each connection itself; one slow client stalls everyone.
- `thread-per-connection`: a new thread each; nothing bounds the thread count.
- `pool`: a bounded pool and pending queue; at the limit a connection is rejected at once.

The first two exist so the chaos suite can show exactly how they fail.
"""

from __future__ import annotations

import socket
import threading
from abc import ABC, abstractmethod

from .clock import now
from .events import CloseReason
from .peek import bytes_waiting
from .pool import Job, WorkerPool
from .service import Service

__all__ = ["IterativeModel", "Model", "PoolModel", "ThreadPerConnectionModel", "make_model"]


class Model(ABC):
    """How accepted connections are served. `on_accept` runs on the acceptor thread."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.log = service.log
        self.config = service.config

    def start(self) -> None:
        """Start the model's own threads, if any."""
        return None

    @abstractmethod
    def on_accept(self, sock: socket.socket, peer: tuple) -> None:
        """Take a just-accepted connection; must not wait on the client (except `iterative`)."""

    def on_tick(self) -> float | None:
        """Periodic work on the acceptor thread; returns seconds until the next is due."""
        return None

    def stop_admitting(self) -> None:
        """Shutdown began: turn away whatever is waiting and has not been served yet."""
        return None

    @abstractmethod
    def join(self, timeout: float) -> list[threading.Thread]:
        """Wait for the model's threads; return any still alive after `timeout`."""

    def threads(self) -> list[threading.Thread]:
        """The threads this model started (alive or not)."""
        return []

    def _serve_counted(self, sock: socket.socket, conn_id: int, peer: tuple) -> None:
        self.log.gauge("busy", 1)
        try:
            self.service.serve(sock, conn_id, peer)
        finally:
            self.log.gauge("busy", -1)


class IterativeModel(Model):
    """Accept, serve, close, on one thread: the acceptor is blocked while any client is served."""

    def on_accept(self, sock: socket.socket, peer: tuple) -> None:
        conn_id = self.log.accepted(peer)
        self.log.admitted(conn_id)
        self._serve_counted(sock, conn_id, peer)

    def join(self, timeout: float) -> list[threading.Thread]:
        return []


class ThreadPerConnectionModel(Model):
    """A thread per connection: never stalls, but a flood of clients is a flood of threads."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def on_accept(self, sock: socket.socket, peer: tuple) -> None:
        conn_id = self.log.accepted(peer)
        self.log.admitted(conn_id)
        thread = threading.Thread(
            target=self._run, args=(sock, conn_id, peer), name=f"toolkit-conn-{conn_id}"
        )
        thread.daemon = True
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, sock: socket.socket, conn_id: int, peer: tuple) -> None:
        try:
            self._serve_counted(sock, conn_id, peer)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    def join(self, timeout: float) -> list[threading.Thread]:
        deadline = now() + timeout
        threads = self.threads()
        for thread in threads:
            thread.join(max(0.0, deadline - now()))
        return [t for t in threads if t.is_alive()]


class PoolModel(Model):
    """A bounded pool: workers + a bounded pending queue; beyond that, the overload policy."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        self.pool = WorkerPool(
            workers=self.config.workers,
            max_pending=self.config.max_pending,
            run=self._run,
            log=self.log,
        )

    def start(self) -> None:
        self.pool.start()

    def on_accept(self, sock: socket.socket, peer: tuple) -> None:
        conn_id = self.log.accepted(peer)
        if self.log.open_count >= self.config.max_connections:
            self.service.reject(sock, conn_id, CloseReason.REJECTED_CONNECTION_LIMIT)
        elif not self.pool.offer(Job(conn_id, sock, peer)):
            self.service.reject(sock, conn_id, self._refusal())

    def _refusal(self) -> CloseReason:
        """Why the pool said no: it is full, or it has stopped taking work for shutdown."""
        if self.service.stopping.is_set():
            return CloseReason.SHUTDOWN
        return CloseReason.REJECTED_OVERLOAD

    def on_tick(self) -> float | None:
        config = self.config
        for job in self.pool.expire(config.queue_timeout):
            self.service.reject_job(job, CloseReason.REJECTED_QUEUE_TIMEOUT)
        # A silent client is cut at idle_timeout even while it waits for a worker.
        for job in self.pool.take_silent(config.idle_timeout, _silent):
            job.sock.close()
            self.log.closed(job.conn_id, CloseReason.IDLE_TIMEOUT)
        waits = [
            w
            for w in (
                self.pool.next_expiry(config.queue_timeout),
                self.pool.next_silence_check(config.idle_timeout),
            )
            if w is not None
        ]
        return min(waits, default=None)

    def stop_admitting(self) -> None:
        for job in self.pool.drain():
            self.service.reject_job(job, CloseReason.SHUTDOWN)

    def threads(self) -> list[threading.Thread]:
        return self.pool.threads

    def join(self, timeout: float) -> list[threading.Thread]:
        return self.pool.join(timeout)

    def _run(self, job: Job) -> None:
        self.service.serve(job.sock, job.conn_id, job.peer, since=job.queued)


def _silent(job: Job) -> bool:
    """True if nothing has arrived for the job (never blocks)."""
    return not job.prefetched and not bytes_waiting(job.sock)


def make_model(service: Service) -> Model:
    """The model named by `service.config.model`, with its dispatch mode."""
    name = service.config.model
    if name == "iterative":
        return IterativeModel(service)
    if name == "thread-per-connection":
        return ThreadPerConnectionModel(service)
    if service.config.dispatch_mode == "readiness":
        from .readiness import ReadinessModel  # it builds on PoolModel, defined above

        return ReadinessModel(service)
    return PoolModel(service)
