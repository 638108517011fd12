"""`Connection`: one accepted connection, from the accept to the close, and the socket handlers see.

It carries the connection's `ConnectionState` (the deadlines) and its handler `Session`, so the
acceptor, the readiness stage, the queue and the workers all pass the same object along.

The socket stays non-blocking: each read or write is tried at once and, only if the kernel has
nothing for it, waits in poll() until the state's deadline. So a handler never manages a
timeout, a peer can never stretch a deadline by trickling, and the common case costs one
system call.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .clock import now
from .config import ServerConfig
from .errors import PeerReset, ServerShutdown, WriteTimeout, error_for
from .events import EventLog
from .peek import bytes_waiting
from .state import ConnectionState

if TYPE_CHECKING:
    from .handlers.base import Session

__all__ = ["Connection"]

DEFAULT_RECV_SIZE = 64 * 1024


class Connection:
    """A client connection with enforced idle, request and write deadlines and a size cap."""

    def __init__(
        self,
        sock: socket.socket,
        conn_id: int,
        peer: tuple[Any, ...],
        config: ServerConfig,
        log: EventLog,
        stopping: threading.Event,
        since: float | None = None,
        *,
        new_session: Callable[[], Session] | None = None,
        connected: float | None = None,
        nodelay: bool = True,
    ) -> None:
        self.sock = sock
        self.id = conn_id
        self.peer = peer
        self.state = ConnectionState(config, now() if since is None else since, connected)
        # Made when first needed: a client that never sends costs no protocol state.
        self._new_session = new_session
        self._session: Session | None = None
        self._log = log
        self._stopping = stopping
        self._poller: select.poll | None = None
        self._poll_mask = 0
        # Guards the "idle between requests" check against shutdown's scan from another thread.
        self._lock = threading.Lock()
        self._forced = False
        self._pausing: threading.Event | None = None  # made by `pause`, set by `force_close`
        # Bytes wait in the socket that its session has not read: handed to a worker straight
        # from its accept, the worker reads them first.
        self.unread = False
        if nodelay:  # else the socket has it already, from its listener
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # not TCP (e.g. a socketpair in tests), or already gone
        sock.setblocking(False)

    @property
    def session(self) -> Session:
        """The handler's protocol state for this connection."""
        if self._session is None:
            if self._new_session is None:
                raise RuntimeError(f"connection {self.id} has no handler session")
            self._session = self._new_session()
        return self._session

    @property
    def bytes_in(self) -> int:
        return self.state.bytes_in

    @property
    def bytes_out(self) -> int:
        return self.state.bytes_out

    @property
    def peer_eof(self) -> bool:
        return self.state.peer_eof

    # --- I/O ------------------------------------------------------------------------------

    def recv(self, max_bytes: int = DEFAULT_RECV_SIZE) -> bytes:
        """Read up to `max_bytes`; `b""` means the peer closed its side.

        What has already arrived is always read, even past a deadline; only a wait is cut.
        """
        with self._lock:
            deadline, reason = self.state.reading(now())
            if self._stopping.is_set() and self._idle_between_requests():
                raise ServerShutdown("server is shutting down")
        size = min(max_bytes, self.state.receive_budget())
        while True:
            self._check_forced()
            # Taking bytes out of the socket and counting them is one step for shutdown's
            # idle check: it must see them either still waiting or already in the state.
            with self._lock:
                data: bytes | None
                try:
                    data = self.sock.recv(size)
                except BlockingIOError:
                    data = None
                except OSError as exc:
                    if self._forced:
                        raise ServerShutdown("force-closed by the server") from None
                    raise PeerReset(str(exc)) from None
                if data is not None:
                    self._account(data)
            if data is not None:
                self._check_forced()
                return data
            if not self._wait(select.POLLIN, deadline):
                self._check_forced()
                raise error_for(reason)(f"no byte in time ({reason})")

    def recv_nowait(self) -> bytes | None:
        """What has arrived, without waiting (None if nothing has); `b""` is the peer's EOF.

        For the readiness stage, which reads on the I/O thread when the socket is readable.
        """
        try:
            data = self.sock.recv(self.state.receive_budget())
        except BlockingIOError:
            return None
        except OSError as exc:
            raise PeerReset(str(exc)) from None
        self._account(data)
        return data

    def _account(self, data: bytes) -> None:
        if not data:
            self.state.peer_closed()
            return
        t = now()
        if self.state.received(t, len(data)):
            self._log.first_byte(self.id, t)

    def sendall(self, data: bytes) -> None:
        """Send all of `data` within what is left of this response's write deadline."""
        self._send(data, self.state.writing(now()))

    def send_interim(self, data: bytes) -> None:
        """Send an interim response (HTTP 100 Continue): its own write deadline, and the
        request stays open (the client sends the rest of it once it reads this)."""
        self._send(data, self.state.interim_deadline(now()))

    def _send(self, data: bytes, deadline: float) -> None:
        self._check_forced()
        try:
            sent = self.sock.send(data)  # the common case: it all fits in the send buffer
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._check_forced()
            raise PeerReset(str(exc)) from None
        if sent:
            self.state.wrote(now(), sent)
        if sent == len(data):
            return
        view = memoryview(data)[sent:]
        while view:
            self._check_forced()
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                if not self._wait(select.POLLOUT, deadline):
                    self._check_forced()
                    raise WriteTimeout("peer is not reading") from None
                continue
            except OSError as exc:
                self._check_forced()
                raise PeerReset(str(exc)) from None
            self.state.wrote(now(), sent)
            view = view[sent:]

    def _wait(self, mask: int, deadline: float) -> bool:
        """Wait until the socket is ready for `mask` or `deadline` passes; False on timeout."""
        left = deadline - now()
        if left <= 0:
            return False
        if self._poller is None:
            self._poller = select.poll()
        if mask != self._poll_mask:
            if self._poll_mask:
                self._poller.modify(self.sock, mask)
            else:
                self._poller.register(self.sock, mask)
            self._poll_mask = mask
        return bool(self._poller.poll(left * 1000.0))

    def request_done(self) -> None:
        """The whole request is in: its deadline stops until the next request starts."""
        self.state.request_complete()

    def pause(self, seconds: float) -> None:
        """Simulated work: wait `seconds`, cut short if the server force-closes this connection."""
        pausing = self._pausing = threading.Event()
        if self._forced or pausing.wait(seconds):  # (a force-close may have come first)
            raise ServerShutdown("force-closed during work")

    def has_input(self) -> bool:
        """True if bytes (or an EOF) wait in the socket; the state learns the client spoke."""
        if bytes_waiting(self.sock):
            self.state.input_waiting()
            return True
        return False

    # --- lifecycle (called by the server, possibly from another thread) ---------------------

    @property
    def forced(self) -> bool:
        return self._forced

    def close_if_awaiting(self) -> bool:
        """Force-close if idle between requests: no byte of a next request read or waiting.

        A request already sitting in the socket buffer is in flight, not idle: it is served.
        """
        with self._lock:
            if not self._idle_between_requests():
                return False
            self.force_close()
            return True

    def _idle_between_requests(self) -> bool:
        """No part of a next request read, buffered by the session, or waiting in the socket."""
        if not self.state.awaiting:
            return False
        if self._session is not None and self._session.buffered():
            return False
        return not bytes_waiting(self.sock)

    def force_close(self) -> None:
        """Unblock any read or write in progress; the owning thread then closes the socket."""
        self._forced = True
        if self._pausing is not None:
            self._pausing.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected

    def _check_forced(self) -> None:
        if self._forced:
            raise ServerShutdown("force-closed by the server")
