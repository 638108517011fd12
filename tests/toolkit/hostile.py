"""Scripted hostile clients, one per row of the bounds table (`toolkit.bounds`).

Each runs one connection against a server and returns what the server's log recorded for it
and when the measurement starts (the accept, or for `reset` the moment of the reset). The
pace of every script is a fraction of the server's own idle timeout, so each gap is inside
it and only the deadline the row is about can end the connection.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from toolkit import ConnectionRecord, Server

from .clients import connect, local_port, read_until_closed, recv_until

# The large response a non-reader never reads; the client's receive buffer is kept small.
LARGE = b"GET /bytes/16000000 HTTP/1.1\r\nHost: x\r\n\r\n"
SMALL_RCVBUF = 4096


@dataclass(frozen=True)
class Outcome:
    record: ConnectionRecord
    since: float  # where the slot is measured from
    answer: bytes  # what the client read
    # The server's own time on the request: from its last byte leaving us to the answer's
    # first arriving (a non-reader's 16 MB answer takes a while to build), else 0.
    work: float = 0.0

    @property
    def slot(self) -> float:
        assert self.record.closed is not None
        return self.record.closed - self.since


def _finish(server: Server, sock: socket.socket, since: float | None, answer: bytes) -> Outcome:
    port = local_port(sock)
    sock.close()
    record = server.log.wait_record(port, 10.0)
    return Outcome(record, record.accepted if since is None else since, answer)


def _trickle_until_closed(sock: socket.socket, pace: float, limit: float) -> bytes:
    """Send a byte every `pace` until the server answers or closes; what it sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], pace)
        if readable:
            return read_until_closed(sock, limit)[0]
        try:
            sock.sendall(b"a")
        except OSError:
            break
    return read_until_closed(sock, 1.0)[0]


def _pace(server: Server) -> float:
    return server.config.idle_timeout / 3


def _limit(server: Server) -> float:
    c = server.config
    return c.idle_timeout + c.request_timeout + c.queue_timeout + c.write_timeout + 5.0


def never_sends(server: Server) -> Outcome:
    sock = connect(server.address)
    data, _ = read_until_closed(sock, _limit(server))
    return _finish(server, sock, None, data)


def trickles_head(server: Server) -> Outcome:
    sock = connect(server.address)
    time.sleep(server.config.idle_timeout / 2)  # the first byte comes late, inside idle
    sock.sendall(b"GET / HTTP/1.1\r\nX-a: ")
    data = _trickle_until_closed(sock, _pace(server), _limit(server))
    return _finish(server, sock, None, data)


def trickles_body(server: Server) -> Outcome:
    sock = connect(server.address)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n")
    data = _trickle_until_closed(sock, _pace(server), _limit(server))
    return _finish(server, sock, None, data)


def _non_reader(server: Server) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF)
    sock.connect(server.address)
    return sock


def _wait_closed_by_server(server: Server, sock: socket.socket, asked: float) -> Outcome:
    """Wait, never reading, for the server to answer the request sent at `asked`, then to
    give up on it; the time it took to begin the answer is its work."""
    readable, _, _ = select.select([sock], [], [], _limit(server))
    work = time.monotonic() - asked if readable else 0.0
    record = server.log.wait_record(local_port(sock), _limit(server))
    sock.close()
    return Outcome(record, record.accepted, b"", work)


def never_reads(server: Server) -> Outcome:
    sock = _non_reader(server)
    sock.sendall(LARGE)
    return _wait_closed_by_server(server, sock, time.monotonic())


def body_never_reads(server: Server) -> Outcome:
    sock = _non_reader(server)
    sock.sendall(b"POST /bytes/16000000 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
    for byte in b"body":  # the body trickles, inside idle and request, then nothing is read
        time.sleep(_pace(server))
        sock.sendall(bytes([byte]))
    return _wait_closed_by_server(server, sock, time.monotonic())


def pipelining(server: Server) -> Outcome:
    """Each request ends with the first byte of the next; the rest of it trickles in. After
    two such cycles the next request only ever trickles, until its request deadline; its
    slot is measured from that request's first byte (the connection's has no bound)."""
    sock = connect(server.address)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nG")
    answers = b""
    for _ in range(2):
        answers += recv_until(sock, b"hello world")
        # The 22 bytes take under half the request timeout, even with a loaded machine's
        # late sleeps: each request must complete, so only the last one is cut.
        for byte in b"ET / HTTP/1.1\r\nHost: x":
            time.sleep(server.config.request_timeout / 2 / 22)
            sock.sendall(bytes([byte]))
        sock.sendall(b"\r\n\r\nG")
        first_byte = time.monotonic()
    answers += recv_until(sock, b"hello world")
    sock.sendall(b"ET / HTTP/1.1\r\nX-a: ")
    answers += _trickle_until_closed(sock, _pace(server), _limit(server))
    return _finish(server, sock, first_byte, answers)


def half_close(server: Server) -> Outcome:
    sock = connect(server.address)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.shutdown(socket.SHUT_WR)
    data, _ = read_until_closed(sock, _limit(server))
    return _finish(server, sock, None, data)


def reset(server: Server) -> Outcome:
    sock = connect(server.address)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # part of a head: parked, or on a worker
    time.sleep(_pace(server))
    port = local_port(sock)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    at = time.monotonic()
    sock.close()  # RST
    return Outcome(server.log.wait_record(port, _limit(server)), at, b"")


SCRIPTS: dict[str, Callable[[Server], Outcome]] = {
    "never-sends": never_sends,
    "trickles-head": trickles_head,
    "trickles-body": trickles_body,
    "never-reads": never_reads,
    "body-never-reads": body_never_reads,
    "pipelining": pipelining,
    "half-close": half_close,
    "reset": reset,
}
