"""Loopback servers with known behaviour for the chaos tests, written with stdlib sockets.

Each server runs in threads started and stopped with events; ``stop()`` joins every thread
with a bounded wait and fails loudly if one does not exit. Every server stamps its events
with ``time.monotonic()``, the clock chaos records use, keyed by the client's port.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import h11
import pytest

# Generous bound for anything that must not hang (joins, server-side reads).
LONG = 5.0
# Allowed gap between a server event and the client's stamp of the same wire event.
TOLERANCE = 0.05


class Conn:
    """What a handler gets: the socket, the client's port, a stop event and an event log."""

    def __init__(self, server: LoopServer, sock: socket.socket, port: int) -> None:
        self.server = server
        self.sock = sock
        self.port = port
        self.stop = server.stopping

    def log(self, name: str, value: object = None) -> None:
        self.server.log(self.port, name, value)

    def read_all(self) -> bytes:
        """Read until EOF or reset, logging which; returns everything received."""
        data = bytearray()
        self.sock.settimeout(LONG)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                self.log("reset", bytes(data))
                return bytes(data)
            except OSError as exc:
                self.log("error", repr(exc))
                return bytes(data)
            if not chunk:
                self.log("eof", bytes(data))
                return bytes(data)
            if not data:
                self.log("first_data")
            data += chunk

    def read_request(self, *, max_size: int = 16384) -> tuple[h11.Connection, object]:
        """Parse one request head with h11; returns the connection and the event or error."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=max_size)
        self.sock.settimeout(LONG)
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                return conn, exc
            if event is h11.NEED_DATA:
                try:
                    conn.receive_data(self.sock.recv(4096))
                except OSError as exc:
                    return conn, exc
                continue
            return conn, event

    def respond(self, status: int, body: bytes = b"ok") -> None:
        """Send a whole response (raw bytes, valid even after a protocol error)."""
        reason = {200: "OK", 400: "Bad Request", 431: "Too Large", 503: "Unavailable"}
        head = f"HTTP/1.1 {status} {reason.get(status, 'X')}\r\nContent-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)

    def abort(self) -> None:
        """Close with an RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Handler = Callable[[Conn], None]


class LoopServer:
    """A thread-per-connection loopback server running ``handler`` for each client."""

    def __init__(self, handler: Handler, *, backlog: int = 128, accept: bool = True) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.port = self.listener.getsockname()[1]
        self.target = f"127.0.0.1:{self.port}"
        self.events: list[tuple[int, str, float, object]] = []
        self._lock = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept = accept
        self._selector = selectors.DefaultSelector()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self) -> LoopServer:
        self._acceptor.start()
        return self

    def log(self, port: int, name: str, value: object = None) -> None:
        with self._lock:
            self.events.append((port, name, time.monotonic(), value))
            self._lock.notify_all()

    def find(
        self, port: int, name: str, timeout: float = LONG, *, by: float | None = None
    ) -> tuple[float, object]:
        """The (time, value) of the first ``name`` event for ``port``, waiting (bounded); with
        ``by``, of the last one logged by then (on loopback a port comes back once the server
        has closed its connection first, so one port may name several connections)."""

        def first() -> tuple[float, object] | None:
            found = [(t, v) for p, n, t, v in self.events if p == port and n == name]
            if by is not None:
                found = [(t, v) for t, v in found if t <= by]
                return found[-1] if found else None
            return found[0] if found else None

        with self._lock:
            found = self._lock.wait_for(first, timeout)
        assert found, f"no {name!r} event for port {port}: {self.events}"
        return found

    def wait_for(self, name: str, count: int = 1, timeout: float = LONG) -> list[tuple]:
        """Wait (bounded) until ``count`` events called ``name`` were logged."""
        with self._lock:
            ok = self._lock.wait_for(
                lambda: sum(1 for e in self.events if e[1] == name) >= count, timeout
            )
            assert ok, f"timed out waiting for {count} {name!r} events: {self.events}"
            return [e for e in self.events if e[1] == name]

    def _accept_loop(self) -> None:
        with self._selector as sel:
            sel.register(self._wake_r, selectors.EVENT_READ)
            if self._accept:
                sel.register(self.listener, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    sock, addr = self.listener.accept()
                    self._socks.append(sock)
                    conn = Conn(self, sock, addr[1])
                    thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
                    self._threads.append(thread)
                    conn.log("accepted")
                    thread.start()

    def _run(self, conn: Conn) -> None:
        try:
            self.handler(conn)
        except OSError as exc:
            conn.log("handler_error", repr(exc))
        finally:
            conn.log("closed")
            conn.sock.close()

    def stop(self) -> None:
        self.stopping.set()
        self._wake_w.send(b"x")
        self._acceptor.join(LONG)
        for sock in self._socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(LONG)
        alive = [t for t in (self._acceptor, *self._threads) if t.is_alive()]
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()
        assert not alive, f"server threads did not exit: {alive}"


class HoldServer:
    """One selector thread accepting and holding thousands of connections; tracks the peak."""

    def __init__(self, *, backlog: int = 4096) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.listener.setblocking(False)
        self.target = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.open = 0
        self.peak = 0
        self.accepted = 0
        self._cond = threading.Condition()
        self._wake_r, self._wake_w = socket.socketpair()
        # Created here, not in the thread, so descriptor counts taken after start() are stable.
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> HoldServer:
        self._thread.start()
        return self

    def _loop(self) -> None:
        conns: set[socket.socket] = set()
        with self._selector as sel:
            sel.register(self.listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in sel.select():
                        if key.fileobj is self._wake_r:
                            return
                        if key.fileobj is self.listener:
                            self._accept_some(sel, conns)
                        else:
                            self._read(sel, conns, key.fileobj)
            finally:
                for sock in conns:
                    sock.close()

    def _accept_some(self, sel: selectors.BaseSelector, conns: set) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)
            conns.add(sock)
            with self._cond:
                self.accepted += 1
                self.open += 1
                self.peak = max(self.peak, self.open)
                self._cond.notify_all()

    def _read(self, sel: selectors.BaseSelector, conns: set, sock: socket.socket) -> None:
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(sock)
            conns.discard(sock)
            sock.close()
            with self._cond:
                self.open -= 1
                self._cond.notify_all()

    def wait_idle(self, accepted: int, timeout: float = LONG) -> bool:
        """Wait (bounded) until ``accepted`` connections came and all of them went."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.accepted >= accepted and self.open == 0, timeout
            )

    def stop(self) -> None:
        self._wake_w.send(b"x")
        self._thread.join(LONG)
        alive = self._thread.is_alive()
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()
        assert not alive, "hold server thread did not exit"


@pytest.fixture
def serve() -> Iterator[Callable[..., LoopServer]]:
    """Factory: ``serve(handler, backlog=..., accept=...)`` starts a server stopped at teardown."""
    servers: list[LoopServer] = []

    def start(handler: Handler, **kwargs: object) -> LoopServer:
        server = LoopServer(handler, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def hold_server() -> Iterator[HoldServer]:
    server = HoldServer().start()
    yield server
    server.stop()
