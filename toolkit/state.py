"""`ConnectionState`: every rule that decides when a connection must give up, in one place.

Sans-I/O, as h11's `ConnectionState`: the time is passed in, so each rule is tested with plain
numbers. One state travels with its connection from the accept to the close; the acceptor, the
readiness stage, the queue and the workers ask it for the next deadline and keep no copy of
the rule.

A connection cycles through requests. The request side goes AWAITING (no byte of the next
request yet) -> READING (its first byte arrived) -> DONE (the handler has it all); the response
side is IDLE or SENDING. `response_complete` ends a cycle; bytes of the next request already
read (pipelining) start the next one at once, from when they arrived.

Where the connection is decides which deadlines apply:

- parked, or on a worker waiting to read: `idle_timeout` since the last byte in or out (or
  the handshake) and `request_timeout` since the request's first byte;
- on a worker, sending: `write_timeout` since this response's first byte;
- on a worker, processing (request in, no response byte yet): none (the app's own time);
- queued for a worker: `queue_timeout` since it was queued, and `idle_timeout` too while
  nothing at all has arrived (a silent client is cut while it waits);
- lingering after the close: `LINGER_TIMEOUT` since the close.
"""

from __future__ import annotations

from enum import Enum

from .config import ServerConfig
from .errors import RequestTooLarge
from .events import CloseReason

__all__ = ["LINGER_TIMEOUT", "ConnectionState", "Phase", "Place"]

# After a close that sends a final status (or turns a client away), drain what the client is
# still sending for at most this long, so it reads the status instead of a reset. Long enough
# for a client on a fast link to finish an upload we refused (4 MB on loopback takes
# milliseconds); short enough that lingering descriptors cannot pile up.
LINGER_TIMEOUT = 2.0


class Phase(Enum):
    """Where the connection is in its request-response cycle."""

    AWAITING = "awaiting"  # waiting for the first byte of a request
    READING = "reading"  # part of a request has arrived
    PROCESSING = "processing"  # the whole request is in; no response byte sent yet
    WRITING = "writing"  # sending a response


class Place(Enum):
    """Who holds the connection, which decides the deadlines that apply."""

    NEW = "new"  # accepted, not yet placed
    PARKED = "parked"  # in the readiness stage, waiting for the client
    QUEUED = "queued"  # waiting for a worker
    WORKER = "worker"  # held by a worker (or the thread of a naive model)
    LINGERING = "lingering"  # closed; draining what the client still sends
    CLOSED = "closed"


class ConnectionState:
    """A connection's phase, place, deadlines, byte counts and worker time; the time passed in."""

    __slots__ = (
        "_config",
        "_dispatched",
        "_hold_started",
        "_input",
        "_request_done",
        "accepted",
        "bytes_in",
        "bytes_out",
        "closed_at",
        "first_byte",
        "last_activity",
        "last_received",
        "peer_eof",
        "place",
        "queued_at",
        "reason",
        "request_bytes",
        "request_started",
        "responses",
        "worker_longest",
        "worker_time",
        "write_started",
    )

    def __init__(
        self, config: ServerConfig, accepted: float, connected: float | None = None
    ) -> None:
        self._config = config
        self.accepted = accepted
        self.place = Place.NEW
        # The idle clock runs from the handshake (`connected`, when the kernel says), else
        # from the accept: a client kept waiting in the listen backlog was silent there too.
        self.last_activity = accepted if connected is None else connected
        self.last_received: float | None = None
        self.request_started: float | None = None  # first byte of the current request
        self._request_done = False
        self.request_bytes = 0
        self._input = False  # something of the current request is known to have arrived
        self.write_started: float | None = None  # first byte of the current response
        self.queued_at: float | None = None
        self.first_byte: float | None = None  # of the whole connection
        self.peer_eof = False
        self.bytes_in = 0
        self.bytes_out = 0
        self.responses = 0
        self._dispatched = False
        self._hold_started: float | None = None
        self.worker_time = 0.0
        self.worker_longest = 0.0
        self.closed_at: float | None = None
        self.reason: CloseReason | None = None

    # --- the request-response cycle ----------------------------------------------------------

    @property
    def phase(self) -> Phase:
        if self.write_started is not None:
            return Phase.WRITING
        if self._request_done:
            return Phase.PROCESSING
        if self.request_started is not None:
            return Phase.READING
        return Phase.AWAITING

    @property
    def awaiting(self) -> bool:
        """Between requests: nothing of a next request read or known to be waiting."""
        return self.phase is Phase.AWAITING and not self._input

    def receive_budget(self) -> int:
        """Most bytes worth reading now: one past what the request may still grow by, so a read
        finds an oversized request without swallowing the pipelined requests after it."""
        return max(1, self._config.max_request_bytes - self.request_bytes + 1)

    def received(self, t: float, count: int) -> bool:
        """`count` bytes arrived at `t`; True if they are the connection's first. Raises
        RequestTooLarge once the current request exceeds max_request_bytes."""
        if self._request_done:
            self._end_cycle(carried=0)  # a session serving several requests per call
        self.last_activity = self.last_received = t
        self.bytes_in += count
        if self.request_started is None:
            self.request_started = t
            self._input = True
        self.request_bytes += count
        first = self.first_byte is None
        if first:
            self.first_byte = t
        if self.request_bytes > self._config.max_request_bytes:
            raise RequestTooLarge(f"request exceeds {self._config.max_request_bytes} bytes")
        return first

    def peer_closed(self) -> None:
        """The client shut its sending side (EOF)."""
        self.peer_eof = True

    def input_waiting(self) -> None:
        """Bytes (or an EOF) are waiting in the socket, not yet read: the client is not silent."""
        self._input = True

    def request_complete(self) -> None:
        """The handler has the whole request: its clock stops until the next one starts."""
        if self.request_started is not None:
            self._request_done = True

    def reading(self, t: float) -> tuple[float, CloseReason]:
        """A read is about to wait at `t`: until when, and the reason to give up with then."""
        if self._request_done:
            self._end_cycle(carried=0)  # a session serving several requests per call
        return self._read_deadline()

    def writing(self, t: float) -> float:
        """A write of the response is about to happen at `t`: the time it must finish by.

        The first write of a response starts its clock, and ends the request if the handler
        did not say so (an answer means it has read what it wanted)."""
        if self.write_started is None:
            self.write_started = t
            if self.request_started is not None:
                self._request_done = True
        return self.write_started + self._config.write_timeout

    def interim_deadline(self, t: float) -> float:
        """When an interim response (HTTP 100 Continue) begun at `t` must be sent by; it is not
        the response, so it starts no response clock and leaves the request open."""
        return t + self._config.write_timeout

    def wrote(self, t: float, count: int) -> None:
        """Sending is activity too: the wait for the next request counts from the last write."""
        self.bytes_out += count
        self.last_activity = t

    def response_complete(self, carried: int = 0) -> None:
        """The response is out (if one was sent): the cycle ends. `carried` bytes of the next
        request were already read with this one; that request began when they arrived."""
        self._end_cycle(carried)

    def _end_cycle(self, carried: int) -> None:
        if self.write_started is not None:
            self.responses += 1
        self.write_started = None
        self._request_done = False
        if carried > 0:
            assert self.last_received is not None
            self.request_started = self.last_received
            self.request_bytes = carried
            self._input = True
        else:
            self.request_started = None
            self.request_bytes = 0
            self._input = False

    def clean_close_reason(self) -> CloseReason:
        """How a connection ends when either side closes it cleanly between requests."""
        return CloseReason.COMPLETED if self.responses else CloseReason.PEER_CLOSED

    # --- who holds it --------------------------------------------------------------------------

    def parked(self) -> None:
        self.place = Place.PARKED

    def queued(self, t: float) -> None:
        self.place = Place.QUEUED
        self.queued_at = t

    def taken(self, t: float) -> bool:
        """A worker took the connection at `t`; True the first time."""
        first = not self._dispatched
        self._dispatched = True
        self.place = Place.WORKER
        self.queued_at = None
        self._hold_started = t
        return first

    def released(self, t: float) -> None:
        """The worker let go at `t` (to park it, or because it closed)."""
        if self._hold_started is not None:
            held = t - self._hold_started
            self.worker_time += held
            self.worker_longest = max(self.worker_longest, held)
            self._hold_started = None

    def close(self, t: float, reason: CloseReason) -> bool:
        """The connection ends at `t` for `reason`; False if it had already ended (a bug)."""
        if self.reason is not None:
            return False
        self.released(t)
        self.reason = reason
        self.closed_at = t
        self.place = Place.CLOSED
        return True

    def lingering(self) -> None:
        """Closed, but the socket drains what the client still sends until `next_deadline`."""
        self.place = Place.LINGERING

    # --- deadlines -----------------------------------------------------------------------------

    def next_deadline(self) -> tuple[float, CloseReason] | None:
        """The next deadline where the connection is now, and the reason it closes with then;
        None while nothing bounds it (processing, or not placed yet)."""
        place = self.place
        if place is Place.PARKED:
            return self._read_deadline()
        if place is Place.QUEUED:
            assert self.queued_at is not None
            config = self._config
            queue = self.queued_at + config.queue_timeout, CloseReason.REJECTED_QUEUE_TIMEOUT
            if self._input:
                return queue
            return min(queue, (self.last_activity + config.idle_timeout, CloseReason.IDLE_TIMEOUT))
        if place is Place.WORKER:
            if self.write_started is not None:
                return self.write_started + self._config.write_timeout, CloseReason.WRITE_TIMEOUT
            if self._request_done:
                return None
            return self._read_deadline()
        if place is Place.LINGERING:
            assert self.closed_at is not None and self.reason is not None
            return self.closed_at + LINGER_TIMEOUT, self.reason
        return None

    def expired(self, t: float) -> CloseReason | None:
        """The reason to close for if a deadline has passed at `t`, else None."""
        due = self.next_deadline()
        if due is not None and due[0] <= t:
            return due[1]
        return None

    def _read_deadline(self) -> tuple[float, CloseReason]:
        idle = self.last_activity + self._config.idle_timeout
        if self.request_started is not None:
            request = self.request_started + self._config.request_timeout
            if request < idle:
                return request, CloseReason.REQUEST_TIMEOUT
        return idle, CloseReason.IDLE_TIMEOUT
