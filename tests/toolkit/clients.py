"""Small blocking loopback clients for the toolkit tests (the chaos suite has the real ones)."""

from __future__ import annotations

import socket
import time

import h11

GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
# A whole head promising a body that never comes: pins a worker in a read in every mode.
STUCK = b"POST / HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 10\r\n\r\n"
STUCK_BODY = b"0123456789"


def connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def local_port(sock: socket.socket) -> int:
    return sock.getsockname()[1]


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float | None]:
    """Read until EOF or reset; returns the bytes and the monotonic time the server ended it
    (None if it did not within `timeout`)."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), None
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return b"".join(chunks), None
        except ConnectionResetError:
            return b"".join(chunks), time.monotonic()
        if not chunk:
            return b"".join(chunks), time.monotonic()
        chunks.append(chunk)


def http_get(address: tuple[str, int], path: str = "/", timeout: float = 5.0) -> bytes:
    """One request with `Connection: close`; the whole raw response."""
    with connect(address, timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        data, _ = read_until_closed(sock, timeout)
        return data


def recv_until(sock: socket.socket, marker: bytes, timeout: float = 5.0) -> bytes:
    """Read until `marker` has arrived, the peer closes or `timeout` passes; what arrived."""
    deadline = time.monotonic() + timeout
    data = b""
    while marker not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


def parse_responses(data: bytes, methods: list[bytes]) -> list[tuple[int, bytes]]:
    """(status, body) of each response in `data`, answering requests with these methods in
    order; h11 frames them (a HEAD answer has no body whatever its Content-Length says)."""
    answers = []
    for method in methods:
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        client.receive_data(data)
        status, body = 0, b""
        while True:
            event = client.next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"incomplete response to {method!r}: {event!r}")
        answers.append((status, body))
        data = client.trailing_data[0]
    return answers
