"""Server models: what happens to an accepted connection.

- `iterative`: the acceptor serves each connection itself; one slow client stalls everyone.
- `thread-per-connection`: a new thread each; nothing bounds the thread count.
- `pool`: a bounded pool and pending queue behind a dispatch front (on-accept or readiness);
  at a limit a connection is rejected at once.

The first two exist so the chaos suite can show exactly how they fail.
"""

from __future__ import annotations

import socket
import threading
from abc import ABC, abstractmethod
from typing import Any

from .clock import now
from .connection import Connection
from .dispatch import Front, OnAcceptFront
from .events import CloseReason
from .ioloop import IoLoop
from .pool import WorkerPool
from .readiness import ReadinessFront
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
    def on_accept(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
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

    def _serve_counted(self, conn: Connection) -> None:
        self.log.admitted(conn.id)
        self.log.gauge("busy", 1)
        try:
            self.service.run(conn)
        finally:
            self.log.gauge("busy", -1)


class IterativeModel(Model):
    """Accept, serve, close, on one thread: the acceptor is blocked while any client is served."""

    def on_accept(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        self._serve_counted(self.service.accept(sock, peer))

    def join(self, timeout: float) -> list[threading.Thread]:
        return []  # its thread is the acceptor's


class ThreadPerConnectionModel(Model):
    """A thread per connection: never stalls, but a flood of clients is a flood of threads."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def on_accept(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        conn = self.service.accept(sock, peer)
        thread = threading.Thread(target=self._run, args=(conn,), name=f"toolkit-conn-{conn.id}")
        thread.daemon = True
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, conn: Connection) -> None:
        try:
            self._serve_counted(conn)
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
    """A bounded pool: workers + a bounded pending queue, fed by a dispatch front."""

    def __init__(self, service: Service, pool: WorkerPool, front: Front) -> None:
        super().__init__(service)
        self.pool = pool
        self.front = front
        # What a worker does with a connection between requests: the front's, bound once.
        self._serve = service.run
        self._between = (front.park, front.requeue) if front.parks else ()

    def start(self) -> None:
        self.pool.start(self._run)

    def on_accept(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        # Only this thread admits (here, or queueing in `admit`): the count cannot rise between.
        within = self.log.open_count < self.config.max_connections
        conn = self.service.accept(sock, peer, admitted=within and self.front.open_at_accept)
        if within:
            self.front.admit(conn)
        else:
            self.service.reject(conn, CloseReason.REJECTED_CONNECTION_LIMIT)

    def on_tick(self) -> float | None:
        return self.front.on_tick()

    def stop_admitting(self) -> None:
        self.front.stop_admitting()
        for conn in self.pool.drain():
            self.service.reject(conn, CloseReason.SHUTDOWN)

    def threads(self) -> list[threading.Thread]:
        return self.pool.threads

    def join(self, timeout: float) -> list[threading.Thread]:
        return self.pool.join(timeout)

    def _run(self, conn: Connection) -> Connection | None:
        return self._serve(conn, *self._between)


def make_model(service: Service, loop: IoLoop) -> Model:
    """The model named by `service.config.model`, with its dispatch front."""
    config = service.config
    if config.model == "iterative":
        return IterativeModel(service)
    if config.model == "thread-per-connection":
        return ThreadPerConnectionModel(service)
    pool = WorkerPool(workers=config.workers, max_pending=config.max_pending, log=service.log)
    front: Front
    if config.dispatch_mode == "readiness":
        front = ReadinessFront(service, pool, loop)
    else:
        front = OnAcceptFront(service, pool)
    return PoolModel(service, pool, front)
