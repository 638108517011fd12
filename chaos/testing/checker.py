"""The invariant checker: pure functions from recorded data to a list of violations.

`check` judges a run against an in-process server from both sides: the chaos client records
and the server's event log, joined by the client's local port. `check_wire` judges a server in
another process from what the wire alone shows. Neither touches a socket, so each rule is
tested on hand-made records, and shown to catch real violations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..faults.base import Deadline
from ..faults.registry import traits_of
from ..record import ClientRecord, Outcome
from .bounds import Expectations

__all__ = [
    "Observation",
    "ServerRecord",
    "Violation",
    "check",
    "check_wire",
    "join",
]

# A deadline that fires this much before its setting fired early (clock granularity aside).
EARLY_SLACK = 0.01
# Close reasons that end a connection for a cause of its own, before any deadline is due.
# (peer_closed, reset and shutdown are not among them: a connection that outlived its deadline
# and then ended one of those ways is exactly one the deadline failed to cut.)
_EXPLAINED = frozenset(
    {
        "completed",
        "bad_request",
        "too_large",
        "rejected_overload",
        "rejected_queue_timeout",
        "rejected_connection_limit",
        "handler_error",
    }
)
_REJECTED = frozenset({"rejected_overload", "rejected_connection_limit"})


class ServerRecord(Protocol):
    """What the checker reads of a server's connection record (toolkit's `ConnectionRecord`)."""

    peer_port: int
    accepted: float
    admitted: float | None
    dispatched: float | None
    first_byte: float | None
    closed: float | None
    reason: Any


@dataclass(frozen=True)
class Violation:
    """One broken promise: which invariant, on which connection, measured against what bound."""

    invariant: str
    connection: str | None
    measured: float | int | str | None
    bound: float | int | str | None
    detail: str = ""

    def __str__(self) -> str:
        where = f" [{self.connection}]" if self.connection else ""
        why = f" ({self.detail})" if self.detail else ""
        measured, bound = _fmt(self.measured), _fmt(self.bound)
        return f"{self.invariant}{where}: measured {measured}, bound {bound}{why}"


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Observation:
    """Everything recorded about one run against an in-process server."""

    clients: Sequence[ClientRecord]
    server: Sequence[ServerRecord]
    stats: Any  # toolkit `Stats`: gauge high-water marks and counters
    recovery: ClientRecord | None = None  # a probe sent after the plan
    leaked_threads: Sequence[str] = field(default_factory=tuple)
    leaked_fds: int = 0
    log_complete: bool = True  # False if old records rolled off the server's log


def _name(client: ClientRecord) -> str:
    return f"{client.kind}#{client.index} port {client.local_port}"


def join(
    clients: Iterable[ClientRecord], server: Iterable[ServerRecord]
) -> tuple[list[tuple[ClientRecord, ServerRecord | None]], list[ServerRecord]]:
    """Pair each established client connection with its server record, by port.

    A port can be reused within a run, so each client takes the unclaimed record with that
    port accepted nearest its connect. Returns the pairs and the server records nobody claimed.
    """
    by_port: dict[int, list[ServerRecord]] = {}
    for record in server:
        by_port.setdefault(record.peer_port, []).append(record)
    pairs: list[tuple[ClientRecord, ServerRecord | None]] = []
    established = [c for c in clients if c.connected is not None and c.local_port is not None]
    for client in sorted(established, key=lambda c: c.connected or 0.0):
        candidates = by_port.get(client.local_port or 0, [])
        match = min(
            candidates, key=lambda r: abs(r.accepted - (client.connected or 0.0)), default=None
        )
        if match is not None:
            candidates.remove(match)
        pairs.append((client, match))
    unclaimed = [r for records in by_port.values() for r in records]
    return pairs, unclaimed


def check(observation: Observation, expect: Expectations) -> list[Violation]:
    """Every violation of the server invariants in one run, from both sides of the wire."""
    pairs, _ = join(observation.clients, observation.server)
    violations: list[Violation] = []
    violations += _nothing_lost(pairs, observation)
    for client, record in pairs:
        if record is not None:
            violations += _timeouts(client, record, expect)
            violations += _acceptor(client, record, expect)
    violations += _limits(observation, expect)
    violations += _recovery(observation)
    return violations


def _str(reason: Any) -> str | None:
    return None if reason is None else str(reason)


@dataclass(frozen=True)
class _Deadline:
    invariant: str  # which setting should cut this client: idle_timeout, request_timeout, ...
    setting: float
    slack: float
    from_first_byte: bool  # counted from the client's first byte, not from the connect


def _deadline_for(client: ClientRecord, expect: Expectations) -> _Deadline | None:
    """The deadline that exists to stop this kind of client, if the server promises one."""
    cut_by = traits_of(client.kind).cut_by
    setting = None if cut_by is None else expect.deadline(cut_by)
    if cut_by is None or not setting:
        return None
    # The write clock starts when the response does, a moment after the request's first byte.
    slack = 2 * expect.tolerance if cut_by is Deadline.WRITE else expect.tolerance
    return _Deadline(cut_by.value, setting, slack, cut_by.from_first_byte)


def _timeouts(client: ClientRecord, record: ServerRecord, expect: Expectations) -> list[Violation]:
    """The deadline meant for this client fired on time; no deadline fired early."""
    closed, reason = record.closed, _str(record.reason)
    if closed is None:
        return []
    out = []
    # Idle time counts from the accept: a silent client is cut then, queued or not.
    idle_start = record.accepted
    for invariant, setting, start in (
        ("idle_timeout", expect.idle_timeout, idle_start if record.first_byte is None else None),
        ("request_timeout", expect.request_timeout, record.first_byte),
        ("write_timeout", expect.write_timeout, record.first_byte),
    ):
        if reason == invariant and setting and start is not None:
            if closed - start < setting - EARLY_SLACK:
                out.append(
                    Violation(
                        "early_close",
                        _name(client),
                        closed - start,
                        setting,
                        f"{invariant} fired early",
                    )
                )
    deadline = _deadline_for(client, expect)
    if deadline is None or reason in _EXPLAINED:
        return out
    start = idle_start if deadline.invariant == "idle_timeout" else record.first_byte
    if deadline.invariant == "idle_timeout" and record.first_byte is not None:
        return out  # it did send after all (a flood client with a payload): not idle
    if start is not None and closed - start > deadline.setting + deadline.slack:
        out.append(
            Violation(
                deadline.invariant,
                _name(client),
                closed - start,
                deadline.setting + deadline.slack,
                f"closed as {reason}",
            )
        )
    return out


def _acceptor(client: ClientRecord, record: ServerRecord, expect: Expectations) -> list[Violation]:
    """Accepted within the lag bound of the client's connect; rejections are at once too."""
    out = []
    assert client.connected is not None
    bound = expect.accept_lag + expect.tolerance
    lag = record.accepted - client.connected
    if lag > bound:
        out.append(Violation("accept_lag", _name(client), lag, bound, "the acceptor stalled"))
    reason = _str(record.reason)
    if record.closed is not None and reason in _REJECTED:
        asked = max(record.accepted, client.last_sent or record.accepted)
        took = record.closed - asked
        if took > bound:
            out.append(Violation("reject_lag", _name(client), took, bound, reason or ""))
    if record.closed is not None and reason == "rejected_queue_timeout" and expect.queue_timeout:
        waited = record.closed - record.accepted
        limit = expect.queue_timeout + expect.tolerance
        if waited > limit:
            out.append(Violation("queue_timeout", _name(client), waited, limit, "late"))
    return out


def _limits(observation: Observation, expect: Expectations) -> list[Violation]:
    """Busy workers, pending and open connections never above their bounds, at any moment."""
    stats, out = observation.stats, []
    for invariant, measured, bound in (
        ("busy_limit", stats.max_busy, expect.workers),
        ("pending_limit", stats.max_pending, expect.max_pending),
        ("open_limit", stats.max_open, expect.max_open),
    ):
        if bound is not None and measured > bound:
            out.append(Violation(invariant, None, measured, bound, "high-water mark"))
    if expect.max_open is not None:
        peak = _peak_open(observation.server)
        if peak > expect.max_open and not any(v.invariant == "open_limit" for v in out):
            out.append(Violation("open_limit", None, peak, expect.max_open, "from the records"))
    return out


def _peak_open(records: Iterable[ServerRecord]) -> int:
    """Most connections open at once, replaying every record's [admitted, closed] interval."""
    edges = []
    for record in records:
        if record.admitted is not None:
            edges.append((record.admitted, 1))
            edges.append((record.closed if record.closed is not None else float("inf"), -1))
    edges.sort(key=lambda e: (e[0], e[1]))  # a close at the same instant goes first
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def _nothing_lost(
    pairs: Sequence[tuple[ClientRecord, ServerRecord | None]], observation: Observation
) -> list[Violation]:
    """Every established client connection is in the server log exactly once, closed once."""
    out = []
    if observation.log_complete:
        for client, record in pairs:
            if record is None:
                out.append(
                    Violation(
                        "lost",
                        _name(client),
                        "no server record",
                        "one record",
                        "established but never accepted",
                    )
                )
    for record in observation.server:
        if record.closed is None or record.reason is None:
            out.append(
                Violation(
                    "unclosed", f"server port {record.peer_port}", "open", "closed with one reason"
                )
            )
    stats = observation.stats
    total = sum(stats.reasons.values())
    if not stats.accepted == stats.closed == total:
        out.append(
            Violation(
                "counts",
                None,
                f"accepted {stats.accepted}, closed {stats.closed}, reasons {total}",
                "all equal",
            )
        )
    if stats.duplicate_closes:
        out.append(Violation("duplicate_close", None, stats.duplicate_closes, 0))
    if stats.handler_errors:
        out.append(Violation("handler_error", None, stats.handler_errors, 0))
    return out


def _recovery(observation: Observation) -> list[Violation]:
    out = []
    probe = observation.recovery
    if probe is not None and not probe.detail.get("available"):
        out.append(
            Violation(
                "recovery", _name(probe), probe.outcome.value, "available", f"status {probe.status}"
            )
        )
    if observation.leaked_threads:
        out.append(Violation("leak", None, ", ".join(observation.leaked_threads), "no thread"))
    if observation.leaked_fds:
        out.append(Violation("leak", None, f"{observation.leaked_fds} descriptors", 0))
    return out


def check_wire(
    clients: Sequence[ClientRecord], expect: Expectations, *, recovery: ClientRecord | None = None
) -> list[Violation]:
    """Judge a server in another process by what the wire shows: close times against the
    expected timeouts, probe availability during the attack, and survival after it."""
    out = []
    for client in clients:
        name = _name(client)
        deadline = _deadline_for(client, expect)
        start = None
        if deadline is not None:
            start = client.first_sent if deadline.from_first_byte else client.connected
        if deadline is not None and start is not None:
            ended = _server_end(client)
            if ended is not None and client.bytes_received == 0:
                if ended - start < deadline.setting - EARLY_SLACK:
                    out.append(
                        Violation(
                            "early_close",
                            name,
                            ended - start,
                            deadline.setting,
                            f"{deadline.invariant} fired early",
                        )
                    )
            if ended is None and client.outcome is Outcome.HELD_TO_END:
                ended = client.closed  # we gave up first: the server had not cut it by then
            if ended is not None and ended - start > deadline.setting + deadline.slack:
                out.append(
                    Violation(
                        deadline.invariant,
                        name,
                        ended - start,
                        deadline.setting + deadline.slack,
                        "server did not cut it",
                    )
                )
        if traits_of(client.kind).probe and not client.detail.get("available"):
            out.append(
                Violation(
                    "availability",
                    name,
                    client.outcome.value,
                    "available",
                    f"status {client.status}",
                )
            )
    if recovery is not None and not recovery.detail.get("available"):
        out.append(Violation("recovery", _name(recovery), recovery.outcome.value, "available"))
    return out


def _server_end(client: ClientRecord) -> float | None:
    ends = [t for t in (client.server_eof, client.reset) if t is not None]
    return min(ends) if ends else None
