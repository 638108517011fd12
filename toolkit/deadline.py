"""Per-connection deadline bookkeeping, free of I/O so every phase can be tested with plain numbers.

A connection alternates between reading a request and writing its response. Reading is bounded
twice: `idle_timeout` for each next byte and `request_timeout` for the whole request from its
first byte. Writing is bounded once: `write_timeout` for the whole response. The phase flips on
the first write after a read and on the first read after a write.
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
        "phase",
        "request_bytes",
        "request_started",
        "write_started",
    )

    def __init__(
        self, *, idle_timeout: float, request_timeout: float, write_timeout: float, max_bytes: int
    ) -> None:
        self._idle = idle_timeout
        self._request = request_timeout
        self._write = write_timeout
        self._max_bytes = max_bytes
        self.phase = Phase.AWAITING
        self.request_started: float | None = None
        self.write_started: float | None = None
        self.request_bytes = 0

    def read_timeout(self, t: float) -> tuple[float, type[ConnectionEnded]]:
        """Seconds the next read may block at time `t`, and the error if it runs out.

        Raises at once when the request deadline has already passed.
        """
        if self.phase is Phase.WRITING or self.phase is Phase.PROCESSING:
            self._next_request()
        if self.phase is Phase.AWAITING:
            return self._idle, IdleTimeout
        assert self.request_started is not None
        left = self.request_started + self._request - t
        if left <= 0:
            raise RequestTimeout(f"request not complete after {self._request:g}s")
        if left < self._idle:
            return left, RequestTimeout
        return self._idle, IdleTimeout

    def bytes_read(self, t: float, count: int) -> bool:
        """Count `count` bytes read at `t`; True if they start a request. Enforces the size cap."""
        started = self.phase is Phase.AWAITING
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
