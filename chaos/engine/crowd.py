"""The one place clients are placed and run: slots built from groups, started on their schedule.

A :class:`Group` is some clients of one fault (the positions of one spec of a plan, or of
its segment); a :class:`Crowd` builds every client of its groups, each with its index and
seeded randomness, runs them in one trio nursery and closes every socket in a ``finally``,
so neither a time limit nor an exception leaks one. A group with a ``drive`` runs a trio task
per client in a :class:`~chaos.engine.slot.Slot`; a group with a ``script`` runs all its
clients in one :class:`~chaos.engine.swarm.Swarm`. The plan runner, verify's stages and the
one-client functions all run through it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

import trio

from ..record import ClientRecord
from ..target import Endpoint
from .payload import client_rng
from .slot import Slot
from .swarm import Script, Swarm, SwarmSlot

__all__ = ["GATE_POLL", "Crowd", "Group"]

# How often a gated group checks whether the other clients' first connects have settled.
GATE_POLL = 0.005


@dataclass(frozen=True, kw_only=True)
class Group:
    """Clients of one fault: ``drive`` runs one in its slot, or ``script`` says what each does
    in a swarm (exactly one of the two); ``delay(position)`` is when a client starts, in
    seconds after the crowd does; ``spec`` and the position seed its randomness; ``first`` is
    the plan index of position 0, so a client's index is ``first + position``."""

    kind: str
    positions: Sequence[int]
    delay: Callable[[int], float]
    drive: Callable[[Slot], Awaitable[None]] | None = None
    script: Script | None = None
    spec: int = 0
    first: int = 0

    def __post_init__(self) -> None:
        if (self.drive is None) == (self.script is None):
            raise ValueError("group: give exactly one of drive and script")


# Where a client binds its connections: the source address for a plan index (None: the
# system's choice).
SourceOf = Callable[[int], str | None]


def _system_source(index: int) -> None:
    return None


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
        source: SourceOf = _system_source,
    ) -> None:
        """``until``: the crowd ends once every client of these groups has ended. ``gated``:
        these groups' delays count from the moment every other client's first connect settled
        (opened or failed), so a probe never races holders still retrying a dropped SYN.
        ``source`` picks each client's source address."""
        self.groups = tuple(groups)
        self._placed: list[_Placed] = []
        self._swarms: dict[int, Swarm] = {}
        for number, group in enumerate(self.groups):
            if group.script is not None:
                self._swarms[number] = _swarm(group, group.script, endpoint, seed, source)
                continue
            for position in group.positions:
                index = group.first + position
                slot = Slot(
                    kind=group.kind,
                    index=index,
                    endpoint=endpoint,
                    rng=_seeded(seed, group.spec, position),
                    source=source(index),
                )
                self._placed.append(_Placed(slot, number, group.delay(position)))
        self._until = frozenset(until)
        self._gated = frozenset(gated)
        self._waiting = sum(len(self.groups[n].positions) for n in self._until)
        self._load = [p.slot for p in self._placed if p.group not in self._gated]
        self._load_swarms = [s for n, s in self._swarms.items() if n not in self._gated]
        self.finished = 0
        self.began = 0.0  # trio's clock when the run began
        self.started = 0.0  # time.monotonic() when the run began
        self.ended = 0.0

    @property
    def total(self) -> int:
        """Clients in the crowd."""
        return sum(len(group.positions) for group in self.groups)

    @property
    def not_started(self) -> int:
        """Clients that never opened a session (the run ended before their start)."""
        waiting = sum(1 for p in self._placed if not p.slot.sessions)
        return waiting + sum(swarm.not_started for swarm in self._swarms.values())

    def settled(self) -> bool:
        """True once every client's first connect has finished: opened, or failed."""
        return all(_settled(p.slot) for p in self._placed) and all(
            swarm.all_settled() for swarm in self._swarms.values()
        )

    def open_sockets(self) -> int:
        """Sockets open right now across the crowd."""
        slots = sum(p.slot.open_sockets() for p in self._placed)
        return slots + sum(swarm.open_sockets() for swarm in self._swarms.values())

    @property
    def done(self) -> int:
        """Clients that have ended (every connection of theirs closed)."""
        return self.finished + sum(swarm.finished for swarm in self._swarms.values())

    def _load_settled(self) -> bool:
        return all(_settled(s) for s in self._load) and all(
            swarm.all_settled() for swarm in self._load_swarms
        )

    async def run(
        self,
        *,
        limit: float | None = None,
        at: float | None = None,
        watch: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Run every client until all have ended, the ``until`` groups have, or ``limit`` s.

        ``at`` is the ``time.monotonic()`` instant the clients' clock starts (default: now):
        shards of one plan start on the same instant; ``limit`` counts from it. ``watch``
        runs beside the clients (reading their ``records(live=True)``, say): once it returns, the
        run ends as at its limit; it is cancelled when the clients are done first.
        """
        if at is not None:
            await trio.sleep(max(0.0, at - time.monotonic()))
        self.started = time.monotonic() if at is None else at
        self.began = trio.current_time() - (time.monotonic() - self.started)
        try:
            with trio.move_on_at(self.began + (math.inf if limit is None else limit)):
                async with trio.open_nursery() as watching:
                    if watch is not None:
                        watching.start_soon(_until_returns, watch, watching.cancel_scope)
                    async with trio.open_nursery() as nursery:
                        for number, swarm in self._swarms.items():
                            nursery.start_soon(self._swarm, number, swarm, nursery.cancel_scope)
                        for placed in self._placed:
                            nursery.start_soon(self._client, placed, nursery.cancel_scope)
                    watching.cancel_scope.cancel()
        finally:
            self.close()
            self.ended = time.monotonic()

    async def _gate(self) -> None:
        while not self._load_settled():
            await trio.sleep(GATE_POLL)

    def _ended(self, group: int, clients: int, scope: trio.CancelScope) -> None:
        if group in self._until:
            self._waiting -= clients
            if self._waiting == 0:
                scope.cancel()

    async def _swarm(self, number: int, swarm: Swarm, scope: trio.CancelScope) -> None:
        try:
            begin = self.started
            if number in self._gated:
                await self._gate()
                begin = time.monotonic()
            await swarm.run(begin)
        finally:
            swarm.close()
            self._ended(number, swarm.size, scope)

    async def _client(self, placed: _Placed, scope: trio.CancelScope) -> None:
        group = self.groups[placed.group]
        try:
            at = self.began + placed.delay
            if placed.group in self._gated:
                await self._gate()
                at = trio.current_time() + placed.delay
            await trio.sleep_until(at)
            assert group.drive is not None
            await group.drive(placed.slot)
        finally:
            placed.slot.close()
            self.finished += 1
            self._ended(placed.group, 1, scope)

    def close(self) -> None:
        """Close every socket of every client (idempotent)."""
        for placed in self._placed:
            placed.slot.close()
        for swarm in self._swarms.values():
            swarm.close()

    def records(self, group: int | None = None, *, live: bool = False) -> list[ClientRecord]:
        """One record per session, in plan order; only those of ``group`` if given.
        ``live``: the records so far, while the clients run, leaving every socket open."""
        out: list[ClientRecord] = []
        for number in range(len(self.groups)) if group is None else [group]:
            swarm = self._swarms.get(number)
            if swarm is not None:
                out.extend(swarm.records())  # reads its connections, closes none
            else:
                for placed in self._placed:
                    if placed.group == number:
                        out.extend(placed.slot.records(live=live))
        return out


async def _until_returns(watch: Callable[[], Awaitable[None]], scope: trio.CancelScope) -> None:
    await watch()
    scope.cancel()


def _seeded(seed: int, spec: int, position: int) -> Callable[[], random.Random]:
    """A client's random source, made when first used (a silent client never needs one)."""
    return lambda: client_rng(seed, spec, position)


def _swarm(group: Group, script: Script, endpoint: Endpoint, seed: int, source: SourceOf) -> Swarm:
    slots = [
        SwarmSlot(
            index=group.first + position,
            delay=group.delay(position),
            position=position,
            source=source(group.first + position),
        )
        for position in group.positions
    ]
    return Swarm(
        script,
        kind=group.kind,
        slots=slots,
        endpoint=endpoint,
        rng=lambda position: client_rng(seed, group.spec, position),
    )
