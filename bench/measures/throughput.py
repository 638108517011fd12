"""1. Throughput: HTTP hello over 50 connections, keep-alive and a new connection per request."""

from __future__ import annotations

from dataclasses import dataclass

from ..contenders import Contender
from ..context import Context
from ..load import run_own
from ..result import Column, Row, Section, Verdict
from ..serve import running
from ..settings_for import defaults
from ..stats import fmt_ratio
from ..wrk import LoadResult, run_wrk
from .common import MEASURE_ERRORS, latency_met, ms, num, ours, per_contender

__all__ = ["Throughput", "judge", "run"]

# Targets from the issue.
KEEPALIVE_VS_WAITRESS = 2.0
KEEPALIVE_P99 = 0.010
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


@dataclass(kw_only=True)
class Throughput(Row):
    """Keep-alive (``ka_``) and new-connection-per-request (``nc_``) load on one server."""

    ka_rps: float
    ka_p50_ms: float | None
    ka_p99_ms: float | None
    ka_bad: str
    ka_raw: dict[str, object]
    nc_rps: float
    nc_p50_ms: float | None
    nc_p99_ms: float | None
    nc_bad: str
    nc_raw: dict[str, object]
    ka_vs_waitress: str = "-"
    nc_vs_socketserver: str = "-"


def _measure(ctx: Context, contender: Contender) -> Throughput:
    with running(ctx.children, contender, defaults(), ctx.pinning) as server:
        ka = _load(ctx, server.url, server.address, close=False)
        nc = _load(ctx, server.url, server.address, close=True)
    return Throughput(
        contender=contender.name,
        ka_rps=round(ka.ok_rps, 1),
        ka_p50_ms=ka.p50_ms,
        ka_p99_ms=ka.p99_ms,
        ka_bad=f"{ka.non_2xx} / {ka.errors}",
        ka_raw=ka.to_json(),
        nc_rps=round(nc.ok_rps, 1),
        nc_p50_ms=nc.p50_ms,
        nc_p99_ms=nc.p99_ms,
        nc_bad=f"{nc.non_2xx} / {nc.errors}",
        nc_raw=nc.to_json(),
    )


def run(ctx: Context) -> Section[Throughput]:
    tool = "wrk" if _wrk(ctx) else "our own Python client"
    section = Section(
        key="throughput",
        title=f"1. Throughput: HTTP hello, {ctx.sizes.load_connections} connections, "
        f"{ctx.sizes.load_seconds:g} s each, load by {tool}",
        kind=Throughput,
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
    # A wrk report it cannot read is a failed row too.
    per_contender(ctx, section, lambda c: _measure(ctx, c), errors=(*MEASURE_ERRORS, ValueError))
    _ratios(section)
    judge(section)
    if not _wrk(ctx):
        why = "wrk is absent" if not ctx.use_wrk else "the run is shorter than wrk's 1 s minimum"
        section.notes.append(
            f"Load came from our own Python client ({why}); it saturates near 10k req/s, "
            "so fast servers look alike here."
        )
    section.notes.append(
        "2xx req/s counts only successful answers; a 503 or a reset is in the next column."
    )
    return section


def _ratios(section: Section[Throughput]) -> None:
    waitress = section.row("waitress")
    socketserver = section.row("socketserver")
    for row in section.measured():
        if waitress is not None:
            row.ka_vs_waitress = fmt_ratio(row.ka_rps, waitress.ka_rps)
        if socketserver is not None:
            row.nc_vs_socketserver = fmt_ratio(row.nc_rps, socketserver.nc_rps)


def judge(section: Section[Throughput]) -> None:
    """Each of our rows against the issue's targets: ratios to the baselines, and p99s that a
    miss of nginx's in the same run leaves undecided (the machine's, not the server's)."""
    waitress = section.row("waitress")
    socketserver = section.row("socketserver")
    nginx = section.row("nginx")
    for row in ours(section):
        name = row.contender
        target = (
            f"{name}: keep-alive >= {KEEPALIVE_VS_WAITRESS:g}x waitress, "
            f"p99 < {KEEPALIVE_P99 * 1000:g} ms, 0 non-2xx"
        )
        if waitress is None:
            section.verdicts.append(Verdict(target, "-", None, "waitress absent or not measured"))
        else:
            ratio = row.ka_rps / waitress.ka_rps if waitress.ka_rps else 0.0
            shown = (
                f"{ratio:.2f}x ({row.ka_rps:,.0f} vs {waitress.ka_rps:,.0f} req/s), "
                f"p99 {ms(row.ka_p99_ms)}, non-2xx / errors {row.ka_bad}"
            )
            kept = ratio >= KEEPALIVE_VS_WAITRESS and row.ka_bad.startswith("0 /")
            floor = None if nginx is None else nginx.ka_p99_ms
            section.verdicts.append(
                _judged(target, shown, kept, row.ka_p99_ms, KEEPALIVE_P99, floor)
            )
        target = (
            f"{name}: new connection per request >= {NEWCONN_VS_SOCKETSERVER:g}x socketserver, "
            f"p99 < {NEWCONN_P99 * 1000:g} ms"
        )
        if socketserver is None:
            section.verdicts.append(Verdict(target, "-", None, "socketserver not measured"))
            continue
        ratio = row.nc_rps / socketserver.nc_rps if socketserver.nc_rps else 0.0
        shown = f"{ratio:.2f}x, p99 {ms(row.nc_p99_ms)}"
        floor = None if nginx is None else nginx.nc_p99_ms
        kept = ratio >= NEWCONN_VS_SOCKETSERVER
        section.verdicts.append(_judged(target, shown, kept, row.nc_p99_ms, NEWCONN_P99, floor))


def _judged(
    target: str, shown: str, kept: bool, p99_ms: float | None, limit: float, floor: float | None
) -> Verdict:
    """Met when the ratios are `kept` and the p99 is under `limit` s; a p99 missed where
    nginx missed it too is undecided, unless a ratio is missed anyway."""
    p99_met, why = latency_met(p99_ms, limit * 1000, floor, "nginx")
    if not kept:
        return Verdict(target, shown, False)
    return Verdict(target, shown, p99_met, why)
