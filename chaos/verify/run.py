"""Run every selected check, stage after stage, each inside its slice of the budget.

The stages and their order are the table :data:`~chaos.verify.stages.STAGES`: a baseline
probe, the timeouts, the concurrency ramp, hogging, the flood and the resets, each attack
followed by recovery probes. Stages run one after another so one check's load never skews
another's numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field

import trio

from ..engine.fdlimit import FdLimitError
from .calibration import Calibration
from .expectations import CHECKS, Expectations
from .settings import VerifySettings
from .stage import StageResult
from .stages import Judge, RunState, Say, Span, stage_named
from .verdict import CheckResult, exit_code

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
    calibration: Calibration | None = None
    # Each check's judge with its evidence bound (not exported): see judged().
    judges: dict[str, Judge] = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def exit_code(self) -> int:
        """0 when every expectation holds, 1 when one is broken, 3 when none is broken but
        one could not be decided here (see :func:`~chaos.verify.verdict.exit_code`)."""
        return exit_code(self.results)

    def judged(self, expectations: Expectations) -> VerifyRun:
        """This run's evidence judged against other promises: what the same clients saw
        says of them (the judges are pure). What the run measured does not change; a check
        the run asked nothing of keeps its evidence, so it can be judged now too."""
        settings = dataclasses.replace(self.settings, expectations=expectations)
        results = tuple(
            self.judges[r.check](settings) if r.check in self.judges else r for r in self.results
        )
        return dataclasses.replace(self, settings=settings, results=results)


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
    titled = [name for name in names if stage_named(name).title]
    with trio.move_on_after(settings.budget) as whole:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_tick, state)
            for name in names:
                stage = stage_named(name)
                limit = min(schedule.slices[name], state.left_for(name))
                if limit <= 0:
                    state.undecided(stage.checks, "the time budget ran out first")
                    continue
                if stage.title:
                    shown = titled.index(name) + 1
                    say(f"[{shown}/{len(titled)}] {stage.title} (up to {limit:.0f} s)")
                begin = time.monotonic()
                state.current = (name, begin)
                try:
                    await stage.run(state, limit)
                except FdLimitError as exc:
                    state.undecided(stage.checks, str(exc))
                state.span(name, begin, stage.checks)
            nursery.cancel_scope.cancel()
    if whole.cancelled_caught:
        state.notes.append(f"the {settings.budget:g} s budget ran out")
    state.undecided(CHECKS, "the time budget ran out first")
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
        calibration=state.calibration,
        judges=dict(state.judges),
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
