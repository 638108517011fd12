"""Must-hold 2: busy workers never exceed `workers`; open connections never exceed
workers + max_pending. And must-hold 6: thread-per-connection breaks exactly that."""

from __future__ import annotations

import threading
from collections.abc import Callable

from toolkit import Server

from .clients import connect, read_until_closed

CLIENTS = 40


def burst(server: Server, clients: int = CLIENTS) -> list[bytes]:
    """`clients` requests released at the same instant; the raw responses."""
    gate = threading.Barrier(clients)
    answers: list[bytes] = []
    lock = threading.Lock()

    def one() -> None:
        gate.wait(5)
        try:
            with connect(server.address) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data, _ = read_until_closed(sock, 10.0)
        except OSError as exc:
            data = repr(exc).encode()
        with lock:
            answers.append(data)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert server.log.wait_for(lambda s: s.closed == s.accepted == clients, 10.0)
    return answers


def test_pool_never_exceeds_its_workers_or_its_queue(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    workers, max_pending = 3, 2
    server = make_server(
        dispatch=dispatch,
        handler="sleep",
        sleep=0.05,
        workers=workers,
        max_pending=max_pending,
        queue_timeout=5.0,
    )
    answers = burst(server)
    ok = sum(a.startswith(b"HTTP/1.1 200") for a in answers)
    busy = sum(a.startswith(b"HTTP/1.1 503") for a in answers)
    assert ok + busy == CLIENTS  # every client got an answer: served or explicitly rejected
    stats = server.stats()
    assert stats.max_busy == workers  # the pool was really full ...
    assert stats.max_pending <= max_pending  # ... and never over its bounds
    if dispatch == "on-accept":
        assert stats.max_open <= workers + max_pending
    else:  # parked connections count as open, up to max_connections
        assert stats.max_open <= server.config.max_connections
    assert busy > 0 and stats.reasons["rejected_overload"] == busy


def test_thread_per_connection_breaks_the_worker_bound(make_server: Callable[..., Server]) -> None:
    workers = 3
    server = make_server(
        handler="sleep", sleep=0.05, model="thread-per-connection", workers=workers
    )
    answers = burst(server)
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
    assert server.stats().max_busy > workers  # one thread per client: the bound means nothing
