"""Judging a server in another process by what the wire alone shows."""

from __future__ import annotations

from collections.abc import Sequence

from ...faults.registry import traits_of
from ...record import ClientRecord, Outcome
from ..bounds import Bounds
from .deadlines import early, rule_for
from .violation import Violation, connection_name, unavailable

__all__ = ["check_wire"]


def check_wire(
    clients: Sequence[ClientRecord], bounds: Bounds, *, recovery: ClientRecord | None = None
) -> list[Violation]:
    """Close times against the expected timeouts, probe availability during the attack, and
    survival after it."""
    out: list[Violation] = []
    for client in clients:
        name = connection_name(client)
        rule = rule_for(client, bounds)
        start = None
        if rule is not None:
            start = client.first_sent if rule.from_first_byte else client.connected
        if rule is not None and start is not None:
            ended = client.server_ended_at
            if ended is not None and client.bytes_received == 0:
                # Never early, counted from the earliest the server's clock can have started:
                # its accept comes after we began connecting, our first byte after we stamped
                # the connect (the stamps of a connect or a send are taken when our task runs
                # again, which a loaded machine does after the server has started counting).
                earliest = client.connected if rule.from_first_byte else client.started
                if earliest is not None:
                    out += early(name, rule.invariant, rule.setting, ended - earliest)
            why = "the server cut it late"
            if ended is None and client.outcome is Outcome.HELD_TO_END:
                ended = client.closed  # we gave up first: the server had not cut it by then
                why = "server did not cut it"
            if ended is not None:
                out += rule.late(name, ended - start, why)
        if traits_of(client.kind).probe and not client.detail.get("available"):
            out.append(unavailable("availability", client))
    if recovery is not None and not recovery.detail.get("available"):
        out.append(unavailable("recovery", recovery))
    return out
