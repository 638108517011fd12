"""One module per verify check: the clients it sends and the pure judge of their records.

Each module is a :class:`~chaos.verify.checks.base.Check`: ``CHECK`` names its row of the
verdict table and ``judge(evidence, settings)`` decides it; :mod:`.timing` holds the rule the
three timeout checks share.
"""

from __future__ import annotations

from . import (
    flood,
    half_close,
    hogging,
    idle_timeout,
    keepalive_timeout,
    max_connections,
    request_timeout,
    resets,
    timing,
    write_timeout,
)
from .base import Aftermath, AttackCheck, Check, TimeoutCheck

__all__ = [
    "Aftermath",
    "AttackCheck",
    "Check",
    "TimeoutCheck",
    "flood",
    "half_close",
    "hogging",
    "idle_timeout",
    "keepalive_timeout",
    "max_connections",
    "request_timeout",
    "resets",
    "timing",
    "write_timeout",
]
