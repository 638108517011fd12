"""Child processes: pinned to their core, with the open-file limit raised, always reaped.

Every child starts in its own session so its whole process group (gunicorn and nginx fork
workers) is signalled by the group id we created; `Children` stops them all on any exit.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = [
    "STOP_WAIT",
    "Child",
    "Children",
    "Pinning",
    "descendants",
    "raise_nofile",
    "tree_rss_kib",
]

# A server gets this long to exit after SIGTERM before SIGKILL; our own shutdown takes ~0.1 s.
STOP_WAIT = 5.0


def raise_nofile() -> int:
    """Raise this process's soft open-file limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(frozen=True, kw_only=True)
class Pinning:
    """Which cores servers and load generators run on; None leaves scheduling to the kernel.

    ``every`` is all the cores the run may use, for what must spread over them: a child
    started with ``cores=None`` inherits the benchmark's own pinning to the load core.
    """

    server: frozenset[int] | None
    client: frozenset[int] | None
    every: frozenset[int] | None = None

    @classmethod
    def detect(cls) -> Pinning:
        """With 2+ cores: servers on the first, load generators on the second."""
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            return cls(server=None, client=None)
        return cls(
            server=frozenset({cores[0]}), client=frozenset({cores[1]}), every=frozenset(cores)
        )

    def describe(self) -> str:
        if self.server is None or self.client is None:
            return "not pinned (one core)"
        return f"servers on core {min(self.server)}, load on core {min(self.client)}"


def descendants(pid: int) -> set[int]:
    """``pid`` and every live process under it, from /proc (empty if it is gone)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    if pid not in parents:
        return set()
    found, frontier = {pid}, {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def tree_rss_kib(pid: int) -> int:
    """The resident memory of ``pid`` and its descendants together, in KiB."""
    total = 0
    for member in descendants(pid):
        try:
            status = (Path("/proc") / str(member) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
                break
    return total


def _preexec(cores: frozenset[int] | None):
    def setup() -> None:
        if cores is not None:
            os.sched_setaffinity(0, cores)

    return setup


class Child:
    """One started process, its output in files, stoppable exactly once."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cores: frozenset[int] | None,
        cwd: Path,
        logs: Path,
        name: str,
    ) -> None:
        self.name = name
        self._out = open(logs / f"{name}.out", "w+b")
        self._err = open(logs / f"{name}.err", "w+b")
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,
            preexec_fn=_preexec(cores),
        )
        self.started = time.monotonic()
        self.stdout = ""
        self.stderr = ""
        self.rusage: resource.struct_rusage | None = None
        # The most memory the process and its children held at once, as sampled by wait().
        self.peak_tree_kib = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float, *, sample: bool = False) -> int | None:
        """Wait for exit (keeping its rusage); None if still running after `timeout`.

        With `sample`, the memory of the process tree is read every tenth of a second and
        its peak kept in `peak_tree_kib` (wait4's maxrss is one process's, not a sum).
        """
        deadline = time.monotonic() + timeout
        next_sample = 0.0
        while self.proc.returncode is None:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.rusage = usage
                break
            now = time.monotonic()
            if now >= deadline:
                return None
            if sample and now >= next_sample:
                self.peak_tree_kib = max(self.peak_tree_kib, tree_rss_kib(self.pid))
                next_sample = now + 0.1
            time.sleep(0.02)
        return self.proc.returncode

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the group, wait, SIGKILL whatever is left; collect output. Idempotent."""
        if self.proc.returncode is None:
            self.signal_group(sig)
            if self.wait(STOP_WAIT) is None:
                self.signal_group(signal.SIGKILL)
                self.wait(STOP_WAIT)
        # Workers of a group whose leader exited (nginx, gunicorn) must not outlive it.
        self.signal_group(signal.SIGKILL)
        if not self._out.closed:
            self.stdout = self._read(self._out)
            self.stderr = self._read(self._err)
        return self.proc.returncode

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (gone already: nothing)."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _read(stream) -> str:
        stream.seek(0)
        text = stream.read().decode(errors="replace")
        stream.close()
        return text


class Children:
    """Starts children and stops every one of them on exit, success or not; threads may
    start them at once."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-")
        self.logs = Path(self._tmp.name)
        self._children: list[Child] = []
        self._serial = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    def start(
        self,
        argv: Sequence[str],
        *,
        cores: frozenset[int] | None,
        name: str,
        cwd: Path | None = None,
    ) -> Child:
        child = Child(
            argv,
            cores=cores,
            cwd=cwd or self.cwd,
            logs=self.logs,
            name=f"{self._next()}-{name}",
        )
        with self._lock:
            self._children.append(child)
        return child

    def scratch(self, name: str) -> Path:
        """A fresh directory for one child's files (nginx's prefix, for instance)."""
        path = self.logs / f"{self._next()}-{name}"
        path.mkdir()
        return path

    def stop_all(self) -> None:
        """Stop every child: all are signalled before any is waited for, so the slowest to
        exit sets the wait, not the sum of them."""
        with self._lock:
            children, self._children = self._children, []
        for child in children:
            if child.alive():
                child.signal_group(signal.SIGTERM)
        for child in children:
            child.stop()

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop_all()
        finally:
            self._tmp.cleanup()
