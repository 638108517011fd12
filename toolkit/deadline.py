"""Per-connection deadline bookkeeping, free of I/O so every phase can be tested with plain numbers.

A connection alternates between reading a request and writing its response. Reading is bounded
twice: `idle_timeout` since the last activity (the accept, the last byte read or written) and
`request_timeout` for the whole request from its first byte. Writing is bounded once:
`write_timeout` for the whole response. The phase flips on the first write after a read and on
the first read after a write.
"""

from __future__ import annotations

from enum import Enum

from .errors import ConnectionEnded, IdleTimeout, RequestTimeout, RequestTooLarge, WriteTimeout

__all__ = ["Deadlines", "Phase"]


class Phase(Enum):
    AWAITING = "awaiting"  # waiting for the first byte of a request
    READING = "reading"  # part of a request has arrived
    PROCESSING = "processing"  # the whole request is in; no response byte sent yet
    WRITING = "writing"  # sending a response


class Deadlines:
    """Time left before the next read or write must give up, and which error it gives up with."""

    __slots__ = (
        "_idle",
        "_max_bytes",
        "_request",
        "_write",
        "last_activity",
        "phase",
        "request_bytes",
        "request_started",
        "write_started",
    )

    def __init__(
        self,
        *,
        idle_timeout: float,
        request_timeout: float,
        write_timeout: float,
        max_bytes: int,
        since: float,
    ) -> None:
        self._idle = idle_timeout
        self.last_activity = since
        self._request = request_timeout
        self._write = write_timeout
        self._max_bytes = max_bytes
        self.phase = Phase.AWAITING
        self.request_started: float | None = None
        self.write_started: float | None = None
        self.request_bytes = 0

    def read_timeout(self, t: float) -> tuple[float, type[ConnectionEnded]]:
        """Seconds the next read may wait at time `t` (0: only what is already there), and the
        error to raise if nothing arrives. Raises at once when the request deadline has passed.
        """
        if self.phase is Phase.WRITING or self.phase is Phase.PROCESSING:
            self._next_request()
        idle_left = max(0.0, self.last_activity + self._idle - t)
        if self.phase is Phase.AWAITING:
            return idle_left, IdleTimeout
        assert self.request_started is not None
        left = self.request_started + self._request - t
        if left <= 0:
            raise RequestTimeout(f"request not complete after {self._request:g}s")
        if left < idle_left:
            return left, RequestTimeout
        return idle_left, IdleTimeout

    def bytes_read(self, t: float, count: int) -> bool:
        """Count `count` bytes read at `t`; True if they start a request. Enforces the size cap."""
        started = self.phase is Phase.AWAITING
        self.last_activity = t
        if started:
            self.phase = Phase.READING
            self.request_started = t
            self.request_bytes = 0
        self.request_bytes += count
        if self.request_bytes > self._max_bytes:
            raise RequestTooLarge(f"request exceeds {self._max_bytes} bytes")
        return started

    def write_timeout(self, t: float) -> float:
        """Seconds the next write may block at `t`; starts the write phase on its first call."""
        if self.phase is not Phase.WRITING:
            self.phase = Phase.WRITING
            self.write_started = t
        assert self.write_started is not None
        left = self.write_started + self._write - t
        if left <= 0:
            raise WriteTimeout(f"response not sent within {self._write:g}s")
        return left

    def bytes_written(self, t: float) -> None:
        """Sending is activity too: the wait for the next request counts from the last write."""
        self.last_activity = t

    def request_done(self) -> None:
        """The handler has the whole request: stop its clock until the next one starts."""
        if self.phase is Phase.READING:
            self.phase = Phase.PROCESSING

    def _next_request(self) -> None:
        self.phase = Phase.AWAITING
        self.request_started = None
        self.write_started = None
        self.request_bytes = 0

    @property
    def awaiting(self) -> bool:
        """True while waiting for the first byte of a request: safe to close on shutdown."""
        return self.phase is Phase.AWAITING
