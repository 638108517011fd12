"""Running one contender for one measurement: a free port, wait until it listens, always stop."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .contenders import Contender, Settings
from .procs import Child, Children, Pinning

__all__ = ["START_TIMEOUT", "Running", "StartFailed", "free_port", "running", "wait_listening"]

# gunicorn and nginx take well under a second; a cold Python import a few hundred ms.
START_TIMEOUT = 15.0
HOST = "127.0.0.1"


class StartFailed(RuntimeError):
    """The server did not come up; the message carries the tail of its stderr."""


def free_port() -> int:
    """A port the kernel just had free on loopback (bound, then released for the child)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    """A started contender; after it stops, `stats` holds our server's final JSON stats."""

    contender: Contender
    child: Child
    address: tuple[str, int]
    stats: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}/"


def wait_listening(child: Child, address: tuple[str, int], timeout: float) -> None:
    """Return once `child` accepts a connection at `address`; else stop it and raise
    `StartFailed` with the tail of its stderr."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            break
        try:
            with socket.create_connection(address, timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    child.stop()
    tail = child.stderr.strip().splitlines()[-3:]
    raise StartFailed(f"{child.name} did not listen on {address}: {' | '.join(tail)}")


def _last_json(text: str) -> dict[str, object]:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else {}
    return {}


@contextmanager
def running(
    children: Children, contender: Contender, settings: Settings, pinning: Pinning
) -> Iterator[Running]:
    """Start `contender` pinned to the server core; stop and reap it however the block ends."""
    port = free_port()
    scratch = children.scratch(contender.name.replace("/", "-"))
    argv = contender.argv(port, settings, scratch)
    child = children.start(argv, cores=pinning.server, name=contender.name.replace("/", "-"))
    run = Running(contender, child, (HOST, port))
    try:
        wait_listening(child, run.address, START_TIMEOUT)
        yield run
    finally:
        child.stop()
        if contender.family == "ours":
            run.stats = _last_json(child.stdout)
