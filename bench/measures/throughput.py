"""1. Throughput: HTTP hello over 50 connections, keep-alive and a new connection per request."""

from __future__ import annotations

import time

from ..context import Context
from ..load import run_own
from ..result import Column, Section, Verdict
from ..serve import StartFailed, running
from ..settings_for import defaults
from ..stats import fmt_ratio
from ..wrk import LoadResult, run_wrk
from .common import POOL, each, failed_row, ms, num

__all__ = ["run"]

# Targets from the issue.
KEEPALIVE_VS_WAITRESS = 2.0
NEWCONN_VS_SOCKETSERVER = 1.2
NEWCONN_P99 = 0.010


def _load(ctx: Context, url: str, address: tuple[str, int], close: bool) -> LoadResult:
    if _wrk(ctx):
        return run_wrk(
            url,
            connections=ctx.sizes.load_connections,
            seconds=ctx.sizes.load_seconds,
            close=close,
            cores=ctx.pinning.client,
        )
    return run_own(
        address, connections=ctx.sizes.load_connections, seconds=ctx.sizes.load_seconds, close=close
    )


def _wrk(ctx: Context) -> bool:
    """wrk runs whole seconds; the sub-second quick run uses our own client instead."""
    return ctx.use_wrk and ctx.sizes.load_seconds >= 1


def _ratio(value: object, base: object) -> str:
    ok = isinstance(value, int | float) and isinstance(base, int | float)
    return fmt_ratio(value, base) if ok else "-"  # type: ignore[arg-type]


def run(ctx: Context) -> Section:
    began = time.monotonic()
    tool = "wrk" if _wrk(ctx) else "our own Python client"
    section = Section(
        key="throughput",
        title=f"1. Throughput: HTTP hello, {ctx.sizes.load_connections} connections, "
        f"{ctx.sizes.load_seconds:g} s each, load by {tool}",
        columns=[
            Column("contender", "server"),
            Column("ka_rps", "keep-alive 2xx req/s", num),
            Column("ka_p50_ms", "p50", ms),
            Column("ka_p99_ms", "p99", ms),
            Column("ka_bad", "non-2xx / errors"),
            Column("ka_vs_waitress", "vs waitress"),
            Column("nc_rps", "new-conn 2xx req/s", num),
            Column("nc_p50_ms", "p50", ms),
            Column("nc_p99_ms", "p99", ms),
            Column("nc_bad", "non-2xx / errors"),
            Column("nc_vs_socketserver", "vs socketserver"),
        ],
    )
    for contender in each(ctx, "throughput"):
        row: dict[str, object] = {"contender": contender.name}
        try:
            with running(ctx.children, contender, defaults(), ctx.pinning) as server:
                for prefix, close in (("ka", False), ("nc", True)):
                    result = _load(ctx, server.url, server.address, close)
                    data = result.to_json()
                    row[f"{prefix}_rps"] = data["ok_rps"]
                    row[f"{prefix}_p50_ms"] = data["p50_ms"]
                    row[f"{prefix}_p99_ms"] = data["p99_ms"]
                    row[f"{prefix}_bad"] = f"{result.non_2xx} / {result.errors}"
                    row[f"{prefix}_raw"] = data
        except (StartFailed, OSError, ValueError) as exc:
            row = failed_row(contender, exc)
        section.rows.append(row)
    _ratios(section)
    _verdicts(ctx, section)
    if not _wrk(ctx):
        why = "wrk is absent" if not ctx.use_wrk else "the run is shorter than wrk's 1 s minimum"
        section.notes.append(
            f"Load came from our own Python client ({why}); it saturates near 10k req/s, "
            "so fast servers look alike here."
        )
    section.notes.append(
        "2xx req/s counts only successful answers; a 503 or a reset is in the next column."
    )
    section.seconds = time.monotonic() - began
    return section


def _ratios(section: Section) -> None:
    waitress = section.row("waitress") or {}
    socketserver = section.row("socketserver") or {}
    for row in section.rows:
        row["ka_vs_waitress"] = _ratio(row.get("ka_rps"), waitress.get("ka_rps"))
        row["nc_vs_socketserver"] = _ratio(row.get("nc_rps"), socketserver.get("nc_rps"))


def _verdicts(ctx: Context, section: Section) -> None:
    waitress = section.row("waitress")
    socketserver = section.row("socketserver")
    for name in POOL:
        row = section.row(name)
        if row is None or "error" in row:
            continue
        target = f"{name}: keep-alive >= {KEEPALIVE_VS_WAITRESS:g}x waitress"
        if waitress is None or "ka_rps" not in waitress:
            section.verdicts.append(Verdict(target, "-", None, "waitress absent or not measured"))
        else:
            ratio = row["ka_rps"] / waitress["ka_rps"] if waitress["ka_rps"] else 0.0
            section.verdicts.append(
                Verdict(
                    target,
                    f"{ratio:.2f}x ({row['ka_rps']:,.0f} vs {waitress['ka_rps']:,.0f} req/s)",
                    ratio >= KEEPALIVE_VS_WAITRESS,
                )
            )
        target = (
            f"{name}: new connection per request >= {NEWCONN_VS_SOCKETSERVER:g}x socketserver, "
            f"p99 < {NEWCONN_P99 * 1000:g} ms"
        )
        if socketserver is None or "nc_rps" not in socketserver:
            section.verdicts.append(Verdict(target, "-", None, "socketserver not measured"))
            continue
        ratio = row["nc_rps"] / socketserver["nc_rps"] if socketserver["nc_rps"] else 0.0
        p99 = row["nc_p99_ms"]
        met = ratio >= NEWCONN_VS_SOCKETSERVER and p99 is not None and p99 < NEWCONN_P99 * 1000
        section.verdicts.append(Verdict(target, f"{ratio:.2f}x, p99 {ms(p99)}", met))
