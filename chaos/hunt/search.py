"""The search: Hypothesis draws scripts, ``target()`` steers it toward costlier ones, and
shrinking turns the first that breaks a bound into the smallest that still does.

Each example is a trial (:mod:`.trial`): a real run against the target, so its numbers carry
the machine's noise. Two things make the same seed give the same search all the same: the
scripts' timings are whole ticks (never a float drawn freely), and what steers the search,
each ``target()`` score, is the measure rounded to the tolerance, so noise below half of it
cannot change the next example. (A server deadline sitting half-way between two quanta can
still flip one; the search digest in the result tells two runs apart.) Nothing else feeds
back: no example database, no time-based choice (one bug is reported, so Hypothesis stops
generating at the first one rather than after a time), and a script drawn twice is judged
by its first trial rather than run again. The budget is split before any traffic: a trial
starts only if it fits, leaving room to replay what broke a bound.

Shrinking is mostly trials that break the bound, so each is cut as soon as it has (a
measure past bound + tolerance + MARGIN_TICKS ticks), in about the bound's time rather
than the whole hold. Hypothesis's shrinking spends many trials on other moves in the
script's place, so it gets the budget but for a pass that drops the smallest breaking
script's steps one at a time (a trial a step), keeping each drop that still breaks the
bound. The smallest breaking script is then replayed whole, so the worst reported is what
it really costs, and a value from a cut trial says so.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis
import trio
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.strategies import SearchStrategy

from ..faults import ScriptedParams
from ..plan import Plan
from ..script.steps import Repeat, expand, format_steps
from ..script.strategies import Script, scripts
from ..target import Target, as_target
from ..verify.verdict import CheckResult, Verdict
from .bound import HuntBounds
from .measures import MEASURES, Measure, quantise
from .result import HuntResult
from .trial import Cut, ServerLog, Setup, Trial, run_trial

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_CAP",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MOVES",
    "Say",
    "hunt",
]

Say = Callable[[str], None]

# A minute: enough for a few dozen trials against deadlines of a few seconds.
DEFAULT_BUDGET = 60.0
# Without any bound, each scripted client is held this long: past most servers' defaults.
DEFAULT_CAP = 12.0
# Moves per script: room for a setup, the attack and a twist; few enough to read (and each
# trial short: a move past the attack mostly waits for the server to close).
DEFAULT_MOVES = 3
# A trial lasts this long past the longest bound, so a hold that outlasts it is seen clearly;
# and a trial is cut this far past a measure's bound + tolerance, so it has clearly broken it.
MARGIN_TICKS = 2
# A loopback handshake takes microseconds; a second covers one dropped SYN's retry.
DEFAULT_CONNECT_TIMEOUT = 1.0
# Examples per Hypothesis run: it steers by target() from half-way through a run, so a run
# this short is steered within the first minute; a budget that outlasts one starts another
# (with a seed derived from the hunt's), until a bound breaks or the budget ends.
ROUND_EXAMPLES = 20
# Runs at most: a bound on the loop, far past any budget.
MAX_ROUNDS = 10_000


class _OutOfTime(BaseException):
    """Raised between examples once no further trial fits: Hypothesis stops at once."""


class _Enough(BaseException):
    """Raised once shrinking has had its share of trials: the smallest so far stands."""


class _Broken(AssertionError):
    """A trial broke a bound: Hypothesis shrinks the script that did it."""


def _size(trial: Trial) -> tuple[int, int, int]:
    """How small a script is: its steps, then the steps it runs (repeats unrolled), then its
    text."""
    steps = trial.script.steps
    return len(steps), sum(1 for _ in expand(steps)), len(trial.steps)


@dataclass
class _Tracker:
    """Every trial, and per measure the worst one and the smallest that broke its bound."""

    bounds: HuntBounds
    began: float
    tried: list[str] = field(default_factory=list)
    worst: dict[Measure, Trial] = field(default_factory=dict)
    unjudged: dict[Measure, Trial] = field(default_factory=dict)  # e.g. a deaf reader, unbound
    broken: dict[Measure, Trial] = field(default_factory=dict)
    runs: dict[str, list[Trial]] = field(default_factory=dict)
    found: tuple[int, float] | None = None

    def bound(self, measure: Measure, script: Script) -> float | None:
        if measure is Measure.WORKER:
            return self.bounds.worker_bound(reads_promptly=script.reads_promptly)
        return self.bounds.wire(reads_promptly=script.reads_promptly)

    def breaks(self, trial: Trial, measure: Measure) -> bool:
        bound = self.bound(measure, trial.script)
        value = trial.values.get(measure)
        return bound is not None and value is not None and value > bound + self.bounds.tolerance

    def cut(self, script: Script) -> Cut:
        """Where a trial of ``script`` is cut: each wire measure this far past its bound."""
        past = self.bounds.tolerance + MARGIN_TICKS * self.bounds.tick
        bounds = {m: self.bound(m, script) for m in (Measure.HOLD, Measure.PROBE)}
        return {m: bound + past for m, bound in bounds.items() if bound is not None}

    def seen(self, script: Script) -> Trial | None:
        """The first trial of ``script``, if it ran already."""
        runs = self.runs.get(format_steps(script.steps))
        return runs[0] if runs else None

    def add(self, trial: Trial) -> list[Measure]:
        """Take ``trial`` into account; the measures whose bound it broke."""
        self.tried.append(trial.steps)
        self.count(trial)
        broken = self.broken_by(trial)
        for measure in broken:
            smallest = self.broken.get(measure)
            # A tie goes to the later: shrinking tries simpler scripts as it goes.
            if smallest is None or _size(trial) <= _size(smallest):
                self.broken[measure] = trial
        if broken and self.found is None:
            self.found = (len(self.tried), time.monotonic() - self.began)
        return broken

    def count(self, trial: Trial) -> None:
        """Count ``trial`` as a run of its script, and its values toward the worst (of the
        scripts a bound judges, or of those none does)."""
        self.runs.setdefault(trial.steps, []).append(trial)
        for measure, value in trial.values.items():
            judged = self.bound(measure, trial.script) is not None
            worst = self.worst if judged else self.unjudged
            best = worst.get(measure)
            if best is None or value > best.values[measure]:
                worst[measure] = trial

    def broken_by(self, trial: Trial) -> list[Measure]:
        return [m for m in trial.values if self.breaks(trial, m)]

    def confirmed(self, measure: Measure, steps: str) -> bool | None:
        """Whether every run of ``steps`` broke the bound of ``measure`` (None: run once)."""
        runs = self.runs.get(steps, [])
        if len(runs) < 2:
            return None
        return all(self.breaks(t, measure) for t in runs)

    def spent(self, shrinks: int | None, kept: int = 0) -> bool:
        """Whether a bound broke and the trials since, with ``kept`` more still to come, make
        ``shrinks``."""
        if shrinks is None or self.found is None:
            return False
        return len(self.tried) - self.found[0] + kept >= shrinks

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.tried).encode()).hexdigest()[:16]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,  # the hunt's own seed decides, through @seed
        phases=(Phase.generate, Phase.target, Phase.shrink),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )


def _quiet(text: str) -> None:
    """The default ``say``: progress goes nowhere."""


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _shown(trial: Trial) -> str:
    """A trial as progress shows it: its values (a cut one's marked), then its script."""
    shown = ", ".join(f"{m} {_seconds(v)}" for m, v in trial.values.items())
    return f"{shown}{_cut(trial)}: {trial.steps or '(nothing sent)'}"


def _cut(trial: Trial) -> str:
    return " (cut)" if trial.cut else ""


def _flag(broken: list[Measure]) -> str:
    return f"  BROKEN: {', '.join(broken)}" if broken else ""


def _round_seed(seed: int, number: int) -> int:
    """Round ``number``'s Hypothesis seed: the hunt's own for the first, then derived."""
    return (
        seed
        if number == 0
        else int.from_bytes(
            hashlib.sha256(f"chaos hunt:{seed}:{number}".encode()).digest()[:8], "big"
        )
    )


def _round(
    strategy: SearchStrategy[Script],
    round_seed: int,
    setup: Setup,
    tracker: _Tracker,
    deadline: float,
    say: Say,
    shrinks: int | None = None,
) -> None:
    """One Hypothesis run of ROUND_EXAMPLES trials; raises what Hypothesis raises at its end
    (the shrunk failure), or _OutOfTime once a trial would not end by ``deadline`` (with a
    trial's time to spare for a replay, once a bound has broken)."""
    tolerance = tracker.bounds.tolerance

    @hypothesis.seed(round_seed)
    @_settings(ROUND_EXAMPLES)
    @given(strategy)
    def attempt(script: Script) -> None:
        trial = tracker.seen(script)
        if trial is None:
            cut = tracker.cut(script)
            spare, kept = _kept_back(tracker, setup)
            if time.monotonic() + setup.lasts(cut) + spare > deadline:
                raise _OutOfTime
            if tracker.spent(shrinks, kept):
                raise _Enough
            trial = trio.run(run_trial, setup, script, cut)
            broken = tracker.add(trial)
            say(f"#{len(tracker.tried)} {_shown(trial)}{_flag(broken)}")
        else:
            broken = tracker.broken_by(trial)
        for measure, value in trial.values.items():
            hypothesis.target(quantise(value, tolerance), label=measure.value)
        if broken:
            raise _Broken(", ".join(broken))

    attempt()


def _kept_back(tracker: _Tracker, setup: Setup) -> tuple[float, int]:
    """What Hypothesis may not spend (seconds, trials): a whole replay of what breaks a
    bound, and once one broke, a drop pass over the smallest breaking script (a trial a
    step) before it."""
    if not tracker.broken:
        return setup.lasts(), 0
    script = min(tracker.broken.values(), key=_size).script
    steps = len(script.steps)
    return setup.lasts() + steps * setup.lasts(tracker.cut(script)), steps


def _droppable(script: Script, protocol: str) -> bool:
    """Whether ``script`` is one a scripted client runs (a drop can leave a repeat with
    fewer steps before it than it repeats)."""
    try:
        ScriptedParams(steps=format_steps(script.steps), protocol=protocol)
    except ValueError:
        return False
    return bool(script.steps)


def _drops(script: Script) -> list[tuple[str, Script]]:
    """What a drop pass tries on ``script``, in order: without each move, then without each
    step, last first (a move of one step is tried once), a repeat after the others: it is
    what makes a short script last, so a script without it seldom still breaks a bound."""
    moves = [(f"move at step {a + 1}", script.without(a, n)) for a, n in script.spans]
    single = {a for a, n in script.spans if n == 1}
    steps = [i for i in reversed(range(len(script.steps))) if i not in single]
    steps.sort(key=lambda i: isinstance(script.steps[i], Repeat))
    return [*reversed(moves), *((f"step {i + 1}", script.without(i)) for i in steps)]


def _drop(tracker: _Tracker, setup: Setup, deadline: float, say: Say, shrinks: int | None) -> None:
    """Drop whole moves, then single steps, of each smallest breaking script, keeping a drop
    that still breaks the same bound (and starting again), until none does or the budget
    is spent. Hypothesis's shrinking stops where its share of the budget does; this
    reaches the few steps that matter in about a trial a step."""
    for measure in list(tracker.broken):
        dropped = True
        while dropped:
            dropped = False
            for what, candidate in _drops(tracker.broken[measure].script):
                if not _droppable(candidate, setup.protocol) or tracker.seen(candidate):
                    continue
                cut = tracker.cut(candidate)
                if time.monotonic() + setup.lasts(cut) + setup.lasts() > deadline:
                    return
                if tracker.spent(shrinks):
                    return
                trial = trio.run(run_trial, setup, candidate, cut)
                broken = tracker.add(trial)
                say(f"#{len(tracker.tried)} drop {what}: {_shown(trial)}{_flag(broken)}")
                if measure in broken:
                    dropped = True
                    break


def hunt(
    target: Target | str,
    bounds: HuntBounds,
    *,
    budget: float = DEFAULT_BUDGET,
    seed: int = 0,
    clients: int = 1,
    protocol: str = "http",
    max_moves: int = DEFAULT_MOVES,
    moves: tuple[str, ...] | None = None,
    shrinks: int | None = None,
    cap: float = DEFAULT_CAP,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    server_log: ServerLog | None = None,
    say: Say | None = None,
) -> HuntResult:
    """Search scripts for the costliest against ``target`` within ``budget`` seconds.

    ``clients`` of each script run at once (the target's workers, to see whether they can
    deny service to a probe); ``server_log`` reads an in-process server's records for the
    worker measure; ``moves`` narrows the search to those of
    :func:`chaos.script.strategies.moves`; ``shrinks`` caps the trials spent shrinking
    once a bound broke (None: as many as the budget allows). The same ``seed`` tries the
    same scripts in the same order (see the module's docstring for what could make it
    differ). Synchronous: call it outside trio.
    """
    say = say or _quiet
    if not budget > 0:
        raise ValueError(f"budget: must be > 0 seconds, got {budget!r}")
    aim = as_target(target)
    began = time.monotonic()
    longest = bounds.longest
    tick = bounds.tick
    hold = (longest if longest is not None else cap) + 2 * bounds.tolerance + MARGIN_TICKS * tick
    setup = Setup(
        target=aim,
        clients=clients,
        hold=hold,
        probe_every=min(bounds.tolerance, 4 * tick),
        protocol=protocol,
        seed=seed,
        connect_timeout=connect_timeout,
        server_log=server_log,
    )
    deadline = began + budget
    tracker = _Tracker(bounds, began)
    strategy = scripts(protocol, tick=tick, max_moves=max_moves, only=moves)
    ran_out = False
    for number in range(MAX_ROUNDS):
        try:
            _round(strategy, _round_seed(seed, number), setup, tracker, deadline, say, shrinks)
        except _Enough:
            break
        except _OutOfTime:
            ran_out = True
            break
        except Exception:  # the shrunk failure (or a flaky one): the tracker has it
            pass
        if tracker.broken:
            break
    _drop(tracker, setup, deadline, say, shrinks)
    replays = _replay(tracker, setup, deadline, say)
    rows = tuple(_row(m, tracker, replays, bounds) for m in MEASURES if _wanted(m, setup))
    notes = [_unjudged(m, tracker) for m in MEASURES if _wanted(m, setup)]
    notes = [note for note in notes if note]
    if ran_out:
        notes.append(f"the {budget:g} s budget ran out after {len(tracker.tried)} scripts")
    return HuntResult(
        target=str(aim),
        seed=seed,
        budget=budget,
        rows=rows,
        worst=_worst_plan(tracker),
        examples=len(tracker.tried),
        duration=time.monotonic() - began,
        search=tracker.digest,
        found_after=None if tracker.found is None else tracker.found[1],
        found_at=None if tracker.found is None else tracker.found[0],
        notes=tuple(notes),
        budget_ran_out=ran_out,
    )


def _unjudged(measure: Measure, tracker: _Tracker) -> str:
    """A note of a value worse than the row's (by more than the tolerance), by a script no
    bound judges (one that does not read its answers promptly, with no write timeout)."""
    unjudged, judged = tracker.unjudged.get(measure), tracker.worst.get(measure)
    if unjudged is None or judged is None:
        return ""
    value = unjudged.values[measure]
    if value <= judged.values[measure] + tracker.bounds.tolerance:
        return ""
    return (
        f"{measure}: {_seconds(value)} by a script that does not read promptly, not judged "
        f"(no write timeout given): {unjudged.steps}"
    )


def _wanted(measure: Measure, setup: Setup) -> bool:
    if measure is Measure.WORKER:
        return setup.server_log is not None
    return measure is not Measure.PROBE or setup.protocol == "http"


def _replay(tracker: _Tracker, setup: Setup, deadline: float, say: Say) -> dict[str, Trial | None]:
    """Replay each smallest breaking script whole (never cut), while the budget allows: what
    confirms it, and what it really costs."""
    replays: dict[str, Trial | None] = {}
    for trial in tracker.broken.values():
        steps = trial.steps
        if steps in replays:
            continue
        if time.monotonic() + setup.lasts() > deadline:
            replays[steps] = None
            continue
        again = trio.run(run_trial, setup, trial.script)
        tracker.count(again)
        replays[steps] = again
        say(f"replay: {_shown(again)}")
    return replays


def _bound_text(measure: Measure, bounds: HuntBounds) -> str | None:
    if measure is Measure.WORKER:
        return bounds.display(bounds.worker)
    prompt = bounds.wire(reads_promptly=True)
    unread = bounds.wire(reads_promptly=False)
    if prompt is None:
        return None
    if unread is None or unread == prompt:
        return f"{prompt:g} s"
    return f"{prompt:g} s ({unread:g} s unread)"


def _row(
    measure: Measure, tracker: _Tracker, replays: dict[str, Trial | None], bounds: HuntBounds
) -> CheckResult:
    expected = _bound_text(measure, bounds)
    worst = tracker.worst.get(measure) or tracker.unjudged.get(measure)
    broken = tracker.broken.get(measure)
    if worst is None:
        verdict = Verdict.SKIPPED if expected is None else Verdict.INCONCLUSIVE
        why = "no trial fitted the budget" if not tracker.tried else "no trial measured it"
        return CheckResult(
            check=measure.value,
            expected=expected,
            measured=f"not measured: {why}",
            verdict=verdict,
            reason="" if expected is None else f"expected at most {expected}, but {why}",
        )
    value = worst.values[measure]
    detail: dict[str, object] = {
        "title": measure.meaning,
        "worst": value,
        "worst_cut": worst.cut,  # from a trial cut short: the value is a lower bound
        "worst_steps": worst.steps,
        "steps": worst.steps,
        "plan": worst.plan.to_json(),
    }
    measured = _seconds(value) + _cut(worst)
    if broken is None:
        verdict = Verdict.INFO if expected is None else Verdict.PASS
        return CheckResult(
            check=measure.value,
            expected=expected,
            measured=measured,
            verdict=verdict,
            value=value,
            detail=detail,
        )
    found = broken.values[measure]
    bound = tracker.bound(measure, broken.script)
    assert bound is not None
    detail.update(
        steps=broken.steps, plan=broken.plan.to_json(), broken=found, cut=broken.cut, bound=bound
    )
    confirmed = tracker.confirmed(measure, broken.steps)
    again = replays.get(broken.steps)
    replayed = None if again is None else again.values.get(measure)
    if again is not None:
        detail["replayed"] = replayed
    measured += f"; {_seconds(found)}{_cut(broken)} by a {len(broken.script.steps)}-step script"
    if replayed is not None:
        measured += f", {_seconds(replayed)} replayed whole"
    held = f"{_seconds(found)}{' before its trial was cut' if broken.cut else ''}"
    if confirmed:
        verdict = Verdict.FAIL
        again_text = "again" if replayed is None else _seconds(replayed)
        reason = (
            f"expected at most {bound:g} s ± {bounds.tolerance:g} s, but a script held it "
            f"{held}, and {again_text} on replay"
        )
    else:
        verdict = Verdict.INCONCLUSIVE
        seen = "there was no time to replay it" if confirmed is None else "not on replay"
        reason = f"a script held it {held} (bound {bound:g} s) once, {seen}"
    return CheckResult(
        check=measure.value,
        expected=expected,
        measured=measured,
        verdict=verdict,
        value=value,
        reason=reason,
        detail=detail,
    )


def _worst_plan(tracker: _Tracker) -> Plan | None:
    """The plan of the worst attack: the smallest that broke a bound (in measure order),
    else the one that cost the most against its bound."""
    for measure in MEASURES:
        if measure in tracker.broken:
            return tracker.broken[measure].plan
    best: tuple[float, Trial] | None = None
    for measure, trial in tracker.worst.items():
        bound = tracker.bound(measure, trial.script) or 1.0
        ratio = trial.values[measure] / bound
        if best is None or ratio > best[0]:
            best = (ratio, trial)
    return None if best is None else best[1].plan
