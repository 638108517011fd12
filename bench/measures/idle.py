"""2. Idle hogging: probe latency while hundreds or thousands of never-sending clients are held.

Our servers get a long idle timeout and a connection limit just above the idle count, so the
idle clients are really held while probing; the others run as they ship. "Still held" shows
how many idle clients each server kept open until the probes were done.

Every probe to a server is followed by one to the floor: the lightest server here (nginx, or
our one-thread iterative model without it) holding no idle clients. Probed in turn, both meet
the same moments of a shared machine, so the floor's tail is what the machine alone adds; when
even the floor misses the target, the run cannot tell whether a server meets it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass

from chaos.result import percentile

from ..conns import hold, still_open
from ..contenders import Contender, all_contenders
from ..context import Context
from ..probe import probes
from ..result import Column, Row, Section, Verdict
from ..serve import Running, running
from ..settings_for import HOGGING_IDLE_TIMEOUT, defaults, hogging
from ..stats import to_ms
from .common import MEASURE_ERRORS, latency_met, ms, num, ours, per_contender

__all__ = ["FLOORS", "Hogging", "judge", "run"]

# A probe on a fresh connection answered within a millisecond however many idle connections
# are parked: an idle connection must cost the server a descriptor, not time.
TARGET_P99 = 0.001
# The floor's contender, the first of these that can run here: nginx does the least per probe.
FLOORS = ("nginx", "iterative")


@dataclass(kw_only=True)
class Hogging(Row):
    """Probe latency on one server while ``idle`` never-sending clients are held, and the
    floor's, probed in turn with it."""

    idle: int
    connected: int
    connect_seconds: float
    still_held: int
    probes_ok: str
    p50_ms: float | None
    p99_ms: float | None
    floor_p99_ms: float | None = None


def _floor_contender() -> Contender | None:
    """The lightest server that can run here, whether or not the run measures it."""
    runnable = {c.name: c for c in all_contenders() if c.absent() is None}
    return next((runnable[name] for name in FLOORS if name in runnable), None)


def _measure(ctx: Context, contender: Contender, *, idle: int, floor: Running | None) -> Hogging:
    sizes = ctx.sizes
    settings = hogging(idle) if contender.family == "ours" else defaults()
    with running(ctx.children, contender, settings, ctx.pinning) as server:
        held = hold(server.address, idle, sizes.idle_connect_budget)
        connected = len(held.socks)
        try:
            time.sleep(sizes.idle_settle)
            addresses = [server.address] + ([floor.address] if floor is not None else [])
            results, *beside = probes(
                addresses, sizes.probes, sizes.probe_timeout, sizes.probe_budget
            )
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
        floor_p99_ms=to_ms(percentile(beside[0], 0.99)) if beside else None,
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
            Column("floor_p99_ms", "floor's probe p99, in turn", ms),
        ],
    )
    contender = _floor_contender()
    with contextlib.ExitStack() as stack:
        floor: Running | None = None
        if contender is not None:
            try:
                floor = stack.enter_context(
                    running(ctx.children, contender, defaults(), ctx.pinning)
                )
            except MEASURE_ERRORS as exc:
                section.notes.append(f"The floor ({contender.name}) did not start: {exc}"[:240])
        for idle in ctx.sizes.idle_counts:
            measure = functools.partial(_measure, ctx, idle=idle, floor=floor)
            per_contender(ctx, section, measure, label=f"idle {idle}")
    section.notes.append(
        f"Our servers ran with --idle-timeout {HOGGING_IDLE_TIMEOUT:g} and --max-connections "
        "idle+100 so the idle clients stay held; the others as they ship. A probe that is "
        f"refused, rejected (503) or slower than {ctx.sizes.probe_timeout:g} s counts as timeout. "
        f"Probing starts {ctx.sizes.idle_settle:g} s after the last idle client connected. "
        + (
            f"Each probe was followed by one to the floor, {floor.contender.name} holding no "
            "idle clients: the machine's own tail."
            if floor is not None
            else "No floor was probed (neither nginx nor the iterative model ran)."
        )
    )
    judge(section, floor.contender.name if floor is not None else None)
    return section


def judge(section: Section[Hogging], floor: str | None) -> None:
    """The probe target for each of our rows: p99 under TARGET_P99; a miss is undecided when
    the floor, probed in turn, missed it too (the machine's own tail is above the target)."""
    target_ms = TARGET_P99 * 1000
    for row in ours(section):
        p99, floor_p99 = row.p99_ms, row.floor_p99_ms
        met, why = latency_met(p99, target_ms, floor_p99, f"the floor ({floor}, no idle clients)")
        section.verdicts.append(
            Verdict(
                f"{row.contender}: probe p99 < {target_ms:g} ms with {row.idle:,} idle",
                f"p99 {ms(p99)} (floor {ms(floor_p99)}), probes 2xx {row.probes_ok}, "
                f"held {row.still_held:,}",
                met,
                why,
            )
        )
