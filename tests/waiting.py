"""Bounded waits for conditions no event announces (another process's state, /proc)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["POLL", "wait_until"]

# How often a condition is looked at again: short beside any timeout a test waits on.
POLL = 0.01


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether ``condition`` became true within ``timeout`` seconds (looked at every POLL)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL)
    return condition()
