"""Must-hold 5: graceful, bounded shutdown with no leaked thread or descriptor, even under load.

The `make_server` fixture's `no_leaks` check fails any test here that leaves either behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from toolkit import CloseReason, Server

from .clients import GET, STUCK, connect, local_port, read_until_closed
from .conftest import SERVER_MODES, TOLERANCE


def test_in_flight_requests_finish_within_the_grace(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    server = make_server(
        dispatch=dispatch, handler="sleep", sleep=0.1, workers=2, shutdown_grace=2.0
    )
    sock = connect(server.address)
    sock.sendall(GET)
    assert server.log.wait_for(lambda s: s.busy == 1, 5.0)
    server.shutdown()
    data, _ = read_until_closed(sock, 5.0)
    sock.close()
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"hello world")


def test_stuck_and_idle_connections_are_closed_and_shutdown_is_bounded(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    grace = 0.1
    server = make_server(
        dispatch=dispatch,
        workers=2,
        max_pending=4,
        idle_timeout=10.0,
        shutdown_grace=grace,
        queue_timeout=10.0,
    )
    stuck = [connect(server.address) for _ in range(2)]
    for sock in stuck:
        sock.sendall(STUCK)  # mid-request on both workers: they get the grace, then are forced
    assert server.log.wait_for(lambda s: s.busy == 2, 5.0)
    idle = connect(server.address)  # queued (on-accept) or parked (readiness): closed at once
    queued = [connect(server.address) for _ in range(3)]
    for sock in queued:
        sock.sendall(GET)
    parked = 1 if dispatch == "readiness" else 0
    assert server.log.wait_for(lambda s: (s.pending, s.parked) == (4 - parked, parked), 5.0)
    started = time.monotonic()
    server.shutdown()
    took = time.monotonic() - started
    assert grace <= took < grace + TOLERANCE + 0.5
    reasons = {local_port(s): None for s in [*stuck, idle, *queued]}
    for record in server.log.records():
        reasons[record.peer_port] = record.reason
    assert set(reasons.values()) == {CloseReason.SHUTDOWN}
    for sock in [*stuck, idle, *queued]:
        assert read_until_closed(sock, 2.0)[1] is not None  # the client sees the close
        sock.close()
    assert server.threads() == []


@pytest.mark.parametrize(("model", "dispatch"), SERVER_MODES)
def test_shutdown_under_load_leaks_nothing(
    make_server: Callable[..., Server], model: str, dispatch: str
) -> None:
    server = make_server(
        model=model,
        dispatch=dispatch,
        workers=4,
        max_pending=4,
        idle_timeout=5.0,
        shutdown_grace=0.05,
    )
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                with connect(server.address, timeout=1.0) as sock:
                    sock.sendall(GET)
                    sock.recv(4096)
            except OSError:
                pass

    clients = [threading.Thread(target=hammer) for _ in range(4)]
    for t in clients:
        t.start()
    assert server.log.wait_for(lambda s: s.closed >= 20, 10.0)
    server.shutdown()
    stop.set()
    for t in clients:
        t.join(5)
    assert server.threads() == []
    stats = server.stats()
    assert stats.open == 0 and stats.accepted == stats.closed


def test_threads_are_the_servers_own(make_server: Callable[..., Server], dispatch: str) -> None:
    first = make_server(dispatch=dispatch, workers=2)
    second = make_server(dispatch=dispatch, workers=3)
    # The acceptor, the I/O loop (it parks with readiness and lingers in both), the workers.
    assert len(first.threads()) == 2 + 2 and len(second.threads()) == 2 + 3
    first.shutdown()
    assert first.threads() == []
    assert len(second.threads()) == 2 + 3  # another server's threads are not ours


def test_shutdown_twice_is_harmless(make_server: Callable[..., Server]) -> None:
    server = make_server()
    server.shutdown()
    server.shutdown()
