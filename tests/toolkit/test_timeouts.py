"""Must-hold 3: never-senders are cut at idle_timeout, tricklers at request_timeout, non-readers
at write_timeout: each within a tolerance, and none early."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable

import pytest

from toolkit import CloseReason, EventLog, Server, ServerConfig
from toolkit import service as service_module
from toolkit.handlers import make_handler
from toolkit.handshake import Established, established
from toolkit.service import Service

from .clients import GET, connect, local_port, read_until_closed
from .conftest import TOLERANCE


def test_a_client_that_never_sends_is_closed_at_idle_timeout(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    idle = 0.1
    server = make_server(dispatch=dispatch, idle_timeout=idle, request_timeout=1.0)
    started = time.monotonic()
    with connect(server.address) as sock:
        port = local_port(sock)
        data, ended = read_until_closed(sock, 5.0)
    assert data == b"" and ended is not None
    assert idle <= ended - started < idle + TOLERANCE
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.IDLE_TIMEOUT
    assert record.closed - record.connected >= idle  # type: ignore[operator]


def test_a_keep_alive_client_idle_between_requests_is_closed_at_idle_timeout(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    idle = 0.1
    server = make_server(dispatch=dispatch, idle_timeout=idle)
    with connect(server.address) as sock:
        sock.sendall(GET)
        sent = time.monotonic()
        sock.settimeout(5.0)
        assert sock.recv(4096).endswith(b"hello world")
        answered = time.monotonic()
        data, ended = read_until_closed(sock, 5.0)
        port = local_port(sock)
    assert data == b""
    # The server answered after our send and before our stamp of its answer (later still when
    # this thread ran late): never closed sooner than idle after the one, nor later after the other.
    assert ended is not None and idle <= ended - sent and ended - answered < idle + TOLERANCE
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.IDLE_TIMEOUT


def test_a_trickling_client_is_closed_at_request_timeout(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    idle, total = 0.1, 0.3
    server = make_server(dispatch=dispatch, idle_timeout=idle, request_timeout=total)
    with connect(server.address) as sock:
        port = local_port(sock)
        sock.sendall(b"GET / HTTP/1.1\r\n")
        first_byte = time.monotonic()
        ended = None
        sent = 0
        while ended is None and time.monotonic() - first_byte < 5.0:
            # A byte every idle/2: each gap is inside idle_timeout, the sum is not.
            readable, _, _ = select.select([sock], [], [], idle / 2)
            if readable:
                data, ended = read_until_closed(sock, 1.0)
            else:
                sock.sendall(b"X")
                sent += 1
    assert ended is not None, "a trickling client outlived request_timeout"
    assert total <= ended - first_byte < total + TOLERANCE
    assert data.startswith(b"HTTP/1.1 408")
    assert sent >= 3  # it really trickled past several idle periods
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.REQUEST_TIMEOUT


def test_a_client_that_never_reads_a_large_response_is_closed_at_write_timeout(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    write = 0.15
    server = make_server(dispatch=dispatch, write_timeout=write, idle_timeout=5.0)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with sock:
        sock.connect(server.address)
        sock.sendall(b"GET /bytes/16000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        port = local_port(sock)
        readable, _, _ = select.select([sock], [], [], 5.0)
        response_seen = time.monotonic()  # the response's first write was before this
        assert readable
        assert server.log.wait_for(lambda s: s.closed == 1, 5.0)
        # Aborted with RST: a plain close would leave the response queued, the FIN unseen.
        sock.settimeout(5.0)
        with pytest.raises(ConnectionResetError):
            while sock.recv(1 << 20):
                pass
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.WRITE_TIMEOUT
    assert record.first_byte is not None and record.closed is not None
    assert 0 < record.bytes_out < 16_000_000
    # Cut at write_timeout from the response's first write: never before the request was in
    # plus that (building 16 MB takes the app a while), never later than the client saw the
    # response start plus that.
    assert record.closed - record.first_byte >= write
    assert record.closed - response_seen < write + TOLERANCE


def test_a_silent_client_waiting_in_the_queue_is_cut_at_idle_timeout(
    make_server: Callable[..., Server],
) -> None:
    """Its idle clock runs from the accept, and the acceptor cuts it while it waits for a
    worker; a queued client whose request has arrived is not idle, and is served."""
    idle, work = 0.1, 0.3
    server = make_server(
        handler="sleep",
        sleep=work,
        workers=1,
        max_pending=2,
        idle_timeout=idle,
        queue_timeout=5.0,
    )
    with connect(server.address) as busy:
        busy.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert server.log.wait_for(lambda s: s.busy == 1, 5.0)
        started = time.monotonic()
        with connect(server.address) as silent, connect(server.address) as speaking:
            speaking.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            port = local_port(silent)
            _, ended = read_until_closed(silent, 5.0)
            answer, _ = read_until_closed(speaking, 5.0)
    assert ended is not None
    assert idle <= ended - started < idle + TOLERANCE  # cut while queued, not when dispatched
    record = server.log.wait_record(port, 5.0)
    assert record.reason is CloseReason.IDLE_TIMEOUT and record.dispatched is None
    assert answer.endswith(b"hello world")  # waited longer than idle_timeout, and was served


def test_the_body_may_follow_the_head_within_idle_timeout_of_its_last_byte(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    """A head in two parts and then a body, each gap inside idle_timeout and the whole inside
    request_timeout, though longer than idle_timeout from the first byte: it is answered."""
    idle, gap = 1.0, 0.6
    server = make_server(dispatch=dispatch, idle_timeout=idle, request_timeout=5.0)
    with connect(server.address) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        time.sleep(gap)  # the client's own pace; every gap is 0.4 s inside idle_timeout
        sock.sendall(b"Content-Length: 4\r\nConnection: close\r\n\r\n")
        time.sleep(gap)
        sock.sendall(b"body")
        data, _ = read_until_closed(sock, 5.0)
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"hello world"), data


def test_a_client_kept_in_the_listen_backlog_is_cut_at_idle_timeout_from_its_handshake(
    no_leaks: None, dispatch: str
) -> None:
    idle, lag = 0.5, 0.3
    server = Server(ServerConfig(dispatch=dispatch, idle_timeout=idle, request_timeout=1.0))
    accept = server.model.on_accept

    def late(sock: socket.socket, peer: tuple[object, ...]) -> None:
        time.sleep(lag)  # an acceptor running behind a burst of connects
        accept(sock, peer)

    server.model.on_accept = late  # type: ignore[method-assign]
    with server:
        started = time.monotonic()
        with connect(server.address) as sock:
            data, ended = read_until_closed(sock, 5.0)
            record = server.log.wait_record(local_port(sock), 5.0)
    assert data == b"" and ended is not None
    assert idle <= ended - started < idle + TOLERANCE  # not idle + lag
    assert record.reason is CloseReason.IDLE_TIMEOUT and record.connected is not None
    assert started <= record.connected <= record.accepted - lag / 2


def test_the_kernel_says_how_long_a_connection_waited_and_whether_it_sent() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()) as client:
            connected = time.monotonic()
            time.sleep(0.05)  # the wait in the backlog the kernel is asked about
            sock, _ = listener.accept()
            with sock:
                silent = established(sock)
                assert 0.0 < silent.waited <= time.monotonic() - connected  # never overstated
                assert silent.arrived is False
                client.sendall(GET)
                assert select.select([sock], [], [], 5.0)[0]
                assert established(sock).arrived is True
    a, b = socket.socketpair()
    with a, b:
        assert established(a) == (0.0, None)  # not TCP: the kernel cannot say


def test_a_thread_descheduled_at_the_accept_never_dates_the_handshake_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel says how long ago the handshake was as of its own call: an accepting thread
    that loses the CPU between reading the clock and asking must not add that gap to the wait,
    or the idle clock would start before the handshake and cut the client early."""
    handshake, gap = 100.0, 0.5
    clock = [handshake]  # the accept runs just as the handshake completes
    monkeypatch.setattr(service_module, "now", lambda: clock[0])

    def kernel(sock: socket.socket) -> Established:
        clock[0] += gap  # descheduled here, then the system call
        return Established(clock[0] - handshake, False)

    monkeypatch.setattr(service_module, "established", kernel)
    config = ServerConfig(idle_timeout=1.0, request_timeout=2.0)
    service = Service(config, make_handler("http-hello"), EventLog())
    a, b = socket.socketpair()
    with a, b:
        conn = service.accept(a, ("pair", 0), admitted=True)
        assert conn.state.last_activity >= handshake  # the idle clock starts at the handshake
