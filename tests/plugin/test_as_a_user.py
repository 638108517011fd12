"""The plugin as users run it: pytest in another process, from a project directory outside the
repository, in a fresh virtual environment with the package installed, with no CHAOS_*
variables and no profile of ours; against servers in other processes (a toolkit server and
a server of the user's own, both through --chaos-serve, and nginx when it is installed).

The runs (tests/plugin/users.py) start with the session (tests/conftest.py, ``user_runs``):
they wait on timeouts, so they run while the rest of the suite does; each test here judges
its own. The README's plugin commands run this way too, with no profile, in
tests/test_readme.py; here it is `deep`, a failing server, SIGINT and SIGKILL.
"""

from __future__ import annotations

import signal

import pytest

from ..real_servers import NGINX
from .users import TIMEOUT, Run, gone, running


def test_the_suite_passes_with_deep_against_a_toolkit_server_it_serves(
    user_runs: dict[str, Run],
) -> None:
    code, output = user_runs["toolkit"].wait()
    assert code == 0, output
    assert "5 passed" in output.strip().splitlines()[-1]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_the_suite_passes_with_deep_against_nginx(user_runs: dict[str, Run]) -> None:
    code, output = user_runs["nginx"].wait()
    assert code == 0, output
    assert "5 passed" in output.strip().splitlines()[-1]


def test_a_broken_idle_timeout_is_named_and_an_interrupt_leaves_nothing_behind(
    user_runs: dict[str, Run],
) -> None:
    run = user_runs["fails"]
    served = run.served_pid()  # the idle check has failed by now; the next test waits
    assert running(run.script) == [served]
    run.proc.send_signal(signal.SIGINT)
    code, output = run.wait()
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert f"idle_timeout not enforced (promised {TIMEOUT} s)" in output
    assert "1 failed" in output.strip().splitlines()[-1] and "KeyboardInterrupt" in output
    assert gone(run.script), "the served command outlived the interrupted run"


def test_killing_pytest_leaves_nothing_behind(user_runs: dict[str, Run]) -> None:
    run = user_runs["killed"]
    served = run.served_pid()
    assert running(run.script) == [served]
    run.proc.kill()
    assert run.wait()[0] == -signal.SIGKILL
    assert gone(run.script), "the served command outlived pytest"
