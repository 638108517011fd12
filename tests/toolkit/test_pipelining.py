"""Keep-alive and pipelining: a worker serves only what is whole in the buffer, each response
has its own write deadline, and the next request's clock starts with its first byte."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable

from toolkit import CloseReason, Server

from .clients import GET, connect, http_get, local_port, read_until_closed, recv_until
from .conftest import TOLERANCE

CLOSE_GET = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"


def test_a_pipelining_trickler_never_pins_a_worker(make_server: Callable[..., Server]) -> None:
    """Each request ends together with the first byte of the next, and the rest of the next
    trickles in: every request stays within its deadlines, so only parking between requests
    keeps the one worker free for everyone else."""
    idle, request = 0.3, 0.6
    server = make_server(
        dispatch="readiness",
        workers=1,
        # One place in the queue: a worker finishing a response is still counted busy.
        max_pending=1,
        queue_timeout=0.2,
        idle_timeout=idle,
        request_timeout=request,
    )
    rest = b"ET / HTTP/1.1\r\nHost: x"
    with connect(server.address) as attacker:
        port = local_port(attacker)
        attacker.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nG")
        cycles = 3  # together longer than idle and request: only parking explains the probes
        for _ in range(cycles):
            assert recv_until(attacker, b"hello world").startswith(b"HTTP/1.1 200 OK")
            for i in range(0, len(rest), 4):
                attacker.sendall(rest[i : i + 4])
                # The only worker is free: a probe on a fresh connection is served, not 503.
                assert http_get(server.address).startswith(b"HTTP/1.1 200 OK")
            attacker.sendall(b"\r\n\r\nG")
            last_first_byte = time.monotonic()
        assert recv_until(attacker, b"hello world").startswith(b"HTTP/1.1 200 OK")
        # Now the next request only ever trickles: cut at request_timeout from its first byte.
        attacker.sendall(b"ET / HTTP/1.1\r\nX-a: ")
        data, ended = b"", None
        while ended is None and time.monotonic() - last_first_byte < request + 2.0:
            readable, _, _ = select.select([attacker], [], [], idle / 3)
            if readable:
                data, ended = read_until_closed(attacker, 2.0)
            else:
                attacker.sendall(b"a")
    assert data.startswith(b"HTTP/1.1 408 ") and ended is not None
    assert ended - last_first_byte < request + TOLERANCE
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.REQUEST_TIMEOUT
    assert record.responses == cycles + 1
    assert record.worker_longest < TOLERANCE  # each hold is one response, never the trickle


def test_each_pipelined_response_gets_its_own_write_deadline(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    """Four pipelined requests answered from the buffer, each after `work` seconds: together
    they take longer than write_timeout, each response on its own does not."""
    work, write = 0.1, 0.25
    server = make_server(
        dispatch=dispatch, handler="sleep", sleep=work, workers=1, write_timeout=write
    )
    with connect(server.address) as sock:
        sock.sendall(GET * 3 + CLOSE_GET)
        port = local_port(sock)
        data, ended = read_until_closed(sock, 5.0)
    assert ended is not None
    assert data.count(b"HTTP/1.1 200 OK") == 4, data
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.COMPLETED and record.responses == 4


def test_a_large_response_per_request_each_gets_the_whole_write_timeout(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    """Two pipelined responses, each four times the server's send buffer, read at a pace
    that takes 70% of write_timeout for each: together they outlast one write deadline."""
    write, share = 0.8, 0.7
    size = 16 * 1024 * 1024  # the largest /bytes/N; Linux caps the send buffer at 4 MiB here
    server = make_server(dispatch=dispatch, write_timeout=write, idle_timeout=5.0)
    request = f"GET /bytes/{size} HTTP/1.1\r\nHost: x\r\n".encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # no autotuned window
    with sock:
        sock.connect(server.address)
        sock.sendall(request + b"\r\n" + request + b"Connection: close\r\n\r\n")
        port = local_port(sock)
        rate = size / (share * write)
        received, started = 0, time.monotonic()
        sock.settimeout(5.0)
        while True:
            try:
                chunk = sock.recv(256 * 1024)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += len(chunk)
            time.sleep(max(0.0, started + received / rate - time.monotonic()))
    record = server.log.wait_record(port, 10.0)
    assert record.reason is CloseReason.COMPLETED, (record.reason, received)
    assert received > 2 * size


def test_pipelined_requests_take_turns_with_a_connection_waiting_for_the_worker(
    make_server: Callable[..., Server],
) -> None:
    """One worker, a client that pipelines many whole requests of some work each: a request on
    another connection waits behind one of them, not all, so it is served before its queue
    deadline would turn it away with a 503."""
    work, queue = 0.05, 0.5
    pipelined = int(2 * queue / work) + 2  # all of them take twice the queue deadline
    server = make_server(
        handler="sleep",
        sleep=work,
        dispatch="readiness",
        workers=1,
        max_pending=1,
        queue_timeout=queue,
    )
    with connect(server.address) as attacker:
        port = local_port(attacker)
        attacker.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (pipelined - 1) + CLOSE_GET)
        first = recv_until(attacker, b"hello world")
        assert first.startswith(b"HTTP/1.1 200 OK"), first
        # The worker is on the attacker's second request now, the rest whole behind it.
        assert http_get(server.address).startswith(b"HTTP/1.1 200 OK")
        rest, ended = read_until_closed(attacker, pipelined * work + 5.0)
    assert ended is not None
    assert (first + rest).count(b"hello world") == pipelined
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.COMPLETED and record.responses == pipelined
    stats = server.stats()
    assert stats.reasons.get(CloseReason.REJECTED_QUEUE_TIMEOUT.value, 0) == 0
    # Taking turns swaps places with the one waiting: the queue never grows past its bound.
    assert stats.max_pending <= 1
