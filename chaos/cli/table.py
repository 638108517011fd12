"""The short human table the command line prints by default."""

from __future__ import annotations

from ..faults.registry import traits_of
from ..result import ChaosResult

__all__ = ["format_table"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def format_table(result: ChaosResult) -> str:
    """Outcome counts, per-kind "server closed after" (ms) and probe availability."""
    plan = result.plan
    lines = [
        f"chaos: {len(result.records)} connections to {result.target} in "
        f"{result.duration:.2f} s (seed {plan.seed}, horizon {plan.horizon:g} s)"
    ]
    lines += [f"  note: {note}" for note in result.notes]
    if result.not_started:
        lines.append(f"  {result.not_started} clients did not start before the horizon")
    lines.append(f"  {'outcome':<18}{'count':>8}")
    lines += [f"  {name:<18}{n:>8}" for name, n in result.counts.items() if n]
    lines.append(
        f"  {'kind':<12}{'n':>7}{'closed':>8}{'min':>8}{'p50':>8}{'p99':>8}{'max':>8}  (ms)"
    )
    groups = result.by_kind()
    for kind, dist in result.closed_after.items():
        closed = 0 if dist is None else dist.count
        cells = [None] * 4 if dist is None else [dist.min, dist.p50, dist.p99, dist.max]
        lines.append(
            f"  {kind:<12}{len(groups[kind]):>7}{closed:>8}"
            + "".join(f"{_ms(c):>8}" for c in cells)
        )
    for kind in groups:
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
