"""2. Idle hogging: probe latency while hundreds or thousands of never-sending clients are held.

Our servers get a long idle timeout and a connection limit just above the idle count, so the
idle clients are really held while probing; the others run as they ship. "Still held" shows
how many idle clients each server kept open until the probes were done.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from chaos.result import percentile

from ..conns import hold, still_open
from ..contenders import Contender
from ..context import Context
from ..probe import probes
from ..result import Column, Row, Section, Verdict
from ..serve import running
from ..settings_for import HOGGING_IDLE_TIMEOUT, defaults, hogging
from ..stats import to_ms
from .common import ms, num, ours, per_contender

__all__ = ["Hogging", "run"]

# A probe on a fresh connection answered within a millisecond however many idle connections
# are parked: an idle connection must cost the server a descriptor, not time.
TARGET_P99 = 0.001


@dataclass(kw_only=True)
class Hogging(Row):
    """Probe latency on one server while ``idle`` never-sending clients are held."""

    idle: int
    connected: int
    connect_seconds: float
    still_held: int
    probes_ok: str
    p50_ms: float | None
    p99_ms: float | None


def _measure(ctx: Context, contender: Contender, idle: int) -> Hogging:
    sizes = ctx.sizes
    settings = hogging(idle) if contender.family == "ours" else defaults()
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
    return Hogging(
        contender=contender.name,
        idle=idle,
        connected=connected,
        connect_seconds=round(held.seconds, 2),
        still_held=kept,
        probes_ok=f"{len(ok)}/{len(results)}",
        p50_ms=to_ms(percentile(results, 0.50)),
        p99_ms=to_ms(percentile(results, 0.99)),
    )


def run(ctx: Context) -> Section[Hogging]:
    section = Section(
        key="idle",
        title="2. Idle hogging: probe GET on a new connection while never-sending clients are held",
        kind=Hogging,
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
        per_contender(
            ctx, section, lambda c, idle=idle: _measure(ctx, c, idle), label=f"idle {idle}"
        )
    section.notes.append(
        f"Our servers ran with --idle-timeout {HOGGING_IDLE_TIMEOUT:g} and --max-connections "
        "idle+100 so the idle clients stay held; the others as they ship. A probe that is "
        f"refused, rejected (503) or slower than {ctx.sizes.probe_timeout:g} s counts as timeout. "
        f"Probing starts {ctx.sizes.idle_settle:g} s after the last idle client connected."
    )
    for row in ours(section):
        p99 = row.p99_ms
        section.verdicts.append(
            Verdict(
                f"{row.contender}: probe p99 < {TARGET_P99 * 1000:g} ms with {row.idle:,} idle",
                f"p99 {ms(p99)}, probes 2xx {row.probes_ok}, held {row.still_held:,}",
                p99 is not None and p99 < TARGET_P99 * 1000,
            )
        )
    return section
