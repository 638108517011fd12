"""What the in-process checker reads of a server: its connection records and its counters.

Protocols, so any server whose log has these fields can be judged; toolkit's
``ConnectionRecord`` and ``Stats`` are what the harness hands over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ...record import ClientRecord

__all__ = ["Observation", "ServerRecord", "ServerStats"]


class ServerRecord(Protocol):
    """One connection as the server logged it, on the clients' monotonic clock."""

    @property
    def peer_port(self) -> int: ...
    @property
    def accepted(self) -> float: ...
    @property
    def admitted(self) -> float | None: ...  # counted as open; None if rejected at accept
    @property
    def first_byte(self) -> float | None: ...
    @property
    def closed(self) -> float | None: ...
    @property
    def reason(self) -> str | None: ...  # its close reason, as toolkit's CloseReason names it


class ServerStats(Protocol):
    """The server's counters and gauge high-water marks over the run."""

    @property
    def max_busy(self) -> int: ...
    @property
    def max_pending(self) -> int: ...
    @property
    def max_open(self) -> int: ...
    @property
    def accepted(self) -> int: ...
    @property
    def closed(self) -> int: ...
    @property
    def reasons(self) -> Mapping[str, int]: ...
    @property
    def duplicate_closes(self) -> int: ...
    @property
    def handler_errors(self) -> int: ...


@dataclass(frozen=True)
class Observation:
    """Everything recorded about one run against an in-process server."""

    clients: Sequence[ClientRecord]
    server: Sequence[ServerRecord]
    stats: ServerStats
    recovery: ClientRecord | None = None  # a probe sent after the plan
    leaked_threads: Sequence[str] = field(default_factory=tuple)
    leaked_fds: int = 0
    log_complete: bool = True  # False if old records rolled off the server's log
