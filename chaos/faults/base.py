"""What every fault is to the runner and the command line: a name, a parameter class, a driver.

Each fault module defines one :class:`Fault`; :mod:`chaos.faults.registry` lists them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..engine.payload import client_rng
from ..engine.slot import Slot
from ..params import FaultParams
from ..record import ClientRecord
from ..target import Target, as_target, resolve

Drive = Callable[[Slot, Any], Awaitable[None]]


class Deadline(StrEnum):
    """A server setting that exists to cut one kind of client, named as the checker names it."""

    IDLE = "idle_timeout"  # a client that never sends: counted from the accept
    REQUEST = "request_timeout"  # a request trickled without end: counted from its first byte
    WRITE = "write_timeout"  # a response the client does not read: counted from the request

    @property
    def from_first_byte(self) -> bool:
        """True when the deadline counts from the client's first byte, not from the accept."""
        return self is not Deadline.IDLE


@dataclass(frozen=True, kw_only=True)
class Traits:
    """What a fault does to a server, as the judges and the strategies need to know it."""

    cut_by: Deadline | None = None  # the server deadline that should end this client
    sends: bool = True  # it sends bytes (a request, a payload); False for a silent client
    holds: bool = False  # it keeps connections open a while: pressure on workers and slots
    hostile: bool = False  # it sends hostile input (or breaks off) and leaves
    half_closes: bool = False  # it sends its FIN first and still expects an answer
    probe: bool = False  # a well-behaved client whose records judge availability
    pressure: bool = False  # connection pressure: its connect rate is worth reporting


@dataclass(frozen=True, kw_only=True)
class Fault:
    """A fault as the runner and CLI see it: a name, a parameter class, a driver, its traits."""

    kind: str
    params: type[FaultParams]
    drive: Drive
    summary: str
    traits: Traits = field(default_factory=Traits)

    def __post_init__(self) -> None:
        # A module docstring is accepted as the summary: its first line, minus "``kind``: ".
        line = (self.summary or "").strip().split("\n")[0]
        object.__setattr__(self, "summary", line.removeprefix(f"``{self.kind}``: "))
        if not self.kind.isidentifier():
            raise ValueError(f"kind: expected an identifier, got {self.kind!r}")
        if not self.summary:
            raise ValueError("summary: a one-line description is required")


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
