"""The invariant checker: pure functions from recorded data to a list of violations.

:func:`check` judges a run against an in-process server from both sides: the chaos client
records and the server's event log, joined by the client's local port. :func:`check_wire`
judges a server in another process from what the wire alone shows. Neither touches a socket,
so each rule is tested on hand-made records, and shown to catch real violations.
"""

from __future__ import annotations

from .in_process import check
from .joins import join
from .records import Observation, ServerRecord, ServerStats
from .violation import Violation
from .wire import check_wire

__all__ = [
    "Observation",
    "ServerRecord",
    "ServerStats",
    "Violation",
    "check",
    "check_wire",
    "join",
]
