"""The deadline rule both checkers share: a timeout fires neither early nor later than promised.

Which deadline should cut a client comes from its fault's traits; when its clock starts (the
accept, or the first byte) from the :class:`~chaos.faults.base.Deadline` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...faults.base import Deadline
from ...faults.registry import traits_of
from ...record import ClientRecord
from ..bounds import Bounds
from .violation import Violation

__all__ = ["EARLY_SLACK", "Rule", "early", "rule_for"]

# A deadline that fires this much before its setting fired early (clock granularity aside).
EARLY_SLACK = 0.01


def early(connection: str, invariant: str, setting: float, elapsed: float) -> list[Violation]:
    """An ``early_close`` if deadline ``invariant`` ended a connection before its setting."""
    if elapsed >= setting - EARLY_SLACK:
        return []
    return [Violation("early_close", connection, elapsed, setting, f"{invariant} fired early")]


@dataclass(frozen=True)
class Rule:
    """The deadline that exists to stop one client, as promised, with its slack."""

    invariant: str  # which setting should cut this client: idle_timeout, request_timeout, ...
    setting: float
    slack: float
    from_first_byte: bool  # counted from the client's first byte, not from the connect

    def late(self, connection: str, elapsed: float, detail: str) -> list[Violation]:
        """A violation of this deadline if the connection outlived it by more than the slack."""
        bound = self.setting + self.slack
        if elapsed <= bound:
            return []
        return [Violation(self.invariant, connection, elapsed, bound, detail)]


def rule_for(client: ClientRecord, bounds: Bounds) -> Rule | None:
    """The deadline that exists to stop this kind of client, if the server promises one."""
    cut_by = traits_of(client.kind).cut_by
    setting = None if cut_by is None else bounds.deadline(cut_by)
    if cut_by is None or not setting:
        return None
    # The write clock starts when the response does, a moment after the request's first byte.
    slack = 2 * bounds.tolerance if cut_by is Deadline.WRITE else bounds.tolerance
    return Rule(cut_by.value, setting, slack, cut_by.from_first_byte)
