"""Must-hold 5: graceful, bounded shutdown with no leaked thread or descriptor, even under load.

The `make_server` fixture's `no_leaks` check fails any test here that leaves either behind."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

import pytest

from toolkit import CloseReason, Server, ServerConfig
from toolkit.acceptor import Acceptor

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


def test_new_connections_are_refused_as_soon_as_shutdown_begins(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    grace = 1.0
    server = make_server(dispatch=dispatch, workers=1, shutdown_grace=grace, idle_timeout=5.0)
    with connect(server.address) as stuck:
        stuck.sendall(STUCK)  # in flight: the shutdown waits out its grace for it
        assert server.log.wait_for(lambda s: s.busy == 1, 5.0)
        stopper = threading.Thread(target=server.shutdown)
        began = time.monotonic()
        stopper.start()
        refused = None
        while refused is None and time.monotonic() - began < grace + 2.0:
            try:
                connect(server.address, timeout=0.1).close()
            except (ConnectionRefusedError, ConnectionResetError):
                # Refused, or reset by the listener as it stopped mid-handshake: turned away.
                refused = time.monotonic()
            except TimeoutError:
                # A SYN the kernel dropped as the listener closed (it would be retried only
                # a second later): the next connect asks again.
                continue
        stopper.join(10)
    assert refused is not None and refused - began < grace / 2, "still listening in the grace"


def test_the_iterative_model_honours_the_grace_and_serves_no_backlog(
    make_server: Callable[..., Server],
) -> None:
    """Its acceptor is serving a stuck client when shutdown begins; after the grace that one is
    force-closed, and the client waiting in the backlog is not accepted and served."""
    grace = 0.2
    server = make_server(model="iterative", shutdown_grace=grace, idle_timeout=10.0)
    stuck = connect(server.address)
    stuck.sendall(STUCK)
    assert server.log.wait_for(lambda s: s.busy == 1, 5.0)
    waiting = connect(server.address)  # in the kernel's backlog: nobody accepts it meanwhile
    waiting.sendall(GET)
    started = time.monotonic()
    server.shutdown()  # raises if the acceptor thread outlives its join
    assert time.monotonic() - started < grace + TOLERANCE + 0.5
    data, _ = read_until_closed(waiting, 2.0)
    assert data == b""  # never served
    for sock in (stuck, waiting):
        sock.close()
    assert server.stats().accepted == 1


@pytest.mark.parametrize(("model", "dispatch"), SERVER_MODES)
def test_a_server_that_never_starts_holds_no_descriptor(model: str, dispatch: str) -> None:
    before = set(os.listdir("/proc/self/fd"))
    server = Server(ServerConfig(model=model, dispatch=dispatch))
    assert set(os.listdir("/proc/self/fd")) == before  # not until garbage collection: now
    assert server.threads() == []
    server.shutdown()  # harmless


def test_a_start_that_fails_to_listen_holds_nothing(no_leaks: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        before = set(os.listdir("/proc/self/fd"))
        server = Server(ServerConfig(port=taken.getsockname()[1]))
        with pytest.raises(OSError):
            server.start()
        assert set(os.listdir("/proc/self/fd")) == before
        assert server.threads() == []


@pytest.mark.parametrize(("model", "dispatch"), SERVER_MODES)
def test_a_start_that_fails_late_releases_what_it_took(
    no_leaks: None, monkeypatch: pytest.MonkeyPatch, model: str, dispatch: str
) -> None:
    """The last step (the acceptor thread) fails: the I/O loop, the workers and the listener
    that started before it are all released."""

    def refuse(self: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(Acceptor, "start", refuse)
    server = Server(ServerConfig(model=model, dispatch=dispatch, workers=2))
    with pytest.raises(RuntimeError, match="new thread"):
        server.start()
    assert server.threads() == []
