"""The concurrency stage: plan from the calibration, hold, probe, and judge both limits.

The plan (:mod:`~chaos.verify.checks.holding`) says what to hold and how, or why this machine
cannot: then both limits are inconclusive with its numbers. Otherwise the ramp
(:mod:`~chaos.verify.ramp`) holds the counts in turn; with nothing promised of it, the limit
on requests is then narrowed by bisection, one fresh ramp per step, while time allows.
"""

from __future__ import annotations

import time

from ..checks import max_connections, max_served
from ..checks.holding import DRAIN_SHARE, HoldPlan, plan_holding
from ..checks.max_connections import Step
from ..checks.max_served import Observation, observe, read_served
from ..expectations import LIMIT_KEYS
from ..ramp import let_go, run_ramp
from ..settings import MAX_CONCURRENCY, MIN_CONCURRENCY
from .base import RunState, Stage

__all__ = ["LET_GO", "STAGE", "idle_hint", "silent_for"]

# Seconds the ramp waits, at most, for the server to let go of our earlier connections.
LET_GO = 2.0


def idle_hint(state: RunState) -> float | None:
    """The shortest silence the server allows: its idle and keep-alive timeouts as measured
    (else as promised); None when neither is known or it closes idle connections never."""
    known = []
    for key in ("idle-timeout", "keepalive-timeout"):
        measured = state.results.get(key)
        if measured is not None and isinstance(measured.value, int | float):
            known.append(float(measured.value))
        elif (promised := state.settings.expectations.seconds(key)) is not None:
            known.append(promised)
    return min(known, default=None)


def silent_for(state: RunState) -> float | None:
    """How long, at least, the server lets a connection be silent: its idle timeout as
    :func:`idle_hint` knows it, else the idle check's cap when it saw none close within it;
    a close sooner after a holder's last activity is not its idle timeout (dovecot closing
    its oldest clients past its limit). None when nothing is known."""
    known = idle_hint(state)
    if known is not None:
        return known
    measured = state.results.get("idle-timeout")
    detail = {} if measured is None else measured.detail
    samples, cap = detail.get("samples"), detail.get("cap")
    if isinstance(samples, list) and samples and all(s is None for s in samples):
        return cap if isinstance(cap, int | float) else None
    return None


def _observed(state: RunState, step: Step) -> Observation:
    """What a step's probe says of requests served: one left unanswered counts as refused
    where the accept queue was read behind it and the server answered its baseline well
    within the probe's timeout (else it may only have been slow)."""
    settings = state.settings
    baseline = state.baseline
    prompt = baseline is not None and baseline.latency is not None
    prompt = prompt and state.lag <= settings.probe_timeout * DRAIN_SHARE
    return observe(step.held, step.probe, queued=step.queued if prompt else None)


async def _narrow(
    state: RunState,
    plan: HoldPlan,
    observations: list[Observation],
    *,
    deadline: float,
    idle: float | None,
) -> str:
    """Bisect the held counts between a request answered and one refused; why it stopped."""
    settings = state.settings
    served = read_served(observations)
    while served.gap:
        assert served.answered is not None and served.refused is not None
        count = served.answered + (served.gap + 1) // 2
        ramp = await run_ramp(
            plan,
            settings,
            settings.target,
            counts=(count,),
            deadline=deadline,
            idle=idle,
            say=state.say,
            name="max-served",
            ask_again=False,
        )
        state.stages += ramp.stages
        if not ramp.steps:
            return ramp.cut or f"no time left to hold {count:,}"
        found = _observed(state, ramp.steps[-1])
        if found.served is None or found.held in {o.held for o in observations}:
            observations.append(found)
            return f"holding {count:,} gave {found.held:,} held and {found.seen}"
        observations.append(found)
        served = read_served(observations)
    return ""


async def run(state: RunState, limit: float) -> None:
    """Plan, hold and probe; judge the connections held and the requests served."""
    settings = state.settings
    deadline = time.monotonic() + limit
    idle, silent = idle_hint(state), silent_for(state)
    plan = plan_holding(settings, state.calibration, idle=idle, time_left=limit)
    state.notes.append(f"concurrency plan: {plan.why}")
    state.say(f"  plan: {plan.why}")
    if plan.undecidable is not None:
        state.undecided(LIMIT_KEYS, plan.undecidable)
        return
    # The calibration's burst just closed: a server that holds a slot per connection until a
    # process exits (sshd's children) would turn holders away for slots of ours it still had.
    earlier = [
        r.local_port
        for st in state.stages
        for r in st.result.records
        if r.connected and r.local_port
    ]
    if not await let_go(earlier, settings.target, time.monotonic() + LET_GO):
        state.notes.append(f"the server still held earlier connections of ours after {LET_GO:g} s")
    ramp = await run_ramp(
        plan,
        settings,
        settings.target,
        counts=plan.counts,
        deadline=deadline,
        idle=silent,
        say=state.say,
    )
    state.stages += ramp.stages
    observations = [observe(0, state.baseline)] + [_observed(state, s) for s in ramp.steps]
    why = ""
    if max_served.CHECK in settings.checks and settings.expectations.get(max_served.CHECK) is None:
        why = await _narrow(state, plan, observations, deadline=deadline, idle=silent)
    if max_connections.CHECK in settings.checks:
        # A request answered with N - 1 held (the ramp's or the bisection's) is N at once.
        served_at_once = max((o.held + 1 for o in observations if o.served), default=0)
        found = max_connections.read_limit(ramp.fated, ramp.steps, served=served_at_once)
        steps, cut, planned = ramp.steps, ramp.cut, plan.to_json()
        state.decide(lambda s: max_connections.judge(found, steps, s, cut=cut, plan=planned))
    if max_served.CHECK in settings.checks:
        served = read_served(observations)
        top, stopped = plan.top, why or (ramp.cut or "")
        held_as = "the holders kept alive" if plan.message else "the holders silent"
        state.decide(
            lambda s: max_served.judge(
                served, s, top=top, why=stopped, planned=plan.why, held_as=held_as
            )
        )


STAGE = Stage(
    name="max-connections",
    title="concurrency: hold connections, probe after each step",
    checks=LIMIT_KEYS,
    run=run,
    flexible=(MIN_CONCURRENCY, MAX_CONCURRENCY),
)
