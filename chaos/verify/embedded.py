"""The target when none is given: a toolkit server with its default configuration.

It runs as a child process (``python -m toolkit serve``), not in verify's own process: the
default configuration promises to hold 10,000 connections, and holding them from both ends
of one process would need twice the descriptors and share one interpreter lock, skewing
every timing. Verify then judges it against exactly what that configuration promises, which
makes ``python -m chaos verify`` a self-check anyone can run with no setup.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..jsondata import JSONObject
from ..target import Target
from .expectations import Expectations

__all__ = ["Embedded", "EmbeddedError", "embedded_server"]

# The toolkit handler that answers GET / and GET /bytes/N (the write check's large response).
HANDLER = "http-hello"
# A cold interpreter imports the toolkit in well under a second; ten is generous on CI.
START_TIMEOUT = 10.0
# SIGTERM starts a graceful shutdown bounded by the config's grace (5 s) plus thread joins.
STOP_TIMEOUT = 15.0
_LISTENING = "listening on "


class EmbeddedError(RuntimeError):
    """The embedded server did not start; the message has its last words."""


@dataclass(frozen=True, kw_only=True)
class Embedded:
    """A running embedded server: where it listens, what it promises, its config as data."""

    target: Target
    expectations: Expectations
    config: JSONObject
    pid: int

    @property
    def source(self) -> str:
        return (
            f"embedded toolkit server (pid {self.pid}) at {self.target}, {HANDLER}, "
            "default configuration"
        )


def _read_address(proc: subprocess.Popen[str]) -> Target:
    """The ``listening on HOST:PORT`` line, waited for at most START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    stdout = proc.stdout
    assert stdout is not None  # started with stdout=PIPE
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(deadline - time.monotonic()):
                break
            line = stdout.readline()
            if not line:
                break
            if line.startswith(_LISTENING):
                return Target.parse(line[len(_LISTENING) :].strip())
    raise EmbeddedError(f"the embedded toolkit server did not start within {START_TIMEOUT:g} s")


def _stop(proc: subprocess.Popen[str]) -> JSONObject | None:
    """SIGTERM, a bounded wait (then SIGKILL); returns the server's final stats if printed."""
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    for line in reversed((out or "").splitlines()):
        try:
            stats = json.loads(line)
        except ValueError:
            continue
        return stats if isinstance(stats, dict) else None
    return None


@contextmanager
def embedded_server() -> Iterator[Embedded]:
    """Start ``python -m toolkit serve`` with its defaults on a free loopback port; stop it on
    exit. Raises :class:`EmbeddedError` if it does not come up."""
    from toolkit import ServerConfig  # the same defaults the child process will use

    config = ServerConfig()
    data = config.to_dict()
    data["dispatch"] = getattr(config, "dispatch_mode", config.dispatch)  # as it will run
    command = [sys.executable, "-m", "toolkit", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--handler", HANDLER]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        target = _read_address(proc)
        yield Embedded(
            target=target,
            expectations=Expectations.from_config(config),
            config=data,
            pid=proc.pid,
        )
    finally:
        _stop(proc)
