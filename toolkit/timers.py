"""A deadline heap: the earliest deadline in O(1), arm and re-arm in O(log n), no scans.

Re-arming pushes a new entry and leaves the old one to be skipped when it surfaces (lazy
deletion); the heap is rebuilt when stale entries outnumber live ones, so it stays O(live).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable

__all__ = ["TimerHeap"]

# Rebuild once the heap holds this many more entries than there are live timers.
_COMPACT_SLACK = 64


class TimerHeap:
    """One pending deadline per key."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._armed: dict[Hashable, tuple[float, int]] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._armed)

    def arm(self, key: Hashable, deadline: float) -> None:
        """Set (or move) `key`'s deadline."""
        entry = (deadline, next(self._seq))
        self._armed[key] = entry
        heapq.heappush(self._heap, (*entry, key))
        if len(self._heap) > 2 * len(self._armed) + _COMPACT_SLACK:
            self._heap = [(d, s, k) for k, (d, s) in self._armed.items()]
            heapq.heapify(self._heap)

    def deadline(self, key: Hashable) -> float | None:
        """`key`'s pending deadline, or None."""
        entry = self._armed.get(key)
        return None if entry is None else entry[0]

    def cancel(self, key: Hashable) -> None:
        self._armed.pop(key, None)

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Hashable]:
        """Remove and return the keys whose deadline is at or before `now`, earliest first."""
        due: list[Hashable] = []
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, _, key = heapq.heappop(self._heap)
            del self._armed[key]
            due.append(key)

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            deadline, seq, key = heap[0]
            if self._armed.get(key) == (deadline, seq):
                return
            heapq.heappop(heap)
