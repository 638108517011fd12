"""A user's own server command, run for a test session: ``python -m myapp --port {port}``.

The command gets a free loopback port in place of ``{port}`` (and ``127.0.0.1`` for
``{host}``), runs without a shell in a process group of its own, and counts as started once
its port accepts a connection (a bounded wait; if it dies first, its stderr says why). It is
stopped by its group: SIGTERM, then SIGKILL past a grace. If the process that started it dies
first (pytest killed), Linux sends it SIGTERM (``PR_SET_PDEATHSIG``), so nothing is left
behind; a command that forks should let that signal stop its children, as nginx and gunicorn
do, or ``exec`` the server. Linux counts the *thread* that started it as its parent: start it
from a thread that outlives it (a pool's worker that ends stops the server with it).
"""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "HOST",
    "START_TIMEOUT",
    "STOP_WAIT",
    "ServeError",
    "ServedCommand",
    "free_port",
    "serve",
    "start",
]

HOST = "127.0.0.1"
# A cold interpreter with imports takes a few seconds on a loaded machine; servers bind faster.
START_TIMEOUT = 30.0
# A server gets this long to exit after SIGTERM before its group is killed.
STOP_WAIT = 5.0
# How often the port is tried while the command starts.
_POLL = 0.02
# Lines of the command's output quoted when it fails to start.
_TAIL = 5
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ServeError(Exception):
    """The command did not start listening; the message carries the tail of its output."""


def free_port(host: str = HOST) -> int:
    """A port the kernel just had free on ``host`` (bound, then released for the command)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec hook: SIGTERM to the child when its parent dies (Linux); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


@dataclass
class ServedCommand:
    """A started command: its argv, where it listens, its process; :meth:`stop` it once."""

    argv: list[str]
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    output: IO[bytes] = field(repr=False)
    _final: str | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        """``HOST:PORT`` it listens on."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        """Everything the command wrote so far (stdout and stderr, interleaved)."""
        if self._final is not None:
            return self._final
        self.output.flush()
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def tail(self) -> str:
        """The last lines the command wrote, as one line."""
        lines = self.text().strip().splitlines()
        return " | ".join(lines[-_TAIL:]) or "no output"

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> int | None:
        """SIGTERM the group, wait, SIGKILL what is left; the exit status. Idempotent."""
        if self.proc.returncode is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(STOP_WAIT)
        # Children of a leader that exited (workers of a forking server) must not outlive it.
        self._signal_group(signal.SIGKILL)
        if self._final is None:
            self._final = self.text()
            self.output.close()
        return self.proc.returncode


def _wait_listening(served: ServedCommand, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = served.proc.poll()
        if code is not None:
            raise ServeError(f"{served.argv[0]} exited with status {code}: {served.tail()}")
        try:
            with socket.create_connection((served.host, served.port), timeout=_POLL * 10):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise ServeError(
                    f"{served.argv[0]} did not listen on {served.target} within "
                    f"{timeout:g} s: {served.tail()}"
                ) from None
            time.sleep(_POLL)


def start(
    command: str,
    *,
    timeout: float = START_TIMEOUT,
    cwd: Path | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> ServedCommand:
    """Start ``command`` on a free port and wait until it listens (ServeError if it does not).

    ``{port}`` and ``{host}`` in ``command`` are replaced; the rest is split as a shell would
    split it, but no shell runs it. ValueError for a command without ``{port}``, unless
    ``port`` says where a command configured otherwise (a config file) will listen. ``env``
    replaces the environment it inherits.
    """
    if "{port}" not in command and port is None:
        raise ValueError(f"command: needs {{port}} where the port goes, got {command!r}")
    port = free_port() if port is None else port
    try:
        argv = shlex.split(command.replace("{port}", str(port)).replace("{host}", HOST))
    except ValueError as exc:
        raise ValueError(f"command: {exc}: {command!r}") from None
    output = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    except OSError as exc:
        output.close()
        raise ServeError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    served = ServedCommand(argv=argv, host=HOST, port=port, proc=proc, output=output)
    try:
        _wait_listening(served, timeout)
    except BaseException:
        served.stop()
        raise
    return served


@contextmanager
def serve(command: str, *, timeout: float = START_TIMEOUT) -> Iterator[ServedCommand]:
    """``with serve("python -m myapp --port {port}") as served:`` ... stopped however it ends.

    Start it from a thread that outlives it (the parent-death signal follows the thread).
    """
    served = start(command, timeout=timeout)
    try:
        yield served
    finally:
        served.stop()
