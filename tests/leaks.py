"""The leak check: a fixture that fails a test leaving a thread or a descriptor behind.

A plugin module (the root conftest loads it) so that its own test can load it into a pytester
run and watch it catch a leak."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from .waiting import wait_until

__all__ = ["THREAD_EXIT_WAIT", "no_leaks"]

# How long threads get to finish exiting after the code under test says it is done.
THREAD_EXIT_WAIT = 2.0


def _open_fds() -> set[str]:
    """Every open descriptor with what it is ("7 -> socket:[1234]"): a number closed and
    opened again for something else counts as new. The listing's own directory descriptor,
    closed by the time it is resolved, is left out."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            found.add(f"{name} -> {os.readlink(f'/proc/self/fd/{name}')}")
        except OSError:
            continue
    return found


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves behind a thread or a file descriptor it created."""
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    yield
    extra = [t for t in threading.enumerate() if t not in threads_before]
    for thread in extra:
        thread.join(THREAD_EXIT_WAIT)
    alive = [t.name for t in extra if t.is_alive()]
    # The descriptors are the whole process's: another thread (a server a module's tests
    # share) may hold one for a moment as the test ends. A leak is one that stays.
    wait_until(lambda: not _open_fds() - fds_before, THREAD_EXIT_WAIT)
    leaked_fds = _open_fds() - fds_before
    assert not alive, f"threads left running: {alive}"
    assert not leaked_fds, f"file descriptors left open: {sorted(leaked_fds)}"
