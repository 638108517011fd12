"""5. Timeout precision: |actual - configured| idle timeout over many idle connections at once.

"Actual" runs from the client's completed connect to the server's close, as a client sees it.
Servers without an idle-timeout knob are listed as such rather than run.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

from chaos.result import percentile

from ..conns import hold, watch
from ..contenders import Contender
from ..context import Context
from ..result import Column, Row, Section, Verdict
from ..serve import running
from ..settings_for import timeout_precision
from ..stats import to_ms
from .common import ms, num, ours, per_contender

__all__ = ["Precision", "run"]

TARGET_P99 = 0.020


@dataclass(kw_only=True)
class Precision(Row):
    """How far from its configured idle timeout a server cut its idle clients."""

    how: str  # how the connections ended, counted
    configured_s: float | None = None
    connections: int | None = None
    cut: int | None = None  # cut within the watch
    p50_ms: float | None = None  # |actual - configured|, inf for one never cut
    p99_ms: float | None = None
    max_ms: float | None = None  # of those cut


def _measure(ctx: Context, contender: Contender) -> Precision:
    sizes = ctx.sizes
    if contender.idle_timeout is None:
        return Precision(contender=contender.name, how="no idle-timeout setting")
    configured = contender.idle_timeout(sizes.idle_timeout)
    settings = timeout_precision(sizes.idle_timeout, sizes.timeout_connections)
    with running(ctx.children, contender, settings, ctx.pinning) as server:
        held = hold(server.address, sizes.timeout_connections, sizes.idle_connect_budget)
        try:
            last = max(held.connected_at, default=time.monotonic())
            endings = watch(held.socks, last + configured + sizes.timeout_grace)
        finally:
            held.close()
    errors = [
        abs(end.at - start - configured) if end.at is not None else math.inf
        for end, start in zip(endings, held.connected_at, strict=True)
    ]
    hows = Counter(end.how for end in endings)
    finite = [e for e in errors if not math.isinf(e)]
    return Precision(
        contender=contender.name,
        configured_s=configured,
        connections=len(errors),
        cut=len(finite),
        how=", ".join(f"{k} {v}" for k, v in sorted(hows.items())),
        p50_ms=to_ms(percentile(errors, 0.50), 2),
        p99_ms=to_ms(percentile(errors, 0.99), 2),
        max_ms=round(max(finite) * 1e3, 2) if finite else None,
    )


def run(ctx: Context) -> Section[Precision]:
    sizes = ctx.sizes
    section = Section(
        key="timeouts",
        title=f"5. Idle-timeout precision: {sizes.timeout_connections:,} idle connections, "
        f"timeout {sizes.idle_timeout:g} s",
        kind=Precision,
        columns=[
            Column("contender", "server"),
            Column("configured_s", "configured (s)"),
            Column("connections", "idle clients", num),
            Column("cut", "cut in time window", num),
            Column("p50_ms", "|error| p50", ms),
            Column("p99_ms", "|error| p99", ms),
            Column("max_ms", "|error| max (of cut)", ms),
            Column("how", "how they ended"),
        ],
    )
    per_contender(ctx, section, lambda c: _measure(ctx, c))
    section.notes.append(
        f"A connection still open {sizes.timeout_grace:g} s past its timeout counts as an "
        "infinite error ("
        "timeout). waitress and gunicorn take whole seconds; waitress was given "
        "cleanup_interval = channel_timeout so its sweep runs as often as it can."
    )
    for row in ours(section):
        p99 = row.p99_ms
        met = p99 is not None and p99 < TARGET_P99 * 1000
        section.verdicts.append(
            Verdict(
                f"{row.contender}: idle-timeout |error| p99 < {TARGET_P99 * 1000:g} ms "
                f"({row.connections or 0:,} idle)",
                f"p99 {ms(p99)}, max {ms(row.max_ms)}",
                met,
            )
        )
    return section
