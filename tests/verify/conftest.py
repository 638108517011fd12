"""Servers for the verify tests: toolkit ones with known configs, stdlib ones, hostile ones.

Every server is started and stopped by a fixture; stopping joins its threads with a bounded
wait and fails loudly if one does not exit.
"""

from __future__ import annotations

import functools
import http.server
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from toolkit import Server, ServerConfig

# Bound for joins and anything else that must not hang.
LONG = 5.0


def _stop_thread(thread: threading.Thread) -> None:
    thread.join(LONG)
    assert not thread.is_alive(), f"{thread.name} did not exit"


# What slow_toolkit_server waits before handing each accepted connection on.
ACCEPT_DELAY = 0.005


def _toolkit_servers(accept_delay: float) -> Iterator[Callable[..., tuple[str, Server]]]:
    """The factory both toolkit fixtures yield; every server it started is shut down after.

    A delay per accept is composed from outside: the server's hand-off to its model is
    wrapped, the toolkit itself unchanged.
    """
    servers: list[Server] = []

    def start(handler: str = "http-hello", **config: object) -> tuple[str, Server]:
        server = Server(ServerConfig(**config), handler=handler)
        if accept_delay:
            hand_off = server.model.on_accept

            def slowly(sock: socket.socket, peer: tuple) -> None:
                time.sleep(accept_delay)
                hand_off(sock, peer)

            server.model.on_accept = slowly  # type: ignore[method-assign]
        host, port = server.start()
        servers.append(server)
        return f"{host}:{port}", server

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def toolkit_server() -> Iterator[Callable[..., tuple[str, Server]]]:
    """Factory: ``toolkit_server(**config)`` starts an http-hello server (or ``handler``);
    returns (target, it)."""
    yield from _toolkit_servers(0.0)


@pytest.fixture
def slow_toolkit_server() -> Iterator[Callable[..., tuple[str, Server]]]:
    """The same factory, for servers whose acceptor waits ACCEPT_DELAY per connection."""
    yield from _toolkit_servers(ACCEPT_DELAY)


class _Capped(http.server.BaseHTTPRequestHandler):
    """Answers 200, or 503 while more than the server's cap of connections are open."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, CappedServer)
        busy = server.open_now() > server.cap
        body = b"busy\n" if busy else b"hello world"
        self.send_response(503 if busy else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class CappedServer(http.server.ThreadingHTTPServer):
    """Accepts every connection and holds it; answers a request 503 past ``cap`` open ones.

    Its two limits differ: it holds any number of connections, and serves requests with at
    most ``cap`` open (the request's own included).
    """

    daemon_threads = True

    def __init__(self, cap: int) -> None:
        super().__init__(("127.0.0.1", 0), _Capped)
        self.cap = cap
        self._open = 0
        self._lock = threading.Lock()

    def open_now(self) -> int:
        with self._lock:
            return self._open

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self._open += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[no-untyped-def]
        super().shutdown_request(request)
        with self._lock:
            self._open -= 1


@pytest.fixture
def capped_server() -> Iterator[Callable[[int], str]]:
    """Factory: ``capped_server(cap)`` starts a :class:`CappedServer`; returns its target."""
    started: list[tuple[CappedServer, threading.Thread]] = []

    def start(cap: int) -> str:
        server = CappedServer(cap)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="capped")
        thread.start()
        started.append((server, thread))
        return f"127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        _stop_thread(thread)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stdlib_http(tmp_path: Path) -> Iterator[str]:
    """``python -m http.server``: ThreadingHTTPServer serving a directory; no timeouts at all."""
    (tmp_path / "index.html").write_text("hello world\n")
    handler = functools.partial(_QuietFiles, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="stdlib-http")
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    _stop_thread(thread)


class _ReadOnceWriteClose(socketserver.BaseRequestHandler):
    """The ANCHORS socketserver: read once, write, close."""

    def handle(self) -> None:
        if self.request.recv(65536):
            self.request.sendall(b"pong\r\n")


@pytest.fixture
def stdlib_tcp() -> Iterator[str]:
    """socketserver.ThreadingTCPServer with a read-once handler; raw protocol, no timeouts."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ReadOnceWriteClose)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="stdlib-tcp")
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    _stop_thread(thread)


class MuteServer:
    """Accepts every connection and never reads or writes: a hostile, hung server."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self.listener.setblocking(False)
        self.target = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._loop, name="mute-server")

    def _loop(self) -> None:
        held: list[socket.socket] = []
        with self._selector as sel:
            sel.register(self.listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in sel.select():
                        if key.fileobj is self._wake_r:
                            return
                        while True:
                            try:
                                sock, _ = self.listener.accept()
                            except BlockingIOError:
                                break
                            held.append(sock)
            finally:
                for sock in held:
                    sock.close()

    def start(self) -> MuteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._wake_w.send(b"x")
        _stop_thread(self._thread)
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()


@pytest.fixture
def mute_server() -> Iterator[MuteServer]:
    server = MuteServer().start()
    yield server
    server.stop()


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A socket that listens (backlog 1) but never accepts: a dead server."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=1)
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
