"""A final status reaches the client: 413, 400 and 408 are sent with a lingering close (send,
shut the write side, drain what the client still sends), so it reads the status, not a reset.
And the linger itself is bounded: in time, and in how many sockets may linger at once."""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from toolkit import CloseReason, EventLog, Server, ServerConfig
from toolkit.connection import Connection
from toolkit.handlers import make_handler
from toolkit.ioloop import IoLoop
from toolkit.linger import Lingerer
from toolkit.peek import bytes_waiting, unread_bytes
from toolkit.service import Service
from toolkit.state import LINGER_TIMEOUT

from .clients import connect, local_port, read_until_closed, recv_until
from .conftest import TOLERANCE

UPLOAD = 4_000_000  # far past every socket buffer: the client is still sending when refused


def post(address: tuple[str, int], body: bytes | Iterator[bytes]) -> int:
    """POST with the stdlib client (it sends the whole body before it reads); the status."""
    client = http.client.HTTPConnection(*address, timeout=10)
    try:
        client.request("POST", "/", body=body, encode_chunked=not isinstance(body, bytes))
        return client.getresponse().status
    finally:
        client.close()


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_refused_upload_reads_413_not_a_reset(
    make_server: Callable[..., Server], dispatch: str, framing: str
) -> None:
    server = make_server(dispatch=dispatch, max_request_bytes=64 * 1024)
    for _ in range(3):
        body = b"x" * UPLOAD if framing == "content-length" else chunks(UPLOAD)
        assert post(server.address, body) == 413
    assert server.log.wait_for(lambda s: s.reasons.get("too_large") == 3, 5.0)


def test_a_malformed_request_reads_400_while_it_keeps_sending(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    server = make_server(dispatch=dispatch)
    with connect(server.address, timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        readable, _, _ = select.select([sock], [], [], 5.0)
        assert readable, "no answer to a malformed request"
        sock.sendall(b"x" * UPLOAD)  # it only reads once it has sent everything
        data, ended = read_until_closed(sock, 5.0)
        port = local_port(sock)
    assert data.startswith(b"HTTP/1.1 400 ") and ended is not None, data
    assert server.log.wait_record(port, 5.0).reason is CloseReason.BAD_REQUEST


def test_a_timed_out_request_reads_408_while_it_keeps_sending(
    make_server: Callable[..., Server], dispatch: str
) -> None:
    request = 0.3
    server = make_server(dispatch=dispatch, idle_timeout=5.0, request_timeout=request)
    with connect(server.address, timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n")
        readable, _, _ = select.select([sock], [], [], request + 5.0)
        assert readable, "the request deadline never fired"
        sock.sendall(b"x" * UPLOAD)  # it only reads once it has sent its whole body
        data, ended = read_until_closed(sock, 5.0)
        port = local_port(sock)
    assert data.startswith(b"HTTP/1.1 408 ") and ended is not None, data
    assert server.log.wait_record(port, 5.0).reason is CloseReason.REQUEST_TIMEOUT


def test_a_client_that_never_closes_lingers_at_most_linger_timeout(
    make_server: Callable[..., Server],
) -> None:
    """It reads the 413 and then keeps the socket open: the server closes it at the linger
    deadline, and it never counted as an open connection meanwhile. (Both dispatch modes
    linger on the same I/O loop.)"""
    server = make_server(max_request_bytes=1024)
    with connect(server.address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
        assert recv_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 413 ")
        port = local_port(sock)
        closed = server.log.wait_record(port, 5.0).closed
        assert closed is not None
        assert server.stats().open == 0
        assert server.log.wait_for(lambda s: s.lingering == 1, 5.0)
        assert server.log.wait_for(lambda s: s.lingering == 0, LINGER_TIMEOUT + 5.0)
        released = time.monotonic()
    assert LINGER_TIMEOUT - TOLERANCE <= released - closed < LINGER_TIMEOUT + TOLERANCE


def test_at_most_capacity_sockets_linger_at_once(no_leaks: None) -> None:
    """Past its capacity the lingerer declines (the caller closes at once); a place frees
    when a lingering client closes."""
    config = ServerConfig()
    log = EventLog()
    loop = IoLoop()
    lingerer = Lingerer(loop, log, capacity=2)
    loop.start()
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        conns = [
            Connection(server_end, i, ("pair", i), config, log, threading.Event())
            for i, (server_end, _) in enumerate(pairs)
        ]
        for conn in conns:
            conn.state.close(time.monotonic(), CloseReason.TOO_LARGE)
        assert lingerer.hold(conns[0]) and lingerer.hold(conns[1])
        assert not lingerer.hold(conns[2])
        assert log.wait_for(lambda s: s.lingering == 2, 5.0)
        pairs[0][1].close()  # the first client closes: its socket is released at once
        assert log.wait_for(lambda s: s.lingering == 1, 5.0)
        assert lingerer.hold(conns[2])
    finally:
        loop.stop()
        assert loop.join(5.0)
        for server_end, client_end in pairs:
            server_end.close()
            client_end.close()
    assert log.stats().lingering == 0  # stopping the loop released every lingering socket


def test_unread_bytes_counts_what_a_close_would_discard_not_an_eof() -> None:
    server_end, client_end = socket.socketpair()
    with server_end, client_end:
        assert unread_bytes(server_end) == 0
        client_end.sendall(b"abc")
        assert unread_bytes(server_end) == 3
        assert server_end.recv(3) == b"abc"
        client_end.shutdown(socket.SHUT_WR)
        assert bytes_waiting(server_end) and unread_bytes(server_end) == 0
    assert unread_bytes(server_end) == 0  # closed: nothing to read


class _Shutdowns(socket.socket):
    """A socket that notes each `shutdown` it is asked for."""

    def __init__(self, fileno: int) -> None:
        super().__init__(fileno=fileno)
        self.shut: list[int] = []

    def shutdown(self, how: int) -> None:
        self.shut.append(how)
        super().shutdown(how)


@pytest.mark.parametrize("then", ["closes", "sends more"])
def test_an_answered_client_lingers_only_if_it_sent_what_a_close_would_discard(
    then: str,
) -> None:
    """`Connection: close` answered: a client whose FIN is all that waits is closed plainly (a
    FIN draws no reset); one whose unread bytes wait is shut and drained, as any linger."""
    config = ServerConfig(idle_timeout=5.0, request_timeout=5.0, write_timeout=5.0)
    log = EventLog()
    handler = make_handler("http-hello", max_request_bytes=config.max_request_bytes)
    service = Service(config, handler, log)
    server_end, client_end = socket.socketpair()
    sock = _Shutdowns(server_end.detach())
    conn = service.accept(sock, ("pair", 0), admitted=True)
    with sock, client_end:
        client_end.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert conn.session.serve(conn) is False  # answered; the connection is to end
        if then == "closes":
            client_end.shutdown(socket.SHUT_WR)
        else:
            client_end.sendall(b"GET / HTTP/1.1\r\n")
        assert select.select([sock], [], [], 5.0)[0]
        service.close(conn, CloseReason.COMPLETED)
        assert sock.shut == ([] if then == "closes" else [socket.SHUT_WR])
        client_end.settimeout(5.0)
        assert recv_until(client_end, b"hello world").startswith(b"HTTP/1.1 200 OK")
    (record,) = log.records()
    assert record.reason is CloseReason.COMPLETED
