"""The acceptor thread: accepts and hands off, nothing else.

It never reads from or writes to a client and never waits on a full queue: each accepted socket
goes straight to `on_accept`, which must not block. When the process runs out of descriptors
(EMFILE/ENFILE) it counts the event, backs off briefly and goes on, as trio's accept loop does.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

from .events import EventLog

__all__ = ["ACCEPT_BACKOFF", "ACCEPT_BATCH", "Acceptor"]

logger = logging.getLogger(__name__)

# Out of descriptors: wait this long for some to be freed rather than spin on a ready listener.
ACCEPT_BACKOFF = 0.01
# Accept up to this many per wake-up: amortises the select call under a flood.
ACCEPT_BATCH = 64
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Acceptor:
    """Runs `on_accept(sock, peer)` for every new connection; `on_tick()` says when to call it next.

    `on_tick` returns the seconds until it next needs a call (e.g. a queued connection's
    expiry), or None to wait for connections only.
    """

    def __init__(
        self,
        listener: socket.socket,
        *,
        on_accept: Callable[[socket.socket, tuple[Any, ...]], None],
        on_tick: Callable[[], float | None],
        log: EventLog,
    ) -> None:
        self._listener = listener
        self._on_accept = on_accept
        self._on_tick = on_tick
        # What each accepted socket is made with (socket.accept converts them on every call).
        self._family, self._type = int(listener.family), int(listener.type)
        self._proto = listener.proto
        self._log = log
        self._stop = threading.Event()
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread = threading.Thread(target=self._run, name="toolkit-acceptor", daemon=True)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def start(self) -> None:
        """Acquire the wake-up pair and start the thread; on failure, hold neither."""
        self._wake = socket.socketpair()
        try:
            self._thread.start()
        except BaseException:
            self._close_wake()
            raise

    def stop(self) -> None:
        """Ask the loop to exit; returns at once (the thread may be inside `on_accept`)."""
        self._stop.set()
        try:
            if self._wake is not None:
                self._wake[1].send(b"x")
        except OSError:
            pass

    def join(self, timeout: float) -> bool:
        """Wait for the thread; True if it exited. Closes the wake-up pair once it has."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._close_wake()
        return True

    def _close_wake(self) -> None:
        if self._wake is not None:
            for sock in self._wake:
                sock.close()
            self._wake = None

    def _run(self) -> None:
        assert self._wake is not None
        listener = self._listener
        listener.setblocking(False)
        listening = listener.fileno()
        with select.epoll() as epoll:
            epoll.register(listening, select.EPOLLIN)
            epoll.register(self._wake[0].fileno(), select.EPOLLIN)
            while not self._stop.is_set():
                try:
                    timeout = self._on_tick()
                except Exception:
                    logger.exception("acceptor tick failed")
                    self._log.accept_error()
                    timeout = ACCEPT_BACKOFF
                ready = epoll.poll(-1.0 if timeout is None else timeout)
                if not self._stop.is_set() and any(fd == listening for fd, _ in ready):
                    self._accept_batch()

    def _accept(self) -> tuple[socket.socket, tuple[Any, ...]]:
        """`socket.accept`, without converting the family and type to enums again each time."""
        fd, peer = self._listener._accept()  # type: ignore[attr-defined]
        return socket.socket(self._family, self._type, self._proto, fileno=fd), peer

    def _accept_batch(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if self._stop.is_set():
                return  # `on_accept` may have served for a while (iterative): shutdown began
            try:
                sock, peer = self._accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self._log.accept_backoff()
                    self._stop.wait(ACCEPT_BACKOFF)
                    return
                # ECONNABORTED and friends: that peer is gone; the listener is fine.
                self._log.accept_error()
                continue
            try:
                self._on_accept(sock, peer)
            except Exception:
                logger.exception("hand-off of an accepted connection failed")
                self._log.accept_error()
                sock.close()
