"""Judging a run against an in-process server from both sides: client records and its log.

The close reasons are the toolkit's (:class:`toolkit.CloseReason`): the harness runs a toolkit
server, and any other server judged here logs the same names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from toolkit import CloseReason
from toolkit.events import REJECTIONS

from ...faults.base import Deadline
from ...record import ClientRecord
from ..bounds import Bounds
from .deadlines import early, rule_for
from .joins import join
from .records import Observation, ServerRecord
from .violation import Violation, connection_name, unavailable

__all__ = ["check"]

# Close reasons that end a connection for a cause of its own, before any deadline is due.
# (peer_closed, reset and shutdown are not among them: a connection that outlived its deadline
# and then ended one of those ways is exactly one the deadline failed to cut.)
_EXPLAINED = frozenset(
    {
        CloseReason.COMPLETED,
        CloseReason.BAD_REQUEST,
        CloseReason.TOO_LARGE,
        CloseReason.HANDLER_ERROR,
        *REJECTIONS,
    }
)
# Rejections that must come at once; a queue timeout comes after the wait it is named for.
_AT_ONCE = REJECTIONS - {CloseReason.REJECTED_QUEUE_TIMEOUT}


def check(observation: Observation, bounds: Bounds) -> list[Violation]:
    """Every violation of the server invariants in one run, from both sides of the wire."""
    pairs, _ = join(observation.clients, observation.server)
    violations: list[Violation] = []
    violations += _nothing_lost(pairs, observation)
    for client, record in pairs:
        if record is not None:
            violations += _timeouts(client, record, bounds)
            violations += _acceptor(client, record, bounds)
    violations += _limits(observation, bounds)
    violations += _recovery(observation)
    return violations


def _timeouts(client: ClientRecord, record: ServerRecord, bounds: Bounds) -> list[Violation]:
    """The deadline meant for this client fired on time; no deadline fired early."""
    closed, reason = record.closed, record.reason
    if closed is None:
        return []
    name = connection_name(client)
    out: list[Violation] = []
    for which in Deadline:
        # Idle time counts from the accept (or the handshake, where the server records it: a
        # client waiting in the backlog was connected): a silent client is cut then, queued or not.
        start = record.first_byte if which.from_first_byte else _idle_since(record)
        if not which.from_first_byte and record.first_byte is not None:
            start = None
        setting = bounds.deadline(which)
        if reason == which.value and setting and start is not None:
            out += early(name, which.value, setting, closed - start)
    rule = rule_for(client, bounds)
    if rule is None or reason in _EXPLAINED:
        return out
    if not rule.from_first_byte and record.first_byte is not None:
        return out  # it did send after all (a flood client with a payload): not idle
    start = record.first_byte if rule.from_first_byte else _idle_since(record)
    if start is not None:
        out += rule.late(name, closed - start, f"closed as {reason}")
    return out


def _idle_since(record: ServerRecord) -> float:
    """When `record`'s idle clock started: its handshake if the server logged one (the
    toolkit's `connected`), else its accept."""
    connected = getattr(record, "connected", None)
    return record.accepted if connected is None else float(connected)


def _acceptor(client: ClientRecord, record: ServerRecord, bounds: Bounds) -> list[Violation]:
    """Accepted within the lag bound of the client's connect; rejections are at once too."""
    out = []
    name = connection_name(client)
    assert client.connected is not None
    bound = bounds.accept_lag + bounds.tolerance
    lag = record.accepted - client.connected
    if lag > bound:
        out.append(Violation("accept_lag", name, lag, bound, "the acceptor stalled"))
    reason = record.reason
    if record.closed is not None and reason in _AT_ONCE:
        asked = max(record.accepted, client.last_sent or record.accepted)
        took = record.closed - asked
        if took > bound:
            out.append(Violation("reject_lag", name, took, bound, reason or ""))
    queue = bounds.queue_timeout
    if record.closed is not None and reason == CloseReason.REJECTED_QUEUE_TIMEOUT and queue:
        waited = record.closed - record.accepted
        limit = queue + bounds.tolerance
        if waited > limit:
            out.append(Violation("queue_timeout", name, waited, limit, "late"))
    return out


def _limits(observation: Observation, bounds: Bounds) -> list[Violation]:
    """Busy workers, pending and open connections never above their bounds, at any moment."""
    stats, out = observation.stats, []
    for invariant, measured, bound in (
        ("busy_limit", stats.max_busy, bounds.workers),
        ("pending_limit", stats.max_pending, bounds.max_pending),
        ("open_limit", stats.max_open, bounds.max_open),
    ):
        if bound is not None and measured > bound:
            out.append(Violation(invariant, None, measured, bound, "high-water mark"))
    if bounds.max_open is not None:
        peak = _peak_open(observation.server)
        if peak > bounds.max_open and not any(v.invariant == "open_limit" for v in out):
            out.append(Violation("open_limit", None, peak, bounds.max_open, "from the records"))
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
                        connection_name(client),
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
    """The probe after the plan was served, and no thread or descriptor outlived the server."""
    out = []
    probe = observation.recovery
    if probe is not None and not probe.detail.get("available"):
        out.append(unavailable("recovery", probe))
    if observation.leaked_threads:
        out.append(Violation("leak", None, ", ".join(observation.leaked_threads), "no thread"))
    if observation.leaked_fds:
        out.append(Violation("leak", None, f"{observation.leaked_fds} descriptors", 0))
    return out
