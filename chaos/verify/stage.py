"""A stage: chaos clients run together until the ones that matter are done, or a time limit.

A plan run by the engine's :class:`~chaos.engine.crowd.Crowd`, as :func:`chaos.run_plan` runs
one, with what verify adds: each spec has a *role* so a check finds its own records; a stage
can end as soon as its ``until`` roles are done (the probe of a concurrency step, say),
cancelling the clients that were only there as load; and ``gated`` roles wait until every
other client's first connect has settled (opened or failed), so a probe never races holders
still retrying a dropped SYN. A stage can also run :func:`in_background` while others run in
the foreground: the concurrency ramp holds connections that way while it probes.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from ..engine.crowd import Crowd
from ..engine.fdlimit import ensure_capacity
from ..engine.processes import shard_count
from ..plan import ClientSpec, Plan
from ..record import ClientRecord
from ..result import ChaosResult
from ..runner import plan_groups, run_plan
from ..target import Target, resolve

__all__ = ["Background", "Live", "Role", "StageResult", "Watch", "in_background", "run_stage"]

# A role's records so far, while the stage runs (sessions still open read as held to the end).
Live = Callable[[str], tuple[ClientRecord, ...]]
# Runs beside a stage's clients, reading them live; once it returns, the stage ends.
Watch = Callable[[Live], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Role:
    """One spec of a stage and the name its check looks its records up by."""

    name: str
    spec: ClientSpec

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a role name, got {self.name!r}")
        if not isinstance(self.spec, ClientSpec):
            raise ValueError(f"spec: expected a ClientSpec, got {type(self.spec).__name__}")


@dataclass(frozen=True, kw_only=True)
class StageResult:
    """What a stage ran and saw: the chaos result plus its records grouped by role."""

    name: str
    result: ChaosResult
    roles: dict[str, tuple[ClientRecord, ...]] = field(default_factory=dict)

    def of(self, role: str) -> tuple[ClientRecord, ...]:
        """The records of ``role`` (empty if the stage had no such role)."""
        return self.roles.get(role, ())

    def to_json(self) -> dict[str, object]:
        """The stage name, which slots belong to which role, and the raw chaos result."""
        return {
            "name": self.name,
            "roles": {
                name: sorted({r.index for r in records}) for name, records in self.roles.items()
            },
            "chaos": self.result.to_json(),
        }


async def run_stage(
    name: str,
    roles: Sequence[Role],
    target: Target,
    *,
    limit: float,
    until: Iterable[str] = (),
    gated: Iterable[str] = (),
    seed: int = 0,
    processes: int | None = 1,
    watch: Watch | None = None,
) -> StageResult:
    """Run every role's clients; stop at ``limit`` seconds or once all ``until`` roles ended.

    A ``gated`` role's ``start`` counts from the moment the other roles' connects settled.
    ``watch`` reads the roles' records as the clients run, and ends the stage by returning
    (the clients it cuts are held to the end). A stage with none of these may spread its
    clients over ``processes`` (None: as many as the plan is worth, see
    :func:`~chaos.engine.processes.shard_count`), as a plan run does.

    Raises :class:`~chaos.engine.fdlimit.FdLimitError` before connecting if the stage cannot
    fit in the open-file limit.
    """
    plan = Plan(clients=tuple(r.spec for r in roles), horizon=limit, seed=seed, target=str(target))
    wanted, waiting = set(until), set(gated)
    shards = shard_count(processes, plan.total_clients)
    if shards > 1 and not wanted and not waiting and watch is None:
        return _by_role(name, roles, await run_plan(plan, target=target, processes=shards))
    ensure_capacity(plan.total_clients)
    crowd = Crowd(
        plan_groups(plan),
        await resolve(target),
        seed=seed,
        until=[n for n, role in enumerate(roles) if role.name in wanted],
        gated=[n for n, role in enumerate(roles) if role.name in waiting],
    )

    def live(role: str) -> tuple[ClientRecord, ...]:
        groups = [n for n, r in enumerate(roles) if r.name == role]
        return tuple(record for n in groups for record in crowd.records(n, live=True))

    await crowd.run(limit=limit, watch=None if watch is None else functools.partial(watch, live))
    return _by_role(name, roles, _crowd_result(plan, crowd, target))


def _crowd_result(plan: Plan, crowd: Crowd, target: Target) -> ChaosResult:
    return ChaosResult(
        plan=plan,
        records=tuple(crowd.records()),
        started=crowd.started,
        ended=crowd.ended,
        target=str(target),
        not_started=crowd.not_started,
    )


def _by_role(name: str, roles: Sequence[Role], result: ChaosResult) -> StageResult:
    """The stage's result, its records grouped by the role whose spec made them."""
    grouped: dict[str, list[ClientRecord]] = {r.name: [] for r in roles}
    bounds = []
    first = 0
    for role in roles:
        bounds.append((first, first + role.spec.count, role.name))
        first += role.spec.count
    for record in result.records:
        for low, high, role_name in bounds:
            if low <= record.index < high:
                grouped[role_name].append(record)
                break
    return StageResult(name=name, result=result, roles={k: tuple(v) for k, v in grouped.items()})


class Background:
    """A stage running in the background: ``settled()`` once every client's first connect
    has finished; ``result`` once the ``in_background`` block has ended."""

    def __init__(self, crowd: Crowd) -> None:
        self._crowd = crowd
        self.result: StageResult | None = None

    def settled(self) -> bool:
        return self._crowd.settled()


@asynccontextmanager
async def in_background(
    name: str, roles: Sequence[Role], target: Target, *, limit: float, seed: int = 0
) -> AsyncIterator[Background]:
    """Run a stage while the block runs; the block's end (or ``limit`` s) ends its clients.

    Raises :class:`~chaos.engine.fdlimit.FdLimitError` before connecting if it cannot fit.
    """
    plan = Plan(clients=tuple(r.spec for r in roles), horizon=limit, seed=seed, target=str(target))
    ensure_capacity(plan.total_clients)
    crowd = Crowd(plan_groups(plan), await resolve(target), seed=seed)
    running = Background(crowd)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(crowd.run, limit=limit))
            yield running
            nursery.cancel_scope.cancel()
    finally:
        running.result = _by_role(name, roles, _crowd_result(plan, crowd, target))
