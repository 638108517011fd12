"""What a hunt measures, as pure functions over the records a trial left (no socket).

- ``hold``: the longest one scripted connection stayed open with no answer completing on it
  (before its first byte, inside a trickled or pipelined request, while its response went
  unread), whoever ended it; the scripted client times it (``detail["stalled"]``).
- ``probe``: with the scripted clients running, the longest a well-behaved probe on a fresh
  connection stayed unserved or rejected: from a probe that was not served to the first one
  after it that was (or the trial's end).
- ``worker`` (in process only): the longest a worker held one scripted connection, read
  from the server's event log (``worker_longest``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Protocol

from ..record import ClientRecord, Outcome

__all__ = [
    "MEASURES",
    "Measure",
    "WorkerRecord",
    "held",
    "quantise",
    "so_far",
    "unserved",
    "worker_held",
]

# A probe that gave up this little before its latency limit was cut short by the trial's end.
_CUT_SHORT = 0.02


class Measure(StrEnum):
    """The three costs a hunt maximises, in the order its table shows them."""

    HOLD = "hold"
    PROBE = "probe"
    WORKER = "worker"

    @property
    def meaning(self) -> str:
        return _TITLES[self]


_TITLES = {
    Measure.HOLD: "connection held without progress",
    Measure.PROBE: "probe unserved",
    Measure.WORKER: "worker held on one connection",
}
MEASURES = tuple(Measure)


class WorkerRecord(Protocol):
    """What the worker measure reads of a server's record of a connection (toolkit's
    ``ConnectionRecord`` has it)."""

    @property
    def peer_port(self) -> int: ...
    @property
    def accepted(self) -> float: ...
    @property
    def admitted(self) -> float | None: ...
    @property
    def first_byte(self) -> float | None: ...
    @property
    def closed(self) -> float | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def worker_longest(self) -> float: ...


def held(scripts: Iterable[ClientRecord]) -> float | None:
    """The longest stall of any scripted connection that opened; None if none did."""
    stalls = [s for r in scripts if r.connected is not None and (s := r.number("stalled"))]
    opened = [r for r in scripts if r.connected is not None]
    if not opened:
        return None
    return max(stalls, default=0.0)


def _decided(probe: ClientRecord) -> bool:
    """Whether the probe came to an answer on its own: served, turned away, or given up on
    at its latency limit (not still waiting, nor cut short by the end of the trial)."""
    if "available" not in probe.detail:
        return False  # judged only once it ends on its own
    if probe.detail["available"] or probe.outcome is not Outcome.HELD_TO_END:
        return True
    limit = probe.number("max_latency")
    ended = probe.ended_at
    return limit is None or ended is None or ended - probe.started >= limit - _CUT_SHORT


def unserved(probes: Sequence[ClientRecord], end: float) -> float | None:
    """The longest a probe went unserved, from one not served (or its own start) to the next
    served; None if no probe came to an answer."""
    decided = sorted((p for p in probes if _decided(p)), key=lambda p: p.started)
    if not decided:
        return None
    worst, waiting = 0.0, None
    for probe in decided:
        latency = probe.number("latency")
        if probe.detail.get("available") and latency is not None:
            since = probe.started if waiting is None else waiting
            worst = max(worst, probe.started + latency - since)
            waiting = None
        elif waiting is None:
            waiting = probe.started
    if waiting is not None:
        worst = max(worst, end - waiting)
    return worst


def _stalling(script: ClientRecord, now: float) -> float:
    """A scripted connection's stall: the longest, once it ended; while it is open, the one
    in progress (any earlier one was shorter, or a watcher would have cut it already)."""
    stalled = script.number("stalled")
    if stalled is not None:
        return stalled
    assert script.connected is not None
    return now - max(script.connected, script.number("answered") or script.connected)


def so_far(
    scripts: Iterable[ClientRecord], probes: Sequence[ClientRecord], now: float
) -> dict[Measure, float]:
    """The wire measures at ``now`` from records taken while a trial runs: each a value the
    trial's end can only raise, so a trial past its bound by them has broken it."""
    values: dict[Measure, float] = {}
    stalls = [_stalling(r, now) for r in scripts if r.connected is not None]
    if stalls:
        values[Measure.HOLD] = max(stalls)
    probe = unserved(probes, now)
    if probe is not None:
        values[Measure.PROBE] = probe
    return values


def worker_held(scripts: Sequence[ClientRecord], server: Sequence[WorkerRecord]) -> float | None:
    """The longest a worker held one of the scripted connections, by the server's log."""
    # In process only, where the testing package (and the toolkit) are loaded anyway.
    from ..testing.checker.joins import join

    pairs, _ = join(scripts, server)
    held_for = [record.worker_longest for _, record in pairs if record is not None]
    return max(held_for) if held_for else None


def quantise(value: float, quantum: float) -> float:
    """``value`` to the nearest whole ``quantum``: what the search is steered by, so timing
    noise smaller than half a quantum cannot change the examples it tries next."""
    return round(value / quantum) * quantum
