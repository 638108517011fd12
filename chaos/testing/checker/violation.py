"""A violation: one broken promise, on which connection, measured against what bound."""

from __future__ import annotations

from dataclasses import dataclass

from ...record import ClientRecord

__all__ = ["Violation", "connection_name", "unavailable"]


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


def connection_name(client: ClientRecord) -> str:
    """How a violation names a client connection: ``slowloris#3 port 40123``."""
    return f"{client.kind}#{client.index} port {client.local_port}"


def unavailable(invariant: str, probe: ClientRecord) -> Violation:
    """A probe that was not served: during an attack (availability) or after it (recovery)."""
    return Violation(
        invariant,
        connection_name(probe),
        probe.outcome.value,
        "available",
        f"status {probe.status}",
    )
