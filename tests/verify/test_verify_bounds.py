"""Must-hold 3: every check is bounded. A server that accepts and never answers, or one that
never accepts, cannot make verify run past its budget."""

from __future__ import annotations

import time

from chaos.target import Target
from chaos.verify import CHECKS, Expectations, Verdict, VerifySettings, verify

# Short client-side timeouts, so the smallest budget that fits every check is a few seconds.
QUICK = dict(
    connect_timeout=0.3,
    probe_timeout=0.3,
    recovery=0.3,
    cap=0.3,
    hog_time=0.3,
    hogs=2,
    flood=50,
    resets=10,
    max_hold=64,
    tolerance=0.05,
)
# Stage bookkeeping outside the slices (starting trio, judging, building records).
SLACK = 1.0


def smallest_budget(target: str, checks: tuple[str, ...], **extra) -> VerifySettings:
    """Settings whose budget is exactly what their schedule needs, plus nothing."""
    probe = VerifySettings(target=Target.parse(target), checks=checks, **QUICK, **extra)
    return VerifySettings(
        target=Target.parse(target),
        checks=checks,
        budget=probe.schedule().needed,
        **QUICK,
        **extra,
    )


def test_a_hung_server_cannot_stretch_the_run(mute_server):
    expect = Expectations(idle_timeout=0.2, flood="survives", resets="survives")
    settings = smallest_budget(mute_server.target, CHECKS, expectations=expect)
    assert settings.budget < 9
    began = time.monotonic()
    run = verify(settings)
    took = time.monotonic() - began
    assert took <= settings.budget + SLACK, (took, settings.budget)
    results = {r.check: r for r in run.results}
    assert set(results) == set(CHECKS)
    assert run.exit_code == 1
    assert results["idle-timeout"].measured.startswith("none within")
    assert results["half-close"].value == "no answer"
    assert results["flood"].verdict is Verdict.FAIL
    assert results["resets"].verdict is Verdict.FAIL
    assert "stalled" in results["hogging"].measured


def test_a_server_that_never_accepts_cannot_stretch_the_run(black_hole):
    checks = ("idle-timeout", "max-connections", "flood")
    settings = smallest_budget(black_hole, checks)
    began = time.monotonic()
    run = verify(settings)
    took = time.monotonic() - began
    assert took <= settings.budget + SLACK, (took, settings.budget)
    assert {r.check for r in run.results} == set(checks)
    assert run.results[-1].value == "down"
