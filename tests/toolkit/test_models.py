"""Must-hold 6: the iterative model visibly stalls its acceptor (the pool does not)."""

from __future__ import annotations

import time
from collections.abc import Callable

from toolkit import Server

from .clients import connect, local_port, read_until_closed
from .conftest import TOLERANCE

ACCEPT_LAG_BOUND = 0.05


def accept_lag_behind_a_silent_client(server: Server) -> float:
    """Seconds the server took to accept a connection made while another client sends nothing."""
    silent = connect(server.address)
    assert server.log.wait_for(lambda s: s.accepted == 1, 5.0)  # it holds the silent one now
    connected = time.monotonic()
    with connect(server.address) as sock:
        port = local_port(sock)
        assert server.log.wait_for(lambda s: s.accepted == 2, 5.0)
        record = server.log.wait_record(port, 5.0)
    silent.close()
    return record.accepted - connected


def test_iterative_model_stalls_the_acceptor(make_server: Callable[..., Server]) -> None:
    idle = 0.2
    server = make_server(model="iterative", idle_timeout=idle)
    lag = accept_lag_behind_a_silent_client(server)
    assert lag > ACCEPT_LAG_BOUND  # the violation, shown
    assert lag >= idle - TOLERANCE  # ... and it lasts as long as the silent client is held


def test_pool_model_accepts_at_once(make_server: Callable[..., Server]) -> None:
    server = make_server(model="pool", idle_timeout=0.2, workers=1, max_pending=0)
    assert accept_lag_behind_a_silent_client(server) < ACCEPT_LAG_BOUND + TOLERANCE


def test_iterative_still_serves_one_client_at_a_time(make_server: Callable[..., Server]) -> None:
    server = make_server(model="iterative")
    with connect(server.address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock, 5.0)[0].endswith(b"hello world")
