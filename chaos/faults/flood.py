"""``flood``: open many connections at a rate (or as fast as possible) and classify each.

Each connection ends as ``completed`` (opened, then closed by us at once), ``held_to_end``,
``refused``, ``connect_timeout``, ``closed_by_server`` or ``reset_by_server``. With ``replace``,
a held connection the server drops is reopened until the hold window ends. Its clients run in
one epoll loop (a swarm), not a trio task each.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.swarm import Script
from ..jsondata import Scalar
from ..params import FaultParams, option
from ..record import ClientRecord
from ..target import Target
from .base import Deadline, Fault, Traits

__all__ = ["DEFAULT_MAX_REPLACEMENTS", "FAULT", "REPLACE_BACKOFF", "FloodParams", "flood", "script"]

# Pause before reopening a dropped connection, so a server that drops everything at once is
# not hammered in a tight loop.
REPLACE_BACKOFF = 0.01
# Enough to ride out a server restart; small enough to bound a slot's work.
DEFAULT_MAX_REPLACEMENTS = 100


@dataclass(frozen=True, kw_only=True)
class FloodParams(FaultParams):
    """Connection pressure; the plan's ``count`` is how many connections to open."""

    rate: float | None = option(
        None, "connections opened per second (default: all at once)", above=0
    )
    hold: float = option(0.0, "seconds to keep each connection open; 0 closes at once", minimum=0)
    replace: bool = option(False, "reopen held connections the server drops")
    max_replacements: int = option(
        DEFAULT_MAX_REPLACEMENTS, "reopenings allowed per connection slot", minimum=0
    )

    def stagger(self, position: int) -> float:
        """Client ``position`` starts ``position / rate`` seconds after the spec's start."""
        return position / self.rate if self.rate else 0.0

    def budget(self) -> float:
        """Connect and hold, plus one more connect when replacing."""
        return self.connect_timeout * (2 if self.replace else 1) + self.hold


def script(params: FloodParams) -> Script:
    """Connect; close at once (hold 0) or hold, reopening drops when ``replace`` is set."""
    return Script(
        connect_timeout=params.connect_timeout,
        hold=params.hold,
        close_at_once=params.hold == 0,
        replacements=params.max_replacements if params.replace else 0,
        backoff=REPLACE_BACKOFF,
    )


FAULT = Fault(
    kind="flood",
    params=FloodParams,
    script=script,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.IDLE, sends=False, holds=True, hostile=True, pressure=True),
)


async def flood(
    target: Target | str,
    params: FloodParams | None = None,
    /,
    *,
    connections: int = 100,
    seed: int = 0,
    **fields: Scalar,
) -> list[ClientRecord]:
    """Open ``connections`` connections as :class:`FloodParams` says; one record per socket."""
    if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
        raise ValueError(f"connections: expected a positive integer, got {connections!r}")
    chosen = FAULT.parse(params, fields)
    return await FAULT.alone(chosen, target, positions=range(connections), seed=seed)
