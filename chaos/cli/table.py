"""The short human table the command line prints by default.

With a protocol profile (``--protocol``), a connection whose first reply is that protocol's
rejection (``-ERR max number of clients reached``, a 503) counts as ``rejected``, apart from
the connections the server closed otherwise (an idle timeout), each with its own timing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..faults.registry import traits_of
from ..protocols import Profile
from ..record import ClientRecord, Outcome
from ..result import ChaosResult, Distribution

__all__ = ["REJECTED", "format_table"]

REJECTED = "rejected"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _row(label: str, records: Sequence[ClientRecord], shown: str, note: str = "") -> str:
    dist = Distribution.of(
        [r.server_closed_after for r in records if r.server_closed_after is not None]
    )
    cells = [None] * 4 if dist is None else [dist.min, dist.p50, dist.p99, dist.max]
    closed = 0 if dist is None else dist.count
    line = f"  {label:<12}{shown:>7}{closed:>8}" + "".join(f"{_ms(c):>8}" for c in cells)
    return line + (f"  {note}" if note else "")


def format_table(result: ChaosResult, profile: Profile | None = None) -> str:
    """Outcome counts, per-kind "server closed after" (ms) and probe availability; with a
    ``profile``, rejections apart (see the module docstring)."""
    plan = result.plan
    lines = [
        f"chaos: {len(result.records)} connections to {result.target} in "
        f"{result.duration:.2f} s (seed {plan.seed}, horizon {plan.horizon:g} s)"
    ]
    lines += [f"  note: {note}" for note in result.notes]
    if result.not_started:
        lines.append(f"  {result.not_started} clients did not start before the horizon")
    turned = {id(r) for r in result.records if profile is not None and profile.rejected(r)}
    counts = Counter(REJECTED if id(r) in turned else r.outcome.value for r in result.records)
    lines.append(f"  {'outcome':<18}{'count':>8}")
    if turned:
        assert profile is not None
        lines.append(f"  {REJECTED:<18}{counts[REJECTED]:>8}  (a {profile.name} rejection reply)")
    lines += [f"  {o.value:<18}{counts[o.value]:>8}" for o in Outcome if counts[o.value]]
    lines.append(
        f"  {'kind':<12}{'n':>7}{'closed':>8}{'min':>8}{'p50':>8}{'p99':>8}{'max':>8}  (ms)"
    )
    for kind, records in result.by_kind().items():
        kept = [r for r in records if id(r) not in turned]
        lines.append(_row(kind, kept, str(len(records))))
        away = [r for r in records if id(r) in turned]
        if away:
            reply = away[0].reply_head.split("\r\n", 1)[0].strip()[:60]
            lines.append(_row(f"  {REJECTED}", away, str(len(away)), f"({reply})"))
    for kind in result.by_kind():
        rate = result.connect_rate(kind) if traits_of(kind).pressure else None
        if rate is not None:
            lines.append(f"  {kind} connect rate: {rate:.0f} connections/s")
    probe = result.probe
    if probe is not None:
        p50 = None if probe.latency is None else probe.latency.p50
        lines.append(
            f"  probe: {probe.available}/{probe.total} available "
            f"({probe.availability:.1%}), p50 latency {_ms(p50)} ms"
        )
    return "\n".join(lines)
