"""The lingering close: after a final status, drain what the client still sends, then close.

Closing a socket with unread input makes Linux answer with RST, and an RST destroys what the
client has not read yet: a refused upload would see `ConnectionResetError`, never the 413. So a
close that sends a final status (or turns a client away) shuts only the write side (the client
reads the status, then EOF) and keeps reading until the client closes too or LINGER_TIMEOUT
passes, as nginx's `lingering_close` does. Lingering sockets wait on the I/O loop, never on a
worker or the acceptor, and at most MAX_LINGERING at once.
"""

from __future__ import annotations

import socket
import threading

from .connection import Connection
from .events import EventLog
from .ioloop import IoLoop

__all__ = ["MAX_LINGERING", "Lingerer", "send_nowait", "shut_and_drain"]

# Lingering sockets hold descriptors outside max_connections: a few hundred cover a burst of
# refusals, and stay far below the open-file limit. Past it a socket closes at once (a reset
# risked, rather than descriptors without bound).
MAX_LINGERING = 512
# Read this much per readable event while draining: one recv empties a loopback burst.
_DRAIN_CHUNK = 64 * 1024


def drained(sock: socket.socket) -> bool:
    """Read and discard what has arrived; True once the peer has closed (EOF or error)."""
    try:
        while sock.recv(_DRAIN_CHUNK):
            pass
    except BlockingIOError:
        return False
    except OSError:
        pass  # reset: the peer is gone
    return True


def send_nowait(sock: socket.socket, reply: bytes) -> int:
    """Send `reply` without blocking; the bytes sent. A reply that does not fit in the send
    buffer is cut: that peer is not reading it."""
    try:
        return sock.send(reply)
    except OSError:
        return 0  # the peer is gone, or not reading


def shut_and_drain(sock: socket.socket) -> bool:
    """Shut the write side (the peer reads EOF after what was sent) and read what has arrived;
    True if the peer has closed already (nothing to linger for)."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return True  # the peer is gone
    return drained(sock)


class Lingerer:
    """Holds closed connections on the I/O loop until their clients close or the linger ends."""

    def __init__(self, loop: IoLoop, log: EventLog, capacity: int = MAX_LINGERING) -> None:
        self._loop = loop
        self._log = log
        self._capacity = capacity
        self._count = 0  # reserved places, including connections on their way to the loop
        self._count_lock = threading.Lock()
        self._held: set[Connection] = set()  # on the loop thread only
        loop.on_stop(self._close_all)

    def hold(self, conn: Connection) -> bool:
        """Linger `conn` (already shut for writing); False if full or stopped: close it now."""
        with self._count_lock:
            if self._count >= self._capacity:
                return False
            self._count += 1
        conn.state.lingering()
        self._log.gauge("lingering", 1)
        if not self._loop.call_soon(lambda: self._start(conn)):
            self._release_place()
            return False
        return True

    def _start(self, conn: Connection) -> None:
        due = conn.state.next_deadline()
        assert due is not None
        try:
            self._loop.watch(conn.sock, self._readable, conn)
        except (OSError, ValueError):
            self._finish(conn, watched=False)
            return
        self._held.add(conn)
        self._loop.arm(conn, due[0], self._finish)

    def _readable(self, conn: Connection) -> None:
        if conn not in self._held:
            return
        if drained(conn.sock):
            self._finish(conn)
        else:
            self._loop.rearm(conn.sock)

    def _finish(self, conn: Connection, watched: bool = True) -> None:
        if watched:
            self._loop.forget(conn.sock)
            self._loop.cancel(conn)
            self._held.discard(conn)
        conn.sock.close()
        self._release_place()

    def _release_place(self) -> None:
        with self._count_lock:
            self._count -= 1
        self._log.gauge("lingering", -1)

    def _close_all(self) -> None:
        for conn in list(self._held):
            self._finish(conn)
