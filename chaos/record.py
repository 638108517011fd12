"""One record per client connection: what happened on the wire, stamped with ``time.monotonic()``.

The clock is the same one the toolkit server logs with, so an in-process test can join a client
record to the server's events through ``local_port``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from .jsondata import JSONObject, Scalar, as_object

__all__ = ["REPLY_HEAD", "TIMESTAMPS", "ClientRecord", "Outcome", "ServerEnd", "server_end"]

# Bytes of the server's first reply a record keeps: a status line and headers (an HTTP 503),
# a PostgreSQL ErrorResponse or a Redis error line all fit.
REPLY_HEAD = 512

# Every stamp a record may have besides ``started`` (each at or after it).
TIMESTAMPS = (
    "connected",
    "first_sent",
    "last_sent",
    "first_byte",
    "server_eof",
    "server_closed",
    "reset",
    "closed",
)


class Outcome(StrEnum):
    """How a connection ended; exactly one per record."""

    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    CLOSED_BY_SERVER = "closed_by_server"
    RESET_BY_SERVER = "reset_by_server"
    HELD_TO_END = "held_to_end"
    COMPLETED = "completed"
    ERROR = "error"


class ServerEnd(StrEnum):
    """How the server ended a connection, named as records and the timeline count it."""

    # Its FIN: we read EOF, or saw its socket close while the FIN waited behind our unread bytes.
    CLOSED = "closed_by_server"
    RESET = "reset"  # its RST


def server_end(
    eof: float | None, reset: float | None, closed: float | None = None
) -> tuple[ServerEnd, float] | None:
    """How and when the server ended a connection: its FIN or its RST, whichever we saw first;
    a FIN stuck behind bytes we had not read counts from when the server's socket was seen to
    close (``closed``).

    The one rule for it: a session's outcome, a record's "closed after", the checkers and the
    timeline all ask here. Seen at the same instant, a FIN wins (the reset came after it).
    """
    if closed is not None and (eof is None or closed < eof):
        eof = closed
    if reset is not None and (eof is None or reset < eof):
        return ServerEnd.RESET, reset
    if eof is not None:
        return ServerEnd.CLOSED, eof
    return None


def _is_bytes_text(value: object) -> bool:
    """Text that stands for at most REPLY_HEAD bytes, one character each."""
    return isinstance(value, str) and len(value) <= REPLY_HEAD and all(ord(c) < 256 for c in value)


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientRecord:
    """What one client connection did and saw.

    ``reset`` is when the *server's* reset was observed; our own abort (the ``reset`` fault) shows
    as ``closed`` with ``detail["aborted"]``. ``server_closed`` is when the server's own socket
    (on this host) was seen to close while its FIN waited behind bytes we had not read.
    ``sent_digest`` is the SHA-256 of every byte sent, so two runs of one plan can be compared
    without keeping the bytes. ``reply_head`` is the first :data:`REPLY_HEAD` bytes the server
    sent, one character per byte (latin-1), so a protocol profile can read a rejection such as
    ``-ERR max number of clients reached`` from it.
    """

    kind: str
    index: int
    local_port: int | None
    started: float
    connected: float | None = None
    first_sent: float | None = None
    last_sent: float | None = None
    first_byte: float | None = None
    server_eof: float | None = None
    server_closed: float | None = None
    reset: float | None = None
    closed: float | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    outcome: Outcome
    error: str | None = None
    status: int | None = None
    sent_digest: str = ""
    reply_head: str = ""
    detail: dict[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError(f"kind: expected a fault name, got {self.kind!r}")
        for name in ("index", "bytes_sent", "bytes_received"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
        if self.local_port is not None and not (
            isinstance(self.local_port, int) and 0 < self.local_port < 65536
        ):
            raise ValueError(f"local_port: expected 1..65535 or None, got {self.local_port!r}")
        if not _is_time(self.started):
            raise ValueError(f"started: expected a monotonic time, got {self.started!r}")
        for name in TIMESTAMPS:
            value = getattr(self, name)
            if value is not None and not _is_time(value):
                raise ValueError(f"{name}: expected a monotonic time or None, got {value!r}")
            if value is not None and value < self.started:
                raise ValueError(f"{name}: {value} is before started {self.started}")
        if not isinstance(self.outcome, Outcome):
            raise ValueError(f"outcome: expected an Outcome, got {self.outcome!r}")
        if self.outcome is Outcome.ERROR and not self.error:
            raise ValueError("error: an 'error' outcome needs its error text")
        if self.status is not None and not (isinstance(self.status, int) and 100 <= self.status):
            raise ValueError(f"status: expected an HTTP status code or None, got {self.status!r}")
        if not _is_bytes_text(self.reply_head):
            raise ValueError(f"reply_head: expected at most {REPLY_HEAD} latin-1 characters")
        if not isinstance(self.detail, dict):
            raise ValueError(f"detail: expected a dict, got {type(self.detail).__name__}")

    def number(self, key: str) -> float | None:
        """``detail[key]`` when it is a number (a latency, a count), else None."""
        value = self.detail.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value

    @property
    def reply(self) -> bytes:
        """The first bytes the server sent (at most :data:`REPLY_HEAD`), as bytes again."""
        return self.reply_head.encode("latin-1")

    @property
    def server_ended(self) -> ServerEnd | None:
        """How the server ended the connection (see :func:`server_end`), or None if it did not."""
        end = server_end(self.server_eof, self.reset, self.server_closed)
        return None if end is None else end[0]

    @property
    def server_ended_at(self) -> float | None:
        """When the server ended the connection (monotonic), or None if it did not."""
        end = server_end(self.server_eof, self.reset, self.server_closed)
        return None if end is None else end[1]

    @property
    def server_closed_after(self) -> float | None:
        """Seconds from our connect to the server's EOF or reset, whichever came first."""
        ended = self.server_ended_at
        if self.connected is None or ended is None:
            return None
        return ended - self.connected

    @property
    def ended_at(self) -> float | None:
        """When the connection ended, by the server or by us; None if it never opened or is open."""
        ends = [t for t in (self.server_ended_at, self.closed) if t is not None]
        return min(ends) if ends else None

    def to_json(self) -> JSONObject:
        """A JSON-safe dict; :meth:`from_json` rebuilds an equal record from it."""
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_json(cls, data: JSONObject | str) -> ClientRecord:
        """Rebuild a record from :meth:`to_json` output (a dict or its JSON text)."""
        data = as_object(data, "record")
        fields = dict(data)
        try:
            fields["outcome"] = Outcome(str(fields.get("outcome")))
        except ValueError:
            raise ValueError(f"outcome: unknown outcome {data.get('outcome')!r}") from None
        try:
            return cls(**fields)
        except TypeError as exc:
            raise ValueError(f"record: {exc}") from None
