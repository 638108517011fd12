"""Open-file budget: raise the soft RLIMIT_NOFILE toward the hard limit when a plan needs it.

A plan that cannot fit is refused before its first connection, with the numbers, rather than
failing halfway with EMFILE: one process by :func:`ensure_capacity`, the shards of a run
together by :func:`check_shards` (the hard limit binds each process, so more processes fit
more sockets).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "RESERVE",
    "SHARD_BASE",
    "FdBudget",
    "FdLimitError",
    "LimitError",
    "check_shards",
    "ensure_capacity",
    "hard_limit",
    "open_fds",
]

if sys.platform != "win32":  # no RLIMIT_NOFILE on Windows: nothing to raise there
    import resource

# Descriptors kept free for trio's own wakeup pipes, stdio, logging and the odd file.
RESERVE = 64
# What a shard process has open before its clients (interpreter, epoll, pipes), with room.
SHARD_BASE = 32


class LimitError(ValueError):
    """A plan cannot fit this machine's limits (descriptors, ports): the message has the
    numbers and what to change. Raised before any connection is made."""


class FdLimitError(LimitError):
    """The open-file hard limit is too low for the plan; the message says what to change."""


@dataclass(frozen=True, kw_only=True)
class FdBudget:
    """What the limit was, what it is now, and how many descriptors the plan asked for."""

    needed: int
    in_use: int
    soft_before: int
    soft: int
    hard: int

    @property
    def raised(self) -> bool:
        """True when this call raised the soft limit."""
        return self.soft > self.soft_before


def open_fds() -> int:
    """Descriptors this process has open now (0 when the platform cannot tell)."""
    for path in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(path))
        except OSError:
            continue
    return 0


def hard_limit() -> int | None:
    """This process's open-file hard limit (children inherit it); None when unlimited."""
    if sys.platform == "win32":
        return None
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return None if hard == resource.RLIM_INFINITY else hard


def check_shards(counts: Sequence[int], *, hard: int | None = None) -> None:
    """Raise :class:`FdLimitError` unless each shard's ``counts`` sockets fit one process."""
    hard = hard_limit() if hard is None else hard
    if hard is None or not counts:
        return
    room = hard - RESERVE - SHARD_BASE
    most = max(counts)
    if most <= room:
        return
    total = sum(counts)
    enough = math.ceil(total / max(1, room))
    raise FdLimitError(
        f"plan needs {total:,} sockets: {most:,} in one of {len(counts)} processes, past the "
        f"open-file hard limit of {hard:,} per process; use --processes {enough} or more, "
        f"or lower the counts"
    )


def ensure_capacity(sockets: int) -> FdBudget:
    """Make room for ``sockets`` more descriptors, or raise :class:`FdLimitError` saying why."""
    in_use = open_fds()
    needed = in_use + sockets + RESERVE
    if sys.platform == "win32":
        return FdBudget(needed=needed, in_use=in_use, soft_before=0, soft=0, hard=0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    if needed > ceiling:
        raise FdLimitError(
            f"plan needs {sockets} sockets, but with {in_use} files open and the open-file hard "
            f"limit at {hard} only {max(0, ceiling - in_use - RESERVE)} fit; lower the counts or "
            f"raise the hard limit (ulimit -Hn)"
        )
    new_soft = soft
    if soft != resource.RLIM_INFINITY and needed > soft:
        new_soft = min(ceiling, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    return FdBudget(needed=needed, in_use=in_use, soft_before=soft, soft=new_soft, hard=hard)
