"""The one clock the server logs with: monotonic seconds, readable by in-process clients too."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["now"]

# Monotonic seconds; the chaos clients record with the same clock so timelines join. The C
# function itself, not a wrapper: the server reads the clock about ten times per connection.
now: Callable[[], float] = time.monotonic
