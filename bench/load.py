"""Our own load client, for when wrk is absent: N connections in one epoll loop, bounded in time.

Connects are non-blocking, so a server whose accept queue drops handshakes stalls only those
connections, not the loop. Latency runs from sending a request to its whole response, as in
wrk. It is Python, so it saturates long before nginx does; the table says when it was used.
"""

from __future__ import annotations

import errno
import select
import socket
import time

from chaos.result import percentile

from .raw_http import REQUEST, REQUEST_CLOSE, response_end, status_of
from .wrk import LoadResult

__all__ = ["run_own"]

_RDHUP = getattr(select, "EPOLLRDHUP", 0x2000)
_READ = select.EPOLLIN | _RDHUP


class _Conn:
    __slots__ = ("buf", "connecting", "sent_at", "sock")

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = self.sock.connect_ex(address)
        if err not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(err, "connect failed")
        self.connecting = True
        self.buf = b""
        self.sent_at = 0.0


def run_own(
    address: tuple[str, int], *, connections: int, seconds: float, close: bool
) -> LoadResult:
    """Keep `connections` requests in flight for `seconds`; a new connection each if `close`."""
    request = REQUEST_CLOSE if close else REQUEST
    ep = select.epoll()
    conns: dict[int, _Conn] = {}
    latencies: list[float] = []
    requests = non_2xx = errors = 0

    def open_one() -> None:
        nonlocal errors
        try:
            conn = _Conn(address)
        except OSError:
            errors += 1
            return
        conns[conn.sock.fileno()] = conn
        ep.register(conn.sock.fileno(), select.EPOLLOUT)

    def drop(fd: int) -> None:
        ep.unregister(fd)
        conns.pop(fd).sock.close()

    def send(fd: int, conn: _Conn) -> None:
        nonlocal errors
        conn.sent_at = time.monotonic()
        try:
            conn.sock.send(request)
        except OSError:
            errors += 1
            drop(fd)

    def readable(fd: int, conn: _Conn) -> None:
        nonlocal requests, non_2xx, errors
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            errors += 1
            drop(fd)
            return
        conn.buf += chunk
        end = response_end(conn.buf)
        if end is None:
            return
        requests += 1
        latencies.append(time.monotonic() - conn.sent_at)
        status = status_of(conn.buf)
        if status is None or not 200 <= status < 300:
            non_2xx += 1
        head = conn.buf[:end].lower()
        conn.buf = conn.buf[end:]
        if close or b"connection: close" in head:
            drop(fd)
        else:
            send(fd, conn)

    began = time.monotonic()
    deadline = began + seconds
    try:
        while (now := time.monotonic()) < deadline:
            for _ in range(connections - len(conns)):
                open_one()
            for fd, _ in ep.poll(min(0.05, deadline - now)):
                conn = conns.get(fd)
                if conn is None:
                    continue
                if conn.connecting:
                    if conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        errors += 1
                        drop(fd)
                        continue
                    conn.connecting = False
                    ep.modify(fd, _READ)
                    send(fd, conn)
                else:
                    readable(fd, conn)
    finally:
        for conn in conns.values():
            conn.sock.close()
        ep.close()
    return LoadResult(
        requests=requests,
        seconds=time.monotonic() - began,
        non_2xx=non_2xx,
        errors=errors,
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        tool="own client",
    )
