"""The I/O thread: one epoll set, one timer heap, and work handed in by others.

The readiness stage parks connections here and the lingering close drains sockets here, so
neither costs a worker. Every watched socket is armed for one readable event at a time
(EPOLLONESHOT): after it fires the socket stays registered but silent until someone re-arms
it. So a worker that has served a response re-arms its connection itself, from its own thread,
and the I/O thread is not involved at all; the event that follows is the I/O thread's alone.

Any thread may watch, re-arm, arm a timer or hand in work; the I/O thread is woken (an eventfd
write) only when it sleeps and must do something sooner: work handed in, or a timer earlier
than the one it sleeps for. A timer that moves later is left where it is: it fires early, and
its callback re-arms it for the rest (the I/O thread wakes once per connection per timeout,
not once per request). Callbacks run on the loop thread. Nothing is acquired before `start()`,
and `stop()` runs each part's closer on the loop thread, which closes what it holds.
"""

from __future__ import annotations

import logging
import math
import os
import select
import socket
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .clock import now
from .timers import TimerHeap

__all__ = ["IoLoop"]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

_ONE_READ = select.EPOLLIN | select.EPOLLONESHOT
# Events taken per epoll_wait: enough to amortise the call under load.
_MAX_EVENTS = 256


class IoLoop:
    """Runs callbacks when a socket is readable or a deadline passes, on one thread."""

    def __init__(self, name: str = "toolkit-io") -> None:
        self._name = name
        self._epoll: select.epoll | None = None
        self._wake_fd: int | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[int, tuple[Callable[[Any], None], Hashable]] = {}
        self._lock = threading.Lock()  # guards everything below
        self._timers = TimerHeap()
        self._due: dict[Hashable, Callable[[Any], None]] = {}
        self._inbox: list[Callable[[], None]] = []
        self._closers: list[Callable[[], None]] = []
        self._batch_hooks: list[Callable[[], None]] = []
        self._stopping = False
        # While the loop sleeps in epoll_wait: until when (inf: no timer); None while awake.
        self._asleep_until: float | None = None
        self._wake_pending = False

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Acquire the epoll set and the wake-up eventfd and start the thread; on failure,
        hold none."""
        try:
            self._epoll = select.epoll()
            self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._epoll.register(self._wake_fd, select.EPOLLIN)
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        except BaseException:
            self._thread = None
            self._release()
            raise

    def on_batch_end(self, hook: Callable[[], None]) -> None:
        """Run `hook()` on the loop thread after each batch of readable events (a part that
        hands work to other threads does so once per batch, after the loop's own reads)."""
        self._batch_hooks.append(hook)

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
            wake = self._needs_wake(0.0)
        if wake:
            self._wake()
        return True

    def stop(self) -> None:
        """Ask the loop to run what is queued, then its closers, and exit."""
        with self._lock:
            self._stopping = True
            self._wake_pending = True
        self._wake()

    def join(self, timeout: float) -> bool:
        """Wait for the thread; True if it has exited (or never started)."""
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def sleeping(self) -> bool:
        """Whether the loop thread sleeps in epoll_wait with nothing handed in and no wake-up
        on its way: a moment's snapshot, read without the lock, for a hint only."""
        return self._asleep_until is not None and not self._wake_pending

    def watch(self, sock: socket.socket, fn: Callable[[K], None], key: K) -> None:
        """Call `fn(key)` on the loop thread the next time `sock` is readable (or at EOF or
        error), once: `rearm` (or `watch` again) asks for the next time. Raises OSError or
        ValueError if the socket is already closed, or the loop is not running."""
        epoll = self._epoll
        if epoll is None:
            raise ValueError("the I/O loop is not running")
        fd = sock.fileno()
        if fd < 0:
            raise ValueError("socket is closed")
        entry = self._handlers.get(fd)
        if entry is not None and entry[1] is key and entry[0] == fn:
            epoll.modify(fd, _ONE_READ)  # watched before: re-arm
            return
        self._handlers[fd] = (fn, key)
        try:
            epoll.register(fd, _ONE_READ)
        except FileExistsError:
            epoll.modify(fd, _ONE_READ)  # still registered from an earlier watch, disarmed

    def rearm(self, sock: socket.socket) -> None:
        """Ask for the next readable event of a watched socket (its callback stays)."""
        epoll = self._epoll
        if epoll is None:
            raise ValueError("the I/O loop is not running")
        epoll.modify(sock, _ONE_READ)

    def forget(self, sock: socket.socket) -> None:
        """Drop `sock`'s callback before it is closed, so its descriptor's next owner starts
        clean; closing it takes it out of the epoll set (a disarmed socket sends no event
        meanwhile). Never raises."""
        fd = sock.fileno()
        if fd >= 0:
            self._handlers.pop(fd, None)

    def arm(self, key: K, deadline: float, fn: Callable[[K], None]) -> None:
        """Call `fn(key)` once at `deadline`; replaces `key`'s earlier deadline."""
        with self._lock:
            self._due[key] = fn
            self._timers.arm(key, deadline)
            wake = self._needs_wake(deadline)
        if wake:
            self._wake()

    def arm_by(self, key: K, deadline: float, fn: Callable[[K], None]) -> None:
        """Make sure `fn(key)` runs at or before `deadline`: arm it if `key` has no timer or
        a later one; an earlier one stays (its callback re-arms for the rest)."""
        with self._lock:
            armed = self._timers.deadline(key)
            if armed is not None and armed <= deadline:
                return
            self._due[key] = fn
            self._timers.arm(key, deadline)
            wake = self._needs_wake(deadline)
        if wake:
            self._wake()

    def cancel(self, key: Hashable) -> None:
        with self._lock:
            self._due.pop(key, None)
            self._timers.cancel(key)

    def _needs_wake(self, deadline: float) -> bool:
        """Holds `_lock`: whether the sleeping loop must be woken for something due at
        `deadline` (a wake-up already on its way counts)."""
        asleep = self._asleep_until
        if asleep is None or self._wake_pending or deadline >= asleep:
            return False
        self._wake_pending = True
        return True

    def _wake(self) -> None:
        try:
            if self._wake_fd is not None:
                os.eventfd_write(self._wake_fd, 1)
        except OSError:
            pass  # the loop has exited

    # --- on the loop thread ----------------------------------------------------------------

    def _run(self) -> None:
        assert self._epoll is not None
        epoll, wake_fd, handlers = self._epoll, self._wake_fd, self._handlers
        try:
            while True:
                with self._lock:
                    if self._inbox or self._stopping:
                        timeout = 0.0
                    else:
                        deadline = self._timers.next_deadline()
                        self._asleep_until = math.inf if deadline is None else deadline
                        timeout = -1.0 if deadline is None else max(0.0, deadline - now())
                events = epoll.poll(timeout, _MAX_EVENTS)
                with self._lock:
                    self._asleep_until = None
                for fd, _ in events:
                    if fd == wake_fd:
                        self._drain_wake()
                        continue
                    handler = handlers.get(fd)
                    if handler is not None:
                        self._guarded(handler[0], handler[1])
                for hook in self._batch_hooks:
                    self._guarded(hook)
                with self._lock:
                    actions = [
                        (action, key)
                        for key in self._timers.pop_due(now())
                        if (action := self._due.pop(key, None)) is not None
                    ]
                    inbox, self._inbox = self._inbox, []
                    stopping = self._stopping
                for action, key in actions:
                    self._guarded(action, key)
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
        assert self._wake_fd is not None
        with self._lock:
            self._wake_pending = False
        try:
            os.eventfd_read(self._wake_fd)
        except BlockingIOError:
            pass  # drained already

    @staticmethod
    def _guarded(fn: Callable[..., None], *args: Any) -> None:
        """One callback's failure must not stop the loop for every other connection."""
        try:
            fn(*args)
        except Exception:
            logger.exception("I/O loop callback failed")

    def _release(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
        if self._wake_fd is not None:
            os.close(self._wake_fd)
        self._epoll = None
        self._wake_fd = None
        self._handlers.clear()
