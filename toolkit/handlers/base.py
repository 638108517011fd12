"""What a handler is: a factory of per-connection sessions, each serving one request per call."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..connection import Connection

__all__ = ["Handler", "Session"]


class Session(ABC):
    """One connection's protocol state. `serve` handles one request and says whether to keep going.

    Returning after each request (rather than looping inside) lets the server park a keep-alive
    connection between requests instead of pinning a worker to it.
    """

    @abstractmethod
    def serve(self, conn: Connection) -> bool:
        """Serve one request on `conn`; True to keep the connection for another request."""

    def buffered(self) -> bool:
        """True if bytes of the next request were already read (pipelining): serve again now."""
        return False


class Handler(ABC):
    """A protocol: a name, the reply sent when the server is overloaded, and new sessions."""

    name: str = ""
    # Sent (best effort, never blocking) to a connection rejected under the `busy` policy.
    busy_reply: bytes = b""
    # Sent (best effort) when a parked connection's request deadline passes.
    timeout_reply: bytes = b""

    def framer(self, buffer: bytes) -> bool | None:
        """Whether `buffer` holds a whole request head; None if this protocol has no framing.

        With framing, the readiness stage reads a request head before it dispatches, so a
        client trickling its head never occupies a worker.
        """
        return None

    @abstractmethod
    def session(self) -> Session:
        """State for one new connection."""
