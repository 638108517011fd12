"""Root conftest: fixtures every test directory shares (the leak check is tests/leaks.py)."""

from __future__ import annotations

import gc
import itertools
import os
import signal
import socket
from collections.abc import Iterator

import pytest

import chaos
import chaos.cli.hunt
import chaos.cli.verify
import chaos.testing
from chaos.testing.harness import heap_frozen

# Our own suite runs the chaos plugin's `ci` Hypothesis profile unless told otherwise
# (CHAOS_PROFILE=deep for a real search); the plugin reads this in pytest_configure.
os.environ.setdefault("CHAOS_PROFILE", "ci")
pytest_plugins = ["pytester", "tests.leaks"]

# What the plugin, the packages and the command line import only when used, imported here at
# once, as they were before they were lazy: Hypothesis draws its derandomised examples partly
# from the constants of the loaded modules (an editable install's count as the project's own),
# so a pool that grew as tests import modules would make a test's examples depend on the tests
# run before it. (A user's installed copy is not scanned.)
for _package in (chaos, chaos.testing):
    for _name in _package.__all__:
        getattr(_package, _name)

# Started as a background job of a script, this process inherits SIGINT ignored, and so would
# every process it starts: the tests that interrupt a run (Ctrl-C as a user sends it) would
# wait for a signal nobody hears. Run as in a terminal instead.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused (RST)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


# The suite's heap grows test by test, and a full collection of it stopped the in-process
# servers and the clients timing them alike for up to 150 ms: more than the tolerance a timing
# judgement allows a wake-up. So each test runs with the heap it found frozen (never scanned,
# as a served toolkit freezes its start-up heap), and the garbage is collected whole between
# tests, every this many.
COLLECT_EVERY = 25
_tests = itertools.count(1)


@pytest.fixture(autouse=True)
def _frozen_heap() -> Iterator[None]:
    with heap_frozen():
        yield
    if next(_tests) % COLLECT_EVERY == 0:
        gc.collect()
