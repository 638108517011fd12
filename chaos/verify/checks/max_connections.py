"""Check: concurrency limit. Hold 1, 2, 4, ... idle connections, probing at each step; report
how many the server held when it first turned one away, and where probes degraded.

What is measured: connections opened at once and *held* (accepted and not closed within
:data:`AT_ONCE` of the step's last handshake) at the first step where the server rejects
some at once (503, FIN or RST right away, or a refused connect). Each step starts from a
clean server: its holders are closed and a probe must succeed before the next. Doubling
stops at ``max_hold``; a promised limit above that is tested in one step of limit + 1.

For a toolkit server with ``on-accept`` dispatch the limit is ``workers + max_pending``
(queued ones are dropped later, after ``queue_timeout``); with ``readiness`` it is
``max_connections``. Probes may degrade much earlier: with ``on-accept`` they queue behind
idle holders once every worker has one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...engine.fdlimit import FdLimitError
from ...faults import FloodParams
from ...plan import ClientSpec
from ...record import Outcome
from ...target import Target
from ..expectations import NO_LIMIT
from ..observe import ProbeView
from ..probes import probe_role, probe_views, recover
from ..settings import MARGIN, VerifySettings
from ..stage import Role, StageResult, run_stage
from ..verdict import CheckResult, judged

__all__ = ["AT_ONCE", "CHECK", "HOLD_RATE", "Ramp", "Step", "judge", "levels", "ramp", "read_step"]

CHECK = "max-connections"
# Closed within this of the handshake, unasked: a rejection, not a timeout. Rejections take
# milliseconds; queue and idle timeouts of real servers are a second or more.
AT_ONCE = 0.25  # the settling time before each step's probe
# Holders opened per second: a step of 256 takes 0.13 s, slow enough not to overflow even a
# backlog of 5 behind a Python accept loop.
HOLD_RATE = 2000.0
# A big step (a promised limit of thousands) opens its holders within this many seconds.
MAX_OPENING = 1.0


def at_once_window(idle: float | None) -> float:
    """:data:`AT_ONCE`, or half the idle timeout if that is shorter (so idlers are not mistaken)."""
    return AT_ONCE if idle is None else min(AT_ONCE, idle / 2)


def levels(target: int, ramp: int) -> list[int]:
    """1, 2, 4, ... up to ``ramp``, then straight to ``target`` (a promised limit plus one)."""
    out, level = [], 1
    top = min(target, ramp)
    while level < top:
        out.append(level)
        level *= 2
    out.append(top)
    return out if top == target else [*out, target]


def hold_rate(level: int) -> float:
    """:data:`HOLD_RATE`, or faster so that no step spends more than :data:`MAX_OPENING`."""
    return max(HOLD_RATE, level / MAX_OPENING)


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step of the ramp: what became of its holders and of its probe."""

    level: int
    held: int
    rejected: int
    unaccepted: int
    dropped: int
    probe: ProbeView | None

    def __post_init__(self) -> None:
        counts = (self.held, self.rejected, self.unaccepted, self.dropped)
        if self.level < 1 or min(counts) < 0:
            raise ValueError(f"level: expected a step of >= 1 and counts >= 0, got {counts}")
        if self.held + self.rejected + self.unaccepted != self.level:
            raise ValueError(f"held: {counts[:3]} do not add up to level {self.level}")

    def to_json(self) -> dict[str, object]:
        return {
            "level": self.level,
            "held": self.held,
            "rejected": self.rejected,
            "unaccepted": self.unaccepted,
            "dropped": self.dropped,
            "probe": None if self.probe is None else self.probe.describe(),
            "probe_state": None if self.probe is None else self.probe.state.value,
        }


def step_roles(level: int, settings: VerifySettings, window: float) -> list[Role]:
    """``level`` silent holders opened at :data:`HOLD_RATE`; a probe ``window`` after all of
    them connected (or failed to), so rejections at once have shown by then."""
    hold = FloodParams(
        rate=hold_rate(level),
        hold=3600.0,  # ended by the stage once its probe is done
        connect_timeout=settings.connect_timeout,
    )
    holders = Role(name="hold", spec=ClientSpec.of(hold, count=level))
    return [holders, probe_role(settings, start=window)]


def read_step(level: int, stage: StageResult, settings: VerifySettings, window: float) -> Step:
    """Classify a step's holders (held, rejected at once, never accepted, dropped later).

    "At once" means before the probe started, which is ``window`` after the last holder
    connected: under thousands of holders a server's accept queue lags our handshakes, and
    its rejections come that much later than each holder's own connect.
    """
    holders = stage.of("hold")
    views = probe_views(stage, settings)
    settled = max((r.connected for r in holders if r.connected is not None), default=0.0)
    cutoff = max(settled + window, views[0].started if views else 0.0)
    rejected = unaccepted = dropped = 0
    for record in holders:
        end = record.server_ended_at
        if record.outcome is Outcome.REFUSED or (end is not None and end <= cutoff):
            rejected += 1
        elif record.connected is None:
            unaccepted += 1
        elif record.server_closed_after is not None:
            dropped += 1
    return Step(
        level=level,
        held=level - rejected - unaccepted,
        rejected=rejected,
        unaccepted=unaccepted,
        dropped=dropped,
        probe=views[0] if views else None,
    )


@dataclass(frozen=True, kw_only=True)
class Ramp:
    """What the ramp did: its steps, the stages it ran, and why it stopped short, if it did."""

    steps: list[Step]
    stages: list[StageResult]
    cut: str | None = None


def judge(
    steps: Sequence[Step],
    settings: VerifySettings,
    *,
    cut: str | None = None,
    window: float = AT_ONCE,
) -> CheckResult:
    """The held count at the first step with a rejection; "no rejection up to N" otherwise.

    ``cut`` says why the ramp stopped before its last step (time, descriptors), if it did.
    """
    finished = cut is None
    stop = next((s for s in steps if s.rejected or s.unaccepted), None)
    if not steps:
        measured, value = f"not measured: {cut or 'no step ran'}", None
    elif stop is not None:
        value = stop.held
        how = "rejected at once" if stop.rejected else "not accepted (connect timed out)"
        measured = f"{stop.held} held, the next {how}"
    else:
        value = None
        measured = f"no rejection up to {steps[-1].level} held"
        if cut:
            measured += f" ({cut})"
    worse = next((s for s in steps if s.probe is None or not s.probe.available), None)
    if worse is not None and worse.probe is not None:
        measured += f"; probes {worse.probe.describe()} from {worse.level} held"
    elif steps:
        measured += "; probes ok at every step"
    expected = settings.expectations.max_connections
    if expected is NO_LIMIT:
        holds = bool(steps) and stop is None and finished
        failure = f"expected no limit, measured: {measured}"
    else:
        holds = value == expected
        failure = f"expected {expected} held at once, measured: {measured}"
    return judged(
        CHECK,
        settings.expectations,
        measured=measured,
        value=value,
        holds=holds,
        failure=failure,
        detail={"steps": [s.to_json() for s in steps], "at_once": window, "finished": finished},
    )


async def ramp(
    settings: VerifySettings,
    target: Target,
    *,
    limit: float,
    window: float,
    say: Callable[[str], None],
) -> Ramp:
    """Run the steps until a rejection, the last level, ``limit`` seconds or too few files."""
    deadline = time.monotonic() + limit
    done = Ramp(steps=[], stages=[])
    for level in levels(settings.hold_target, settings.max_hold):
        need = (
            settings.connect_timeout
            + (level - 1) / hold_rate(level)
            + window
            + settings.probe_timeout
            + MARGIN
        )
        if time.monotonic() + need > deadline:
            return Ramp(steps=done.steps, stages=done.stages, cut=f"no time left to hold {level}")
        try:
            stage = await run_stage(
                f"{CHECK}: hold {level}",
                step_roles(level, settings, window),
                target,
                limit=need,
                until=["probe"],
                gated=["probe"],
                seed=settings.seed,
            )
        except FdLimitError as exc:
            say(f"  hold {level}: cannot: {exc}")
            return Ramp(steps=done.steps, stages=done.stages, cut=f"cannot hold {level}: {exc}")
        done.stages.append(stage)
        step = read_step(level, stage, settings, window)
        done.steps.append(step)
        probe = "no probe" if step.probe is None else f"probe {step.probe.describe()}"
        say(f"  hold {level}: {step.held} held, {step.rejected} rejected at once; {probe}")
        if step.rejected or step.unaccepted:
            return done
        left = deadline - time.monotonic()
        if left <= 0:
            return Ramp(steps=done.steps, stages=done.stages, cut="the time slice ended")
        done.stages.extend(
            await recover(CHECK, settings, target, limit=min(settings.recovery, left))
        )
    return done
