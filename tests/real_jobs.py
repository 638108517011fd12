"""Verify runs at real servers nobody here wrote, a few at a time, each at a server of its own,
and what the tests read from them. Each test module names its jobs (a server and what runs at
it) and gets their results from :func:`running` in a module-scoped fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.daemons import Daemon, launched
from bench.procs import Children
from chaos.target import Target
from chaos.verify import Expectations, Verdict, VerifyRun, VerifySettings, verify

__all__ = [
    "BUDGET",
    "LANES",
    "ROOT",
    "TOLERANCE",
    "Skipped",
    "Work",
    "assert_all_hold",
    "assert_each_fails",
    "assert_timed",
    "by_check",
    "result_of",
    "run_once",
    "running",
    "verified",
    "verifying",
]

ROOT = Path(__file__).resolve().parents[1]
# The wire's slack (verify's default); Redis and memcached add their whole-second clocks.
TOLERANCE = 0.25
# Far more than these runs take (2-5 s each); only the worst case must fit.
BUDGET = 30.0
# One job at one server's target; its result goes to the test that reads it.
Work = Callable[[str], object]
# Jobs run at once, at most: all eight at once starve one another on a machine four times
# slower (there a calibration read 246 connections/s, PostgreSQL's timer fired 0.16 s late).
LANES = 4


def run_once(
    target: str, protocol: str, expect: Expectations, checks: tuple[str, ...], **options: Any
) -> VerifyRun:
    """One verify run; ``options`` are other settings (``max_hold``, ``probe_timeout``, a
    custom protocol's ``send``, ``match``...)."""
    settings = VerifySettings(
        target=Target.parse(target),
        protocol=protocol,
        expectations=expect,
        checks=checks,
        tolerance=TOLERANCE,
        budget=BUDGET,
        **options,
    )
    return verify(settings)


def verifying(
    protocol: str, expect: Expectations, *, also: tuple[str, ...] = (), **options: Any
) -> Work:
    """Verify what `expect` promises, and measure the checks named in `also` beside it, with
    the other settings in `options`."""
    checks = (*expect.given(), *also)
    return lambda target: run_once(target, protocol, expect, checks, **options)


@contextlib.contextmanager
def running(jobs: dict[str, tuple[Daemon, Work]]) -> Iterator[dict[str, object]]:
    """Every job run, LANES at a time, each at its own server: by name, what it gave (or
    raised), or (a ``Skipped``) why its server could not run here."""
    out: dict[str, object] = {}
    with Children(ROOT) as children, contextlib.ExitStack() as stack:
        present = {}
        for name, (daemon, _) in jobs.items():
            missing = daemon.absent()
            if missing:
                out[name] = Skipped(missing)
            else:
                present[name] = launched(children, daemon)
        # Every server starts before any job, so none starts beside a job's timing; together,
        # as PostgreSQL's initdb alone takes a second.
        with ThreadPoolExecutor(max_workers=len(present) or 1) as starting:
            started = {n: starting.submit(stack.enter_context, cm) for n, cm in present.items()}
            targets = {}
            for name, future in started.items():
                host, port = future.result()
                targets[name] = f"{host}:{port}"
        with ThreadPoolExecutor(max_workers=LANES) as pool:
            futures = {name: pool.submit(jobs[name][1], target) for name, target in targets.items()}
            for name, future in futures.items():
                out[name] = future.exception() or future.result()
        yield out
        children.stop_all()  # together: one after another, their exits took 3.5 s


@dataclass(frozen=True)
class Skipped:
    reason: str


def result_of(runs: dict[str, object], name: str) -> object:
    got = runs[name]
    if isinstance(got, Skipped):
        pytest.skip(got.reason)
    if isinstance(got, BaseException):
        raise got
    return got


def verified(runs: dict[str, object], name: str) -> VerifyRun:
    run = result_of(runs, name)
    assert isinstance(run, VerifyRun)
    return run


def by_check(run: VerifyRun) -> dict:
    return {r.check: r for r in run.results}


def assert_all_hold(run: VerifyRun) -> None:
    """Every promise held. Where the only ones undecided are timeouts late by no more than
    this machine lagged (a machine far slower than this one, or starved), verify could not
    tell, and neither can this test: skipped as inconclusive, never passed."""
    undecided = [r for r in run.results if r.verdict is Verdict.INCONCLUSIVE]
    if run.exit_code == 3 and all("this machine lagged" in r.reason for r in undecided):
        pytest.skip(f"inconclusive on this machine: {undecided[0].reason}")
    assert run.exit_code == 0, [(r.check, r.measured, r.reason) for r in run.results]


def assert_each_fails(run: VerifyRun, wrong: Expectations) -> None:
    """Every check ``wrong`` promises something of is judged FAIL from ``run``'s evidence."""
    judged = by_check(run.judged(wrong))
    for check in wrong.given():
        assert judged[check].verdict is Verdict.FAIL, (check, judged[check].measured)
        assert judged[check].reason


def assert_timed(results: dict, seconds: float, *checks: str) -> None:
    """Each of ``checks`` measured ``seconds``, within the tolerance."""
    for check in checks:
        assert results[check].value == pytest.approx(seconds, abs=TOLERANCE), check
