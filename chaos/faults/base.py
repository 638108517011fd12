"""What every fault is to the runner and the command line: a name, a parameter class, a driver.

Each fault module defines one :class:`Fault`; :mod:`chaos.faults.registry` lists them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..engine.payload import client_rng
from ..engine.slot import Slot
from ..params import FaultParams
from ..record import ClientRecord
from ..target import Target, as_target, resolve

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
