"""A slot is one client of a plan: its place, its seeded randomness and the sessions it opened.

Most faults open one session per slot; ``flood`` (replacing dropped connections) and ``probe``
(repeating) open several, one after another, so a slot never holds more than one socket.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .params import FaultParams
from .payload import client_rng
from .record import ClientRecord
from .session import Session
from .target import Endpoint, Target, resolve


class Slot:
    """Everything one client needs; the runner closes its sessions whatever happens."""

    __slots__ = ("endpoint", "index", "kind", "rng", "sessions")

    def __init__(self, *, kind: str, index: int, endpoint: Endpoint, rng: random.Random) -> None:
        self.kind = kind
        self.index = index
        self.endpoint = endpoint
        self.rng = rng
        self.sessions: list[Session] = []

    @property
    def host(self) -> str:
        """The ``Host`` header value for HTTP faults."""
        return self.endpoint.host_header

    def session(self, *, rcvbuf: int | None = None) -> Session:
        """Start a new session (not yet connected) owned by this slot."""
        session = Session(kind=self.kind, index=self.index, endpoint=self.endpoint, rcvbuf=rcvbuf)
        self.sessions.append(session)
        return session

    def open_sockets(self) -> int:
        """How many of this slot's sockets are open right now (0 or 1)."""
        return sum(1 for s in self.sessions if s.sock is not None)

    def close(self) -> None:
        """Close every socket this slot opened."""
        for session in self.sessions:
            session.close()

    def records(self) -> list[ClientRecord]:
        """One record per session, in the order they were opened."""
        return [session.record() for session in self.sessions]


Drive = Callable[[Slot, Any], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Fault:
    """A fault as the runner and CLI see it: a name, a parameter class and a driver."""

    kind: str
    params: type[FaultParams]
    drive: Drive
    summary: str

    def __post_init__(self) -> None:
        # A module docstring is accepted as the summary: its first line, minus "``kind``: ".
        line = (self.summary or "").strip().split("\n")[0]
        object.__setattr__(self, "summary", line.removeprefix(f"``{self.kind}``: "))
        if not self.kind.isidentifier():
            raise ValueError(f"kind: expected an identifier, got {self.kind!r}")
        if not self.summary:
            raise ValueError("summary: a one-line description is required")


def as_target(target: Target | str) -> Target:
    """Accept a :class:`Target` or its ``HOST:PORT`` text."""
    return target if isinstance(target, Target) else Target.parse(target)


async def run_slot(
    fault: Fault, params: FaultParams, target: Target | str, *, index: int = 0, seed: int = 0
) -> list[ClientRecord]:
    """Run one client of ``fault`` outside a plan; its randomness matches a one-spec plan's."""
    endpoint = await resolve(as_target(target))
    slot = Slot(kind=fault.kind, index=index, endpoint=endpoint, rng=client_rng(seed, 0, index))
    try:
        await fault.drive(slot, params)
    finally:
        slot.close()
    return slot.records()
