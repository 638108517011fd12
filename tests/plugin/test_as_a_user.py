"""The plugin as users run it: pytest in another process, from a project directory outside the
repository, in a fresh virtual environment with the package installed, with no CHAOS_*
variables and no profile of ours; against servers in other processes (a toolkit server and
a server of the user's own, both through --chaos-serve, and nginx when it is installed).

The runs wait on timeouts, not on the CPU, so they all start together when the module does
and each test then judges its own. The README's plugin command runs this way too, with no
profile, in tests/test_readme.py; here it is `deep`, a failing server, SIGINT and SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..real_servers import NGINX, README_TIMEOUT, nginx
from ..userenv import UserEnv

# The user's own server: answers, but never times anything out.
TIMEOUTLESS = Path(__file__).with_name("timeoutless.py")
# Timeouts of the toolkit server the deep run serves, and what it promises of it.
TIMEOUT = "0.5"
# Examples per generated check: `deep` is its settings here, not its 300 examples.
EXAMPLES = ["--chaos-examples", "3"]
# A run of the suite takes seconds; a loaded machine gets room, a hang does not.
RUN_TIMEOUT = 120
# How long a served process may take to go once pytest has stopped or died.
GONE_WAIT = 10.0
_POLL = 0.05
# The user's test that reports the served process, then waits to be interrupted.
WAITING = """
import time
from pathlib import Path

def test_waits(chaos_served):
    Path("served.pid").write_text(str(chaos_served.pid))
    time.sleep(60)
"""


def _promise(seconds: str) -> list[str]:
    return [f"--chaos-{name}-timeout={seconds}" for name in ("idle", "request", "write")]


def running(script: Path) -> list[int]:
    """Processes running ``script`` as a served command (pytest's own command line holds its
    path too, but inside the one argument of --chaos-serve)."""
    token = f"{script}\0--port\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def gone(script: Path) -> bool:
    """Whether every process serving ``script`` exits within GONE_WAIT."""
    deadline = time.monotonic() + GONE_WAIT
    while running(script):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


@dataclass
class Run:
    """pytest started in a user's project; its output goes to a file (no pipe to fill)."""

    project: Path
    proc: subprocess.Popen[bytes]

    @property
    def script(self) -> Path:
        return self.project / "myserver.py"

    def served_pid(self) -> int:
        """The pid the waiting test reports, once it runs (bounded)."""
        marker = self.project / "served.pid"
        deadline = time.monotonic() + RUN_TIMEOUT
        while not marker.exists() and self.proc.poll() is None:
            assert time.monotonic() < deadline, "the waiting test never started"
            time.sleep(_POLL)
        assert marker.exists(), self.wait()[1]
        return int(marker.read_text())

    def wait(self) -> tuple[int, str]:
        code = self.proc.wait(RUN_TIMEOUT)
        return code, (self.project / "output.txt").read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(RUN_TIMEOUT)
        for pid in running(self.script):  # whatever a failed test left
            os.kill(pid, signal.SIGKILL)


def _start(user_env: UserEnv, project: Path, *args: str) -> Run:
    project.mkdir()
    shutil.copy(TIMEOUTLESS, project / "myserver.py")
    (project / "test_waits.py").write_text(WAITING)
    with (project / "output.txt").open("wb") as output:
        proc = subprocess.Popen(
            ["pytest", "-p", "no:cacheprovider", *args],
            cwd=project,
            env=user_env.environ(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Run(project, proc)


@pytest.fixture(scope="module")
def runs(user_env: UserEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every run of this module, started together; each stopped (and its leftovers killed)
    at the end whatever its test found."""
    root = tmp_path_factory.mktemp("as-a-user")
    serve = f"python -m toolkit serve --port {{port}} --idle-timeout {TIMEOUT}"
    serve += f" --request-timeout {TIMEOUT} --write-timeout {TIMEOUT}"
    suite = ["--pyargs", "chaos.suite", "--chaos-profile", "deep", *EXAMPLES]
    started: dict[str, Run] = {}
    with ExitStack() as stack:

        def start(name: str, *args: str) -> None:
            started[name] = _start(user_env, root / name, *args)
            stack.callback(started[name].stop)

        start("toolkit", *suite, "--chaos-serve", serve, *_promise(TIMEOUT))
        if NGINX is not None:
            served = stack.enter_context(nginx(README_TIMEOUT))
            promised = _promise(f"{README_TIMEOUT:g}")
            start("nginx", *suite, "--chaos-target", served.target, *promised)
        # The idle check fails against the user's server, then the waiting test is interrupted.
        mine = f"python {root / 'fails' / 'myserver.py'} --port {{port}}"
        start(
            "fails",
            *["--pyargs", "chaos.suite", "test_waits.py", "-k", "idle_timeout or waits"],
            *["--chaos-serve", mine, f"--chaos-idle-timeout={TIMEOUT}"],
        )
        start("killed", "test_waits.py", "--chaos-serve", mine.replace("fails", "killed"))
        yield started


def test_the_suite_passes_with_deep_against_a_toolkit_server_it_serves(
    runs: dict[str, Run],
) -> None:
    code, output = runs["toolkit"].wait()
    assert code == 0, output
    assert "5 passed" in output.strip().splitlines()[-1]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_the_suite_passes_with_deep_against_nginx(runs: dict[str, Run]) -> None:
    code, output = runs["nginx"].wait()
    assert code == 0, output
    assert "5 passed" in output.strip().splitlines()[-1]


def test_a_broken_idle_timeout_is_named_and_an_interrupt_leaves_nothing_behind(
    runs: dict[str, Run],
) -> None:
    run = runs["fails"]
    served = run.served_pid()  # the idle check has failed by now; the next test waits
    assert running(run.script) == [served]
    run.proc.send_signal(signal.SIGINT)
    code, output = run.wait()
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert f"idle_timeout not enforced (promised {TIMEOUT} s)" in output
    assert "1 failed" in output.strip().splitlines()[-1] and "KeyboardInterrupt" in output
    assert gone(run.script), "the served command outlived the interrupted run"


def test_killing_pytest_leaves_nothing_behind(runs: dict[str, Run]) -> None:
    run = runs["killed"]
    served = run.served_pid()
    assert running(run.script) == [served]
    run.proc.kill()
    assert run.wait()[0] == -signal.SIGKILL
    assert gone(run.script), "the served command outlived pytest"
