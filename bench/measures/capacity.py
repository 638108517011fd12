"""6. Chaos capacity: connections one chaos process holds, its memory per connection, `flood`'s
connect rate, and the same slowloris run by chaos and by slowhttptest, CPU and memory each.

Each client runs as its own process pinned to the load core; CPU time and peak memory come
from `wait4`, so both tools are charged the same way (interpreter and imports included).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass

from ..contenders import Contender
from ..context import Context
from ..procs import Child
from ..result import Column, Row, Section, Verdict
from ..serve import Running, running
from ..settings_for import hogging
from .common import MEASURE_ERRORS, failed

__all__ = ["Capacity", "run"]

TARGET_HELD = 10_000
TARGET_KIB_PER_CONN = 20.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A client process gets its own planned time plus this before it is stopped.
CLIENT_GRACE = 20.0


@dataclass(kw_only=True)
class Capacity(Row):
    """One client run (chaos or slowhttptest): what it held or made, and what that cost."""

    detail: str
    connections: str | None = None  # "held / made"
    cpu_s: float | None = None
    max_rss_kib: int | None = None
    kib_per_conn: float | None = None
    raw: dict[str, object] | None = None  # the client's own summary


@dataclass(frozen=True, slots=True)
class Usage:
    """A client process's CPU time and peak memory, from wait4 (None if it was not reaped)."""

    cpu_s: float | None = None
    max_rss_kib: int | None = None

    def row(
        self,
        contender: str,
        *,
        connections: str,
        detail: str,
        raw: dict[str, object],
        kib_per_conn: float | None = None,
    ) -> Capacity:
        return Capacity(
            contender=contender,
            connections=connections,
            cpu_s=self.cpu_s,
            max_rss_kib=self.max_rss_kib,
            kib_per_conn=kib_per_conn,
            detail=detail,
            raw=raw,
        )


def _target(ctx: Context) -> Contender | None:
    """nginx holds anything we throw at it; without it, our readiness pool."""
    return ctx.find("nginx") or ctx.find("pool/readiness") or ctx.find("pool/on-accept")


def _run_child(ctx: Context, argv: list[str], name: str, budget: float) -> tuple[Child, str]:
    child = ctx.children.start(argv, cores=ctx.pinning.client, name=name)
    child.wait(budget + CLIENT_GRACE)
    child.stop()
    return child, child.stdout


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"


def _usage(child: Child) -> Usage:
    usage = child.rusage
    if usage is None:
        return Usage()
    return Usage(cpu_s=round(usage.ru_utime + usage.ru_stime, 2), max_rss_kib=usage.ru_maxrss)


def _chaos(
    ctx: Context, server: Running, kind: str, count: int, hold: float, params: dict[str, object]
) -> tuple[dict[str, object], Usage]:
    target = f"{server.address[0]}:{server.address[1]}"
    argv = [sys.executable, "-m", "bench.chaos_child", kind, str(count), str(hold), target]
    child, out = _run_child(ctx, [*argv, json.dumps(params)], f"chaos-{kind}", hold + 5)
    try:
        summary: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        summary = {"error": (child.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return summary, _usage(child)


def _slowhttptest(
    ctx: Context, server: Running, count: int, seconds: float
) -> tuple[dict[str, object], Usage]:
    argv = ["slowhttptest", "-H", "-c", str(count), "-r", str(count), "-i", "1"]
    argv += ["-l", str(int(max(1, seconds))), "-x", "24", "-p", "3", "-u", server.url]
    child, out = _run_child(ctx, argv, "slowhttptest", seconds + 5)
    connected = None
    for line in _ANSI.sub("", out).splitlines():
        if "connected:" in line:
            try:
                value = int(line.split("connected:")[1].split()[0])
            except (ValueError, IndexError):
                continue
            connected = max(connected or 0, value)
    return {"connected_max": connected, "exit": child.proc.returncode}, _usage(child)


def _per_conn(summary: dict[str, object], usage: Usage, count_key: str) -> float | None:
    peak, base, count = usage.max_rss_kib, summary.get("baseline_kib"), summary.get(count_key)
    if not isinstance(peak, int) or not isinstance(base, int) or not isinstance(count, int):
        return None
    if not count:
        return None
    return round((peak - base) / count, 2)


def run(ctx: Context) -> Section[Capacity]:
    sizes = ctx.sizes
    section = Section(
        key="capacity",
        title="6. Chaos capacity (each client in its own process on the load core)",
        kind=Capacity,
        columns=[
            Column("contender", "run"),
            Column("connections", "connections held / made"),
            Column("cpu_s", "CPU time (s)"),
            Column("max_rss_kib", "peak RSS (KiB)"),
            Column("kib_per_conn", "KiB per connection"),
            Column("detail", "detail"),
        ],
    )
    target = _target(ctx)
    if target is None:
        section.notes.append("no server to aim at")
        return section
    try:
        import chaos  # noqa: F401

        chaos_error = None
    except ImportError as exc:
        chaos_error = f"chaos package not available: {exc}"
        section.notes.append(chaos_error)
    settings = hogging(sizes.capacity_hold)
    section.notes.append(f"Target server: {target.name} (idle clients held, never cut in time).")
    try:
        with running(ctx.children, target, settings, ctx.pinning) as server:
            if chaos_error is None:
                _chaos_rows(ctx, section, server)
            _slowloris_rows(ctx, section, server, chaos_error is None)
    except MEASURE_ERRORS as exc:
        section.rows.append(failed(target, exc))
    return section


def _detail(summary: dict[str, object], otherwise: str) -> str:
    error = summary.get("error")
    return str(error) if error else otherwise


def _chaos_rows(ctx: Context, section: Section[Capacity], server: Running) -> None:
    sizes = ctx.sizes
    ctx.say(f"[capacity] chaos never_send x {sizes.capacity_hold:,}")
    summary, usage = _chaos(
        ctx, server, "never_send", sizes.capacity_hold, sizes.capacity_seconds, {}
    )
    held = summary.get("peak_open")
    per_conn = _per_conn(summary, usage, "peak_open")
    section.rows.append(
        usage.row(
            "chaos never_send (hold)",
            connections=f"{_n(held)} / {sizes.capacity_hold:,}",
            kib_per_conn=per_conn,
            detail=_detail(summary, f"outcomes {summary.get('outcomes')}"),
            raw=summary,
        )
    )
    if "error" not in summary and isinstance(held, int):
        section.verdicts.append(
            Verdict(
                f"one chaos process holds {sizes.capacity_hold:,} connections "
                f"(issue: {TARGET_HELD:,})",
                f"{held:,} held at once",
                held >= sizes.capacity_hold,
            )
        )
        section.verdicts.append(
            Verdict(
                f"chaos memory per connection < {TARGET_KIB_PER_CONN:g} KiB",
                f"{per_conn} KiB",
                per_conn is not None and per_conn < TARGET_KIB_PER_CONN,
            )
        )
    ctx.say(f"[capacity] chaos flood x {sizes.flood_rate_connections:,}")
    summary, usage = _chaos(ctx, server, "flood", sizes.flood_rate_connections, 0.0, {})
    span, connected = summary.get("connect_span_s"), summary.get("connected")
    rate = None
    if isinstance(span, int | float) and span > 0 and isinstance(connected, int):
        rate = connected / span
    section.rows.append(
        usage.row(
            "chaos flood (connect rate)",
            connections=f"{_n(connected)} / {sizes.flood_rate_connections:,}",
            detail=_detail(summary, f"{rate:,.0f} connects/s" if rate else "-"),
            raw=summary,
        )
    )


def _slowloris_rows(
    ctx: Context, section: Section[Capacity], server: Running, with_chaos: bool
) -> None:
    sizes = ctx.sizes
    count, seconds = sizes.slowloris_connections, sizes.slowloris_seconds
    if with_chaos:
        ctx.say(f"[capacity] chaos slowloris x {count:,} for {seconds:g} s")
        summary, usage = _chaos(ctx, server, "slowloris", count, seconds, {"interval": 1.0})
        section.rows.append(
            usage.row(
                f"chaos slowloris, {count:,} conns, {seconds:g} s",
                connections=f"{_n(summary.get('peak_open'))} / {count:,}",
                kib_per_conn=_per_conn(summary, usage, "peak_open"),
                detail=_detail(summary, f"outcomes {summary.get('outcomes')}"),
                raw=summary,
            )
        )
    name = f"slowhttptest -H, {count:,} conns, {seconds:g} s"
    if shutil.which("slowhttptest") is None:
        section.rows.append(Capacity(contender=name, detail="absent (slowhttptest not on PATH)"))
        return
    ctx.say(f"[capacity] slowhttptest x {count:,} for {seconds:g} s")
    summary, usage = _slowhttptest(ctx, server, count, seconds)
    section.rows.append(
        usage.row(
            name,
            connections=f"{_n(summary['connected_max'])} / {count:,}",
            detail=f"exit {summary['exit']}",
            raw=summary,
        )
    )
