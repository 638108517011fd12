"""Joining the two sides of the wire: each client record to the server's record of it, by port."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ...record import ClientRecord
from .records import ServerRecord

__all__ = ["join"]

R = TypeVar("R", bound=ServerRecord)


def join(
    clients: Iterable[ClientRecord], server: Iterable[R]
) -> tuple[list[tuple[ClientRecord, R | None]], list[R]]:
    """Pair each established client connection with its server record, by port.

    A port can be reused within a run, so each client takes the unclaimed record with that
    port accepted nearest its connect. Returns the pairs and the server records nobody claimed.
    """
    by_port: dict[int, list[R]] = {}
    for record in server:
        by_port.setdefault(record.peer_port, []).append(record)
    pairs: list[tuple[ClientRecord, R | None]] = []
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
