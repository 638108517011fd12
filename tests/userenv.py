"""A user's machine, for tests that run the package as users do.

A fresh virtual environment outside the repository with this checkout installed the way a
user installs it (``pip install`` of a copy of its tracked files, so a module left out of git
or of the package data is missing here too), and an environment with none of the
repository's own settings: no CHAOS_*, PYTEST_*, HYPOTHESIS_* or PYTHONPATH. The package's
dependencies are this test run's own (linked in, not downloaded again), so building the
environment costs one wheel build, once per session.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "Lane", "Running", "UserEnv", "build"]

ROOT = Path(__file__).resolve().parent.parent
# What this checkout installs (its packages, its metadata, an editable install's hooks): left
# out of the linked dependencies, so only the copy installed for the user can be imported.
_PACKAGES = ("chaos", "toolkit")
_OWN_PREFIXES = ("chaos_toolkit_tcp-", "__editable__")
# Variables of this run that a user's shell would not have.
_DROPPED = ("CHAOS_", "PYTEST_", "HYPOTHESIS_", "PYTHON", "VIRTUAL_ENV", "COV_")
# A wheel build in an isolated environment takes seconds; a loaded slow machine gets room.
INSTALL_TIMEOUT = 300


class Lane:
    """Commands started a few at a time, in order: each when fewer than ``width`` of the ones
    before it still run (:meth:`advance`, called between tests), or at once when it is waited
    for. Started all together they would load the machine the other tests time themselves on.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.queued: deque[Running] = deque()
        self.started: list[Running] = []

    def advance(self) -> None:
        self.started = [r for r in self.started if r.proc.poll() is None]
        while self.queued and len(self.started) < self.width:
            self._start_next()

    def start_through(self, running: Running) -> None:
        """Start ``running`` and every command queued before it."""
        while running in self.queued:
            self._start_next()

    def _start_next(self) -> None:
        head = self.queued.popleft()
        head.launch()
        self.started.append(head)


class Running:
    """A command started in a user's environment, its stdout and stderr going to a file: no
    pipe to fill, and no descriptor or thread of this process held while it runs (tests that
    count their own descriptors run meanwhile). In a :class:`Lane` it may not have started
    yet; waiting for it starts it."""

    def __init__(self, popen: Callable[[], subprocess.Popen[bytes]], output: Path) -> None:
        self._popen = popen
        self._proc: subprocess.Popen[bytes] | None = None
        self.output = output
        self.lane: Lane | None = None

    def launch(self) -> None:
        if self._proc is None:
            self._proc = self._popen()

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            if self.lane is not None:
                self.lane.start_through(self)
            self.launch()
        assert self._proc is not None
        return self._proc

    def wait(self, timeout: float) -> tuple[int, str]:
        """Its exit status and everything it wrote; TimeoutExpired if it runs past ``timeout``."""
        code = self.proc.wait(timeout)
        return code, self.output.read_text(errors="replace")

    def stop(self) -> None:
        """Kill its process group if it still runs (its own children with it); a command not
        started yet never starts. Idempotent."""
        if self._proc is None:
            if self.lane is not None and self in self.lane.queued:
                self.lane.queued.remove(self)
            return
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()


@dataclass(frozen=True)
class UserEnv:
    """A virtual environment with the package installed, and how to run things in it."""

    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A user's shell in this environment: its bin/ first on PATH, nothing of ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
        env["PATH"] = os.pathsep.join([str(self.bin), env.get("PATH", os.defpath)])
        env["VIRTUAL_ENV"] = str(self.venv)
        return {**env, **(extra or {})}

    def start(
        self, argv: Sequence[str], *, cwd: Path, output: Path, lane: Lane | None = None
    ) -> Running:
        """Start ``argv`` (``python`` and the package's scripts are this environment's) in a
        process group of its own, stdout and stderr interleaved into ``output`` as a terminal
        shows them; it runs on while the caller does other things. With a ``lane``, it starts
        when the lane lets it."""

        def popen() -> subprocess.Popen[bytes]:
            with output.open("wb") as out:
                return subprocess.Popen(
                    list(argv),
                    cwd=cwd,
                    env=self.environ(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

        running = Running(popen, output)
        if lane is None:
            running.launch()
        else:
            running.lane = lane
            lane.queued.append(running)
            lane.advance()
        return running


def _copy_checkout(to: Path) -> Path:
    """The checkout's tracked files (as a fresh clone has them, with today's edits)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    return to


def _link_dependencies(venv: Path, into: Path) -> None:
    """Make this run's installed packages, except the checkout's own, importable in ``venv``,
    with their commands (``pytest``) in its bin/ as pip would have put them there."""
    ours = Path(sysconfig.get_paths()["purelib"])
    into.mkdir()
    for entry in ours.iterdir():
        own = entry.name in _PACKAGES or entry.name.startswith(_OWN_PREFIXES)
        if not own and entry.suffix != ".pth":
            (into / entry.name).symlink_to(entry)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "_this_test_run_dependencies.pth").write_text(f"{into}\n")
    python = venv / "bin" / "python"
    for dist in importlib.metadata.distributions(path=[str(into)]):
        for script in dist.entry_points.select(group="console_scripts"):
            module, _, attr = script.value.partition(":")
            path = venv / "bin" / script.name
            path.write_text(
                f"#!{python}\nimport sys\nfrom {module} import {attr.split('.')[0]}\n"
                f"sys.exit({attr}())\n"
            )
            path.chmod(0o755)


def build(root: Path) -> UserEnv:
    """A fresh environment under ``root`` (outside the repository) with the package installed."""
    source = _copy_checkout(root / "checkout")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    _link_dependencies(venv, root / "dependencies")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    done = subprocess.run(
        [*pip, "--quiet", "--no-deps", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install of the checkout failed: {done.stderr[-2000:]}")
    return UserEnv(venv)
