"""The plugin as users run it: pytest in another process, from a project directory outside the
repository, in a fresh virtual environment with the package installed, with no CHAOS_*
variables and no profile of ours, with a server of the user's own through --chaos-serve.

The runs (tests/plugin/users.py) start with the session (tests/conftest.py, ``user_runs``):
they wait on timeouts, so they run while the rest of the suite does; each test here judges
its own. The README's plugin commands run this way too, with no profile, in
tests/test_readme.py (against a toolkit server and nginx); here a failing server, SIGINT
and SIGKILL.
"""

from __future__ import annotations

import signal

import pytest

from .users import TIMEOUT, Run, gone, running


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
