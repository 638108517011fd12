"""How late this process wakes while a stage runs: the machine's own scheduling delay.

A server on the same machine waits as long for a CPU, so a timeout it fires late by no more
than this may be the machine's doing, not its own (`checks.timing.excuse_lag`, and the wire
checks of `chaos.testing.conformance`). A server late on a machine that wakes us on time is
late by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import trio

__all__ = ["SAMPLE", "Lateness", "sampled", "sampling"]

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
            try:
                await trio.sleep(SAMPLE)
            finally:
                # Also when cancelled: a stall that lasted to the block's end is seen here
                # first, as the cancellation that ends this sleep.
                self.note(trio.current_time() - began)

    def note(self, slept: float) -> None:
        """Keep the oversleep of one sleep of SAMPLE that took ``slept`` seconds (one cut
        short took less, and is no oversleep)."""
        self.worst = max(self.worst, slept - SAMPLE)


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


@contextmanager
def sampling() -> Iterator[Lateness]:
    """How late a thread of this process woke while the block ran: the same measure for code
    that runs trio itself, call by call (a thread also waits for the GIL, as a server's timer
    thread in this process does)."""
    lateness = Lateness()
    stop = threading.Event()

    def sample() -> None:
        while True:
            began = time.monotonic()
            stopped = stop.wait(SAMPLE)
            # Also when stopped: a stall that lasted to the block's end is seen here first,
            # once the stop is already set.
            lateness.note(time.monotonic() - began)
            if stopped:
                return

    thread = threading.Thread(target=sample, name="chaos-lateness", daemon=True)
    thread.start()
    try:
        yield lateness
    finally:
        stop.set()
        thread.join()
