"""Must-hold 1: against toolkit servers of known configurations, verify measures every timeout
within the tolerance and finds the concurrency limit exactly; a wrong expectation exits 1."""

from __future__ import annotations

import re

import pytest

from chaos.cli import main
from chaos.target import Target
from chaos.verify import Expectations, Verdict, VerifySettings, verify
from toolkit import ServerConfig

# Slack on every timing judgement here: loopback plus a busy 2-core test machine.
TOLERANCE = 0.1
# Far more than these runs take (2-3 s); only the worst case must fit.
BUDGET = 30.0
# Client and server stamp the same close within this (same clock, same process).
SAME_EVENT = 0.05
CHECKS = ("idle-timeout", "request-timeout", "write-timeout", "half-close", "max-connections")

CONFIGS = {
    # Two workers, two queued: the fifth connection is turned away with a 503 at once.
    "on-accept": dict(
        dispatch="on-accept",
        workers=2,
        max_pending=2,
        idle_timeout=0.3,
        request_timeout=0.6,
        write_timeout=0.4,
        queue_timeout=0.5,
    ),
    # Idle connections parked, not on workers: the limit is max_connections.
    "readiness": dict(
        dispatch="readiness",
        workers=2,
        max_pending=2,
        max_connections=5,
        idle_timeout=0.4,
        request_timeout=0.7,
        write_timeout=0.3,
    ),
    # No queue at all, and a request deadline shorter than the idle timeout.
    "no-queue": dict(
        dispatch="on-accept",
        workers=3,
        max_pending=0,
        idle_timeout=0.5,
        request_timeout=0.35,
        write_timeout=0.5,
    ),
}
LIMITS = {"on-accept": 4, "readiness": 5, "no-queue": 3}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_timeouts_and_limit_are_measured_exactly(name, toolkit_server):
    config = ServerConfig(**CONFIGS[name])
    target, server = toolkit_server(**CONFIGS[name])
    expectations = Expectations.from_config(config)
    assert expectations.max_connections == LIMITS[name]
    settings = VerifySettings(
        target=Target.parse(target),
        expectations=expectations,
        tolerance=TOLERANCE,
        budget=BUDGET,
        checks=CHECKS,
    )
    run = verify(settings)
    results = {r.check: r for r in run.results}
    assert run.exit_code == 0, [(r.check, r.measured, r.reason) for r in run.results]
    for check, promised in (
        ("idle-timeout", config.idle_timeout),
        ("request-timeout", config.request_timeout),
        ("write-timeout", config.write_timeout),
    ):
        assert results[check].verdict is Verdict.PASS
        assert results[check].value == pytest.approx(promised, abs=TOLERANCE), check
    assert results["max-connections"].value == LIMITS[name]
    assert results["max-connections"].measured.startswith(f"{LIMITS[name]} held")
    assert results["half-close"].value == "respond"
    assert run.duration < BUDGET

    # Cross-check with the server's own log: the closes verify timed are the server's
    # timeouts, at the same moments, and its rejections are the ones verify saw.
    stats = server.stats()
    for reason in ("idle_timeout", "request_timeout", "write_timeout"):
        assert stats.reasons.get(reason, 0) >= 1, reason
    assert any(reason.startswith("rejected") for reason in stats.reasons)
    idle = results["idle-timeout"].detail["samples"]
    timed = [
        r
        for stage in run.stages
        if stage.name.startswith("timeouts")
        for r in stage.of("idle")
        if r.server_closed_after in idle
    ]
    assert len(timed) == len(idle) >= 1
    for record in timed:
        logged = server.log.wait_record(record.local_port, timeout=1.0)
        assert str(logged.reason) == "idle_timeout"
        assert record.server_eof - logged.closed == pytest.approx(0, abs=SAME_EVENT)


def test_a_wrong_expectation_exits_1_naming_the_check(toolkit_server, capsys):
    target, _ = toolkit_server(**CONFIGS["on-accept"])
    argv = ["verify", "--target", target, "--tolerance", str(TOLERANCE), "--quiet"]
    argv += ["--budget", str(BUDGET), "--checks", "idle-timeout,half-close,max-connections"]
    argv += ["--expect", "idle-timeout=1", "max-connections=5", "half-close=respond"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    summary = next(line for line in out.splitlines() if line.startswith("FAILED"))
    assert "idle-timeout" in summary and "max-connections" in summary
    assert "half-close" not in summary
    # The measured timeout is the configured 0.3 s within the tolerance, not to the digit: a
    # throttled machine (`slow`) stalls the server for a few milliseconds now and then.
    found = re.search(r"expected 1 s ± 0\.1 s, measured (\d+\.\d+) s", out)
    assert found is not None, out
    assert float(found[1]) == pytest.approx(CONFIGS["on-accept"]["idle_timeout"], abs=TOLERANCE)
    assert "expected 5 held at once, measured: 4 held" in out


def test_the_right_expectations_exit_0(toolkit_server, capsys):
    target, _ = toolkit_server(**CONFIGS["no-queue"])
    argv = ["verify", "--target", target, "--tolerance", str(TOLERANCE), "--quiet"]
    argv += ["--budget", str(BUDGET), "--checks", "request-timeout,max-connections"]
    argv += ["--expect", "request-timeout=0.35", "max-connections=3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("ok: all 2 expectations hold")


def test_without_a_target_the_embedded_default_server_is_verified(capsys):
    argv = ["verify", "--checks", "half-close,resets", "--resets", "10", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "embedded toolkit server" in out and "default configuration" in out
    assert "half-close  respond" in out
    assert out.splitlines()[-1].startswith("ok: all 2 expectations hold")
