"""Run every selected check in order, each stage inside its slice of the budget.

Order: a baseline probe (and the large-response fetch), the timeout stage (idle, request,
write and half-close clients together: each needs one connection and they do not compete),
the concurrency ramp, hogging, the flood and the resets, each attack followed by recovery
probes. Stages run one after another so one check's load never skews another's numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from ..engine.fdlimit import FdLimitError
from ..engine.kernel import listen_overflows
from ..faults.probe import DEFAULT_MAX_LATENCY
from .checks import (
    flood,
    half_close,
    hogging,
    idle_timeout,
    max_connections,
    request_timeout,
    resets,
    write_timeout,
)
from .checks.timing import not_measured
from .expectations import NONE
from .observe import rejected_at_once
from .probes import probe_role, probe_views, recover, recovered
from .settings import CHECKS, MARGIN, MIN_CONCURRENCY, Schedule, VerifySettings
from .stage import StageResult, run_stage
from .verdict import CheckResult, Verdict

__all__ = ["Span", "VerifyRun", "run_verify", "verify"]

Say = Callable[[str], None]
# Seconds between "still waiting" lines during a long stage.
TICK = 3.0

# Which checks each stage decides, for the timeline's bands.
STAGE_CHECKS = {
    "baseline": (),
    "timeouts": ("idle-timeout", "request-timeout", "write-timeout", "half-close"),
    "max-connections": ("max-connections",),
    "hogging": ("hogging",),
    "flood": ("flood",),
    "resets": ("resets",),
}


@dataclass(frozen=True, kw_only=True)
class Span:
    """A stage's stretch of the run (monotonic seconds) and the checks it decides."""

    name: str
    started: float
    ended: float
    checks: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class VerifyRun:
    """A whole run: settings, one result per selected check, and everything the clients saw."""

    settings: VerifySettings
    results: tuple[CheckResult, ...]
    stages: tuple[StageResult, ...]
    spans: tuple[Span, ...]
    started: float
    ended: float
    wall_started: float
    source: str
    notes: tuple[str, ...] = ()
    config: dict[str, Any] | None = None
    budget_ran_out: bool = False

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def exit_code(self) -> int:
        """0 when every expectation holds, 1 when any fails."""
        return 1 if any(r.verdict is Verdict.FAIL for r in self.results) else 0


class _Collector:
    """Stages, spans and results as the run goes; what the budget cut short is filled in last."""

    def __init__(self, settings: VerifySettings, say: Say, schedule: Schedule) -> None:
        self.settings = settings
        self.say = say
        self.schedule = schedule
        self.deadline = time.monotonic() + settings.budget
        self.results: dict[str, CheckResult] = {}
        self.stages: list[StageResult] = []
        self.spans: list[Span] = []
        self.notes: list[str] = []

    def left_for(self, name: str) -> float:
        """Seconds stage ``name`` may still use: its slice, less what later stages must keep.

        Later stages keep their whole slices (the concurrency ramp only its minimum), so time
        one stage saves can be spent by the next, never time another stage needs.
        """
        order = list(self.schedule.slices)
        later = order[order.index(name) + 1 :] if name in order else []
        keep = sum(
            MIN_CONCURRENCY if n == "max-connections" else self.schedule.slices[n] for n in later
        )
        return self.deadline - time.monotonic() - keep

    def span(self, name: str, started: float) -> None:
        self.spans.append(
            Span(name=name, started=started, ended=time.monotonic(), checks=STAGE_CHECKS[name])
        )

    def add(self, result: CheckResult) -> None:
        self.results[result.check] = result

    def fail_all(self, checks: tuple[str, ...], why: str) -> None:
        for check in checks:
            if check in self.settings.checks and check not in self.results:
                self.add(not_measured(check, self.settings.expectations, why))


async def _baseline(run: _Collector, target, limit: float) -> str | None:
    """Probe once, and fetch the large response the write check needs; returns why it can't."""
    settings = run.settings
    roles = [probe_role(settings)]
    wants_large = settings.protocol == "http" and "write-timeout" in settings.checks
    if wants_large:
        roles.append(probe_role(settings, "large", path=settings.large_path))
    stage = await run_stage(
        "baseline", roles, target, limit=limit, until=[r.name for r in roles], seed=settings.seed
    )
    run.stages.append(stage)
    views = probe_views(stage, settings)
    state = views[0].describe() if views else "did not run"
    run.notes.append(f"baseline probe: {state}")
    run.say(f"  baseline probe: {state}")
    if not wants_large:
        return write_timeout.large_enough(None, settings)
    large = stage.of("large")
    return write_timeout.large_enough(large[0] if large else None, settings)


async def _timeouts(run: _Collector, target, limit: float, large_missing: str | None) -> None:
    """All timeout clients at once, then a guard probe; re-measure alone what was disturbed.

    A busy reply is a rejection, never a timeout: it is not timed. And if the guard probe
    is not answered promptly (within half the tolerance), the server was saturated by these
    few clients, so some may have waited in its queue before their timer started: each
    timing check is then run again on its own, time allowing.
    """
    settings = run.settings
    modules = {
        "idle-timeout": idle_timeout,
        "request-timeout": request_timeout,
        "half-close": half_close,
    }
    if large_missing is None:
        modules["write-timeout"] = write_timeout
    elif "write-timeout" in settings.checks:
        run.add(write_timeout.judge((), settings, large_missing))
    chosen = {k: m for k, m in modules.items() if k in settings.checks}
    roles = [role for module in chosen.values() for role in module.roles(settings)]
    if not roles:
        return
    window = max_connections.at_once_window(_promised_idle(settings))
    guard = probe_role(settings, "guard", start=window)
    stage = await run_stage(
        "timeouts", [*roles, guard], target, limit=limit, gated=["guard"], seed=settings.seed
    )
    run.stages.append(stage)
    guard_views = probe_views(stage, settings, "guard")
    prompt = min(settings.tolerance / 2, DEFAULT_MAX_LATENCY)
    saturated = not guard_views or not (
        guard_views[0].available and guard_views[0].latency <= prompt
    )
    rerun: dict[str, list] = {}
    for check, module in chosen.items():
        records = stage.of(module.ROLE)
        kept = [r for r in records if not _turned_away(r, settings, window)]
        if not kept or (saturated and check != "half-close"):
            rerun[check] = kept
            continue
        run.add(module.judge(kept, settings))
        run.say(f"  {check}: {run.results[check].measured}")
    if saturated and rerun:
        state = guard_views[0].describe() if guard_views else "did not run"
        clients = sum(r.spec.count for r in roles)
        run.say(f"  the server was saturated by {clients} clients (probe {state}):")
        run.say(f"  measuring {', '.join(rerun)} again, one at a time")
        run.notes.append(f"timeouts re-measured one at a time: a probe among them was {state}")
    for check, kept in rerun.items():
        await _alone(run, target, check, chosen[check], window, kept)


async def _alone(
    run: _Collector, target, check: str, module: Any, window: float, before: list
) -> None:
    """Measure one timeout check with nothing else running, if its cap fits the time left;
    else judge what the shared run saw (``before``), saying the server was saturated."""
    settings = run.settings
    need = settings.connect_timeout + settings.timeout_cap(check) + MARGIN
    if need > run.left_for("timeouts"):
        if before:
            first = module.judge(before, settings)
            note = f"{first.measured}; measured while the server was saturated"
            run.add(dataclasses.replace(first, measured=note))
        else:
            why = "the server was busy with the other checks; no time left to measure it alone"
            run.add(not_measured(check, settings.expectations, why))
        run.say(f"  {check}: {run.results[check].measured}")
        return
    stage = await run_stage(
        f"timeouts: {check} alone",
        module.roles(settings, alone=True),
        target,
        limit=need,
        seed=settings.seed,
    )
    run.stages.append(stage)
    records = stage.of(module.ROLE)
    kept = [r for r in records if not _turned_away(r, settings, window)]
    if records and not kept:
        why = "the server rejected it at once (busy), even alone"
        run.add(not_measured(check, settings.expectations, why))
    else:
        run.add(module.judge(kept, settings))
    run.say(f"  {check}: {run.results[check].measured}")


def _turned_away(record: Any, settings: VerifySettings, window: float) -> bool:
    return rejected_at_once(record, protocol=settings.protocol, window=window)


def _promised_idle(settings: VerifySettings) -> float | None:
    promised = settings.expectations.idle_timeout
    return None if promised is None or promised == NONE else float(promised)


def _idle_hint(run: _Collector) -> float | None:
    """The idle timeout measured (or else promised), which bounds "rejected at once"."""
    measured = run.results.get("idle-timeout")
    if measured is not None and isinstance(measured.value, int | float):
        return float(measured.value)
    return _promised_idle(run.settings)


async def _concurrency(run: _Collector, target, limit: float) -> None:
    window = max_connections.at_once_window(_idle_hint(run))
    done = await max_connections.ramp(run.settings, target, limit=limit, window=window, say=run.say)
    run.stages += done.stages
    run.add(max_connections.judge(done.steps, run.settings, cut=done.cut, window=window))
    run.say(f"  max-connections: {run.results['max-connections'].measured}")


async def _hogging(run: _Collector, target, limit: float) -> None:
    settings = run.settings
    roles = hogging.roles(settings)
    stage = await run_stage(
        "hogging", roles, target, limit=limit, until=["probe"], seed=settings.seed
    )
    run.stages.append(stage)
    run.add(hogging.judge(probe_views(stage, settings), settings))
    run.say(f"  hogging: {run.results['hogging'].measured}")


async def _flood(run: _Collector, target, limit: float) -> None:
    settings = run.settings
    deadline = time.monotonic() + limit
    before = listen_overflows()
    stage = await run_stage(
        "flood",
        flood.roles(settings),
        target,
        limit=limit - settings.recovery,
        seed=settings.seed,
    )
    after_count = listen_overflows()
    run.stages.append(stage)
    left = max(0.1, deadline - time.monotonic())
    stages = await recover("flood", settings, target, limit=min(settings.recovery, left))
    run.stages += stages
    survived, after = recovered(stages, settings)
    overflows = None if before is None or after_count is None else after_count - before
    run.add(
        flood.judge(
            stage.of(flood.ROLE),
            settings,
            survived=survived,
            after=after,
            overflows=overflows,
        )
    )
    run.say(f"  flood: {run.results['flood'].measured}")


async def _resets(run: _Collector, target, limit: float) -> None:
    settings = run.settings
    deadline = time.monotonic() + limit
    stage = await run_stage(
        "resets",
        resets.roles(settings),
        target,
        limit=limit - settings.recovery,
        seed=settings.seed,
    )
    run.stages.append(stage)
    left = max(0.1, deadline - time.monotonic())
    stages = await recover("resets", settings, target, limit=min(settings.recovery, left))
    run.stages += stages
    survived, after = recovered(stages, settings)
    run.add(resets.judge(stage.of("rst"), settings, survived=survived, after=after))
    run.say(f"  resets: {run.results['resets'].measured}")


_TITLES = {
    "timeouts": "timeouts: idle, request, write, half-close",
    "max-connections": "concurrency limit: hold 1, 2, 4, ... connections and probe",
    "hogging": "probes while idle and slowloris clients hog the server",
    "flood": "flood past the backlog, then probe",
    "resets": "a burst of RST clients, then probe",
}


async def _tick(current: list, say: Say) -> None:
    """Every :data:`TICK` seconds of one stage, say it is still going (long waits are normal)."""
    while True:
        await trio.sleep(TICK)
        elapsed = time.monotonic() - current[1]
        if elapsed >= TICK:
            say(f"  ... {current[0]}: {elapsed:.0f} s in, waiting for the server")


async def run_verify(
    settings: VerifySettings,
    *,
    say: Say | None = None,
    source: str = "",
    config: dict[str, Any] | None = None,
) -> VerifyRun:
    """Run the checks ``settings`` selects against its target; never longer than its budget."""
    say = say or (lambda text: None)
    schedule = settings.schedule()
    run = _Collector(settings, say, schedule)
    target = settings.target
    started, wall = time.monotonic(), time.time()
    plan = [name for name in STAGE_CHECKS if name in schedule.slices]
    large_missing: str | None = None
    current = ["", 0.0]
    with trio.move_on_after(settings.budget) as whole:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_tick, current, say)
            for number, name in enumerate(plan):
                limit = min(schedule.slices[name], run.left_for(name))
                if limit <= 0:
                    run.fail_all(STAGE_CHECKS[name], "the time budget ran out first")
                    continue
                if name != "baseline":
                    say(f"[{number}/{len(plan) - 1}] {_TITLES[name]} (up to {limit:.0f} s)")
                begin = time.monotonic()
                current[:] = [name, begin]
                try:
                    if name == "baseline":
                        large_missing = await _baseline(run, target, limit)
                    elif name == "timeouts":
                        await _timeouts(run, target, limit, large_missing)
                    elif name == "max-connections":
                        await _concurrency(run, target, limit)
                    elif name == "hogging":
                        await _hogging(run, target, limit)
                    elif name == "flood":
                        await _flood(run, target, limit)
                    else:
                        await _resets(run, target, limit)
                except FdLimitError as exc:
                    run.fail_all(STAGE_CHECKS[name], str(exc))
                run.span(name, begin)
            nursery.cancel_scope.cancel()
    if whole.cancelled_caught:
        run.notes.append(f"the {settings.budget:g} s budget ran out")
    run.fail_all(CHECKS, "the time budget ran out first")
    return VerifyRun(
        settings=settings,
        results=tuple(run.results[c] for c in CHECKS if c in run.results),
        stages=tuple(run.stages),
        spans=tuple(run.spans),
        started=started,
        ended=time.monotonic(),
        wall_started=wall,
        source=source or str(target),
        notes=tuple(run.notes),
        config=config,
        budget_ran_out=whole.cancelled_caught,
    )


def verify(settings: VerifySettings, **kwargs: Any) -> VerifyRun:
    """Synchronous :func:`run_verify` for code that does not use trio."""
    return trio.run(functools.partial(run_verify, settings, **kwargs))
