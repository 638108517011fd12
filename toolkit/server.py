"""`Server`: a listener, an acceptor, an I/O loop and a model, with a bounded shutdown."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from .acceptor import Acceptor
from .config import ServerConfig
from .events import EventLog, Stats
from .handlers import DEFAULT_SLEEP, Handler, make_handler
from .ioloop import IoLoop
from .linger import Lingerer
from .listener import INHERITS_NODELAY, open_listener
from .models import Model, make_model
from .service import Service

__all__ = ["JOIN_TIMEOUT", "Server"]

# After force-closing, every thread should exit at once; past this, shutdown reports a leak.
JOIN_TIMEOUT = 5.0


class Server:
    """A threaded TCP server. `start()` returns the bound address; use it as a context manager.

    Nothing is acquired before `start()`, and a start that fails releases what it took.
    Shutdown first stops listening (a new client is refused at once), turns away queued
    connections, closes idle ones, lets in-flight requests finish for up to `shutdown_grace`,
    force-closes the rest and joins every thread with a bounded wait. After it returns, the
    server holds no thread and no descriptor.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        handler: Handler | str = "http-hello",
        *,
        sleep: float = DEFAULT_SLEEP,
    ) -> None:
        self.config = config if config is not None else ServerConfig()
        if isinstance(handler, str):
            handler = make_handler(
                handler,
                max_request_bytes=self.config.max_request_bytes,
                sleep=sleep,
                parser=self.config.http_parser,
            )
        self.handler = handler
        self.log = EventLog(self.config.log_capacity)
        self._loop = IoLoop()
        self.service = Service(self.config, handler, self.log, Lingerer(self._loop, self.log))
        self.model: Model = make_model(self.service, self._loop)
        self._listener: socket.socket | None = None
        self._acceptor: Acceptor | None = None
        self._address: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); only after `start()`."""
        if self._address is None:
            raise RuntimeError("server not started")
        return self._address

    def start(self) -> tuple[str, int]:
        """Bind, listen and start the threads; returns (host, port)."""
        with self._lock:
            if self._started:
                raise RuntimeError("server already started")
            self._started = True
            listener = open_listener(self.config.host, self.config.port, self.config.backlog)
            self.service.accepted_nodelay = INHERITS_NODELAY
            acceptor = Acceptor(
                listener,
                on_accept=self.model.on_accept,
                on_tick=self.model.on_tick,
                log=self.log,
            )
            try:
                self._loop.start()
                self.model.start()
                acceptor.start()
            except BaseException:
                self._release(listener, acceptor)
                raise
            self._listener, self._acceptor = listener, acceptor
            host, port = listener.getsockname()[:2]
            self._address = (host, port)
            return self._address

    def _release(self, listener: socket.socket, acceptor: Acceptor) -> list[threading.Thread]:
        """Stop whatever has started, in reverse, and close the listener; the stuck threads."""
        acceptor.stop()
        stuck = [] if acceptor.join(JOIN_TIMEOUT) else [acceptor.thread]
        stuck += self.model.join(JOIN_TIMEOUT)
        self._loop.stop()
        if not self._loop.join(JOIN_TIMEOUT) and self._loop.thread is not None:
            stuck.append(self._loop.thread)
        listener.close()
        return stuck

    def stats(self) -> Stats:
        return self.log.stats()

    def threads(self) -> list[threading.Thread]:
        """Threads this server started that are still alive (not other servers' threads)."""
        own = [self._loop.thread] + ([self._acceptor.thread] if self._acceptor else [])
        return [t for t in [*own, *self.model.threads()] if t is not None and t.is_alive()]

    def shutdown(self) -> None:
        """Graceful, bounded shutdown; raises RuntimeError if a thread would not exit."""
        with self._lock:
            if self._stopped or self._listener is None or self._acceptor is None:
                self._stopped = True
                return
            self._stopped = True
        listener, acceptor, service = self._listener, self._acceptor, self.service
        service.stopping.set()
        acceptor.stop()
        try:
            # Stop listening now: a new client is refused at once, not left in the backlog.
            # (shutdown, not close: the acceptor thread may still hold the descriptor.)
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.model.stop_admitting()
        service.close_awaiting()
        service.wait_drained(self.config.shutdown_grace)
        service.force_close_all()
        stuck = self._release(listener, acceptor)
        if stuck:
            names = ", ".join(t.name for t in stuck)
            raise RuntimeError(f"server threads did not exit within {JOIN_TIMEOUT}s: {names}")

    def __enter__(self) -> Server:
        if not self._started:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()
