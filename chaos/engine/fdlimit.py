"""Open-file budget: raise the soft RLIMIT_NOFILE toward the hard limit when a plan needs it.

A plan that cannot fit is refused before its first connection, with the numbers, rather than
failing halfway with EMFILE.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = ["RESERVE", "FdBudget", "FdLimitError", "ensure_capacity", "open_fds"]

if sys.platform != "win32":  # no RLIMIT_NOFILE on Windows: nothing to raise there
    import resource

# Descriptors kept free for trio's own wakeup pipes, stdio, logging and the odd file.
RESERVE = 64


class FdLimitError(ValueError):
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
