"""Run every selected check, stage after stage, each inside its slice of the budget.

The stages and their order are the table :data:`~chaos.verify.stages.STAGES`: a baseline
probe, the timeouts, the concurrency ramp, hogging, the flood and the resets, each attack
followed by recovery probes. Stages run one after another so one check's load never skews
another's numbers.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import trio

from ..engine.fdlimit import FdLimitError
from .expectations import CHECKS
from .settings import VerifySettings
from .stage import StageResult
from .stages import RunState, Say, Span, stage_named
from .verdict import CheckResult, Verdict

__all__ = ["TICK", "VerifyRun", "run_verify", "verify"]

# Seconds between "still waiting" lines during a long stage.
TICK = 3.0


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
    config: dict[str, object] | None = None
    budget_ran_out: bool = False

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def exit_code(self) -> int:
        """0 when every expectation holds, 1 when any fails."""
        return 1 if any(r.verdict is Verdict.FAIL for r in self.results) else 0


async def _tick(state: RunState) -> None:
    """Every :data:`TICK` seconds of one stage, say it is still going (long waits are normal)."""
    while True:
        await trio.sleep(TICK)
        name, began = state.current
        elapsed = time.monotonic() - began
        if elapsed >= TICK:
            state.say(f"  ... {name}: {elapsed:.0f} s in, waiting for the server")


def _quiet(text: str) -> None:
    """The default ``say``: progress goes nowhere."""


async def run_verify(
    settings: VerifySettings,
    *,
    say: Say | None = None,
    source: str = "",
    config: dict[str, object] | None = None,
) -> VerifyRun:
    """Run the checks ``settings`` selects against its target; never longer than its budget."""
    say = say or _quiet
    schedule = settings.schedule()
    state = RunState(settings, say, schedule)
    started, wall = time.monotonic(), time.time()
    names = list(schedule.slices)
    with trio.move_on_after(settings.budget) as whole:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_tick, state)
            for number, name in enumerate(names):
                stage = stage_named(name)
                limit = min(schedule.slices[name], state.left_for(name))
                if limit <= 0:
                    state.fail_all(stage.checks, "the time budget ran out first")
                    continue
                if stage.title:
                    say(f"[{number}/{len(names) - 1}] {stage.title} (up to {limit:.0f} s)")
                begin = time.monotonic()
                state.current = (name, begin)
                try:
                    await stage.run(state, limit)
                except FdLimitError as exc:
                    state.fail_all(stage.checks, str(exc))
                state.span(name, begin, stage.checks)
            nursery.cancel_scope.cancel()
    if whole.cancelled_caught:
        state.notes.append(f"the {settings.budget:g} s budget ran out")
    state.fail_all(CHECKS, "the time budget ran out first")
    return VerifyRun(
        settings=settings,
        results=tuple(state.results[c] for c in CHECKS if c in state.results),
        stages=tuple(state.stages),
        spans=tuple(state.spans),
        started=started,
        ended=time.monotonic(),
        wall_started=wall,
        source=source or str(settings.target),
        notes=tuple(state.notes),
        config=config,
        budget_ran_out=whole.cancelled_caught,
    )


def verify(
    settings: VerifySettings,
    *,
    say: Say | None = None,
    source: str = "",
    config: dict[str, object] | None = None,
) -> VerifyRun:
    """Synchronous :func:`run_verify` for code that does not use trio."""
    return trio.run(functools.partial(run_verify, settings, say=say, source=source, config=config))
