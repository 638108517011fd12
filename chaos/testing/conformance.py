"""The wire checks any server can be held to, and :func:`check_server`, which runs them all.

In the manner of ``trio.testing.check_two_way_stream``: a user's test calls

    check_server("127.0.0.1:8080", idle_timeout=5, request_timeout=10)

(or passes a factory that starts a fresh server per check) and gets an AssertionError naming
the broken setting, or what was measured. The pytest suite (``pytest --pyargs chaos.suite``)
runs the same checks, one test each: this module is their one home.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

from hypothesis import given
from hypothesis import settings as Settings

from ..faults import NeverSendParams, ProbeParams, SlowlorisParams, SlowReadParams
from ..faults.base import Deadline
from ..faults.registry import FAULTS
from ..plan import ClientSpec, Plan
from ..record import Outcome
from ..result import ChaosResult
from ..target import Target, unreachable
from ..verify.lateness import sampling
from ..verify.settings import WIRE_TOLERANCE
from .attack import ChaosSession
from .bounds import Bounds
from .checker import Violation
from .checker.violation import connection_name
from .markers import SUMMARIES, marker
from .profiles import check_settings
from .strategies import LARGE_RESPONSE, chaos_plans

__all__ = [
    "ATTEMPTS",
    "CHECKS",
    "HOGGING",
    "HOSTILE",
    "MARGIN",
    "Conformance",
    "ConformanceError",
    "Finding",
    "ServerLike",
    "Undecided",
    "WireCheck",
    "check_server",
    "hold_to_checks",
    "reach",
    "run_check",
]

# Attacks that hold connections open: a server should stay available while they last.
HOGGING = tuple(kind for kind, fault in FAULTS.items() if fault.traits.holds)
# Attacks that send hostile input and leave: a server should serve again once they are done.
HOSTILE = tuple(kind for kind, fault in FAULTS.items() if fault.traits.hostile)
# Extra seconds past a deadline before a held client gives up: room to see the server act.
MARGIN = 0.2
# Clients per timeout check: more than one, so a server that cuts only the first is caught.
SILENT_CLIENTS = 3
TRICKLERS = 2
# Times a check is measured before this machine's lag makes it inconclusive: a stall long
# enough to hide a timeout seldom comes twice in a row, and a broken promise fails at once.
ATTEMPTS = 2
# Probes sent during each hogging attack, a few per attack window.
PROBES = ClientSpec.of(ProbeParams(repeat=3, interval=0.05), start=0.05)
_SERVER_ENDS = (Outcome.CLOSED_BY_SERVER, Outcome.RESET_BY_SERVER)

# A server to check: its HOST:PORT (or a Target, or a (host, port) pair), or a factory whose
# context manager starts a fresh one per check and yields it (anything with an ``address``
# or a ``target``, e.g. a toolkit Server, or the address itself).
ServerLike: TypeAlias = "str | Target | tuple[str, int] | Callable[[], AbstractContextManager[Any]]"


@dataclass(frozen=True, kw_only=True)
class WireCheck:
    """One check: its name, the promise it needs (None: every server is held to it), its run.

    ``run`` attacks the session's target and returns what it measured, or raises
    AssertionError naming the broken promise.
    """

    name: str
    needs: Deadline | None
    summary: str
    run: Callable[[ChaosSession], str]

    @property
    def marker(self) -> str:
        """The pytest marker that selects this check in the suite: ``chaos_idle_timeout``."""
        return marker(self.name)


class Undecided(Exception):
    """A check this machine could not decide: what it measured, and why that is not enough."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """What one check found: ``pass``, ``fail``, ``inconclusive`` (this machine could not
    tell) or ``not promised``, and what it measured."""

    check: str
    verdict: str
    measured: str

    def __str__(self) -> str:
        return f"{self.check}: {self.verdict}: {self.measured}"


@dataclass(frozen=True, kw_only=True)
class Conformance:
    """Every check's finding against one server."""

    target: str
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.verdict == "fail")

    def __str__(self) -> str:
        return "\n".join([f"chaos conformance of {self.target}:", *map(str, self.findings)])


class ConformanceError(AssertionError):
    """A server broke a promise; ``conformance`` holds every finding."""

    def __init__(self, conformance: Conformance) -> None:
        names = ", ".join(f.check for f in conformance.failed)
        super().__init__(f"{conformance.target} broke {names}\n{conformance}")
        self.conformance = conformance


def _hold_past(setting: float, expect: Bounds) -> float:
    return setting + 3 * expect.tolerance + MARGIN


def _promised(chaos: ChaosSession, which: Deadline) -> float:
    setting = chaos.expect.deadline(which)
    if setting is None:
        raise LookupError(f"no {which.value} promised")
    return setting


def _cut(chaos: ChaosSession, spec: ClientSpec, hold: float, which: Deadline, what: str) -> str:
    """Run ``spec``'s clients (held ``hold`` s, past the promise) and judge how the server
    cut them."""
    with sampling() as lateness:
        result = chaos.run([spec], horizon=hold + 1)
    return _judge_cut(chaos, result, which, what, lateness.worst)


def _judge_cut(
    chaos: ChaosSession, result: ChaosResult, which: Deadline, what: str, lag: float
) -> str:
    """Every client cut by the server within the promise, or an AssertionError naming it;
    Undecided where every client was cut late by no more than this process woke late
    (``lag``): the server's timers wait as long for a CPU, and a lateness that small cannot
    be told from the machine's."""
    setting = _promised(chaos, which)
    violations = chaos.violations(result)
    for record in result.records:
        if record.connected is None:
            detail = record.error or "it never connected"
            violations.append(
                Violation(which.value, connection_name(record), record.outcome.value, detail)
            )
    cut = [r.server_closed_after for r in result.records if r.outcome in _SERVER_ENDS]
    times = sorted(t for t in cut if t is not None)
    seen = f"{times[0]:.2f}-{times[-1]:.2f} s" if times else "never"
    measured = f"{len(cut)} of {len(result.records)} {what} cut by the server after {seen}"
    if not violations:
        return f"{measured} (promised {setting:g} s)"
    late = [_past(v, which) for v in violations]
    if all(past is not None and past <= lag for past in late):
        worst = max(past for past in late if past is not None)
        raise Undecided(
            f"{which.value} undecided (promised {setting:g} s): {measured}, at most "
            f"{worst * 1000:.0f} ms past the bound, but this machine lagged {lag * 1000:.0f} ms "
            "(this process woken late while the clients waited): a lateness that small cannot "
            "be told from the machine's"
        )
    lines = [f"{which.value} not enforced (promised {setting:g} s): {measured}"]
    raise AssertionError("\n".join([*lines, *map(str, violations)]))


def _past(violation: Violation, which: Deadline) -> float | None:
    """How far past its bound a client was cut (or gave up waiting), or None when the
    violation is no lateness (an early close, a client that never connected)."""
    measured, bound = violation.measured, violation.bound
    if violation.invariant != which.value or not isinstance(measured, float):
        return None
    if not isinstance(bound, float | int):
        return None
    return measured - bound


def silent_clients_are_cut(chaos: ChaosSession) -> str:
    """Clients that connect and never send are cut at the idle timeout, neither early nor late."""
    hold = _hold_past(_promised(chaos, Deadline.IDLE), chaos.expect)
    spec = ClientSpec.of(NeverSendParams(hold=hold), count=SILENT_CLIENTS)
    return _cut(chaos, spec, hold, Deadline.IDLE, "silent clients")


def trickled_requests_are_cut(chaos: ChaosSession) -> str:
    """Request heads trickled without end are cut at the request deadline (slowloris)."""
    hold = _hold_past(_promised(chaos, Deadline.REQUEST), chaos.expect)
    # Trickle well inside the idle timeout, so only the request deadline can cut it.
    interval = min((chaos.expect.idle_timeout or 1.0) / 4, 0.5)
    spec = ClientSpec.of(SlowlorisParams(interval=interval, hold=hold), count=TRICKLERS)
    return _cut(chaos, spec, hold, Deadline.REQUEST, "trickled requests")


def non_readers_are_cut(chaos: ChaosSession) -> str:
    """A client that never reads a large response is cut at the write timeout."""
    hold = _hold_past(_promised(chaos, Deadline.WRITE), chaos.expect)
    params = SlowReadParams(path=LARGE_RESPONSE, never_read=True, rcvbuf=4096, hold=hold)
    return _cut(chaos, ClientSpec.of(params), hold, Deadline.WRITE, "non-reading clients")


def stays_available_while_hogged(chaos: ChaosSession) -> str:
    """Probes are served while generated mixes of holding attacks (Hypothesis) hog the server."""
    served = sent = 0

    @chaos.settings
    @given(plan=chaos_plans(kinds=HOGGING, max_specs=2, max_hold=0.3))
    def attack(plan: Plan) -> None:
        nonlocal served, sent
        with_probes = Plan(clients=(*plan.clients, PROBES), horizon=plan.horizon, seed=plan.seed)
        result = chaos.run(with_probes)
        violations = chaos.violations(result)
        assert not violations, "availability while hogged:\n" + "\n".join(map(str, violations))
        probes = result.probe
        served += 0 if probes is None else probes.available
        sent += 0 if probes is None else probes.total

    attack()
    return f"probes {served}/{sent} served during generated hogging attacks"


def serves_again_after_hostile_input(chaos: ChaosSession) -> str:
    """After each generated mix of hostile input (Hypothesis), a probe is served."""
    attacks = 0

    @chaos.settings
    @given(plan=chaos_plans(kinds=HOSTILE, max_specs=3, max_hold=0.2))
    def attack(plan: Plan) -> None:
        nonlocal attacks
        chaos.run(plan)
        after = chaos.probe()
        assert after.detail.get("available"), f"not served after hostile input: {after}"
        attacks += 1

    attack()
    return f"served a probe after each of {attacks} generated attacks"


CHECKS: dict[str, WireCheck] = {
    check.name: check
    for check in (
        WireCheck(
            name="idle-timeout",
            needs=Deadline.IDLE,
            summary=SUMMARIES["idle-timeout"],
            run=silent_clients_are_cut,
        ),
        WireCheck(
            name="request-timeout",
            needs=Deadline.REQUEST,
            summary=SUMMARIES["request-timeout"],
            run=trickled_requests_are_cut,
        ),
        WireCheck(
            name="write-timeout",
            needs=Deadline.WRITE,
            summary=SUMMARIES["write-timeout"],
            run=non_readers_are_cut,
        ),
        WireCheck(
            name="hogging",
            needs=None,
            summary=SUMMARIES["hogging"],
            run=stays_available_while_hogged,
        ),
        WireCheck(
            name="hostile-input",
            needs=None,
            summary=SUMMARIES["hostile-input"],
            run=serves_again_after_hostile_input,
        ),
    )
}


def run_check(name: str, chaos: ChaosSession) -> Finding:
    """Run one check; ``not promised`` if the server promises nothing it could test,
    ``inconclusive`` if this machine lagged too much to tell in ATTEMPTS measurements."""
    check = CHECKS[name]
    if check.needs is not None and chaos.expect.deadline(check.needs) is None:
        return Finding(check=name, verdict="not promised", measured=f"no {check.needs.value}")
    undecided: list[str] = []
    while True:
        session = chaos
        if check.needs is not None:
            session = dataclasses.replace(chaos, expect=_with_lag(chaos))
        try:
            measured = check.run(session)
        except Undecided as exc:
            undecided.append(str(exc))
            if len(undecided) < ATTEMPTS:
                continue
            why = "; measured again: ".join(undecided)
            return Finding(check=name, verdict="inconclusive", measured=why)
        except AssertionError as exc:
            notes = getattr(exc, "__notes__", [])
            return Finding(check=name, verdict="fail", measured="\n".join([str(exc), *notes]))
        if undecided:
            measured += f" (measured again: the first time, {undecided[0]})"
        return Finding(check=name, verdict="pass", measured=measured)


def _with_lag(chaos: ChaosSession) -> Bounds:
    """The session's bounds, their tolerance widened by how long one probe with nothing held
    takes here: a timeout seen that much late is this machine's delay in seeing the close
    (a loaded or slow machine), not the server's."""
    began = time.monotonic()
    chaos.probe()
    lag = time.monotonic() - began
    return dataclasses.replace(chaos.expect, tolerance=chaos.expect.tolerance + lag)


def reach(target: str) -> None:
    """An AssertionError if ``target`` cannot be reached at all (every check would fail for
    that one reason, slowly)."""
    why = unreachable(Target.parse(target))
    if why is not None:
        raise AssertionError(f"cannot reach {target}: {why}")


def _address_of(running: object) -> str:
    """HOST:PORT of what a factory yielded: an address, or something with one."""
    for attribute in ("target", "address"):
        value = getattr(running, attribute, None)
        if value is not None and not callable(value):
            running = value
            break
    if isinstance(running, tuple) and len(running) >= 2:
        running = Target(host=str(running[0]), port=running[1])
    if isinstance(running, Target | str):
        return str(Target.parse(str(running)))
    raise TypeError(f"server: cannot tell the address of {running!r}")


def _loopback(target: str, allow_remote: bool) -> None:
    try:
        ok = allow_remote or Target.parse(target).is_loopback()
    except OSError as exc:
        raise ValueError(f"server: cannot resolve {target} ({exc})") from None
    if not ok:
        raise ValueError(f"server: {target} is not loopback; pass allow_remote=True to aim there")


@contextmanager
def _served(server: ServerLike) -> Iterator[str]:
    """The address of ``server``, started fresh by it if it is a factory."""
    if isinstance(server, str | Target | tuple):
        yield _address_of(server)
        return
    with server() as running:
        yield _address_of(running)


def hold_to_checks(
    checks: Iterable[str] | None,
    sessions: Callable[[], AbstractContextManager[ChaosSession]],
) -> Conformance:
    """Run ``checks`` (all by default), each on a session from ``sessions``; the findings, or
    ConformanceError naming each broken promise. ValueError for an unknown check."""
    __tracebackhide__ = True  # pytest shows the user's call, not this loop
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"checks: {unknown[0]!r} is not one of {', '.join(CHECKS)}")
    findings, target = [], ""
    for name in names:
        with sessions() as chaos:
            target = chaos.target
            reach(target)
            findings.append(run_check(name, chaos))
    conformance = Conformance(target=target, findings=tuple(findings))
    if conformance.failed:
        raise ConformanceError(conformance)
    return conformance


def check_server(
    server: ServerLike,
    *,
    idle_timeout: float | None = None,
    request_timeout: float | None = None,
    write_timeout: float | None = None,
    tolerance: float = WIRE_TOLERANCE,
    checks: Iterable[str] | None = None,
    settings: Settings | None = None,
    allow_remote: bool = False,
) -> Conformance:
    """Hold ``server`` to every wire check (or ``checks``, by name) and return the findings.

    Timeouts not given are not checked. Raises :class:`ConformanceError` (an AssertionError)
    naming each broken setting; ValueError for an unknown check or a non-loopback target
    without ``allow_remote``. ``settings`` are the generated checks' Hypothesis settings
    (default: the ``ci`` profile's). For code inside trio, call it with
    ``await trio.to_thread.run_sync(functools.partial(check_server, ...))``.
    """
    __tracebackhide__ = True
    expect = Bounds(
        idle_timeout=idle_timeout,
        request_timeout=request_timeout,
        write_timeout=write_timeout,
        tolerance=tolerance,
    )
    chosen = check_settings() if settings is None else settings

    @contextmanager
    def sessions() -> Iterator[ChaosSession]:
        with _served(server) as target:
            _loopback(target, allow_remote)
            yield ChaosSession(target, expect, chosen)

    return hold_to_checks(checks, sessions)
