"""Verify against real servers nobody here wrote, as Debian installs them: nginx, Redis and
memcached, each started once with short settings. Every setting is measured within the
tolerance, and a wrong expectation for each is judged FAIL from the same run's evidence.

Skipped when a program is absent; ``.ci/run`` installs them with apt-get when it can.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.daemons import Daemon, launched, memcached, nginx, redis
from bench.procs import Children
from chaos.cli import main
from chaos.protocols import MEMCACHED, REDIS
from chaos.target import Target
from chaos.verify import Expectations, Verdict, VerifyRun, VerifySettings, verify

ROOT = Path(__file__).resolve().parents[2]
# The wire's slack (verify's default); Redis and memcached add their whole-second clocks.
TOLERANCE = 0.25
# Far more than these runs take (2-4 s each); only the worst case must fit.
BUDGET = 30.0
# nginx's worker_connections here. It keeps some of them free (its listening socket, and a
# sixteenth spare) and, at the limit, closes the oldest idle connections to make room, in
# batches (ngx_drain_connections): it holds a few fewer idle clients than this at once.
WORKERS = 32
# Redis: idle clients closed after a second; past 100 clients,
# -ERR max number of clients reached.
REDIS_TIMEOUT, MAXCLIENTS = 1, 100
# memcached: idle clients closed after two seconds, swept up to 2.5 s late.
MEMCACHED_IDLE = 2
# How late each server's idle timeout may fire: its profile's timer granularity.
REDIS_LATE, MEMCACHED_LATE = REDIS.timer_granularity, MEMCACHED.timer_granularity


@pytest.fixture(scope="module")
def children() -> Iterator[Children]:
    with Children(ROOT) as started:
        yield started


@pytest.fixture
def running(children: Children) -> Iterator[Callable[[Daemon], str]]:
    """``running(daemon)`` starts it (or skips when it is absent); returns its target."""
    with contextlib.ExitStack() as stack:

        def start(daemon: Daemon) -> str:
            missing = daemon.absent()
            if missing:
                pytest.skip(missing)
            host, port = stack.enter_context(launched(children, daemon))
            return f"{host}:{port}"

        yield start


def run_once(
    target: str, protocol: str, expect: Expectations, checks: tuple[str, ...]
) -> VerifyRun:
    settings = VerifySettings(
        target=Target.parse(target),
        protocol=protocol,
        expectations=expect,
        checks=checks,
        tolerance=TOLERANCE,
        budget=BUDGET,
    )
    return verify(settings)


def by_check(run: VerifyRun) -> dict:
    return {r.check: r for r in run.results}


def assert_each_fails(run: VerifyRun, wrong: Expectations) -> None:
    """Every check ``wrong`` promises something of is judged FAIL from ``run``'s evidence."""
    judged = by_check(run.judged(wrong))
    for check in wrong.given():
        assert judged[check].verdict is Verdict.FAIL, (check, judged[check].measured)
        assert judged[check].reason


def test_nginx_header_and_keepalive_timeouts_and_worker_connections(running):
    target = running(
        nginx(client_header_timeout=1, keepalive_timeout=2, worker_connections=WORKERS)
    )
    expect = Expectations(idle_timeout=1, request_timeout=1, keepalive_timeout=2)
    checks = ("idle-timeout", "request-timeout", "keepalive-timeout", "max-connections")
    run = run_once(target, "http", expect, checks)
    results = by_check(run)
    assert run.exit_code == 0, [(r.check, r.measured, r.reason) for r in run.results]
    # client_header_timeout cuts a silent client and a trickled head alike, from the accept.
    for check, seconds in (("idle-timeout", 1), ("request-timeout", 1), ("keepalive-timeout", 2)):
        assert results[check].value == pytest.approx(seconds, abs=TOLERANCE), check
    held = results["max-connections"]
    assert WORKERS - WORKERS // 8 - 1 <= held.value <= WORKERS - 1, held.measured
    assert "oldest idle ones were closed" in held.measured
    assert_each_fails(
        run,
        Expectations(
            idle_timeout=2, request_timeout=2, keepalive_timeout=1, max_connections=WORKERS
        ),
    )


def test_redis_timeout_and_maxclients(running, capsys):
    target = running(redis(timeout=REDIS_TIMEOUT, maxclients=MAXCLIENTS))
    expect = Expectations(
        idle_timeout=REDIS_TIMEOUT, keepalive_timeout=REDIS_TIMEOUT, max_connections=MAXCLIENTS
    )
    checks = ("idle-timeout", "keepalive-timeout", "max-connections", "max-served")
    run = run_once(target, "redis", expect, checks)
    results = by_check(run)
    assert run.exit_code == 0, [(r.check, r.measured, r.reason) for r in run.results]
    for check in ("idle-timeout", "keepalive-timeout"):
        # It checks now and then, in whole seconds: a timeout of N closes from N to N + 2 s.
        value = results[check].value
        assert REDIS_TIMEOUT - TOLERANCE <= value <= REDIS_TIMEOUT + REDIS_LATE + TOLERANCE
    limit = results["max-connections"]
    assert limit.value == MAXCLIENTS
    assert limit.measured.endswith("the next rejected (-ERR max number of clients reached)")
    assert results["max-served"].value == MAXCLIENTS, results["max-served"].measured
    assert_each_fails(
        run, Expectations(idle_timeout=4, keepalive_timeout=4, max_connections=MAXCLIENTS + 1)
    )

    # The fault commands tell its rejection from its idle close: 1.5 x maxclients silent
    # clients, a third turned away at once, the rest cut after one to three seconds (held
    # longer than that, so each is cut; the run ends with the last close).
    hold = REDIS_TIMEOUT + REDIS_LATE + 1
    argv = ["never-send", "--target", target, "--count", str(MAXCLIENTS * 3 // 2)]
    argv += ["--hold", str(hold)]
    assert main([*argv, "--protocol", "redis", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    counts = {line.split()[0]: int(line.split()[1]) for line in lines[2:4]}
    assert counts == {"rejected": MAXCLIENTS // 2, "closed_by_server": MAXCLIENTS}, lines
    closed = next(line for line in lines if line.startswith("  never_send"))
    least = int(closed.split()[3])  # milliseconds until the first idle close
    assert least >= REDIS_TIMEOUT * 1000 - TOLERANCE * 1000, closed


def test_memcached_idle_timeout(running):
    target = running(memcached(idle_timeout=MEMCACHED_IDLE))
    expect = Expectations(idle_timeout=MEMCACHED_IDLE, keepalive_timeout=MEMCACHED_IDLE)
    run = run_once(target, "memcached", expect, ("idle-timeout", "keepalive-timeout"))
    results = by_check(run)
    assert run.exit_code == 0, [(r.check, r.measured, r.reason) for r in run.results]
    for check in ("idle-timeout", "keepalive-timeout"):
        value = results[check].value
        assert MEMCACHED_IDLE - TOLERANCE <= value <= MEMCACHED_IDLE + MEMCACHED_LATE + TOLERANCE
    assert_each_fails(run, Expectations(idle_timeout=5, keepalive_timeout=5))
