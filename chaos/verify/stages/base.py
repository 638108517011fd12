"""What every stage shares: its table entry, and the state of the run it adds to.

A stage runs some checks' clients inside its slice of the budget and adds their verdicts to
the :class:`RunState`; what the budget cut short is filled in last.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..calibration import Calibration
from ..observe import ProbeView
from ..settings import Schedule, VerifySettings
from ..stage import StageResult
from ..verdict import CheckResult, undecided

__all__ = ["Judge", "RunState", "Say", "Span", "Stage"]

Say = Callable[[str], None]
# A check's judge with its evidence bound: what it rules given settings (and their promises).
Judge = Callable[[VerifySettings], CheckResult]


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
        self.judges: dict[str, Judge] = {}
        self.stages: list[StageResult] = []
        self.spans: list[Span] = []
        self.notes: list[str] = []
        # Why the write check cannot run (no large response), once the baseline has looked.
        self.large_missing: str | None = None
        # What this machine can drive against the target, once calibrated.
        self.calibration: Calibration | None = None
        # The baseline probe, before any attack (a request answered with nothing held).
        self.baseline: ProbeView | None = None
        # How long the baseline probe (nothing held) took to be answered, in seconds: how late
        # this machine may see anything, which no measurement can be finer than.
        self.lag = 0.0
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

    def decide(self, judge: Judge) -> None:
        """Judge a check now and say what it measured; keep the judge, so the run can be
        judged again against other promises (:meth:`~chaos.verify.run.VerifyRun.judged`)."""
        result = judge(self.settings)
        self.results[result.check] = result
        self.judges[result.check] = judge
        self.say(f"  {result.check}: {result.measured}")

    def undecided(self, checks: tuple[str, ...], why: str) -> None:
        """Every check of ``checks`` that was asked for and has no verdict: not measured."""
        for check in checks:
            if check in self.settings.checks and check not in self.results:
                self.decide(functools.partial(_undecided, check, why))


def _undecided(check: str, why: str, settings: VerifySettings) -> CheckResult:
    return undecided(check, settings.expectations, why)


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One row of the stage table: what it is called and shows, what it decides, its budget.

    A stage runs when any of its checks is asked for; one with no checks of its own runs when
    any check it ``serves`` is (or always, serving none). Its slice is ``slice(settings)``
    seconds, or with ``flexible=(least, most)`` whatever the fixed slices leave, within those
    bounds.
    """

    name: str
    title: str  # its progress line; the baseline is not announced
    checks: tuple[str, ...]
    run: Callable[[RunState, float], Awaitable[None]]
    slice: Callable[[VerifySettings], float] | None = None
    flexible: tuple[float, float] | None = None
    serves: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.slice is None) == (self.flexible is None):
            raise ValueError(f"{self.name}: a stage has a fixed slice or a flexible one")

    def chosen(self, settings: VerifySettings) -> bool:
        """True when ``settings`` ask for any check this stage decides or serves, or it has none."""
        wanted = self.checks or self.serves
        return not wanted or any(c in settings.checks for c in wanted)
