"""What a hunt holds the target to: the longest a hostile client may cost it, per measure.

From the target's timeouts (as ``chaos verify`` takes them): no connection held without
progress longer than idle + request, plus write when the client leaves a response unread,
and no well-behaved probe unserved longer than that either. Or a bound given outright. In
process, a worker's longest hold on one connection may be bounded too (a readiness server
hands a worker only a request it can answer: the request deadline bounds it while the
client reads what it is sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..fields import optional_seconds
from ..verify.expectations import Expectations
from ..verify.settings import WIRE_TOLERANCE

if TYPE_CHECKING:  # only read from a config handed in: the hunt runs without the toolkit
    from toolkit import ServerConfig

__all__ = ["DEFAULT_TICK", "TICKS_PER_IDLE", "HuntBounds"]

# Script timings are whole ticks; eight per idle timeout gives a trickle room to stay inside
# it (1 to 7 ticks) or step past it.
TICKS_PER_IDLE = 8
# Without a known idle timeout: a tick of an eighth of a second (an idle timeout of 1 s).
DEFAULT_TICK = 0.125


@dataclass(frozen=True, kw_only=True)
class HuntBounds:
    """The target's promises as a hunt judges them; None is "not promised"."""

    idle_timeout: float | None = None
    request_timeout: float | None = None
    write_timeout: float | None = None
    hold: float | None = None  # given outright: the bound of both wire measures
    worker: float | None = None  # in process: a worker's longest hold on one connection
    tolerance: float = WIRE_TOLERANCE

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "request_timeout", "write_timeout", "hold", "worker"):
            optional_seconds(name, getattr(self, name))
        optional_seconds("tolerance", self.tolerance)

    def wire(self, *, reads_promptly: bool) -> float | None:
        """The bound of both wire measures for a client that reads promptly (or not)."""
        if self.hold is not None:
            return self.hold
        if self.idle_timeout is None or self.request_timeout is None:
            return None
        total = self.idle_timeout + self.request_timeout
        if not reads_promptly:
            if self.write_timeout is None:
                return None
            total += self.write_timeout
        return total

    def worker_bound(self, *, reads_promptly: bool) -> float | None:
        """A worker's bound for a client that reads promptly; unjudged for one that does not
        (its worker may wait on every write it leaves unread, one write deadline each)."""
        return self.worker if reads_promptly else None

    @property
    def longest(self) -> float | None:
        """The largest bound any client may be held to: how long a trial must last to see it
        broken."""
        wire = [b for b in (self.wire(reads_promptly=r) for r in (True, False)) if b is not None]
        found = [*wire, *([self.worker] if self.worker is not None else [])]
        return max(found) if found else None

    @property
    def tick(self) -> float:
        """The unit of a script's pauses and trickles: an eighth of the idle timeout."""
        if self.idle_timeout is not None:
            return self.idle_timeout / TICKS_PER_IDLE
        if self.hold is not None:
            return self.hold / (3 * TICKS_PER_IDLE)
        return DEFAULT_TICK

    def display(self, bound: float | None) -> str | None:
        return None if bound is None else f"{bound:g} s"

    @classmethod
    def from_expectations(
        cls, expectations: Expectations, *, tolerance: float = WIRE_TOLERANCE
    ) -> HuntBounds:
        """The bounds ``chaos verify``'s timeout expectations imply."""
        return cls(
            idle_timeout=expectations.seconds("idle-timeout"),
            request_timeout=expectations.seconds("request-timeout"),
            write_timeout=expectations.seconds("write-timeout"),
            tolerance=tolerance,
        )

    @classmethod
    def from_config(cls, config: ServerConfig, *, tolerance: float) -> HuntBounds:
        """What a toolkit server's configuration promises; with readiness dispatch a worker
        holds a promptly read connection no longer than its request deadline."""
        readiness = config.dispatch_mode == "readiness"
        return cls(
            idle_timeout=config.idle_timeout,
            request_timeout=config.request_timeout,
            write_timeout=config.write_timeout,
            worker=config.request_timeout if readiness and config.model == "pool" else None,
            tolerance=tolerance,
        )
