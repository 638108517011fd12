"""A deliberately vulnerable HTTP server with the pipelining pin, to show what a hunt finds.

It keeps the rule the toolkit had before its fix. A connection waits for its request head
without a worker, and takes one (or is answered 503) once the head is whole; after the
response, if bytes of the next request were already read, the worker keeps the connection and
reads the rest of that request itself. So a client sending the end of each request with the
first byte of the next, then trickling the rest inside the idle and request timeouts, holds
a worker as long as it likes: nothing ever cuts it, and with every worker held well-behaved
clients get 503. Each connection is logged in a toolkit :class:`~toolkit.EventLog` (close
reason, responses, how long it held a worker), as a toolkit server logs it, so the same
tests read both. Never serve it to anyone: ``python -m chaos.testing.vulnerable --port N``
runs one on loopback for a demonstration.
"""

from __future__ import annotations

import argparse
import math
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h11

from toolkit import CloseReason, EventLog

__all__ = ["JOIN_TIMEOUT", "VulnerableConfig", "VulnerableServer", "main"]

# Connection threads are woken by a shutdown of their socket; they exit within this.
JOIN_TIMEOUT = 5.0
# How long a rejected client may keep sending before its socket closes: time to read the 503.
DRAIN = 0.2
# SO_LINGER on, zero seconds: close() sends RST and discards unsent data.
_ABORT = struct.pack("ii", 1, 0)
_BYTES = b"/bytes/"
_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class VulnerableConfig:
    """Its few settings: workers, the deadlines it does enforce, a cap on connections."""

    workers: int = 1
    idle_timeout: float = 1.0
    request_timeout: float = 2.0
    write_timeout: float = 2.0
    max_connections: int = 256
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        for name in ("workers", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        for name in ("idle_timeout", "request_timeout", "write_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected seconds > 0, got {value!r}")


class _Ended(Exception):
    """The connection ends for ``reason``, after ``reply`` if there is one."""

    def __init__(self, reason: CloseReason, reply: int | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.reply = reply


class _Connection:
    """One client on its own thread; the worker it holds is a permit of the server's pool."""

    def __init__(self, server: VulnerableServer, sock: socket.socket, conn_id: int) -> None:
        self.server = server
        self.sock = sock
        self.id = conn_id
        self.http = h11.Connection(h11.SERVER)
        self.last = time.monotonic()  # the last byte read or written: the idle clock
        self.started: float | None = None  # the current request's first byte
        self.held_since: float | None = None
        self.worker_time = 0.0
        self.worker_longest = 0.0
        self.responses = 0
        self.bytes_in = 0
        self.bytes_out = 0

    # --- the worker --------------------------------------------------------------------------

    def take_worker(self) -> None:
        if self.held_since is None:
            if not self.server.workers.acquire(blocking=False):
                raise _Ended(CloseReason.REJECTED_OVERLOAD, 503)
            self.held_since = time.monotonic()
            self.server.log.dispatched(self.id)

    def release_worker(self) -> None:
        if self.held_since is not None:
            held = time.monotonic() - self.held_since
            self.worker_time += held
            self.worker_longest = max(self.worker_longest, held)
            self.held_since = None
            self.server.workers.release()

    # --- reading and writing ---------------------------------------------------------------

    def _receive(self) -> None:
        config = self.server.config
        due = self.last + config.idle_timeout
        reason = CloseReason.IDLE_TIMEOUT
        if self.started is not None and self.started + config.request_timeout < due:
            due, reason = self.started + config.request_timeout, CloseReason.REQUEST_TIMEOUT
        left = due - time.monotonic()
        if left <= 0:
            raise _Ended(reason, 408 if self.started is not None else None)
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise _Ended(reason, 408 if self.started is not None else None) from None
        except OSError:
            raise _Ended(CloseReason.RESET) from None
        now = time.monotonic()
        if data:
            self.last = now
            self.bytes_in += len(data)
            self.server.log.first_byte(self.id, now)
            if self.started is None:
                self.started = now
        self.http.receive_data(data)

    def next_event(self) -> object:
        """The next h11 event, reading (within the deadlines) until there is one."""
        while True:
            try:
                event = self.http.next_event()
            except h11.RemoteProtocolError:
                raise _Ended(CloseReason.BAD_REQUEST, 400) from None
            if event is not h11.NEED_DATA:
                return event
            self._receive()

    def send(self, *events: h11.Response | h11.Data | h11.EndOfMessage) -> None:
        """The whole response within the write deadline (the one rule it keeps right, so
        the pin is the only way to hold it)."""
        data = memoryview(b"".join(self.http.send(e) or b"" for e in events))
        due = time.monotonic() + self.server.config.write_timeout
        try:
            while data:
                left = due - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.sock.settimeout(left)
                sent = self.sock.send(data)
                self.bytes_out += sent
                data = data[sent:]
        except TimeoutError:
            # An RST, not a FIN queued behind the unsent response for the kernel to retry.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORT)
            raise _Ended(CloseReason.WRITE_TIMEOUT) from None
        except OSError:
            raise _Ended(CloseReason.RESET) from None
        self.last = time.monotonic()

    # --- one request, and the loop -----------------------------------------------------------

    def serve_one(self) -> bool:
        """Read and answer one request; True to keep the connection."""
        event = self.next_event()
        if type(event) is h11.ConnectionClosed:
            raise _Ended(CloseReason.COMPLETED if self.responses else CloseReason.PEER_CLOSED)
        assert isinstance(event, h11.Request)
        self.take_worker()
        while type(self.next_event()) is not h11.EndOfMessage:
            pass  # the body, discarded
        body = b"hello world"
        if event.target.startswith(_BYTES) and event.target[len(_BYTES) :].isdigit():
            body = b"x" * min(_MAX_BODY, int(event.target[len(_BYTES) :]))
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        head = h11.Response(status_code=200, headers=headers)
        sent = body if event.method != b"HEAD" else b""
        self.send(head, *([h11.Data(data=sent)] if sent else []), h11.EndOfMessage())
        self.responses += 1
        if self.http.our_state is not h11.DONE or self.http.their_state is not h11.DONE:
            raise _Ended(CloseReason.COMPLETED)
        self.http.start_next_cycle()
        if self.http.trailing_data[0]:
            self.started = self.last  # the next request began with the bytes read with this one
        else:
            self.started = None
            # Nothing of the next request yet: the worker lets go. With something, it keeps
            # the connection and reads the rest itself: the pin.
            self.release_worker()
        return True

    def run(self) -> None:
        reason = CloseReason.COMPLETED
        try:
            while not self.server.stopping.is_set() and self.serve_one():
                pass
            reason = CloseReason.SHUTDOWN
        except _Ended as ended:
            reason = CloseReason.SHUTDOWN if self.server.stopping.is_set() else ended.reason
            if ended.reply is not None and not self.server.stopping.is_set():
                self._reply(ended.reply)
        finally:
            self.release_worker()
            self.server.log.closed(
                self.id,
                reason,
                self.bytes_in,
                self.bytes_out,
                responses=self.responses,
                worker_time=self.worker_time,
                worker_longest=self.worker_longest,
            )
            self._close()

    def _reply(self, status: int) -> None:
        """A final status, then a short drain so the client reads it rather than a reset."""
        text = {400: "Bad Request", 408: "Request Timeout", 503: "Service Unavailable"}[status]
        head = f"HTTP/1.1 {status} {text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        try:
            self.sock.settimeout(DRAIN)
            self.sock.sendall(head.encode())
            self.bytes_out += len(head)
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + DRAIN
            while time.monotonic() < deadline and self.sock.recv(65536):
                pass
        except OSError:
            pass

    def _close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class VulnerableServer:
    """The server: ``start()`` returns its (host, port), ``shutdown()`` joins every thread."""

    def __init__(self, config: VulnerableConfig | None = None) -> None:
        self.config = config or VulnerableConfig()
        self.log = EventLog()
        self.workers = threading.BoundedSemaphore(self.config.workers)
        self.stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._live: dict[int, socket.socket] = {}
        self._lock = threading.Lock()
        self.address: tuple[str, int] = (self.config.host, self.config.port)

    def start(self) -> tuple[str, int]:
        listener = socket.create_server((self.config.host, self.config.port), backlog=128)
        listener.settimeout(0.05)  # the accept loop looks at the stop event this often
        self._listener = listener
        self.address = listener.getsockname()[:2]
        thread = threading.Thread(target=self._accept, name="vulnerable-acceptor", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self.address

    def _accept(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                sock, peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._admit(sock, peer)

    def _admit(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        conn_id = self.log.accepted(peer)
        with self._lock:
            full = len(self._live) >= self.config.max_connections
            if not full:
                self._live[conn_id] = sock
                self._threads = [t for t in self._threads if t.is_alive()]
        if full:
            self.log.closed(conn_id, CloseReason.REJECTED_CONNECTION_LIMIT)
            sock.close()
            return
        self.log.admitted(conn_id)
        conn = _Connection(self, sock, conn_id)
        thread = threading.Thread(target=self._run, args=(conn,), name=f"vulnerable-{conn_id}")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _run(self, conn: _Connection) -> None:
        try:
            conn.run()
        finally:
            with self._lock:
                self._live.pop(conn.id, None)

    def shutdown(self) -> None:
        """Stop accepting, wake every connection, join every thread (loudly if one hangs)."""
        self.stopping.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            socks = list(self._live.values())
            threads = list(self._threads)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"vulnerable server threads did not exit: {stuck}")

    def __enter__(self) -> VulnerableServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m chaos.testing.vulnerable``: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m chaos.testing.vulnerable", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--idle-timeout", type=float, default=1.0)
    parser.add_argument("--request-timeout", type=float, default=2.0)
    parser.add_argument("--write-timeout", type=float, default=2.0)
    args = parser.parse_args(argv)
    try:
        config = VulnerableConfig(
            host=args.host,
            port=args.port,
            workers=args.workers,
            idle_timeout=args.idle_timeout,
            request_timeout=args.request_timeout,
            write_timeout=args.write_timeout,
        )
    except ValueError as exc:
        print(f"vulnerable: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C
    server = VulnerableServer(config)
    host, port = server.start()
    print(f"listening on {host}:{port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
