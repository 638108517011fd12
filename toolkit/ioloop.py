"""The I/O thread: one selector (epoll on Linux), one timer heap, and work handed in by others.

The readiness stage parks connections here and the lingering close drains sockets here, so
neither costs a worker. Other threads only ever call `call_soon`; everything else runs on the
loop's own thread, so the selector and the timers need no lock. Nothing is acquired before
`start()`, and `stop()` runs each part's closer on the loop thread, which closes what it holds.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .clock import now
from .timers import TimerHeap

__all__ = ["IoLoop"]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class IoLoop:
    """Runs callbacks when a socket is readable or a deadline passes, on one thread."""

    def __init__(self, name: str = "toolkit-io") -> None:
        self._name = name
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._timers = TimerHeap()
        self._due: dict[Hashable, Callable[[Any], None]] = {}
        self._inbox: list[Callable[[], None]] = []
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Acquire the selector and the wake-up pair and start the thread; on failure, hold none."""
        try:
            self._selector = selectors.DefaultSelector()
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self._selector.register(self._wake_r, selectors.EVENT_READ)
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        except BaseException:
            self._thread = None
            self._release()
            raise

    def on_stop(self, closer: Callable[[], None]) -> None:
        """Run `closer` on the loop thread when it stops (to close what a part still holds)."""
        self._closers.append(closer)

    # --- from any thread -------------------------------------------------------------------

    def call_soon(self, fn: Callable[[], None]) -> bool:
        """Run `fn()` on the loop thread; False (and never run) if the loop is not running."""
        with self._lock:
            if self._stopping or self._thread is None:
                return False
            self._inbox.append(fn)
            wake = len(self._inbox) == 1  # the first since the loop last took the inbox
        if wake:
            self._wake()
        return True

    def stop(self) -> None:
        """Ask the loop to run what is queued, then its closers, and exit."""
        with self._lock:
            self._stopping = True
        self._wake()

    def join(self, timeout: float) -> bool:
        """Wait for the thread; True if it has exited (or never started)."""
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _wake(self) -> None:
        try:
            if self._wake_w is not None:
                self._wake_w.send(b"x")
        except OSError:
            pass  # a wake-up is already pending (the pair is full), or the loop has exited

    # --- on the loop thread ----------------------------------------------------------------

    def watch(self, sock: socket.socket, fn: Callable[[K], None], key: K) -> None:
        """Call `fn(key)` whenever `sock` is readable (or at EOF or error). Raises OSError or
        ValueError if the socket is already closed."""
        assert self._selector is not None
        self._selector.register(sock, selectors.EVENT_READ, (fn, key))

    def unwatch(self, sock: socket.socket) -> None:
        assert self._selector is not None
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass  # never watched, or the socket was closed under it

    def arm(self, key: K, deadline: float, fn: Callable[[K], None]) -> None:
        """Call `fn(key)` once at `deadline`; replaces `key`'s earlier deadline."""
        self._due[key] = fn
        self._timers.arm(key, deadline)

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)
        self._timers.cancel(key)

    def _run(self) -> None:
        assert self._selector is not None
        try:
            while True:
                deadline = self._timers.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - now())
                woken = False
                for key, _ in self._selector.select(timeout):
                    if key.data is None:
                        woken = True  # the wake-up pair: work is in the inbox
                    else:
                        self._guarded(*key.data)
                for due in self._timers.pop_due(now()):
                    action = self._due.pop(due, None)
                    if action is not None:
                        self._guarded(action, due)
                if woken:
                    # Drain before taking the inbox: a later call_soon writes a fresh wake-up.
                    self._drain_wake()
                with self._lock:
                    inbox, self._inbox = self._inbox, []
                    stopping = self._stopping
                for fn in inbox:
                    self._guarded(fn)
                if stopping:
                    return
        except Exception:
            logger.exception("I/O loop failed")
        finally:
            with self._lock:
                self._stopping = True
                leftover, self._inbox = self._inbox, []
            for fn in leftover:
                self._guarded(fn)
            for closer in self._closers:
                self._guarded(closer)
            self._release()

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass  # drained (EAGAIN)

    @staticmethod
    def _guarded(fn: Callable[..., None], *args: Any) -> None:
        """One callback's failure must not stop the loop for every other connection."""
        try:
            fn(*args)
        except Exception:
            logger.exception("I/O loop callback failed")

    def _release(self) -> None:
        for resource in (self._selector, self._wake_r, self._wake_w):
            if resource is not None:
                resource.close()
        self._selector = self._wake_r = self._wake_w = None
