"""`Connection`: the socket handlers see. Every read and write enforces the server's deadlines.

The socket stays non-blocking: each read or write is tried at once and, only if the kernel has
nothing for it, waits in poll() for the time left (see `Deadlines`). So a handler never manages
a timeout, a peer can never stretch a deadline by trickling, and the common case costs one
system call rather than settimeout's fcntl pair plus a poll.
"""

from __future__ import annotations

import select
import socket
import threading

from .clock import now
from .config import ServerConfig
from .deadline import Deadlines
from .errors import PeerReset, ServerShutdown, WriteTimeout
from .events import EventLog
from .peek import bytes_waiting

__all__ = ["Connection"]

DEFAULT_RECV_SIZE = 64 * 1024


class Connection:
    """A client connection with enforced idle, request and write deadlines and a size cap."""

    def __init__(
        self,
        sock: socket.socket,
        conn_id: int,
        peer: tuple,
        config: ServerConfig,
        log: EventLog,
        stopping: threading.Event,
        since: float | None = None,
    ) -> None:
        self.sock = sock
        self.id = conn_id
        self.peer = peer
        self.bytes_in = 0
        self.bytes_out = 0
        self.peer_eof = False
        self._log = log
        self._stopping = stopping
        self._first_byte_logged = False
        self._preloaded: tuple[bytes, float] | None = None
        self._deadlines = Deadlines(
            idle_timeout=config.idle_timeout,
            request_timeout=config.request_timeout,
            write_timeout=config.write_timeout,
            max_bytes=config.max_request_bytes,
            since=now() if since is None else since,
        )
        self._poller = select.poll()
        self._poll_mask = 0
        # Guards the awaiting/forced pair against shutdown's scan from another thread.
        self._state = threading.Lock()
        self._forced = threading.Event()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (e.g. a socketpair in tests), or already gone
        sock.setblocking(False)

    # --- I/O ------------------------------------------------------------------------------

    def preload(self, data: bytes, first_at: float) -> None:
        """Bytes of the next request already read by the readiness stage, the first at `first_at`.

        The next `recv` returns them, charged to the deadlines as if read then.
        """
        self._preloaded = (data, first_at)

    def recv(self, max_bytes: int = DEFAULT_RECV_SIZE) -> bytes:
        """Read up to `max_bytes`; `b""` means the peer closed its side."""
        with self._state:
            timeout, error = self._deadlines.read_timeout(now())
            if self._stopping.is_set() and self._idle_between_requests():
                raise ServerShutdown("server is shutting down")
        self._check_forced()
        if self._preloaded is not None:
            data, first_at = self._preloaded
            self._preloaded = None
            self._account(data, first_at)
            return data
        deadline = now() + timeout
        while True:
            try:
                data = self.sock.recv(max_bytes)
                break
            except BlockingIOError:
                pass
            except OSError as exc:
                self._check_forced()
                raise PeerReset(str(exc)) from None
            if not self._wait(select.POLLIN, deadline):
                self._check_forced()
                raise error(f"no byte within {timeout:.3f}s")
        self._check_forced()
        if not data:
            self.peer_eof = True
            return data
        self._account(data, now())
        return data

    def sendall(self, data: bytes) -> None:
        """Send all of `data` within what is left of the response's write deadline."""
        view = memoryview(data)
        while view:
            self._check_forced()
            t = now()
            deadline = t + self._deadlines.write_timeout(t)
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
            self.bytes_out += sent
            self._deadlines.bytes_written(now())
            view = view[sent:]

    def _wait(self, mask: int, deadline: float) -> bool:
        """Wait until the socket is ready for `mask` or `deadline` passes; False on timeout."""
        left = deadline - now()
        if left <= 0:
            return False
        if mask != self._poll_mask:
            if self._poll_mask:
                self._poller.modify(self.sock, mask)
            else:
                self._poller.register(self.sock, mask)
            self._poll_mask = mask
        return bool(self._poller.poll(left * 1000.0))

    def _account(self, data: bytes, t: float) -> None:
        self.bytes_in += len(data)
        if self._deadlines.bytes_read(t, len(data)) and not self._first_byte_logged:
            self._first_byte_logged = True
            self._log.first_byte(self.id, t)

    def request_done(self) -> None:
        """The whole request is in: its deadline stops until the next request starts."""
        self._deadlines.request_done()

    def pause(self, seconds: float) -> None:
        """Simulated work: wait `seconds`, cut short if the server force-closes this connection."""
        if self._forced.wait(seconds):
            raise ServerShutdown("force-closed during work")

    # --- lifecycle (called by the server, possibly from another thread) ---------------------

    @property
    def forced(self) -> bool:
        return self._forced.is_set()

    def close_if_awaiting(self) -> bool:
        """Force-close if idle between requests: no byte of a next request read or waiting.

        A request already sitting in the socket buffer is in flight, not idle: it is served.
        """
        with self._state:
            if not self._idle_between_requests():
                return False
            self.force_close()
            return True

    def _idle_between_requests(self) -> bool:
        """No part of a next request read, preloaded by the readiness stage, or waiting."""
        return self._deadlines.awaiting and self._preloaded is None and not bytes_waiting(self.sock)

    def force_close(self) -> None:
        """Unblock any read or write in progress; the owning thread then closes the socket."""
        self._forced.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected

    def _check_forced(self) -> None:
        if self._forced.is_set():
            raise ServerShutdown("force-closed by the server")
