"""2. Idle hogging: probe latency while hundreds or thousands of never-sending clients are held.

Our servers get a long idle timeout and a connection limit just above the idle count, so the
idle clients are really held while probing; the others run as they ship. "Still held" shows
how many idle clients each server kept open until the probes were done.
"""

from __future__ import annotations

import math
import time

from ..conns import hold, still_open
from ..context import Context
from ..probe import probes
from ..result import Column, Section, Verdict
from ..serve import StartFailed, running
from ..settings_for import HOGGING_IDLE_TIMEOUT, defaults, hogging
from ..stats import percentile
from .common import POOL, each, failed_row, ms, num

__all__ = ["run"]

TARGET_P99 = 0.005


def _ms(value: float | None) -> float | None:
    if value is None:
        return None
    return math.inf if math.isinf(value) else round(value * 1000, 3)


def _measure(ctx: Context, contender, idle: int) -> dict[str, object]:
    sizes = ctx.sizes
    settings = hogging(idle) if contender.family == "ours" else defaults()
    row: dict[str, object] = {"contender": contender.name, "idle": idle}
    with running(ctx.children, contender, settings, ctx.pinning) as server:
        held = hold(server.address, idle, sizes.idle_connect_budget)
        connected = len(held.socks)
        try:
            time.sleep(sizes.idle_settle)
            results = probes(server.address, sizes.probes, sizes.probe_timeout, sizes.probe_budget)
            kept = still_open(held.socks)
        finally:
            held.close()
    ok = [r for r in results if not math.isinf(r)]
    row.update(
        connected=connected,
        connect_seconds=round(held.seconds, 2),
        still_held=kept,
        probes_ok=f"{len(ok)}/{len(results)}",
        p50_ms=_ms(percentile(results, 50)),
        p99_ms=_ms(percentile(results, 99)),
    )
    return row


def run(ctx: Context) -> Section:
    began = time.monotonic()
    section = Section(
        key="idle",
        title="2. Idle hogging: probe GET on a new connection while never-sending clients are held",
        columns=[
            Column("contender", "server"),
            Column("idle", "idle clients", num),
            Column("connected", "connected", num),
            Column("still_held", "still held after probes", num),
            Column("probes_ok", "probes 2xx"),
            Column("p50_ms", "probe p50", ms),
            Column("p99_ms", "probe p99", ms),
        ],
    )
    for idle in ctx.sizes.idle_counts:
        for contender in each(ctx, f"idle {idle}"):
            try:
                section.rows.append(_measure(ctx, contender, idle))
            except (StartFailed, OSError) as exc:
                section.rows.append({**failed_row(contender, exc), "idle": idle})
    section.notes.append(
        f"Our servers ran with --idle-timeout {HOGGING_IDLE_TIMEOUT:g} and --max-connections "
        "idle+100 so the idle clients stay held; the others as they ship. A probe that is "
        f"refused, rejected (503) or slower than {ctx.sizes.probe_timeout:g} s counts as timeout. "
        f"Probing starts {ctx.sizes.idle_settle:g} s after the last idle client connected."
    )
    for name in POOL:
        for row in section.rows:
            if row["contender"] != name or "error" in row:
                continue
            p99 = row["p99_ms"]
            met = isinstance(p99, float) and p99 < TARGET_P99 * 1000
            section.verdicts.append(
                Verdict(
                    f"{name}: probe p99 < {TARGET_P99 * 1000:g} ms with {row['idle']:,} idle",
                    f"p99 {ms(p99)}, probes 2xx {row['probes_ok']}, held {row['still_held']:,}",
                    met,
                )
            )
    section.seconds = time.monotonic() - began
    return section
