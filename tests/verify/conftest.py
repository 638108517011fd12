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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from toolkit import Server, ServerConfig

# Bound for joins and anything else that must not hang.
LONG = 5.0


def _stop_thread(thread: threading.Thread) -> None:
    thread.join(LONG)
    assert not thread.is_alive(), f"{thread.name} did not exit"


@pytest.fixture
def toolkit_server() -> Iterator[Callable[..., tuple[str, Server]]]:
    """Factory: ``toolkit_server(**config)`` starts an http-hello server; returns (target, it)."""
    servers: list[Server] = []

    def start(**config: object) -> tuple[str, Server]:
        server = Server(ServerConfig(**config), handler="http-hello")
        host, port = server.start()
        servers.append(server)
        return f"{host}:{port}", server

    yield start
    for server in servers:
        server.shutdown()


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
