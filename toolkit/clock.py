"""The one clock the server logs with: monotonic seconds, readable by in-process clients too."""

from __future__ import annotations

import time

__all__ = ["now"]


def now() -> float:
    """Monotonic seconds; the chaos clients record with the same clock so timelines join."""
    return time.monotonic()
