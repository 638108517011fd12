"""How late this process wakes while a stage runs: the machine's own scheduling delay.

A server on the same machine waits as long for a CPU, so a timeout it fires late by no more
than this may be the machine's doing, not its own (`checks.timing.excuse_lag`). A server late
on a machine that wakes us on time is late by itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

__all__ = ["SAMPLE", "Lateness", "sampled"]

# Sleep this long at a time, and count what is slept past it: a hundred wake-ups a second.
SAMPLE = 0.01


@dataclass
class Lateness:
    """The worst oversleep seen so far, in seconds."""

    worst: float = 0.0

    async def sample(self) -> None:
        """Sleep SAMPLE at a time until cancelled, keeping the worst oversleep."""
        while True:
            began = trio.current_time()
            await trio.sleep(SAMPLE)
            self.worst = max(self.worst, trio.current_time() - began - SAMPLE)


@asynccontextmanager
async def sampled() -> AsyncIterator[Lateness]:
    """How late this process woke while the block ran."""
    lateness = Lateness()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lateness.sample)
        try:
            yield lateness
        finally:
            nursery.cancel_scope.cancel()
