"""Run a plan: every client concurrently in one trio nursery, all cancelled at the horizon.

Each client runs in a :class:`~chaos.engine.slot.Slot` whose sockets are closed in a ``finally``, so
neither the horizon nor an exception leaks a socket.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import trio

from .engine.fdlimit import ensure_capacity
from .engine.payload import client_rng
from .engine.slot import Slot
from .faults.base import Fault
from .faults.probe import Predicate, judge
from .faults.registry import get_fault
from .params import FaultParams
from .plan import Plan
from .result import ChaosResult
from .target import Target, as_target, resolve

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


async def _run_client(
    slot: Slot, fault: Fault, params: FaultParams, at: float, done: list[int]
) -> None:
    try:
        await trio.sleep_until(at)
        await fault.drive(slot, params)
    finally:
        slot.close()
        done[0] += 1


async def _report(
    slots: list[Slot], done: list[int], begin: float, horizon: float, callback: ProgressCallback
) -> None:
    while True:
        await trio.sleep(PROGRESS_INTERVAL)
        callback(
            Progress(
                elapsed=trio.current_time() - begin,
                horizon=horizon,
                started=sum(1 for s in slots if s.sessions),
                open=sum(s.open_sockets() for s in slots),
                finished=done[0],
                total=len(slots),
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
    endpoint = await resolve(aim)
    slots: list[Slot] = []
    done = [0]
    started = time.monotonic()
    begin = trio.current_time()
    with trio.move_on_after(plan.horizon):
        async with trio.open_nursery() as outer:
            if progress is not None:
                outer.start_soon(_report, slots, done, begin, plan.horizon, progress)
            async with trio.open_nursery() as nursery:
                for spec_number, spec in enumerate(plan.clients):
                    fault = get_fault(spec.kind)
                    params = spec.parsed()
                    for position in range(spec.count):
                        slot = Slot(
                            kind=spec.kind,
                            index=len(slots),
                            endpoint=endpoint,
                            rng=client_rng(plan.seed, spec_number, position),
                        )
                        slots.append(slot)
                        at = begin + spec.start + params.stagger(position)
                        nursery.start_soon(_run_client, slot, fault, params, at, done)
            outer.cancel_scope.cancel()
    for slot in slots:
        slot.close()
    records = [record for slot in slots for record in slot.records()]
    if predicate is not None:
        records = judge(records, predicate)
    return ChaosResult(
        plan=plan,
        records=tuple(records),
        started=started,
        ended=time.monotonic(),
        target=str(aim),
        not_started=sum(1 for slot in slots if not slot.sessions),
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
