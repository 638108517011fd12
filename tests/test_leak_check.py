"""The leak check every server test relies on: it fails a test that leaves a descriptor or a
thread behind, and passes one whose descriptor another thread closes a moment after it ends."""

from __future__ import annotations

import pytest

from tests import leaks

TESTS = '''
import socket
import threading

import pytest

@pytest.fixture(scope="module")
def keeper():
    kept = []
    yield kept
    for sock in kept:  # after the leak check has looked
        sock.close()

def test_leaves_a_socket(keeper, no_leaks):
    keeper.append(socket.socket())

def test_leaves_a_thread(no_leaks):
    stop = threading.Event()
    threading.Thread(target=stop.wait, args=(10,), name="stuck", daemon=True).start()
    pytest.stop = stop  # set once the check has looked

@pytest.fixture(scope="module")
def helper():
    """A thread started before the tests, as a server their module shares."""
    asked, opened = threading.Event(), threading.Event()
    def run():
        asked.wait(10)
        sock = socket.socket()
        opened.set()
        threading.Event().wait(0.3)  # still open as the test ends
        sock.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield asked, opened
    thread.join(10)

def test_a_shared_thread_holds_one_for_a_moment(helper, no_leaks):
    asked, opened = helper
    asked.set()
    assert opened.wait(10)
'''


# The leak check's wait for what is still exiting, shortened for the leaking tests' sake:
# each one waits it out in full. Past the shared thread's 0.3 s hold by a wide margin.
EXIT_WAIT = 1.0


def test_the_leak_check_catches_leaks_and_only_leaks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaks, "THREAD_EXIT_WAIT", EXIT_WAIT)
    pytester.makeconftest('pytest_plugins = ["tests.leaks"]')
    pytester.makepyfile(test_leaky=TESTS)
    try:
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    finally:
        stop = getattr(pytest, "stop", None)
        if stop is not None:
            stop.set()
            del pytest.stop
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*file descriptors left open: [[]'* -> socket:[[]*]']*"])
    result.stdout.fnmatch_lines(["*threads left running: [[]'stuck']*"])
