"""What every stage shares: its table entry, and the state of the run it adds to.

A stage runs some checks' clients inside its slice of the budget and adds their verdicts to
the :class:`RunState`; what the budget cut short is filled in last.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..checks.timing import not_measured
from ..settings import Schedule, VerifySettings
from ..stage import StageResult
from ..verdict import CheckResult

__all__ = ["RunState", "Say", "Span", "Stage"]

Say = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Span:
    """A stage's stretch of the run (monotonic seconds) and the checks it decides."""

    name: str
    started: float
    ended: float
    checks: tuple[str, ...]


class RunState:
    """Stages, spans, results and notes as the run goes, and the time each stage may use."""

    def __init__(self, settings: VerifySettings, say: Say, schedule: Schedule) -> None:
        self.settings = settings
        self.say = say
        self.schedule = schedule
        self.deadline = time.monotonic() + settings.budget
        self.results: dict[str, CheckResult] = {}
        self.stages: list[StageResult] = []
        self.spans: list[Span] = []
        self.notes: list[str] = []
        # Why the write check cannot run (no large response), once the baseline has looked.
        self.large_missing: str | None = None
        # The stage running now and when it began, for the "still waiting" lines.
        self.current: tuple[str, float] = ("", 0.0)

    def left_for(self, name: str) -> float:
        """Seconds stage ``name`` may still use: its slice, less what later stages must keep.

        Later stages keep their whole slices (the concurrency ramp only its minimum), so time
        one stage saves can be spent by the next, never time another stage needs.
        """
        order = list(self.schedule.slices)
        later = order[order.index(name) + 1 :] if name in order else []
        keep = sum(self.schedule.keep[n] for n in later)
        return self.deadline - time.monotonic() - keep

    def span(self, name: str, started: float, checks: tuple[str, ...]) -> None:
        self.spans.append(Span(name=name, started=started, ended=time.monotonic(), checks=checks))

    def add(self, result: CheckResult) -> None:
        """Record a check's verdict and say what it measured."""
        self.results[result.check] = result
        self.say(f"  {result.check}: {result.measured}")

    def fail_all(self, checks: tuple[str, ...], why: str) -> None:
        """Every check of ``checks`` that was asked for and has no verdict: not measured."""
        for check in checks:
            if check in self.settings.checks and check not in self.results:
                self.results[check] = not_measured(check, self.settings.expectations, why)


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One row of the stage table: what it is called and shows, what it decides, its budget.

    A stage runs when any of its checks is asked for (one with no checks always runs). Its
    slice is ``slice(settings)`` seconds, or with ``flexible=(least, most)`` whatever the fixed
    slices leave, within those bounds.
    """

    name: str
    title: str  # its progress line; the baseline is not announced
    checks: tuple[str, ...]
    run: Callable[[RunState, float], Awaitable[None]]
    slice: Callable[[VerifySettings], float] | None = None
    flexible: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if (self.slice is None) == (self.flexible is None):
            raise ValueError(f"{self.name}: a stage has a fixed slice or a flexible one")

    def chosen(self, settings: VerifySettings) -> bool:
        """True when ``settings`` ask for any of this stage's checks, or it has none."""
        return not self.checks or any(c in settings.checks for c in self.checks)
