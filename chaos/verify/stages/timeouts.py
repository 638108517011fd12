"""The timeouts stage: idle, request, keep-alive, write and half-close clients together, then a
guard probe.

Each needs one connection and they do not compete, so they share one stage. A busy reply is
a rejection, never a timeout: it is not timed. And if the guard probe is not answered
promptly (within half the tolerance), the server was saturated by these few clients, so some
may have waited in its queue before their timer started: each timing check is then run
again on its own, time allowing. A timeout late by no more than this machine's lag is
undecided, not FAIL: the lag is the slower of the baseline probe's answer and how late this
process woke while the stage ran (:mod:`~chaos.verify.lateness`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from ...faults.probe import DEFAULT_MAX_LATENCY
from ...record import ClientRecord
from ..checks import (
    half_close,
    idle_timeout,
    keepalive_timeout,
    request_timeout,
    write_timeout,
)
from ..checks.base import TimeoutCheck
from ..checks.timing import excuse_lag
from ..expectations import CHECKS
from ..lateness import sampled
from ..observe import said, seconds, turned_away, within_idle
from ..probes import probe_role, probe_views
from ..settings import MARGIN, VerifySettings
from ..stage import Role, StageResult, run_stage
from ..verdict import CheckResult, undecided
from .base import Judge, RunState, Stage

__all__ = ["STAGE", "TIMEOUT_CHECKS"]

# In the order their clients are placed.
TIMEOUT_CHECKS: tuple[TimeoutCheck, ...] = (
    idle_timeout,
    request_timeout,
    keepalive_timeout,
    half_close,
    write_timeout,
)


def longest_wait(settings: VerifySettings) -> float:
    """The longest any chosen timeout check waits for the server to close (0 if none runs)."""
    caps = [settings.timeout_cap(c.CHECK) for c in TIMEOUT_CHECKS if c.CHECK in settings.checks]
    return max(caps, default=0.0)


def _slice(settings: VerifySettings) -> float:
    return settings.connect_timeout + longest_wait(settings) + MARGIN


def _kept(
    records: Sequence[ClientRecord],
    settings: VerifySettings,
    window: float,
    *,
    answered_after: float | None = None,
) -> list[ClientRecord]:
    """The records of connections the server served or timed, not those it turned away.

    Among others a rejection may come late (an accept queue that lagged). Measured alone,
    the server has nothing else of ours to be busy with: a rejection reply that came only
    ``answered_after`` seconds or more after the handshake answered the client's silence
    (gunicorn's sync worker writes a 500 as its timeout kills it), and is timed."""
    return [
        r
        for r in records
        if not turned_away(r, settings.profile, window=window)
        or (answered_after is not None and _answered_after(r, answered_after))
    ]


def _rejected_alone(record: ClientRecord) -> str:
    """Why a timeout measured alone is not timed: the server turned its client away."""
    said_so = said(record, 60, first_line=True)
    how = f" ({said_so})" if said_so else ""
    answered = _answered_in(record)
    when = "" if answered is None else f" {seconds(answered)} after connecting"
    return f"the server rejected it{how}{when}, even alone"


def _answered_after(record: ClientRecord, after: float) -> bool:
    """The server's first bytes came ``after`` seconds or more after the handshake."""
    answered = _answered_in(record)
    return answered is not None and answered >= after


def _answered_in(record: ClientRecord) -> float | None:
    """Seconds from the handshake to the server's first bytes (None: none came)."""
    if record.connected is None or record.first_byte is None:
        return None
    return record.first_byte - record.connected


async def run(state: RunState, limit: float) -> None:
    """All timeout clients at once, then a guard probe; re-measure alone what was disturbed."""
    settings = state.settings
    chosen = [c for c in TIMEOUT_CHECKS if c.CHECK in settings.checks]
    if state.large_missing is not None and write_timeout in chosen:
        state.decide(functools.partial(write_timeout.judge, (), unavailable=state.large_missing))
        chosen.remove(write_timeout)
    for check in [c for c in chosen if not c.roles(settings)]:
        state.decide(functools.partial(check.judge, ()))  # nothing to send here: it says why
        chosen.remove(check)
    roles = [role for check in chosen for role in check.roles(settings)]
    if not roles:
        return
    window = within_idle(settings.expectations.seconds("idle-timeout"))
    guard = probe_role(settings, "guard", start=window)
    stage, lag = await _sampled_stage(state, "timeouts", [*roles, guard], limit, gated=["guard"])
    guard_views = probe_views(stage, settings, "guard")
    prompt = min(settings.tolerance / 2, DEFAULT_MAX_LATENCY)
    latency = guard_views[0].latency if guard_views else None
    saturated = not guard_views or not (
        guard_views[0].available and latency is not None and latency <= prompt
    )
    rerun: list[tuple[TimeoutCheck, list[ClientRecord]]] = []
    for check in chosen:
        kept = _kept(stage.of(check.ROLE), settings, window)
        if not kept or (saturated and check is not half_close):
            rerun.append((check, kept))
            continue
        state.decide(_lag_excused(functools.partial(check.judge, kept), lag))
    if saturated and rerun:
        seen = guard_views[0].describe() if guard_views else "did not run"
        clients = sum(r.spec.count for r in roles)
        state.say(f"  the server was saturated by {clients} clients (probe {seen}):")
        state.say(f"  measuring {', '.join(c.CHECK for c, _ in rerun)} again, one at a time")
        state.notes.append(f"timeouts re-measured one at a time: a probe among them was {seen}")
    for check, kept in rerun:
        await _alone(state, check, window, kept, lag)


async def _alone(
    state: RunState,
    check: TimeoutCheck,
    window: float,
    before: list[ClientRecord],
    lag: float,
) -> None:
    """Measure one timeout check with nothing else running, if its cap fits the time left;
    else judge what the shared run saw (``before``), saying the server was saturated."""
    settings = state.settings
    need = settings.connect_timeout + settings.timeout_cap(check.CHECK) + MARGIN
    if need > state.left_for(STAGE.name):
        if before:
            state.decide(_lag_excused(functools.partial(_saturated, check, before), lag))
        else:
            why = "the server was busy with the other checks; no time left to measure it alone"
            state.undecided((check.CHECK,), why)
        return
    name, roles = f"timeouts: {check.CHECK} alone", check.roles(settings, alone=True)
    stage, lag = await _sampled_stage(state, name, roles, need)
    state.decide(
        _lag_excused(functools.partial(_judge_alone, check, stage.of(check.ROLE), window), lag)
    )


def _judge_alone(
    check: TimeoutCheck, records: Sequence[ClientRecord], window: float, settings: VerifySettings
) -> CheckResult:
    """``check`` judged from its clients measured alone. A rejection reply is timed only as
    late as a promised timeout could fire: any earlier, it may be a rejection from a server
    kept busy by clients not ours, and is never a wrong number."""
    promised = settings.expectations.seconds(check.CHECK)
    after = window if promised is None else max(window, promised - settings.tolerance)
    kept = _kept(records, settings, window, answered_after=after)
    if records and not kept:
        return undecided(check.CHECK, settings.expectations, _rejected_alone(records[0]))
    return check.judge(kept, settings)


async def _sampled_stage(
    state: RunState, name: str, roles: Sequence[Role], limit: float, *, gated: Sequence[str] = ()
) -> tuple[StageResult, float]:
    """Run (and record) a stage of timeout clients, and how much this machine lagged meanwhile:
    the slower of the baseline probe's answer and how late this process woke while it ran."""
    settings = state.settings
    async with sampled() as lateness:
        stage = await run_stage(
            name, roles, settings.target, limit=limit, gated=gated, seed=settings.seed
        )
    state.stages.append(stage)
    return stage, max(state.lag, lateness.worst)


def _lag_excused(judge: Judge, lag: float) -> Judge:
    """``judge``, with a lateness within this machine's own lag undecided, not FAIL."""

    def judged(settings: VerifySettings) -> CheckResult:
        return excuse_lag(judge(settings), settings.expectations, lag)

    return judged


def _saturated(
    check: TimeoutCheck, records: list[ClientRecord], settings: VerifySettings
) -> CheckResult:
    """``check`` judged from the shared run's ``records``, saying the server was saturated."""
    first = check.judge(records, settings)
    note = f"{first.measured}; measured while the server was saturated"
    return dataclasses.replace(first, measured=note)


STAGE = Stage(
    name="timeouts",
    title="timeouts: idle, request, keep-alive, write, half-close",
    checks=tuple(c for c in CHECKS if c in {t.CHECK for t in TIMEOUT_CHECKS}),
    run=run,
    slice=_slice,
)
