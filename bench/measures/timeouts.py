"""5. Timeout precision: |actual - configured| idle timeout over many idle connections at once.

"Actual" runs from the client's completed connect to the server's close, as a client sees it.
Servers without an idle-timeout knob are listed as such rather than run.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from ..conns import hold, watch
from ..context import Context
from ..result import Column, Section, Verdict
from ..serve import StartFailed, running
from ..settings_for import timeout_precision
from ..stats import percentile
from .common import POOL, failed_row, ms, num

__all__ = ["run"]

TARGET_P99 = 0.020


def _measure(ctx: Context, contender) -> dict[str, object]:
    sizes = ctx.sizes
    assert contender.idle_timeout is not None
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
    p50, p99 = percentile(errors, 50), percentile(errors, 99)
    finite = [e for e in errors if not math.isinf(e)]
    return {
        "contender": contender.name,
        "configured_s": configured,
        "connections": len(errors),
        "cut": len(finite),
        "how": ", ".join(f"{k} {v}" for k, v in sorted(hows.items())),
        "p50_ms": None if p50 is None else (math.inf if math.isinf(p50) else round(p50 * 1e3, 2)),
        "p99_ms": None if p99 is None else (math.inf if math.isinf(p99) else round(p99 * 1e3, 2)),
        "max_ms": round(max(finite) * 1e3, 2) if finite else None,
    }


def run(ctx: Context) -> Section:
    began = time.monotonic()
    sizes = ctx.sizes
    section = Section(
        key="timeouts",
        title=f"5. Idle-timeout precision: {sizes.timeout_connections:,} idle connections, "
        f"timeout {sizes.idle_timeout:g} s",
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
    for contender in ctx.contenders:
        if contender.idle_timeout is None:
            section.rows.append({"contender": contender.name, "how": "no idle-timeout setting"})
            continue
        ctx.say(f"[timeouts] {contender.name}")
        try:
            section.rows.append(_measure(ctx, contender))
        except (StartFailed, OSError) as exc:
            section.rows.append(failed_row(contender, exc))
    section.notes.append(
        f"A connection still open {sizes.timeout_grace:g} s past its timeout counts as an "
        "infinite error ("
        "timeout). waitress and gunicorn take whole seconds; waitress was given "
        "cleanup_interval = channel_timeout so its sweep runs as often as it can."
    )
    for name in POOL:
        row = section.row(name)
        if row is None or "error" in row:
            continue
        p99 = row["p99_ms"]
        met = isinstance(p99, float) and p99 < TARGET_P99 * 1000
        section.verdicts.append(
            Verdict(
                f"{name}: idle-timeout |error| p99 < {TARGET_P99 * 1000:g} ms "
                f"({row['connections']:,} idle)",
                f"p99 {ms(p99)}, max {ms(row['max_ms'])}",
                met,
            )
        )
    section.seconds = time.monotonic() - began
    return section
