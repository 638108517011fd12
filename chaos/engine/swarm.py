"""The fast path: many connections that send nothing, or a chunk on a timer, in one epoll loop.

A trio task per connection costs about a millisecond of CPU to open, close and record (its
task, cancel scopes, wakeups, a seeded generator, a Session); connection-heavy faults (flood,
never-send, slowloris, a keep-alive holder) need none of that. A :class:`Swarm` runs all the
clients of one group in one non-blocking epoll set: connects issued in batches, a heap of
timers (connect timeouts, chunk sends, hold ends, replacements), a small slotted object per
connection, and a :class:`~chaos.record.ClientRecord` built only when asked for. It is one
trio task, waiting on its epoll descriptor, so it shares the crowd's nursery, deadline and
cancellation with the trio clients that talk. Records keep the Session's semantics: the same
stamps, the same outcome rules (:func:`~chaos.engine.session.settle`), the same digests, the
same first reply bytes (so a protocol's rejection is read from them).
"""

from __future__ import annotations

import errno
import hashlib
import heapq
import itertools
import math
import os
import random
import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from ..jsondata import Scalar
from ..record import REPLY_HEAD, ClientRecord, Outcome
from ..target import Endpoint
from .heard import data_at, handshake_at
from .kernel import TCP_ESTABLISHED, their_end_of
from .session import IP_BIND_ADDRESS_NO_PORT, RECV_SIZE, fail, may_decide, settle

__all__ = [
    "CONNECT_BATCH",
    "EMPTY_DIGEST",
    "Listener",
    "Script",
    "Swarm",
    "SwarmSlot",
]

# Connects issued before completions are read again: small enough that a burst of thousands
# does not delay the "connected" stamps of the first ones by more than a millisecond or two.
CONNECT_BATCH = 32
# Events read per epoll wait.
MAX_EVENTS = 1024
# The digest of a connection that sent nothing.
EMPTY_DIGEST = hashlib.sha256().hexdigest()
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
_READ = select.EPOLLIN
_WRITE = select.EPOLLOUT

# Timer actions, in the heap as (when, sequence, action, connection).
_CONNECT_TIMEOUT, _SEND, _HOLD_END, _REPLACE, _ASK_ACCEPTED = range(5)
# A connection that watches for its accept asks the kernel first at once, then after
# ACCEPT_POLL, twice as long each time up to ACCEPT_POLL_MAX (the precision of when the server
# took it); only the first WATCHED clients of a swarm watch, so a server that stops accepting
# thousands costs at most WATCHED / ACCEPT_POLL_MAX (640) questions a second.
ACCEPT_POLL = 0.01
ACCEPT_POLL_MAX = 0.1
WATCHED = 64
# Connection states.
_CONNECTING, _OPEN, _DONE = range(3)
_OUTCOMES = list(Outcome)


class Listener(Protocol):
    """Reads what the server sends to one connection (``b""`` at EOF) and sums it up; told
    when a chunk has gone out, so it can tell the reply to each from the one before."""

    status: int | None

    def feed(self, data: bytes) -> object: ...

    def sent(self) -> None: ...

    def summary(self) -> dict[str, Scalar]: ...


@dataclass(frozen=True, kw_only=True)
class Script:
    """What every connection of a swarm does between its connect and its close.

    It connects within ``connect_timeout``; with ``close_at_once`` it then closes (the
    outcome ``completed``); otherwise it reads and discards what the server sends until the
    server ends the connection or ``hold`` seconds after the connect. With ``chunks`` it sends
    the first chunk at once and the next every ``interval`` seconds. A connection the server
    drops is reopened up to ``replacements`` times per client, within the first one's hold.
    ``listen`` makes a :class:`Listener` (at the first bytes or EOF) whose summary and
    status go on the record, given what tells it when the bytes it is fed arrived (as the
    kernel heard them); ``tally`` turns the number of chunks sent into detail. With
    ``watches_accept``, an open connection of the first WATCHED clients asks the kernel now
    and then whether the server has accepted it (a server on this host) until it has:
    ``accepted`` in detail is when that was first seen, ``unaccepted`` says it never was.
    """

    connect_timeout: float
    hold: float = 0.0
    close_at_once: bool = False
    replacements: int = 0
    backoff: float = 0.01  # pause before a replacement
    chunks: Callable[[random.Random, str], Iterable[bytes]] | None = None
    interval: float = 0.0
    listen: Callable[[Callable[[], float]], Listener] | None = None
    tally: Callable[[int], dict[str, Scalar]] | None = None
    watches_accept: bool = False

    def __post_init__(self) -> None:
        if not self.connect_timeout > 0:
            raise ValueError(f"connect_timeout: must be > 0, got {self.connect_timeout}")
        for name in ("hold", "backoff", "interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if self.replacements < 0:
            raise ValueError(f"replacements: must be >= 0, got {self.replacements}")


@dataclass(frozen=True, slots=True)
class SwarmSlot:
    """One client of a swarm: its plan index, seconds after the start, its seed position and
    the source address it binds (None: the system's choice)."""

    index: int
    delay: float
    position: int
    source: str | None = None


class _Conn:
    """One connection (a session of a slot), stamped with ``time.monotonic()``."""

    __slots__ = (
        "accepted",
        "chunks",
        "closed",
        "connected",
        "decided",
        "digest",
        "eof",
        "error",
        "first_byte",
        "first_sent",
        "generation",
        "head",
        "heard",
        "last_sent",
        "listener",
        "opened",
        "pending",
        "poll",
        "port",
        "received",
        "reset",
        "sent",
        "sent_chunks",
        "slot",
        "sock",
        "started",
        "state",
        "step",
        "watching",
        "window_end",
        "writing",
    )

    def __init__(self, slot: int, generation: int, window_end: float | None) -> None:
        self.slot = slot
        self.generation = generation
        self.window_end = window_end
        self.sock: socket.socket | None = None
        self.state = _CONNECTING
        self.started = time.monotonic()
        # When the kernel completed the connect, and when we saw it (the hold and the send
        # grid count from there), as a Session keeps them.
        self.connected: float | None = None
        self.opened = 0.0
        self.heard = 0.0  # when the bytes last read arrived (as the kernel heard them)
        self.first_sent: float | None = None
        self.last_sent: float | None = None
        self.first_byte: float | None = None
        self.eof: float | None = None
        self.reset: float | None = None
        self.closed: float | None = None
        self.sent = 0
        self.received = 0
        self.head = b""  # the first REPLY_HEAD bytes received
        self.port: int | None = None
        self.decided: Outcome | None = None
        self.error: str | None = None
        self.digest: hashlib._Hash | None = None
        self.listener: Listener | None = None
        self.chunks: Iterator[bytes] | None = None
        self.pending: memoryview | None = None
        self.sent_chunks = 0
        self.step = 0  # chunks taken from the iterator so far
        self.writing = False  # waiting for the kernel to take the rest of a chunk
        # When the server was first seen to own it (accepted); None while not, or unknown.
        self.accepted: float | None = None
        self.watching = False  # its server end is on this host and not yet accepted
        self.poll = ACCEPT_POLL  # seconds to the next question while watching

    def decide(self, outcome: Outcome) -> None:
        if self.decided is None and may_decide(
            outcome, connected=self.connected, server_eof=self.eof, reset=self.reset
        ):
            self.decided = outcome


class Swarm:
    """The clients of one group, run by :meth:`run` in one epoll loop; :meth:`records` reads them.

    ``rng(position)`` is a client's seeded generator (made only for scripts that send chunks).
    """

    def __init__(
        self,
        script: Script,
        *,
        kind: str,
        slots: Sequence[SwarmSlot],
        endpoint: Endpoint,
        rng: Callable[[int], random.Random],
    ) -> None:
        self.script = script
        self.kind = kind
        self.slots = tuple(slots)
        self.endpoint = endpoint
        self._rng = rng
        self._order = sorted(range(len(self.slots)), key=lambda s: self.slots[s].delay)
        self._next = 0  # how many slots (in start order) have started
        self._conns: list[_Conn] = []
        self._live: dict[int, _Conn] = {}
        self._timers: list[tuple[float, int, int, _Conn]] = []
        self._sequence = itertools.count()
        self._buffer = bytearray(RECV_SIZE)
        self._ep: select.epoll | None = None
        self._begin = 0.0
        self.finished = 0  # clients whose every connection has ended
        self.settled = 0  # clients whose first connect opened or failed

    # -- what the crowd reads while it runs

    @property
    def size(self) -> int:
        return len(self.slots)

    @property
    def not_started(self) -> int:
        """Clients that have not opened a connection yet."""
        return len(self.slots) - self._next

    def open_sockets(self) -> int:
        return len(self._live)

    def all_settled(self) -> bool:
        """True once every client's first connect opened or failed."""
        return self.settled == len(self.slots)

    # -- running

    async def run(self, begin: float) -> None:
        """Run every client, each ``delay`` seconds after ``begin`` (monotonic), until all ended.

        Cancelling it (a horizon, a crowd's end) closes every socket on the way out.
        """
        self._begin = begin
        self._ep = select.epoll()
        fd = self._ep.fileno()
        try:
            while self.finished < len(self.slots):
                wake = self._advance(time.monotonic())
                events = self._ep.poll(0, MAX_EVENTS)
                if events:
                    self._handle(events)
                if events or (wake is not None and wake <= time.monotonic()):
                    await trio.lowlevel.checkpoint()
                    continue
                if self.finished >= len(self.slots):
                    break
                timeout = math.inf if wake is None else max(0.0, wake - time.monotonic())
                with trio.move_on_after(timeout):
                    await trio.lowlevel.wait_readable(fd)
        finally:
            self.close()

    def _advance(self, now: float) -> float | None:
        """Start the clients that are due (a batch at most), fire due timers; the next wake."""
        started = 0
        while self._next < len(self._order) and started < CONNECT_BATCH:
            slot = self._order[self._next]
            if self._begin + self.slots[slot].delay > now:
                break
            self._next += 1
            started += 1
            self._open(slot, 0, None)
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, action, conn = heapq.heappop(timers)
            self._fire(action, conn)
        wakes = []
        if self._next < len(self._order):
            wakes.append(self._begin + self.slots[self._order[self._next]].delay)
        if timers:
            wakes.append(timers[0][0])
        return min(wakes) if wakes else None

    def _later(self, when: float, action: int, conn: _Conn) -> None:
        heapq.heappush(self._timers, (when, next(self._sequence), action, conn))

    def _open(self, slot: int, generation: int, window_end: float | None) -> None:
        conn = _Conn(slot, generation, window_end)
        self._conns.append(conn)
        source = self.slots[slot].source
        try:
            sock = socket.socket(self.endpoint.family, socket.SOCK_STREAM | _NONBLOCK)
            if not _NONBLOCK:  # created blocking where SOCK_NONBLOCK does not exist
                sock.setblocking(False)
        except OSError as exc:
            fail(conn, exc)
            self._end(conn)
            return
        conn.sock = sock
        try:
            if source is not None:
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                sock.bind((source, 0))
            err = sock.connect_ex(self.endpoint.sockaddr)
        except OSError as exc:
            fail(conn, exc)
            self._end(conn)
            return
        self._live[sock.fileno()] = conn
        if err == 0 or (err == errno.EINPROGRESS and _established(sock)):
            self._opened(conn, registered=False)
        elif err == errno.EINPROGRESS:
            assert self._ep is not None
            self._ep.register(sock.fileno(), _WRITE)
            self._later(conn.started + self.script.connect_timeout, _CONNECT_TIMEOUT, conn)
        else:
            self._refused_or_failed(conn, err)

    def _refused_or_failed(self, conn: _Conn, err: int) -> None:
        exc = OSError(err, os.strerror(err))
        if isinstance(exc, ConnectionRefusedError):
            conn.decide(Outcome.REFUSED)
        else:
            fail(conn, exc)
        self._end(conn)

    def _opened(self, conn: _Conn, *, registered: bool) -> None:
        now = conn.opened = time.monotonic()
        conn.state = _OPEN
        sock = conn.sock
        assert sock is not None and self._ep is not None
        conn.connected = handshake_at(sock, now, began=conn.started)
        _note_port(conn)
        if conn.generation == 0:
            self.settled += 1
        script = self.script
        if script.close_at_once:
            conn.decide(Outcome.COMPLETED)
            self._end(conn)
            return
        if registered:
            self._ep.modify(sock.fileno(), _READ)
        else:
            self._ep.register(sock.fileno(), _READ)
        if conn.window_end is None:
            conn.window_end = now + script.hold
        self._later(conn.window_end, _HOLD_END, conn)
        if script.watches_accept and self.slots[conn.slot].position < WATCHED:
            self._ask_accepted(conn)
        if script.chunks is not None:
            position = self.slots[conn.slot].position
            conn.chunks = iter(script.chunks(self._rng(position), self.endpoint.host_header))
            self._send_next(conn)

    def _ask_accepted(self, conn: _Conn) -> None:
        """Whether the server has taken ``conn`` yet; asked again until it has, while open.
        A server end not on this host (or the kernel silent) ends the watch, concluding
        nothing."""
        assert conn.sock is not None
        theirs = their_end_of(conn.sock)
        conn.watching = theirs is not None and theirs.unaccepted
        if theirs is not None and not theirs.unaccepted:
            conn.accepted = time.monotonic()
        elif conn.watching:
            self._later(time.monotonic() + conn.poll, _ASK_ACCEPTED, conn)
            conn.poll = min(2 * conn.poll, ACCEPT_POLL_MAX)

    def _fire(self, action: int, conn: _Conn) -> None:
        if action == _REPLACE:
            self._open(conn.slot, conn.generation + 1, conn.window_end)
        elif action == _CONNECT_TIMEOUT:
            if conn.state == _CONNECTING:
                conn.decide(Outcome.CONNECT_TIMEOUT)
                _note_port(conn)
                self._end(conn)
        elif conn.state == _OPEN:
            if action == _HOLD_END:
                conn.decide(Outcome.HELD_TO_END)
                self._end(conn)
            elif action == _ASK_ACCEPTED:
                self._ask_accepted(conn)
            elif action == _SEND and conn.pending is None:
                self._send_next(conn)

    def _handle(self, events: list[tuple[int, int]]) -> None:
        live = self._live
        for fd, mask in events:
            conn = live.get(fd)
            if conn is None:
                continue
            if conn.state == _CONNECTING:
                sock = conn.sock
                assert sock is not None
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    _note_port(conn)
                    self._refused_or_failed(conn, err)
                else:
                    self._opened(conn, registered=True)
                continue
            if mask & ~_WRITE:
                self._read(conn)
            if conn.state == _OPEN and mask & _WRITE and conn.pending is not None:
                self._flush(conn)

    def _read(self, conn: _Conn) -> None:
        sock = conn.sock
        assert sock is not None
        try:
            n = sock.recv_into(self._buffer)
        except BlockingIOError:
            return
        except OSError as exc:
            fail(conn, exc)
            n = 0
        else:
            now = time.monotonic()
            if n:
                listening = self.script.listen is not None
                if conn.first_byte is None or listening:
                    # One question to the kernel a read, and only when its answer is used.
                    conn.heard = data_at(sock, now, after=conn.connected or conn.started)
                if conn.first_byte is None:
                    conn.first_byte = conn.heard
                conn.received += n
                if len(conn.head) < REPLY_HEAD:
                    conn.head += self._buffer[: min(n, REPLY_HEAD - len(conn.head))]
                if listening:
                    self._listener(conn).feed(bytes(self._buffer[:n]))
                return
            if conn.eof is None:
                conn.eof = now
        # The stream ended: EOF, or an error. As an exchange does, tell the listener (unless
        # the server reset it) and end the connection.
        if self.script.listen is not None and conn.reset is None:
            self._listener(conn).feed(b"")
        self._end(conn)

    def _listener(self, conn: _Conn) -> Listener:
        if conn.listener is None:
            assert self.script.listen is not None
            # Made when first needed (thousands of silent clients need none): told of what
            # went out before, as if it had been there.
            conn.listener = self.script.listen(lambda: conn.heard)
            if conn.sent_chunks:
                conn.listener.sent()
        return conn.listener

    def _send_next(self, conn: _Conn) -> None:
        """Send the next chunk, and schedule the one after on the interval grid."""
        assert conn.chunks is not None and conn.connected is not None
        chunk = next(conn.chunks, None)
        if chunk is None:
            conn.chunks = None  # all sent; keep reading until the hold ends
            return
        conn.step += 1
        if chunk:
            conn.pending = memoryview(chunk)
            self._flush(conn)
        if conn.state == _OPEN and conn.pending is None:
            self._later(conn.opened + conn.step * self.script.interval, _SEND, conn)

    def _flush(self, conn: _Conn) -> None:
        """Send what is left of the current chunk; wait for writability if the kernel is full."""
        sock, view = conn.sock, conn.pending
        assert sock is not None and view is not None and self._ep is not None
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                break
            except OSError as exc:
                fail(conn, exc)
                conn.pending = None
                self._end(conn)
                return
            now = time.monotonic()
            if conn.first_sent is None:
                conn.first_sent = now
            conn.last_sent = now
            conn.sent += sent
            if conn.digest is None:
                conn.digest = hashlib.sha256()
            conn.digest.update(view[:sent])
            view = view[sent:]
        if view:
            conn.pending = view
            if not conn.writing:
                conn.writing = True
                self._ep.modify(sock.fileno(), _READ | _WRITE)
            return
        conn.pending = None
        conn.sent_chunks += 1
        if conn.listener is not None:
            conn.listener.sent()
        if conn.writing:
            # The chunk went out late, once the kernel took it: the next is due now or on
            # its place on the grid, whichever is later.
            conn.writing = False
            self._ep.modify(sock.fileno(), _READ)
            if conn.chunks is not None:
                self._later(self._grid(conn), _SEND, conn)

    def _grid(self, conn: _Conn) -> float:
        assert conn.connected is not None
        return max(time.monotonic(), conn.opened + conn.step * self.script.interval)

    def _end(self, conn: _Conn) -> None:
        """Close the connection (stamping ``closed`` if it opened); replace it or end the client."""
        if conn.state == _DONE:
            return
        conn.state = _DONE
        sock = conn.sock
        if sock is not None:
            self._live.pop(sock.fileno(), None)
            if conn.connected is not None:
                conn.closed = time.monotonic()  # before the FIN leaves, as a Session stamps it
            sock.close()
            conn.sock = None
        script = self.script
        if conn.connected is None and conn.generation == 0:
            self.settled += 1
        dropped = conn.eof is not None or conn.reset is not None
        if (
            conn.connected is not None
            and dropped
            and conn.generation < script.replacements
            and conn.window_end is not None
            and time.monotonic() < conn.window_end
        ):
            self._later(time.monotonic() + script.backoff, _REPLACE, conn)
            return
        self.finished += 1

    def close(self) -> None:
        """Close every socket still open (idempotent); what was open is "held to the end"."""
        for conn in list(self._live.values()):
            conn.state = _DONE
            sock = conn.sock
            if sock is not None:
                if conn.connected is not None:
                    conn.closed = time.monotonic()
                sock.close()
                conn.sock = None
        self._live.clear()
        self._timers.clear()
        if self._ep is not None:
            self._ep.close()
            self._ep = None

    # -- records

    def records(self) -> list[ClientRecord]:
        """One record per connection: clients in index order, each one's connections in order."""
        by_slot: list[list[_Conn]] = [[] for _ in self.slots]
        for conn in self._conns:
            by_slot[conn.slot].append(conn)
        order = sorted(range(len(self.slots)), key=lambda s: self.slots[s].index)
        return [self._record(conn) for slot in order for conn in by_slot[slot]]

    def _record(self, conn: _Conn) -> ClientRecord:
        script = self.script
        detail: dict[str, Scalar] = {}
        status = None
        if script.listen is not None:
            listener = conn.listener or script.listen(lambda: conn.heard)
            status = listener.status
            detail.update(listener.summary())
        if script.tally is not None:
            detail.update(script.tally(conn.sent_chunks))
        if conn.generation:
            detail["generation"] = conn.generation
        if conn.accepted is not None:
            detail["accepted"] = conn.accepted
        elif conn.watching and conn.eof is None and conn.reset is None:
            detail["unaccepted"] = True  # a server that ended it had it, when we cannot say
        return ClientRecord(
            kind=self.kind,
            index=self.slots[conn.slot].index,
            local_port=conn.port,
            started=conn.started,
            connected=conn.connected,
            first_sent=conn.first_sent,
            last_sent=conn.last_sent,
            first_byte=conn.first_byte,
            server_eof=conn.eof,
            reset=conn.reset,
            closed=conn.closed,
            bytes_sent=conn.sent,
            bytes_received=conn.received,
            outcome=settle(
                conn.decided, connected=conn.connected, server_eof=conn.eof, reset=conn.reset
            ),
            error=conn.error,
            status=status,
            sent_digest=EMPTY_DIGEST if conn.digest is None else conn.digest.hexdigest(),
            reply_head=conn.head.decode("latin-1"),
            detail=detail,
        )


def _established(sock: socket.socket) -> bool:
    """True when the handshake already completed (loopback does it within connect())."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_ESTABLISHED
    except (OSError, AttributeError, IndexError):
        return False


def _note_port(conn: _Conn) -> None:
    if conn.port is None and conn.sock is not None:
        try:
            conn.port = conn.sock.getsockname()[1] or None
        except OSError:
            return
