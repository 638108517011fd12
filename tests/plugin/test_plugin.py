"""The pytest plugin, tested with pytester in this process: options, fixtures, profiles, markers,
the conformance checks and the wire suite against in-process toolkit servers.

The environment is cleaned of CHAOS_* first (the repository's conftest sets a profile), so each
run sees only what it is given. `test_as_a_user.py` runs the plugin as users do: another
process, a fresh virtual environment, outside the repository.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import pytest
from hypothesis import settings

from chaos.testing import ConformanceError, check_server, suite
from chaos.testing.attack import ChaosSession
from chaos.testing.conformance import ATTEMPTS, SILENT_CLIENTS
from chaos.testing.profiles import check_settings
from chaos.verify.lateness import SAMPLE
from toolkit import CloseReason, Server, ServerConfig, Stats

pytest_plugins = ["pytester"]

# A user's own server command that never times anything out.
TIMEOUTLESS = Path(__file__).with_name("timeoutless.py")
# Few examples per generated check: these tests are about the plugin, not the search.
EXAMPLES = ("--chaos-examples", "3")
# A user's own Hypothesis profile as strict as they come: if the suite's generated checks
# took their settings from it, each example (a real attack, 100 ms and more) would fail its
# 1 ms deadline, and 1,000 examples would take minutes.
STRICT_PROFILE = """
from hypothesis import settings
settings.register_profile("strict", max_examples=1000, deadline=1, suppress_health_check=())
settings.load_profile("strict")
"""


# The profile this session runs (the repository's conftest chooses it).
SESSION_PROFILE = os.environ.get("CHAOS_PROFILE", "default")


@pytest.fixture(autouse=True)
def _no_chaos_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A clean environment for each pytester run, and this session's own Hypothesis profile
    back afterwards: a run in this process that loads `deep` would leave it loaded."""
    for name in ("CHAOS_PROFILE", "CHAOS_TOLERANCE"):
        monkeypatch.delenv(name, raising=False)
    yield
    settings.load_profile(SESSION_PROFILE)


def test_options_live_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*chaos testing of TCP servers*",
            "*--chaos-target=HOST:PORT*",
            "*--chaos-serve=COMMAND*",
            "*--chaos-idle-timeout=SECONDS*",
            "*--chaos-profile*",
            "*--chaos-examples=N*",
        ]
    )


def test_fixtures_run_a_plan_against_a_fresh_toolkit_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        from chaos import ClientSpec

        def test_attack(chaos, toolkit_server):
            result = chaos.run([ClientSpec(kind="never_send", params={"hold": 0.5}, count=2)],
                               horizon=1.0)
            assert result.counts["closed_by_server"] == 2
            assert chaos.violations(result) == []
            assert toolkit_server.stats().reasons == {"idle_timeout": 2}

        def test_each_test_gets_a_fresh_server(toolkit_server):
            assert toolkit_server.stats().accepted == 0
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_the_async_fixture_runs_plans_in_a_trio_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from chaos import ClientSpec

        @pytest.mark.trio
        async def test_attack(chaos_async, toolkit_server):
            spec = ClientSpec(kind="never_send", params={"hold": 0.5}, count=2)
            result = await chaos_async.run([spec], horizon=1.0)
            assert result.counts["closed_by_server"] == 2
            assert chaos_async.violations(result) == []
            assert (await chaos_async.probe()).detail["available"]
    """)
    pytester.runpytest("-p", "trio").assert_outcomes(passed=1)


@pytest.mark.parametrize(("how", "expected"), [("option", 300), ("env", 15)])
def test_profiles_are_chosen_by_option_or_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, expected: int
) -> None:
    pytester.makepyfile(f"""
        from hypothesis import settings

        def test_profile(chaos):
            assert settings.default.max_examples == {expected}
            assert chaos.settings.max_examples == {expected}
    """)
    monkeypatch.setenv("CHAOS_PROFILE", "ci")
    if how == "option":
        pytester.runpytest("--chaos-profile", "deep").assert_outcomes(passed=1)
    else:
        pytester.runpytest().assert_outcomes(passed=1)


def test_the_profiles_are_registered_once_hypothesis_is_in_use(pytester: pytest.Pytester) -> None:
    # In a process of its own without pytest-trio (which imports Hypothesis when it loads):
    # the plugin leaves Hypothesis alone when it loads, and registers the profiles once the
    # collected tests have imported it.
    pytester.makepyfile("""
        from hypothesis import settings

        def test_profile():
            settings.load_profile("deep")
            assert settings.default.max_examples == 300
    """)
    pytester.runpytest_subprocess("-p", "no:trio").assert_outcomes(passed=1)


def test_the_generated_checks_carry_their_own_settings() -> None:
    settings.register_profile("greedy", max_examples=1000, deadline=1)
    chosen = settings.get_profile("greedy")
    for profile, examples in ((None, 15), ("deep", 300)):
        own = check_settings(profile)
        assert (own.max_examples, own.deadline) == (examples, None) != (chosen.max_examples,)
    assert check_settings("deep", examples=4).max_examples == 4
    with pytest.raises(ValueError, match="examples"):
        check_settings(examples=0)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("--chaos-target", "192.0.2.1:80"), "not loopback*--chaos-allow-remote"),
        (("--chaos-target", "a" * 64 + ".example:80"), "--chaos-target: target: host*63"),
        (("--chaos-target", "127.0.0.1"), "--chaos-target: target: expected HOST:PORT"),
        (("--chaos-serve", "python -m app"), "--chaos-serve: needs {port}"),
        (("--chaos-idle-timeout", "-1"), "--chaos-idle-timeout: must be > 0"),
        (("--chaos-examples", "0"), "--chaos-examples: expected an integer >= 1"),
    ],
)
def test_bad_options_are_one_line_before_any_test_runs(
    pytester: pytest.Pytester, argv: tuple[str, ...], needle: str
) -> None:
    pytester.makepyfile("def test_it(chaos): pass")
    result = pytester.runpytest(*argv)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *{needle}*"])
    assert "Traceback" not in result.stderr.str()


def test_the_wire_suite_passes_against_a_toolkit_server_whatever_the_users_profile(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(STRICT_PROFILE)
    result = pytester.runpytest("--pyargs", "chaos.suite", *EXAMPLES)
    result.assert_outcomes(passed=5)


def test_markers_pick_the_suites_checks(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--pyargs", "chaos.suite", "-m", "chaos_idle_timeout")
    result.assert_outcomes(passed=1, deselected=4)


def test_the_check_fixture_runs_the_named_checks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_my_server_keeps_its_promises(chaos_check):
            found = chaos_check(checks=["idle-timeout", "write-timeout"])
            assert [f.verdict for f in found.findings] == ["pass", "pass"]
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_check_server_takes_a_factory_and_returns_what_it_measured() -> None:
    config = ServerConfig(idle_timeout=0.2, request_timeout=0.3, write_timeout=0.3, workers=4)
    factory = functools.partial(Server, config, "http-hello")
    few = check_settings(examples=2)
    found = check_server(factory, idle_timeout=0.2, request_timeout=0.3, settings=few)
    verdicts = {f.check: f.verdict for f in found.findings}
    assert verdicts == {
        "idle-timeout": "pass",
        "request-timeout": "pass",
        "write-timeout": "not promised",
        "hogging": "pass",
        "hostile-input": "pass",
    }
    idle = next(f for f in found.findings if f.check == "idle-timeout")
    # The times a client saw, within the check's tolerance of the promise (its "pass" says
    # so): a loaded client notes its start late, and sees a cut early by as much.
    seen = re.fullmatch(
        r"3 of 3 silent clients cut by the server after (\d+\.\d\d)-(\d+\.\d\d) s "
        r"\(promised 0\.2 s\)",
        idle.measured,
    )
    assert seen is not None, idle.measured
    assert 0 < float(seen[1]) <= float(seen[2])


# The whole process stopped this long (SIGSTOP, as a machine that deschedules it) while the
# silent clients wait: across the moment the server should cut them.
STALL = 0.6


@contextmanager
def stalled(config: ServerConfig, times: int) -> Iterator[Server]:
    """A toolkit server in this process, and the process stopped for STALL the first ``times``
    times the idle check's silent clients are all open: the server cuts them late, and the
    clients see it late, by the same stall."""
    with Server(config, "http-hello") as server:

        def stall() -> None:
            for attempt in range(times):
                # This measurement's clients open: the last one's all cut, as many open. The
                # counters only grow, so no moment between two measurements can be missed.
                def theirs(stats: Stats, cut: int = attempt * SILENT_CLIENTS) -> bool:
                    idle = stats.reasons.get(CloseReason.IDLE_TIMEOUT.value, 0)
                    return idle >= cut and stats.open >= SILENT_CLIENTS

                if not server.log.wait_for(theirs, 10.0):
                    return
                pid = os.getpid()
                cont = f"kill -STOP {pid}; sleep {STALL}; kill -CONT {pid}"
                subprocess.run(["sh", "-c", cont], check=True, timeout=10)

        thread = threading.Thread(target=stall, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            thread.join(30.0)


STALLED_CONFIG = ServerConfig(idle_timeout=0.3, request_timeout=1.0, write_timeout=1.0, workers=4)


def test_a_timeout_seen_late_only_while_this_process_was_stopped_is_inconclusive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = check_server(
        functools.partial(stalled, STALLED_CONFIG, ATTEMPTS),
        idle_timeout=0.3,
        tolerance=0.05,
        checks=["idle-timeout"],
    )
    (idle,) = found.findings
    assert idle.verdict == "inconclusive", idle.measured
    lagged = re.findall(r"this machine lagged (\d+) ms", idle.measured)
    assert len(lagged) == ATTEMPTS, idle.measured  # each measurement's reason
    assert all(int(ms) >= (STALL - SAMPLE) * 1000 for ms in lagged), idle.measured
    # The suite skips it, saying why, where a fail would say the server broke its promise.
    monkeypatch.setattr(suite, "run_check", lambda name, chaos: idle)
    with pytest.raises(pytest.skip.Exception, match="inconclusive: idle_timeout undecided"):
        suite._check("idle-timeout", cast(ChaosSession, None))


def test_a_check_the_machine_lagged_through_once_is_measured_again() -> None:
    found = check_server(
        functools.partial(stalled, STALLED_CONFIG, 1),
        idle_timeout=0.3,
        tolerance=0.05,
        checks=["idle-timeout"],
    )
    (idle,) = found.findings
    assert idle.verdict == "pass", idle.measured
    assert "(measured again: the first time, idle_timeout undecided" in idle.measured


def test_check_server_names_the_setting_a_server_does_not_enforce(timeoutless: str) -> None:
    began = time.monotonic()
    with pytest.raises(ConformanceError) as failed:
        check_server(timeoutless, idle_timeout=0.2, checks=["idle-timeout"])
    message = str(failed.value)
    assert message.splitlines()[0] == f"{timeoutless} broke idle-timeout"
    assert "idle_timeout not enforced (promised 0.2 s): 0 of 3 silent clients cut" in message
    assert "server did not cut it" in message
    # It gave up once the promise was clearly broken, not at some far horizon.
    assert time.monotonic() - began < 0.2 + 3 * 0.25 + 0.2 + 2.0
    with pytest.raises(ValueError, match="not loopback"):
        check_server("192.0.2.1:80", idle_timeout=1)
    with pytest.raises(ValueError, match="checks"):
        check_server(timeoutless, checks=["idle"])


def test_the_default_slack_follows_where_the_server_runs(
    pytester: pytest.Pytester, timeoutless: str
) -> None:
    # In this process the clients share the server's clock; across processes, verify's slack.
    pytester.makepyfile("""
        def test_slack(chaos_expect, request):
            remote = request.config.getoption("chaos_target") is not None
            assert chaos_expect.tolerance == (0.25 if remote else 0.1)
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest("--chaos-target", timeoutless).assert_outcomes(passed=1)


def test_a_served_command_that_dies_says_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(chaos_target): pass")
    script = pytester.makepyfile(died="import sys; sys.exit('no config file here')")
    result = pytester.runpytest("--chaos-serve", f"{sys.executable} {script} --port {{port}}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--chaos-serve: *python* exited with status 1*no config file*"])


def test_a_served_command_is_the_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_it(chaos_target, chaos_served, chaos_expect):
            assert chaos_target == chaos_served.target
            assert chaos_served.proc.poll() is None
            assert chaos_expect.tolerance == 0.25
    """)
    command = f"{sys.executable} {TIMEOUTLESS} --port {{port}}"
    pytester.runpytest("--chaos-serve", command).assert_outcomes(passed=1)


def test_a_timing_check_widens_its_tolerance_by_what_a_probe_takes_on_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A machine that takes 0.3 s to see a probe answered cannot judge a close to 0.25 s.
    import dataclasses
    import time

    from chaos.testing import conformance
    from chaos.testing.attack import ChaosSession
    from chaos.testing.bounds import Bounds

    seen: list[float] = []

    def slow_probe(self: ChaosSession) -> None:
        time.sleep(0.3)  # a probe this machine sees answered late: the point

    def record(chaos: ChaosSession) -> str:
        seen.append(chaos.expect.tolerance)
        return "measured"

    monkeypatch.setattr(ChaosSession, "probe", slow_probe)
    check = conformance.CHECKS["idle-timeout"]
    monkeypatch.setitem(conformance.CHECKS, "idle-timeout", dataclasses.replace(check, run=record))
    session = ChaosSession("127.0.0.1:9", Bounds(idle_timeout=1.0, tolerance=0.25))
    assert conformance.run_check("idle-timeout", session).verdict == "pass"
    assert seen and seen[0] >= 0.25 + 0.3
    assert session.expect.tolerance == 0.25  # the user's session is left as it was


@pytest.mark.skipif(
    shutil.which("slow") is None or os.geteuid() != 0,
    reason="needs root and the slow command (a CPU quota in a cgroup of its own)",
)
def test_the_cpus_a_process_may_use_are_its_cgroups_quota() -> None:
    # Half a CPU in a cgroup: what timing judgements widen their slack by, whatever the load.
    code = "from chaos.testing.bounds import cpus; print(cpus())"
    done = subprocess.run(
        ["slow", sys.executable, "-c", code],
        env={**os.environ, "SLOW_QUOTA": "50"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == 0.5


def test_the_default_toolkit_server_queues_every_request_of_the_suites_hogging_mix() -> None:
    # The wire suite's hogging check draws two specs of up to 3 x PRESSURE_FACTOR keep-alive
    # holders (chaos.testing.conformance), and probes one at a time: on a loaded machine all
    # their requests can be in flight at once, and a full queue answers the probe 503.
    from chaos.pytest_plugin import TEST_CONFIG
    from chaos.testing.strategies import PRESSURE_FACTOR

    assert TEST_CONFIG.workers + TEST_CONFIG.max_pending >= 2 * 3 * PRESSURE_FACTOR + 1
