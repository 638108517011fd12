"""The pytest plugin, tested with pytester: options, fixtures, profiles and the wire suite."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]

TINY_PROFILE = """
from hypothesis import settings
settings.register_profile("tiny", max_examples=3, derandomize=True, deadline=None)
def pytest_configure(config):
    settings.load_profile("tiny")
"""


def test_options_live_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*chaos testing of TCP servers*",
            "*--chaos-target=HOST:PORT*",
            "*--chaos-idle-timeout=SECONDS*",
            "*--chaos-profile*",
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


@pytest.mark.parametrize(("how", "expected"), [("option", 300), ("env", 15)])
def test_profiles_are_chosen_by_option_or_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, expected: int
) -> None:
    pytester.makepyfile(f"""
        from hypothesis import settings

        def test_profile():
            assert settings.default.max_examples == {expected}
    """)
    if how == "option":
        monkeypatch.setenv("CHAOS_PROFILE", "ci")
        pytester.runpytest("--chaos-profile", "deep").assert_outcomes(passed=1)
    else:
        monkeypatch.setenv("CHAOS_PROFILE", "ci")
        pytester.runpytest().assert_outcomes(passed=1)


def test_a_remote_target_is_refused_without_the_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(chaos): pass")
    result = pytester.runpytest("--chaos-target", "192.0.2.1:80")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*not loopback*--chaos-allow-remote*"])


def test_the_wire_suite_passes_against_a_toolkit_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAOS_PROFILE", raising=False)
    pytester.makepyfile(tiny=TINY_PROFILE)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "tiny", "--pyargs", "chaos.suite")
    result.assert_outcomes(passed=5)


class _Hello(socketserver.BaseRequestHandler):
    """Answers one read with a fixed reply; never times anything out (like socketserver)."""

    def handle(self) -> None:
        if self.request.recv(65536):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def timeoutless_server() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Hello)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = server.server_address[:2]
    yield f"{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_wire_suite_catches_a_server_without_an_idle_timeout(
    pytester: pytest.Pytester, timeoutless_server: str
) -> None:
    result = pytester.runpytest(
        "--pyargs",
        "chaos.suite",
        "--chaos-target",
        timeoutless_server,
        "--chaos-idle-timeout",
        "0.1",
        "-k",
        "idle_timeout",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*idle_timeout*server did not cut it*"])


def test_the_default_slack_follows_where_the_server_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, timeoutless_server: str
) -> None:
    # In this process the clients share the server's clock; across processes, verify's slack.
    monkeypatch.delenv("CHAOS_TOLERANCE", raising=False)
    pytester.makepyfile("""
        def test_slack(chaos_expect, request):
            remote = request.config.getoption("chaos_target") is not None
            assert chaos_expect.tolerance == (0.25 if remote else 0.1)
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest("--chaos-target", timeoutless_server).assert_outcomes(passed=1)
