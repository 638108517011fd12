"""The readiness stage (issue 7): idle connections cost a descriptor, not a worker."""

from __future__ import annotations

import json
import resource
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from chaos.testing.bounds import widened
from toolkit import CloseReason, Server, ServerConfig

from ..waiting import wait_until
from .clients import (
    GET,
    STUCK,
    STUCK_BODY,
    connect,
    http_get,
    local_port,
    read_until_closed,
    recv_until,
)
from .conftest import TOLERANCE

HELD = 10_000
WORKERS = 4


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def thread_count(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def open_many(
    address: tuple[str, int], count: int
) -> tuple[list[socket.socket], list[float], list[float]]:
    """`count` connections that never send, and when each connect began and returned.

    The server accepts between the two, so they bound its idle clock from both sides even
    when this process is descheduled (a loaded machine) right after a connect returns.
    """
    socks, began, returned = [], [], []
    for _ in range(count):
        sock = socket.socket()
        sock.settimeout(10)
        began.append(time.monotonic())
        sock.connect(address)
        returned.append(time.monotonic())
        socks.append(sock)
    return socks, began, returned


def close_times(socks: list[socket.socket], timeout: float) -> dict[int, float]:
    """Index -> monotonic time the server closed that connection, for those it closed."""
    closed: dict[int, float] = {}
    with selectors.DefaultSelector() as selector:
        for i, sock in enumerate(socks):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, i)
        deadline = time.monotonic() + timeout
        while len(closed) < len(socks) and time.monotonic() < deadline:
            events = selector.select(deadline - time.monotonic())
            # One time for the whole batch: the recv calls below are our work, not the server's.
            t = time.monotonic()
            for key, _ in events:
                try:
                    data = key.fileobj.recv(1)  # type: ignore[union-attr]
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed[key.data] = t
                    selector.unregister(key.fileobj)
    return closed


def test_ten_thousand_parked_connections_cost_no_thread_and_expire_on_time() -> None:
    idle = 3.0
    raise_fd_limit(HELD + 200)

    def server_limits() -> None:
        raise_fd_limit(HELD + 200)

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toolkit",
            "serve",
            "--dispatch",
            "readiness",
            "--workers",
            str(WORKERS),
            "--idle-timeout",
            str(idle),
            "--backlog",
            "4096",
            "--max-connections",
            str(HELD + 100),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=server_limits,
    )
    socks: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        host, port = proc.stdout.readline().strip().removeprefix("listening on ").rsplit(":", 1)
        address = (host, int(port))
        socks, began, returned = open_many(address, HELD)
        # All held; a probe on a fresh connection is still served, by a bounded set of threads.
        assert http_get(address, timeout=5.0).endswith(b"hello world")
        assert thread_count(proc.pid) <= WORKERS + 4  # workers, acceptor, I/O thread, main
        closed = close_times(socks, idle + 10.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        for sock in socks:
            sock.close()
        proc.kill()
        proc.wait(10)
    assert len(closed) == HELD, f"only {len(closed)} of {HELD} were closed"
    early = min(closed[i] - began[i] - idle for i in closed)
    assert early >= -0.01, f"a parked connection was closed {-early:.3f}s before its idle timeout"
    late = sorted(closed[i] - returned[i] - idle for i in closed)
    p99 = late[int(0.99 * len(late))]
    allowed = widened(TOLERANCE + 0.4)
    assert p99 < allowed, f"p99 idle-timeout error {p99:.3f}s (allowed {allowed:.2f}s at this load)"
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["reasons"]["idle_timeout"] == HELD
    assert stats["max_parked"] >= HELD


def test_a_keep_alive_client_pausing_between_requests_holds_no_worker(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(dispatch="readiness", workers=1, max_pending=0, idle_timeout=5.0)
    with connect(server.address) as pausing:
        pausing.sendall(GET)
        pausing.settimeout(5.0)
        assert pausing.recv(4096).endswith(b"hello world")
        assert server.log.wait_for(lambda s: (s.busy, s.parked) == (0, 1), 5.0)
        # The only worker is free: another client is served while the first one pauses.
        assert http_get(server.address).endswith(b"hello world")
        assert server.log.wait_for(lambda s: s.busy == 0, 5.0)
        pausing.sendall(GET)
        assert pausing.recv(4096).endswith(b"hello world")
    assert server.stats().max_busy == 1


def test_on_accept_mode_pins_the_worker_instead(make_server: Callable[..., Server]) -> None:
    """The contrast: without the readiness stage the pausing client keeps its worker."""
    server = make_server(dispatch="on-accept", workers=1, max_pending=0, idle_timeout=5.0)
    with connect(server.address) as pausing:
        pausing.sendall(GET)
        pausing.settimeout(5.0)
        assert pausing.recv(4096).endswith(b"hello world")
        assert http_get(server.address).startswith(b"HTTP/1.1 503")


def test_slowloris_never_occupies_a_worker(make_server: Callable[..., Server]) -> None:
    server = make_server(
        dispatch="readiness", workers=1, max_pending=0, idle_timeout=1.0, request_timeout=0.3
    )
    lorises = [connect(server.address) for _ in range(5)]
    for sock in lorises:
        sock.sendall(b"GET / HTTP/1.1\r\nX-a: ")
    assert server.log.wait_for(lambda s: s.parked == 5, 5.0)
    assert http_get(server.address).endswith(b"hello world")  # the worker is free
    for sock in lorises:
        data, ended = read_until_closed(sock, 5.0)
        assert data.startswith(b"HTTP/1.1 408") and ended is not None
        sock.close()
    assert server.stats().max_busy == 1
    # The client sees the 408 and the FIN a moment before the server logs the close.
    assert server.log.wait_for(lambda s: s.reasons.get("request_timeout") == 5, 5.0)


def test_connection_limit_counts_parked_connections(make_server: Callable[..., Server]) -> None:
    server = make_server(dispatch="readiness", workers=1, max_connections=3, idle_timeout=5.0)
    held = [connect(server.address) for _ in range(3)]
    assert server.log.wait_for(lambda s: s.parked == 3, 5.0)
    with connect(server.address) as extra:
        extra.sendall(GET)
        data, ended = read_until_closed(extra, 5.0)
    assert data.startswith(b"HTTP/1.1 503") and ended is not None
    assert server.log.wait_for(lambda s: s.reasons.get("rejected_connection_limit") == 1, 5.0)
    for sock in held:
        sock.close()


def test_a_worker_stuck_in_a_body_read_still_leaves_parking_to_the_io_thread(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(dispatch="readiness", workers=1, max_pending=0, idle_timeout=5.0)
    with connect(server.address) as stuck:
        stuck.sendall(STUCK)
        assert server.log.wait_for(lambda s: s.busy == 1, 5.0)
        idle = [connect(server.address) for _ in range(50)]
        assert server.log.wait_for(lambda s: s.parked == 50, 5.0)
        for sock in idle:
            sock.close()


def accept_once_sent(server: Server) -> None:
    """Hold each accept of `server` (not started yet) until its client's bytes have arrived,
    as they have under load, when the acceptor runs behind the connects."""
    accept = server.model.on_accept

    def late(sock: socket.socket, peer: tuple[object, ...]) -> None:
        select.select([sock], [], [], 5.0)
        accept(sock, peer)

    server.model.on_accept = late  # type: ignore[method-assign]


def test_a_request_there_by_its_accept_never_overtakes_earlier_ones_waiting_for_the_loop(
    no_leaks: None, parser: str
) -> None:
    """Served in the order they were accepted: under load the I/O loop runs behind the
    acceptor, and a connection handed straight to a worker would jump the queue."""
    server = Server(ServerConfig(dispatch="readiness", http_parser=parser, workers=1))
    gate = threading.Event()  # the acceptor's first batch waits until both of its clients sent
    accept = server.model.on_accept

    def gated(sock: socket.socket, peer: tuple[object, ...]) -> None:
        gate.wait(5.0)
        select.select([sock], [], [], 5.0)
        accept(sock, peer)

    server.model.on_accept = gated  # type: ignore[method-assign]
    held, release = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        held.set()
        release.wait(5.0)

    request = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    with server:
        assert server._loop.call_soon(hold_the_loop) and held.wait(5.0)
        socks: list[socket.socket] = []
        try:
            for _ in range(2):
                socks.append(connect(server.address))
                socks[-1].sendall(request)
            gate.set()
            # Each parked, or served and closed: the worker idle again either way.
            assert server.log.wait_for(lambda s: s.parked + s.closed == 2, 5.0)
            socks.append(connect(server.address))  # a batch of its own
            socks[-1].sendall(request)
            assert server.log.wait_for(lambda s: s.parked + s.closed == 3, 5.0)
        finally:
            release.set()
        records = []
        for sock in socks:
            with sock:
                data, ended = read_until_closed(sock, 5.0)
                assert data.endswith(b"hello world") and ended is not None
                records.append(server.log.wait_record(local_port(sock), 5.0))
    dispatched = [r.dispatched for r in records]
    assert None not in dispatched
    assert dispatched == sorted(dispatched)  # type: ignore[type-var]


def test_a_lone_request_there_by_its_accept_goes_straight_to_an_idle_servers_worker(
    no_leaks: None, parser: str
) -> None:
    """Nothing to overtake (the loop asleep with nothing read, no worker busy): the loop's hop
    would only wake a third thread, so the connection is never parked."""
    server = Server(ServerConfig(dispatch="readiness", http_parser=parser))
    accept_once_sent(server)
    with server:
        assert wait_until(server._loop.sleeping, 5.0)
        with connect(server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            data, ended = read_until_closed(sock, 5.0)
            record = server.log.wait_record(local_port(sock), 5.0)
        assert data.endswith(b"hello world") and ended is not None
        assert record.reason is CloseReason.COMPLETED and record.responses == 1
        assert server.log.stats().max_parked == 0


def test_a_request_too_large_by_its_accept_is_refused_by_the_worker_that_reads_it(
    no_leaks: None, parser: str
) -> None:
    """The first read, on the worker, ends the connection as the loop's read would: the
    final status, and a close that lets the client read it."""
    server = Server(ServerConfig(dispatch="readiness", http_parser=parser, max_request_bytes=1024))
    accept_once_sent(server)
    with server:
        assert wait_until(server._loop.sleeping, 5.0)
        with connect(server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nX-Pad: " + b"a" * 2048)
            data, ended = read_until_closed(sock, 5.0)
            record = server.log.wait_record(local_port(sock), 5.0)
        assert data.startswith(b"HTTP/1.1 413 ") and ended is not None, data[:80]
        assert record.reason is CloseReason.TOO_LARGE
        assert server.log.stats().max_parked == 0


def test_a_head_part_there_by_the_accept_waits_parked_leaving_the_worker_to_others(
    no_leaks: None, parser: str
) -> None:
    server = Server(ServerConfig(dispatch="readiness", http_parser=parser, workers=1))
    accept_once_sent(server)
    with server, connect(server.address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")
        assert server.log.wait_for(lambda s: s.parked == 1, 5.0)
        assert http_get(server.address).endswith(b"hello world")
        sock.sendall(b"Connection: close\r\n\r\n")
        data, ended = read_until_closed(sock, 5.0)
        assert data.endswith(b"hello world") and ended is not None
        record = server.log.wait_record(local_port(sock), 5.0)
        assert record.reason is CloseReason.COMPLETED and record.responses == 1


def test_a_request_there_by_the_accept_never_waits_behind_busy_workers(no_leaks: None) -> None:
    config = ServerConfig(dispatch="readiness", workers=1, max_pending=1, queue_timeout=5.0)
    server = Server(config)
    accept_once_sent(server)
    with server, connect(server.address) as stuck:
        stuck.sendall(STUCK)
        assert server.log.wait_for(lambda s: s.busy == 1, 5.0)
        with connect(server.address) as sock:
            sock.sendall(GET)
            # No idle worker: parked, read by the loop, then queued, as any request is.
            assert server.log.wait_for(lambda s: (s.max_parked, s.pending) == (1, 1), 5.0)
            stuck.sendall(STUCK_BODY)
            assert recv_until(sock, b"hello world").endswith(b"hello world")
