"""The one place clients are placed and run: slots built from groups, started on their schedule.

A :class:`Group` is some clients of one fault (the positions of one spec of a plan); a
:class:`Crowd` builds every slot of its groups, each with its index and seeded randomness,
runs them in one trio nursery and closes every socket in a ``finally``, so neither a time
limit nor an exception leaks one. The plan runner, verify's stages and the one-client
functions all run through it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

import trio

from ..record import ClientRecord
from ..target import Endpoint
from .payload import client_rng
from .slot import Slot

__all__ = ["GATE_POLL", "Crowd", "Group"]

# How often a gated group checks whether the other clients' first connects have settled.
GATE_POLL = 0.005


@dataclass(frozen=True, kw_only=True)
class Group:
    """Clients of one fault: ``drive`` runs one in its slot; ``delay(position)`` is when it
    starts, in seconds after the crowd does; ``spec`` and the positions seed its randomness."""

    kind: str
    drive: Callable[[Slot], Awaitable[None]]
    positions: range
    delay: Callable[[int], float]
    spec: int = 0


@dataclass(frozen=True, slots=True)
class _Placed:
    slot: Slot
    group: int
    delay: float


def _settled(slot: Slot) -> bool:
    """True once the slot's first connect finished: open, or failed (its socket closed)."""
    if not slot.sessions:
        return False
    first = slot.sessions[0]
    return first.connected is not None or first.sock is None


class Crowd:
    """Every client of some groups; :meth:`run` runs them all, :meth:`records` reads them.

    A slot's index counts every slot of the groups before its own plus its position, so the
    slots of a plan are numbered in plan order and a lone client keeps the index it asked for.
    """

    def __init__(
        self,
        groups: Sequence[Group],
        endpoint: Endpoint,
        *,
        seed: int,
        until: Collection[int] = (),
        gated: Collection[int] = (),
    ) -> None:
        """``until``: the crowd ends once every client of these groups has ended. ``gated``:
        these groups' delays count from the moment every other client's first connect settled
        (opened or failed), so a probe never races holders still retrying a dropped SYN."""
        self.groups = tuple(groups)
        self._placed: list[_Placed] = []
        offset = 0
        for number, group in enumerate(self.groups):
            for position in group.positions:
                slot = Slot(
                    kind=group.kind,
                    index=offset + position,
                    endpoint=endpoint,
                    rng=client_rng(seed, group.spec, position),
                )
                self._placed.append(_Placed(slot, number, group.delay(position)))
            offset += len(group.positions)
        self._until = frozenset(until)
        self._gated = frozenset(gated)
        self._waiting = sum(1 for p in self._placed if p.group in self._until)
        self._load = [p.slot for p in self._placed if p.group not in self._gated]
        self.finished = 0
        self.began = 0.0  # trio's clock when the run began
        self.started = 0.0  # time.monotonic() when the run began
        self.ended = 0.0

    @property
    def slots(self) -> list[Slot]:
        """Every slot, in index order."""
        return [p.slot for p in self._placed]

    @property
    def not_started(self) -> int:
        """Clients that never opened a session (the run ended before their start)."""
        return sum(1 for p in self._placed if not p.slot.sessions)

    def settled(self) -> bool:
        """True once every client's first connect has finished: opened, or failed."""
        return all(_settled(p.slot) for p in self._placed)

    def open_sockets(self) -> int:
        """Sockets open right now across the crowd."""
        return sum(p.slot.open_sockets() for p in self._placed)

    async def run(self, *, limit: float | None = None) -> None:
        """Run every client until all have ended, the ``until`` groups have, or ``limit`` s."""
        self.started = time.monotonic()
        self.began = trio.current_time()
        try:
            with trio.move_on_after(float("inf") if limit is None else limit):
                async with trio.open_nursery() as nursery:
                    for placed in self._placed:
                        nursery.start_soon(self._client, placed, nursery.cancel_scope)
        finally:
            self.close()
            self.ended = time.monotonic()

    async def _client(self, placed: _Placed, scope: trio.CancelScope) -> None:
        group = self.groups[placed.group]
        try:
            at = self.began + placed.delay
            if placed.group in self._gated:
                while not all(_settled(s) for s in self._load):
                    await trio.sleep(GATE_POLL)
                at = trio.current_time() + placed.delay
            await trio.sleep_until(at)
            await group.drive(placed.slot)
        finally:
            placed.slot.close()
            self.finished += 1
            if placed.group in self._until:
                self._waiting -= 1
                if self._waiting == 0:
                    scope.cancel()

    def close(self) -> None:
        """Close every socket of every slot (idempotent)."""
        for placed in self._placed:
            placed.slot.close()

    def records(self, group: int | None = None) -> list[ClientRecord]:
        """One record per session, in slot order; only those of ``group`` if given."""
        return [
            record
            for placed in self._placed
            if group is None or placed.group == group
            for record in placed.slot.records()
        ]
