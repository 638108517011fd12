"""What a handler is: a factory of per-connection sessions, each serving one request per call."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum
from typing import ClassVar

from ..connection import Connection
from ..events import REJECTIONS, CloseReason

__all__ = ["Handler", "Ready", "Session"]


class Ready(Enum):
    """What a session can do next without reading the socket (its buffer only)."""

    NEED_DATA = "need_data"  # the next request is not complete: wait for the client
    REQUEST = "request"  # a request to serve (or a protocol error to answer) is buffered
    CLOSED = "closed"  # the client is done (EOF between requests): close the connection


class Session(ABC):
    """One connection's protocol state. `serve` handles one request and says whether to keep going.

    Returning after each request (rather than looping inside) lets the server park a keep-alive
    connection between requests instead of pinning a worker to it.

    A session that frames its requests (`frames = True`, as HTTP's does) lets the readiness
    stage read for it: the stage feeds what arrives to `receive_data`, which says whether a
    request may now be whole; only then does a worker ask `ready()` (and parse), and if the
    answer is "not yet" the worker hands the connection straight back. So a client trickling
    a request head never occupies a worker. A session without framing is handed to a worker
    as soon as its socket is readable, and reads for itself.
    """

    frames: ClassVar[bool] = False

    @abstractmethod
    def serve(self, conn: Connection) -> bool:
        """Serve one request on `conn`; True to keep the connection for another request."""

    def receive_data(self, data: bytes) -> bool:
        """Take bytes read for this session by the readiness stage (`b""` is the peer's EOF).

        True if they may complete a request, so a worker should ask `ready()`; False only when
        the request certainly is not whole yet (a cheap test that never parses). Called only
        when `frames` is True."""
        raise NotImplementedError(f"{type(self).__name__} does not frame its requests")

    def ready(self) -> Ready:
        """Whether a whole request (its head, for HTTP) is already buffered, parsing what was
        received. Without framing the session cannot know: the connection waits for its
        socket to be readable."""
        return Ready.NEED_DATA

    def buffered(self) -> int:
        """Bytes of the next request already read (pipelining); its request clock started when
        they arrived."""
        return 0


class Handler(ABC):
    """A protocol: a name, the replies it closes with, and new sessions."""

    name: str = ""
    # Sent to a connection turned away (overload, connection limit, queue timeout) under the
    # `busy` policy.
    busy_reply: bytes = b""
    # Sent when a request's deadline passes before the request is whole.
    timeout_reply: bytes = b""

    def reply_for(self, reason: CloseReason) -> bytes:
        """The final status to send when the server ends a connection for `reason` before
        answering its request (b"": close without a word)."""
        if reason in REJECTIONS:
            return self.busy_reply
        if reason is CloseReason.REQUEST_TIMEOUT:
            return self.timeout_reply
        return b""

    @abstractmethod
    def session(self) -> Session:
        """State for one new connection."""
