"""Many connections from one thread with epoll: open and hold, watch for closes, flood.

One non-blocking event loop holds tens of thousands of sockets for a few kilobytes each, so
the load generator is never what limits a measurement. Every loop ends by its deadline.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .raw_http import status_of

__all__ = ["Ending", "FloodResult", "Held", "flood", "hold", "still_open", "watch"]

# Poll for completed connects every this many connect() calls while issuing them.
_POLL_EVERY = 256
_RDHUP = getattr(select, "EPOLLRDHUP", 0x2000)
_READ = select.EPOLLIN | _RDHUP
_CONNECT_OK = {0, errno.EINPROGRESS}


@dataclass(slots=True)
class Held:
    """Connections opened and left silent: sockets with their connect times, and the failures."""

    socks: list[socket.socket]
    connected_at: list[float]
    failed: int
    seconds: float  # how long opening them took

    def close(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks.clear()


@dataclass(frozen=True, slots=True)
class Ending:
    """How and when the server ended one connection: "eof", "reset", "answered" or "open"."""

    how: str
    at: float | None


def _new(address: tuple[str, int]) -> tuple[socket.socket | None, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    err = sock.connect_ex(address)
    if err not in _CONNECT_OK:
        sock.close()
        return None, err
    return sock, err


def hold(address: tuple[str, int], count: int, budget: float) -> Held:
    """Open up to `count` connections that never send; give up on the rest after `budget` s."""
    began = time.monotonic()
    deadline = began + budget
    ep = select.epoll()
    pending: dict[int, socket.socket] = {}
    socks: list[socket.socket] = []
    times: list[float] = []
    failed = 0

    def poll(timeout: float) -> None:
        nonlocal failed
        for fd, _ in ep.poll(timeout):
            sock = pending.pop(fd)
            ep.unregister(fd)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                sock.close()
                failed += 1
            else:
                socks.append(sock)
                times.append(time.monotonic())

    try:
        for i in range(count):
            if time.monotonic() >= deadline:
                failed += count - i
                break
            try:
                sock, _err = _new(address)
            except OSError:
                failed += 1
                continue
            if sock is None:
                failed += 1
            else:
                pending[sock.fileno()] = sock
                ep.register(sock.fileno(), select.EPOLLOUT)
            if i % _POLL_EVERY == 0:
                poll(0)
        while pending and time.monotonic() < deadline:
            poll(min(0.05, max(0.0, deadline - time.monotonic())))
    finally:
        failed += len(pending)
        for sock in pending.values():
            sock.close()
        ep.close()
    return Held(socks, times, failed, time.monotonic() - began)


def watch(socks: Sequence[socket.socket], until: float) -> list[Ending]:
    """Wait until `until` (monotonic) for the server to end each connection; report how."""
    ep = select.epoll()
    index = {sock.fileno(): i for i, sock in enumerate(socks)}
    endings = [Ending("open", None)] * len(socks)
    try:
        for fd in index:
            ep.register(fd, _READ)
        left = len(index)
        while left and (remaining := until - time.monotonic()) > 0:
            for fd, _ in ep.poll(min(remaining, 0.05)):
                i = index[fd]
                at = time.monotonic()
                try:
                    data = socks[i].recv(4096)
                    how = "answered" if data else "eof"
                except BlockingIOError:
                    continue
                except OSError:
                    how = "reset"
                endings[i] = Ending(how, at)
                ep.unregister(fd)
                left -= 1
    finally:
        ep.close()
    return endings


def still_open(socks: Sequence[socket.socket]) -> int:
    """How many of `socks` the server has neither closed nor answered."""
    count = 0
    for sock in socks:
        try:
            sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


@dataclass(frozen=True, slots=True)
class FloodResult:
    """Per connection: seconds from its connect() to the server's answer, and what it was.

    `kinds` are "served" (2xx), "rejected" (another status, or a close without a response),
    "connect_failed", or "none" (nothing by the end of the watch).
    """

    latencies: list[float]
    kinds: list[str]
    established: int
    issue_seconds: float


def flood(address: tuple[str, int], count: int, request: bytes, watch_for: float) -> FloodResult:
    """Open `count` connections as fast as possible, each sending `request`; watch the answers."""
    began = time.monotonic()
    ep = select.epoll()
    socks: dict[int, tuple[int, socket.socket]] = {}
    starts = [0.0] * count
    latencies = [float("inf")] * count
    kinds = ["none"] * count
    established = 0

    def finish(fd: int, kind: str) -> None:
        i, sock = socks.pop(fd)
        ep.unregister(fd)
        sock.close()
        kinds[i] = kind
        latencies[i] = time.monotonic() - starts[i]

    def poll(timeout: float) -> None:
        nonlocal established
        for fd, events in ep.poll(timeout):
            _i, sock = socks[fd]
            if events & select.EPOLLOUT:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    finish(fd, "rejected")  # refused or reset during the handshake
                    continue
                established += 1
                try:
                    sock.send(request)
                except OSError:
                    finish(fd, "rejected")
                    continue
                ep.modify(fd, _READ)
                continue
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                finish(fd, "rejected")
                continue
            status = status_of(data) if data else None
            finish(fd, "served" if status is not None and 200 <= status < 300 else "rejected")

    try:
        for i in range(count):
            starts[i] = time.monotonic()
            try:
                sock, _ = _new(address)
            except OSError:
                sock = None
            if sock is None:
                kinds[i] = "connect_failed"
                continue
            socks[sock.fileno()] = (i, sock)
            ep.register(sock.fileno(), select.EPOLLOUT)
            if i % _POLL_EVERY == 0:
                poll(0)
        issued = time.monotonic() - began
        deadline = began + watch_for
        while socks and (remaining := deadline - time.monotonic()) > 0:
            poll(min(remaining, 0.05))
    finally:
        for _, sock in socks.values():
            sock.close()
        ep.close()
    return FloodResult(latencies, kinds, established, issued)
