"""Run a plan: its clients on every core, all on one clock, all stopped at the horizon.

One process runs the plan's first segment itself, in the engine's
:class:`~chaos.engine.crowd.Crowd` (which closes every socket in a ``finally``); with
``processes`` > 1 the other segments run in shard processes (:mod:`chaos.engine.processes`)
that start on the same instant and send their records back, merged into one result exactly
as segments run on several hosts are (:func:`chaos.merge.merge`). Every shard computes the
same global plan and runs only its clients, seeded by the plan seed and their index, so the
same plan and seed send the same bytes whatever the number of processes. Limits (open files
per process, ephemeral ports per source address) are checked for every shard before the
first connection.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from .engine.channel import Done, Go, Job, Tick
from .engine.crowd import Crowd, Group
from .engine.fdlimit import check_shards, ensure_capacity
from .engine.processes import ShardError, open_shards
from .engine.segment import WHOLE, Segment
from .engine.sources import Sources, choose_sources
from .faults.probe import Predicate, judge
from .faults.registry import get_fault
from .merge import merge
from .plan import Plan
from .result import ChaosResult
from .target import Endpoint, Target, as_target, resolve

__all__ = [
    "GO_LEAD",
    "MAX_START_WAIT",
    "PROGRESS_INTERVAL",
    "Local",
    "Progress",
    "ProgressCallback",
    "clients_in",
    "plan_groups",
    "prepare",
    "run",
    "run_plan",
]

# How often the progress callback hears from a run (and a shard from its clients).
PROGRESS_INTERVAL = 1.0
# Shards get the start signal this long before the start, so all begin on the instant.
GO_LEAD = 0.1
# A start more than an hour away is a mistake, not a plan (a plan's horizon is at most one).
MAX_START_WAIT = 3600.0
# A start missed by more than this is said in the result's notes.
LATE = 0.5


@dataclass(frozen=True, kw_only=True)
class Progress:
    """A snapshot of a run for progress displays (all of its processes together)."""

    elapsed: float
    horizon: float
    started: int
    open: int
    finished: int
    total: int


ProgressCallback = Callable[[Progress], None]


def plan_groups(plan: Plan, segment: Segment = WHOLE) -> list[Group]:
    """One engine group per spec of ``plan``, in plan order, with the clients of ``segment``."""
    groups = []
    first = 0
    for number, spec in enumerate(plan.clients):
        mine = [p for p in range(spec.count) if segment.whole or segment.holds(first + p)]
        groups.append(
            get_fault(spec.kind).group(
                spec.parsed(),
                positions=range(spec.count) if segment.whole else mine,
                start=spec.start,
                spec=number,
                first=first,
            )
        )
        first += spec.count
    return groups


def clients_in(plan: Plan, segments: Sequence[Segment]) -> list[int]:
    """How many of the plan's clients each of ``segments`` holds."""
    if len(segments) == 1 and segments[0].whole:
        return [plan.total_clients]
    counts = [0] * len(segments)
    for index in range(plan.total_clients):
        for number, segment in enumerate(segments):
            if segment.holds(index):
                counts[number] += 1
                break
    return counts


@dataclass(kw_only=True)
class Local:
    """A segment of a plan placed in this process, ready to start on the plan's clock."""

    plan: Plan
    target: Target
    segment: Segment
    crowd: Crowd
    notes: list[str] = field(default_factory=list)

    def tick(self) -> Tick:
        crowd = self.crowd
        total = crowd.total
        return Tick(
            started=total - crowd.not_started,
            open=crowd.open_sockets(),
            done=crowd.done,
            total=total,
        )

    async def run(self, start: float) -> ChaosResult:
        """Start the clients' clock at ``start`` (monotonic) and run until the horizon."""
        crowd = self.crowd
        await crowd.run(limit=self.plan.horizon, at=start)
        return ChaosResult(
            plan=self.plan,
            records=tuple(crowd.records()),
            started=start,
            ended=max(start, crowd.ended),
            target=str(self.target),
            not_started=crowd.not_started,
            notes=tuple(self.notes),
            segment=self.segment,
        )


async def prepare(
    plan: Plan,
    target: Target,
    endpoint: Endpoint,
    segment: Segment,
    sources: Sources,
    *,
    descriptors: int = 0,
) -> Local:
    """Place ``segment``'s clients, with room for ``descriptors`` more files (shards' pipes)."""
    groups = plan_groups(plan, segment)
    budget = ensure_capacity(sum(len(g.positions) for g in groups) + descriptors)
    notes = []
    if budget.raised:
        notes.append(f"raised the open-file soft limit from {budget.soft_before} to {budget.soft}")
    crowd = Crowd(groups, endpoint, seed=plan.seed, source=sources.of)
    return Local(plan=plan, target=target, segment=segment, crowd=crowd, notes=notes)


def _start_instant(start_at: float | None, lead: float) -> tuple[float, list[str]]:
    """The monotonic instant the plan's clock starts, from a wall-clock ``start_at`` if given."""
    now = time.monotonic()
    if start_at is None:
        return now + lead, []
    wait = start_at - time.time()
    if wait > MAX_START_WAIT:
        raise ValueError(f"start_at: {wait:.0f} s from now; at most {MAX_START_WAIT:g}")
    if wait < -LATE:
        return now, [f"started {-wait:.1f} s after the agreed start"]
    return now + max(0.0, wait), []


async def _report(
    local: Local, shards_ticks: Callable[[], list[Tick]], start: float, callback: ProgressCallback
) -> None:
    while True:
        await trio.sleep(PROGRESS_INTERVAL)
        ticks = [local.tick(), *shards_ticks()]
        callback(
            Progress(
                elapsed=max(0.0, time.monotonic() - start),
                horizon=local.plan.horizon,
                started=sum(t.started for t in ticks),
                open=sum(t.open for t in ticks),
                finished=sum(t.done for t in ticks),
                total=sum(t.total for t in ticks),
            )
        )


def _leaf(group: BaseExceptionGroup[ShardError]) -> ShardError:
    """The first exception in ``group``, however deep nurseries nested it."""
    first = group.exceptions[0]
    return _leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _shard_result(plan: Plan, job: Job, done: Done, start: float) -> ChaosResult:
    return ChaosResult(
        plan=plan,
        records=done.records,
        started=start,
        ended=max(start, done.ended),
        target=job.target,
        not_started=done.not_started,
        notes=done.notes,
        segment=job.segment,
    )


async def run_plan(
    plan: Plan,
    *,
    target: Target | str | None = None,
    progress: ProgressCallback | None = None,
    predicate: Predicate | None = None,
    processes: int = 1,
    segment: Segment = WHOLE,
    start_at: float | None = None,
    sources: Sequence[str] = (),
) -> ChaosResult:
    """Run ``plan`` against ``target`` (default: the plan's own) and summarise the records.

    ``processes`` share the clients (this one and ``processes - 1`` shard processes, at most
    one per client). ``segment`` runs only that part of the plan (one host's share: merge the
    hosts' results with :func:`chaos.merge.merge`); ``start_at`` is the wall-clock instant
    (``time.time()``) the plan's clock starts, so segments on several hosts start together.
    ``sources`` are the addresses connections bind to (default: the system's, spread over
    127.0.0.0/8 for a loopback target when one address has too few ports). ``predicate``
    replaces the probes' default availability judgement.

    Raises :class:`~chaos.engine.fdlimit.LimitError` (an ``FdLimitError`` or a
    ``PortLimitError``) before connecting if the plan cannot fit, ValueError if there is no
    target, and :class:`~chaos.engine.processes.ShardError` at once if a shard process dies
    (the others stopped, every socket closed).
    """
    if target is None:
        if plan.target is None:
            raise ValueError("target: the plan has none; pass target=HOST:PORT")
        target = plan.target
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes: expected a positive integer, got {processes!r}")
    if not isinstance(segment, Segment):
        raise ValueError(f"segment: expected a Segment, got {segment!r}")
    aim = as_target(target)
    endpoint = await resolve(aim)
    parts = segment.split(processes)
    counts = clients_in(plan, parts)
    spread = choose_sources(endpoint.family, endpoint.sockaddr[0], sum(counts), sources)
    check_shards(counts)
    others = [part for part, count in zip(parts[1:], counts[1:], strict=True) if count]
    local = await prepare(plan, aim, endpoint, parts[0], spread, descriptors=3 * len(others))
    if others:
        local.notes.append(f"{1 + len(others)} processes shared the clients")
    if spread.addresses and not sources:
        local.notes.append(f"connections spread over source addresses {spread.describe()}")
    jobs = [
        Job(plan=plan.to_json(), target=str(aim), segment=p, sources=spread.addresses)
        for p in others
    ]
    try:
        async with open_shards(jobs) as shards:
            start, late = _start_instant(start_at, GO_LEAD if jobs else 0.0)
            local.notes.extend(late)
            await shards.go(Go(start=start))
            async with trio.open_nursery() as nursery:
                if progress is not None:
                    nursery.start_soon(_report, local, shards.ticks, start, progress)
                nursery.start_soon(shards.watch)  # a shard lost ends the whole run at once
                mine = await local.run(start)
                done = await shards.results()
                nursery.cancel_scope.cancel()
    except* ShardError as lost:
        raise _leaf(lost) from None
    result = merge([mine, *(_shard_result(plan, job, d, start) for job, d in done)])
    if predicate is not None:
        result = dataclasses.replace(result, records=tuple(judge(result.records, predicate)))
    return result


def run(
    plan: Plan,
    *,
    target: Target | str | None = None,
    progress: ProgressCallback | None = None,
    predicate: Predicate | None = None,
    processes: int = 1,
    segment: Segment = WHOLE,
    start_at: float | None = None,
    sources: Sequence[str] = (),
) -> ChaosResult:
    """Synchronous :func:`run_plan` for code that does not use trio.

    A SIGINT in the middle stops the run (every socket closed, every shard process ended)
    and raises a plain KeyboardInterrupt, as Python code expects.
    """
    try:
        return trio.run(
            functools.partial(
                run_plan,
                plan,
                target=target,
                progress=progress,
                predicate=predicate,
                processes=processes,
                segment=segment,
                start_at=start_at,
                sources=sources,
            )
        )
    except BaseExceptionGroup as group:
        if group.subgroup(KeyboardInterrupt) is not None:
            raise KeyboardInterrupt from None
        raise
