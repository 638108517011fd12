"""The I/O loop: one readable event per arm, timers from any thread, and wake-ups only when the
loop must do something sooner than it planned."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from toolkit import Server
from toolkit.clock import now
from toolkit.ioloop import IoLoop

from .clients import GET, connect, recv_until
from .conftest import TOLERANCE

WAIT = 5.0


@pytest.fixture
def loop() -> Iterator[IoLoop]:
    io = IoLoop("test-io")
    io.start()
    yield io
    io.stop()
    assert io.join(WAIT)


def test_a_watched_socket_fires_once_until_it_is_rearmed(loop: IoLoop) -> None:
    ours, peer = socket.socketpair()
    fired = threading.Semaphore(0)
    count = []

    def readable(key: str) -> None:
        count.append(key)
        fired.release()

    with ours, peer:
        loop.watch(ours, readable, "a")
        peer.sendall(b"x")
        assert fired.acquire(timeout=WAIT)
        peer.sendall(b"y")  # still unread, still readable: but the one event is spent
        assert not fired.acquire(timeout=0.2)
        loop.rearm(ours)
        assert fired.acquire(timeout=WAIT)
    assert count == ["a", "a"]


def test_a_timer_armed_earlier_from_another_thread_wakes_the_sleeping_loop(
    loop: IoLoop,
) -> None:
    fired: dict[str, float] = {}
    done = threading.Event()

    def due(key: str) -> None:
        fired[key] = now()
        done.set()

    loop.arm("late", now() + 60.0, due)
    time.sleep(0.05)  # the loop now sleeps until the late timer
    at = now() + 0.1
    loop.arm("soon", at, due)
    assert done.wait(WAIT)
    assert at <= fired["soon"] < at + TOLERANCE


def test_arm_by_keeps_an_earlier_timer_and_moves_a_later_one(loop: IoLoop) -> None:
    fired: list[tuple[str, float]] = []
    done = threading.Event()

    def due(key: str) -> None:
        fired.append((key, now()))
        done.set()

    start = now()
    loop.arm("k", start + 0.1, due)
    loop.arm_by("k", start + 30.0, due)  # later: the earlier one stays
    assert done.wait(WAIT)
    assert fired[0][1] < start + 0.1 + TOLERANCE
    done.clear()
    loop.arm("j", start + 30.0, due)
    loop.arm_by("j", now() + 0.05, due)  # earlier: moved
    assert done.wait(WAIT)
    assert fired[1][0] == "j"


def test_keep_alive_requests_neither_wake_the_io_thread_nor_hand_work_to_it(
    make_server: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that has answered re-arms its quiet connection itself, and a deadline that
    moves later is left armed early: after the first request, no request writes a wake-up
    or hands a callback to the I/O thread."""
    wakes: list[str] = []
    handed: list[str] = []
    original_wake, original_call_soon = IoLoop._wake, IoLoop.call_soon

    def counting_wake(self: IoLoop) -> None:
        wakes.append(threading.current_thread().name)
        original_wake(self)

    def counting_call_soon(self: IoLoop, fn: Callable[[], None]) -> bool:
        handed.append(threading.current_thread().name)
        return original_call_soon(self, fn)

    monkeypatch.setattr(IoLoop, "_wake", counting_wake)
    monkeypatch.setattr(IoLoop, "call_soon", counting_call_soon)
    server = make_server(dispatch="readiness", workers=2, idle_timeout=30.0)
    with connect(server.address) as sock:
        sock.sendall(GET)
        assert recv_until(sock, b"hello world").endswith(b"hello world")
        # The answer arrives before its worker parks the connection for the first time (a
        # wake-up: its first deadline); that worker is done once no worker is busy.
        assert server.log.wait_for(lambda stats: stats.busy == 0, WAIT)
        before = len(wakes), len(handed)
        for _ in range(50):
            sock.sendall(GET)
            assert recv_until(sock, b"hello world").endswith(b"hello world")
        after = len(wakes), len(handed)
    assert after == before, f"50 keep-alive requests woke the I/O thread {after} vs {before}"
