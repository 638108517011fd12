"""Must-hold 1: with every worker stuck in a read, new connections are still accepted, and
queued or rejected by the overload policy within 50 ms. The acceptor never waits on a client."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from toolkit import CloseReason, Server

from .clients import GET, STUCK, STUCK_BODY, connect, local_port, read_until_closed
from .conftest import TOLERANCE

REJECT_WITHIN = 0.05


def fill_workers_and_queue(server: Server, stuck: int, queued: int) -> list:
    """Pin every worker in a read (half a request) and fill the pending queue."""
    socks = []
    for _ in range(stuck):
        sock = connect(server.address)
        sock.sendall(STUCK)
        socks.append(sock)
    assert server.log.wait_for(lambda s: s.busy == stuck, 5.0)
    for _ in range(queued):
        sock = connect(server.address)
        sock.sendall(GET)
        socks.append(sock)
    assert server.log.wait_for(lambda s: s.pending == queued, 5.0)
    return socks


@pytest.mark.parametrize("policy", ["busy", "close"])
def test_at_the_limit_new_connections_are_rejected_at_once(
    make_server: Callable[..., Server], policy: str, dispatch: str
) -> None:
    server = make_server(
        dispatch=dispatch,
        workers=2,
        max_pending=2,
        idle_timeout=5.0,
        request_timeout=5.0,
        queue_timeout=5.0,
        overload=policy,
    )
    held = fill_workers_and_queue(server, stuck=2, queued=2)
    lags = []
    for _ in range(5):
        started = time.monotonic()
        with connect(server.address) as sock:
            sock.sendall(GET)
            data, ended = read_until_closed(sock, 2.0)
            port = local_port(sock)
        assert ended is not None, "rejected connection was left hanging"
        lags.append(ended - started)
        if policy == "busy":
            assert data.startswith(b"HTTP/1.1 503 Service Unavailable")
            assert b"connection: close" in data.lower()
        else:
            assert data == b""
        record = server.log.wait_record(port, 5.0)
        assert record.reason is CloseReason.REJECTED_OVERLOAD
        if dispatch == "on-accept":
            assert record.admitted is None  # never counted as open
        else:
            assert record.dispatched is None  # parked, then turned away: never on a worker
    assert max(lags) < REJECT_WITHIN + TOLERANCE, lags
    stats = server.stats()
    assert (stats.busy, stats.pending) == (2, 2)  # the stuck ones were never disturbed
    for sock in held:
        sock.close()


def test_queued_connections_are_rejected_after_queue_timeout(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    queue_timeout = 0.08
    server = make_server(
        dispatch=dispatch, workers=1, max_pending=3, idle_timeout=5.0, queue_timeout=queue_timeout
    )
    held = fill_workers_and_queue(server, stuck=1, queued=0)
    waits = []
    for _ in range(3):
        started = time.monotonic()
        with connect(server.address) as sock:
            sock.sendall(GET)
            data, ended = read_until_closed(sock, 2.0)
            port = local_port(sock)
        assert ended is not None and data.startswith(b"HTTP/1.1 503")
        waits.append(ended - started)
        record = server.log.wait_record(port, 5.0)
        assert record.reason is CloseReason.REJECTED_QUEUE_TIMEOUT
    assert all(queue_timeout <= w < queue_timeout + TOLERANCE for w in waits), waits
    for sock in held:
        sock.close()


def test_a_queued_connection_is_served_when_a_worker_frees_up(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    server = make_server(
        dispatch=dispatch, workers=1, max_pending=1, idle_timeout=5.0, queue_timeout=5.0
    )
    (stuck,) = fill_workers_and_queue(server, stuck=1, queued=0)
    with connect(server.address) as waiting:
        waiting.sendall(GET)
        assert server.log.wait_for(lambda s: s.pending == 1, 5.0)
        stuck.sendall(STUCK_BODY)  # finish the stuck request
        assert read_until_closed(stuck, 5.0)[0].endswith(b"hello world")
        waiting.settimeout(5.0)
        assert waiting.recv(4096).startswith(b"HTTP/1.1 200 OK")
    stuck.close()


def test_accept_lag_stays_tiny_while_workers_are_stuck(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    """The server logs each connection's accept within ms of the client's connect, even now."""
    server = make_server(dispatch=dispatch, workers=1, max_pending=0, idle_timeout=5.0)
    held = fill_workers_and_queue(server, stuck=1, queued=0)
    for _ in range(20):
        before = time.monotonic()
        with connect(server.address) as sock:
            port = local_port(sock)
            sock.sendall(GET)
            assert read_until_closed(sock, 2.0)[1] is not None  # rejected, not left hanging
        record = server.log.wait_record(port, 5.0)
        assert record.accepted - before < REJECT_WITHIN + TOLERANCE
    for sock in held:
        sock.close()


def test_accepted_connections_have_tcp_nodelay(make_server: Callable[..., Server]) -> None:
    """Set on each socket, or inherited from the listener: a small answer is never held back
    waiting for the client's acknowledgement of the last one (Nagle's algorithm)."""
    server = make_server()
    seen: list[int] = []
    server.service.on_close(
        lambda conn: seen.append(conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    )
    with connect(server.address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = read_until_closed(sock, 5.0)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert server.log.wait_for(lambda s: s.closed == 1, 5.0)
    assert seen == [1]
