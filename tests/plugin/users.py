"""pytest runs in users' projects: each in another process, in a directory outside the
repository, in a fresh virtual environment with the package installed, with no CHAOS_*
variables and no profile of ours (tests/plugin/test_as_a_user.py judges them)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..userenv import Lane, Running, UserEnv

__all__ = ["TIMEOUT", "Run", "gone", "running", "start_runs"]

# The user's own server: answers, but never times anything out.
TIMEOUTLESS = Path(__file__).with_name("timeoutless.py")
# The idle timeout the failing run promises of a server that has none.
TIMEOUT = "0.5"
# A run of the suite takes seconds; a loaded machine gets room, a hang does not.
RUN_TIMEOUT = 120
# How long a served process may take to go once pytest has stopped or died.
GONE_WAIT = 10.0
_POLL = 0.05
# The user's test that reports the served process, then waits to be interrupted: the run
# starts with the session, so it waits for its test, past any suite's 3 minutes; it is killed
# at the end, and if this session dies first it still ends by itself.
WAITING = """
import time
from pathlib import Path

def test_waits(chaos_served):
    Path("served.pid").write_text(str(chaos_served.pid))
    time.sleep(600)
"""


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
    """pytest started in a user's project, with its served command ``myserver.py``."""

    project: Path
    started: Running

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.started.proc

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
        return self.started.wait(RUN_TIMEOUT)

    def stop(self) -> None:
        self.started.stop()
        for pid in running(self.script):  # whatever a failed test left
            os.kill(pid, signal.SIGKILL)


def _start(user_env: UserEnv, project: Path, *args: str, lane: Lane | None) -> Run:
    project.mkdir()
    shutil.copy(TIMEOUTLESS, project / "myserver.py")
    (project / "test_waits.py").write_text(WAITING)
    argv = ["pytest", "-p", "no:cacheprovider", *args]
    output = project / "output.txt"
    return Run(project, user_env.start(argv, cwd=project, output=output, lane=lane))


def start_runs(user_env: UserEnv, root: Path, stack: ExitStack) -> dict[str, Run]:
    """Every run by name, the two at once (they wait on timeouts, not on the CPU); ``stack``
    stops each (and kills its leftovers) whatever its test found.

    ``fails``: the idle check fails against the user's server, then a test waits to be
    interrupted. ``killed``: a test waits with the user's server up, for pytest to be killed.
    The passing runs with no profile, against a toolkit server and nginx, are the README's
    (tests/test_readme.py); `deep` is run in-process by tests/plugin/test_plugin.py.
    """
    started: dict[str, Run] = {}

    def start(name: str, *args: str) -> None:
        started[name] = _start(user_env, root / name, *args, lane=None)
        stack.callback(started[name].stop)

    mine = f"python {root / 'fails' / 'myserver.py'} --port {{port}}"
    start(
        "fails",
        *["--pyargs", "chaos.suite", "test_waits.py", "-k", "idle_timeout or waits"],
        *["--chaos-serve", mine, f"--chaos-idle-timeout={TIMEOUT}"],
    )
    start("killed", "test_waits.py", "--chaos-serve", mine.replace("fails", "killed"))
    return started
