"""A slot is one client of a plan: its place, its seeded randomness and the sessions it opened.

Most faults open one session per slot; ``flood`` (replacing dropped connections) and ``probe``
(repeating) open several, one after another, so a slot never holds more than one socket.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..record import ClientRecord
from ..target import Endpoint
from .session import Session

__all__ = ["Slot"]


class Slot:
    """Everything one client needs; the runner closes its sessions whatever happens."""

    __slots__ = ("_make_rng", "_rng", "endpoint", "index", "kind", "sessions", "source")

    def __init__(
        self,
        *,
        kind: str,
        index: int,
        endpoint: Endpoint,
        rng: Callable[[], random.Random],
        source: str | None = None,
    ) -> None:
        """``rng`` makes the client's seeded generator when first used; ``source`` is the
        address every connection binds (None: the system's choice)."""
        self.kind = kind
        self.index = index
        self.endpoint = endpoint
        self.source = source
        self._make_rng = rng
        self._rng: random.Random | None = None
        self.sessions: list[Session] = []

    @property
    def rng(self) -> random.Random:
        """This client's seeded random source (made on first use)."""
        if self._rng is None:
            self._rng = self._make_rng()
        return self._rng

    @property
    def host(self) -> str:
        """The ``Host`` header value for HTTP faults."""
        return self.endpoint.host_header

    def session(self, *, rcvbuf: int | None = None) -> Session:
        """Start a new session (not yet connected) owned by this slot."""
        session = Session(
            kind=self.kind,
            index=self.index,
            endpoint=self.endpoint,
            rcvbuf=rcvbuf,
            source=self.source,
        )
        self.sessions.append(session)
        return session

    def open_sockets(self) -> int:
        """How many of this slot's sockets are open right now (0 or 1)."""
        return sum(1 for s in self.sessions if s.sock is not None)

    def close(self) -> None:
        """Close every socket this slot opened."""
        for session in self.sessions:
            session.close()

    def records(self, *, live: bool = False) -> list[ClientRecord]:
        """One record per session, in the order they were opened; ``live``: snapshots, the
        sessions left open (see :meth:`Session.snapshot`)."""
        if live:
            return [session.snapshot() for session in self.sessions]
        return [session.record() for session in self.sessions]
