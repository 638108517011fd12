"""Check: flood past the backlog. Open many connections at once and hold them briefly; count
established, refused and timed out, then probe: does the server answer afterwards?

On Linux a full accept queue drops handshakes silently (slow or timed-out connects) and the
kernel counts each in ``ListenOverflows``, read before and after.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...faults import FloodParams
from ...plan import ClientSpec
from ...record import ClientRecord, Outcome
from ..settings import FLOOD_HOLD, VerifySettings
from ..stage import Role
from ..verdict import CheckResult
from .base import Aftermath, survived

__all__ = ["CHECK", "ROLE", "count_flood", "judge", "roles"]

CHECK = "flood"
ROLE = "flood"


def roles(settings: VerifySettings) -> list[Role]:
    params = FloodParams(hold=FLOOD_HOLD, connect_timeout=settings.connect_timeout)
    return [Role(name=ROLE, spec=ClientSpec.of(params, count=settings.flood))]


def count_flood(records: Sequence[ClientRecord]) -> dict[str, int]:
    """Connections by fate: established (and of those, ended by the server), refused, timed out."""
    established = [r for r in records if r.connected is not None]
    return {
        "connections": len(records),
        "established": len(established),
        "ended_by_server": sum(1 for r in established if r.server_ended is not None),
        "refused": sum(1 for r in records if r.outcome is Outcome.REFUSED),
        "timed_out": sum(1 for r in records if r.outcome is Outcome.CONNECT_TIMEOUT),
        "errors": sum(1 for r in records if r.outcome is Outcome.ERROR and r.connected is None),
    }


def judge(evidence: Aftermath, settings: VerifySettings) -> CheckResult:
    """How the connections fared, and whether the server answered after the flood."""
    records, after, overflows = evidence.records, evidence.after, evidence.overflows
    counts = count_flood(records)
    if not records:
        measured = "not measured: the flood did not run"
    else:
        measured = (
            f"{counts['connections']}: {counts['established']} established "
            f"({counts['ended_by_server']} closed by server), {counts['refused']} refused, "
            f"{counts['timed_out']} timed out; probe after: {after}"
        )
        if counts["errors"]:
            measured += f"; {counts['errors']} failed locally"
        if overflows is not None:
            measured += f"; ListenOverflows +{overflows}"
    detail: dict[str, object] = {**counts, "listen_overflows": overflows, "probe_after": after}
    return survived(CHECK, evidence, settings, measured=measured, detail=detail)
