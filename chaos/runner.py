"""Run a plan: every client concurrently in one trio nursery, all cancelled at the horizon.

The clients run in the engine's :class:`~chaos.engine.crowd.Crowd`, which closes every socket
in a ``finally``, so neither the horizon nor an exception leaks one.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import trio

from .engine.crowd import Crowd, Group
from .engine.fdlimit import ensure_capacity
from .faults.probe import Predicate, judge
from .faults.registry import get_fault
from .plan import Plan
from .result import ChaosResult
from .target import Target, as_target, resolve

__all__ = ["PROGRESS_INTERVAL", "Progress", "ProgressCallback", "plan_groups", "run", "run_plan"]

# How often the progress callback hears from a run.
PROGRESS_INTERVAL = 1.0


@dataclass(frozen=True, kw_only=True)
class Progress:
    """A snapshot of a run for progress displays."""

    elapsed: float
    horizon: float
    started: int
    open: int
    finished: int
    total: int


ProgressCallback = Callable[[Progress], None]


def plan_groups(plan: Plan) -> list[Group]:
    """One engine group per spec of ``plan``, in plan order."""
    groups = []
    first = 0
    for number, spec in enumerate(plan.clients):
        groups.append(
            get_fault(spec.kind).group(
                spec.parsed(),
                positions=range(spec.count),
                start=spec.start,
                spec=number,
                first=first,
            )
        )
        first += spec.count
    return groups


async def _report(crowd: Crowd, begin: float, horizon: float, callback: ProgressCallback) -> None:
    total = crowd.total
    while True:
        await trio.sleep(PROGRESS_INTERVAL)
        callback(
            Progress(
                elapsed=trio.current_time() - begin,
                horizon=horizon,
                started=total - crowd.not_started,
                open=crowd.open_sockets(),
                finished=crowd.done,
                total=total,
            )
        )


async def run_plan(
    plan: Plan,
    *,
    target: Target | str | None = None,
    progress: ProgressCallback | None = None,
    predicate: Predicate | None = None,
) -> ChaosResult:
    """Run ``plan`` against ``target`` (default: the plan's own) and summarise the records.

    ``predicate`` replaces the probes' default availability judgement. Raises
    :class:`~chaos.engine.fdlimit.FdLimitError` before connecting if the plan cannot fit in the
    open-file limit, and ValueError if there is no target.
    """
    if target is None:
        if plan.target is None:
            raise ValueError("target: the plan has none; pass target=HOST:PORT")
        target = plan.target
    aim = as_target(target)
    budget = ensure_capacity(plan.total_clients)
    notes = []
    if budget.raised:
        notes.append(f"raised the open-file soft limit from {budget.soft_before} to {budget.soft}")
    crowd = Crowd(plan_groups(plan), await resolve(aim), seed=plan.seed)
    started = time.monotonic()
    begin = trio.current_time()
    with trio.move_on_after(plan.horizon):
        async with trio.open_nursery() as outer:
            if progress is not None:
                outer.start_soon(_report, crowd, begin, plan.horizon, progress)
            await crowd.run()
            outer.cancel_scope.cancel()
    crowd.close()
    records = crowd.records()
    if predicate is not None:
        records = judge(records, predicate)
    return ChaosResult(
        plan=plan,
        records=tuple(records),
        started=started,
        ended=time.monotonic(),
        target=str(aim),
        not_started=crowd.not_started,
        notes=tuple(notes),
    )


def run(
    plan: Plan,
    *,
    target: Target | str | None = None,
    progress: ProgressCallback | None = None,
    predicate: Predicate | None = None,
) -> ChaosResult:
    """Synchronous :func:`run_plan` for code that does not use trio."""
    return trio.run(
        functools.partial(run_plan, plan, target=target, progress=progress, predicate=predicate)
    )
