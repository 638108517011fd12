"""What the wire says about progress: when the server answered, so a hold without it can be timed.

A server that keeps answering a keep-alive client costs it nothing; what a hostile client
costs is the time its connection stays open while nothing on it completes. A
:class:`Progress` is fed what a client sends and receives (no socket) and stamps each
completed answer: for HTTP, each whole response, framed by h11 for the method that asked
for it (a HEAD answer has no body, an interim ``100 Continue`` is not an answer); for other
protocols, each arrival of bytes. :func:`longest_stall` is the measure made of the stamps.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence

import h11

__all__ = ["HttpProgress", "Progress", "RepliesProgress", "longest_stall", "progress_for"]

# What a response is taken to answer when what we sent could not be read as requests.
_DEFAULT_METHOD = b"GET"
_FAKE_RESPONSE = h11.Response(status_code=200, headers=[("Content-Length", "0")])


class Progress(ABC):
    """A client's answers as they arrive: when each completed, and (HTTP) each status."""

    def __init__(self) -> None:
        self.completions: list[float] = []
        self.statuses: list[int] = []
        self.interim = 0  # interim answers (HTTP 100 Continue): answers, not completions

    @property
    def answers(self) -> int:
        """Answers so far, interim ones included: what a client waiting for a reply sees."""
        return len(self.completions) + self.interim

    def sent(self, data: bytes) -> None:  # noqa: B027  # most protocols need not know
        """Bytes the client sent (what the answers answer)."""

    @abstractmethod
    def received(self, data: bytes, at: float) -> None:
        """Bytes that arrived at ``at`` (``b""`` is the server's EOF)."""


class RepliesProgress(Progress):
    """Any protocol: every arrival of bytes is an answer."""

    def received(self, data: bytes, at: float) -> None:
        if data:
            self.completions.append(at)


class HttpProgress(Progress):
    """HTTP/1.1: a response is complete at its h11 ``EndOfMessage``.

    The requests sent are read back by an h11 server connection (a mirror), so the method
    each response answers is known even for literal bytes; what the mirror cannot read
    leaves the rest answered as GETs. A response the reader cannot frame ends the framing:
    from then on every arrival of bytes is an answer, as for any protocol.
    """

    def __init__(self) -> None:
        super().__init__()
        self._mirror: h11.Connection | None = h11.Connection(h11.SERVER)
        self._methods: deque[bytes] = deque()
        self._reader: h11.Connection | None = None
        self._framing = True

    def sent(self, data: bytes) -> None:
        mirror = self._mirror
        if mirror is None or not data:
            return
        try:
            mirror.receive_data(data)
            while True:
                event = mirror.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                if type(event) is h11.Request:
                    self._methods.append(event.method)
                elif type(event) is h11.EndOfMessage:
                    self._answer_mirror(mirror)
                    if self._mirror is None:
                        break
        except (h11.RemoteProtocolError, h11.LocalProtocolError):
            self._mirror = None

    def _answer_mirror(self, mirror: h11.Connection) -> None:
        """Answer the mirrored request (with nothing), so it reads the next one."""
        mirror.send(_FAKE_RESPONSE)
        mirror.send(h11.EndOfMessage())
        if mirror.our_state is h11.DONE and mirror.their_state is h11.DONE:
            mirror.start_next_cycle()
        else:
            self._mirror = None  # a request that closes the connection: no more requests

    def _next_reader(self) -> h11.Connection:
        method = self._methods.popleft() if self._methods else _DEFAULT_METHOD
        reader = h11.Connection(h11.CLIENT)
        reader.send(h11.Request(method=method, target="/", headers=[("Host", "chaos")]))
        reader.send(h11.EndOfMessage())
        return reader

    def received(self, data: bytes, at: float) -> None:
        if not self._framing:
            if data:
                self.completions.append(at)
            return
        chunk = data  # b"" once: the EOF
        while chunk or not data:
            if self._reader is None:
                if not chunk:
                    return  # the EOF between answers completes nothing
                self._reader = self._next_reader()
            try:
                self._reader.receive_data(chunk)
                whole = self._read(self._reader, at)
            except h11.RemoteProtocolError:
                self._framing = False  # not HTTP after all: any bytes are an answer now
                if data:
                    self.completions.append(at)
                return
            if not whole:
                return
            chunk = self._reader.trailing_data[0]
            self._reader = None

    def _read(self, reader: h11.Connection, at: float) -> bool:
        """Events of one response so far; True once it is whole."""
        while True:
            event = reader.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return False
            if type(event) is h11.Response:
                self.statuses.append(event.status_code)
            elif type(event) is h11.InformationalResponse:
                self.interim += 1
            elif type(event) is h11.EndOfMessage:
                self.completions.append(at)
                return True
            elif type(event) is h11.ConnectionClosed:
                return False


def progress_for(protocol: str) -> Progress:
    """The progress tracker for ``protocol``: HTTP's framing, else any bytes."""
    return HttpProgress() if protocol == "http" else RepliesProgress()


def longest_stall(start: float, completions: Sequence[float], end: float) -> tuple[float, float]:
    """The longest stretch from ``start`` to ``end`` with no completion in it: (seconds, from)."""
    marks = [start, *sorted(t for t in completions if start <= t <= end), end]
    best, since = 0.0, start
    for before, after in itertools.pairwise(marks):
        if after - before > best:
            best, since = after - before, before
    return best, since
