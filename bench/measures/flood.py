"""4. Flood: thousands of connections at once, each sending `GET /`; share answered within 1 s.

"Answered" is served (2xx) or explicitly rejected (another status, or closed/reset by the
server); what is left is a connection the server has not even looked at yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.engine.kernel import listen_overflows

from ..conns import flood
from ..contenders import Contender
from ..context import Context
from ..raw_http import REQUEST_CLOSE
from ..result import Column, Row, Section, Verdict
from ..serve import running
from ..settings_for import defaults
from .common import num, ours, pct, per_contender

__all__ = ["BASE_SERVED_SHARE", "Flood", "judge", "run"]

TARGET_SHARE = 100.0
# Beside a base build (`--base`), ours must serve at least this share of what it served: one
# build's served count moved 2,350-2,605 of 3,000 between runs, and a change that queued a
# whole batch before waking a worker served half.
BASE_SERVED_SHARE = 0.8


@dataclass(kw_only=True)
class Flood(Row):
    """How one server answered a flood: on time, late or never, and what the kernel dropped."""

    answered_pct: float
    served: int
    rejected: int
    late: int
    unanswered: int
    established: int
    overflows: int | None
    server_reasons: object = None  # our servers' close reasons, from their final stats


def _measure(ctx: Context, contender: Contender) -> Flood:
    sizes = ctx.sizes
    with running(ctx.children, contender, defaults(), ctx.pinning) as server:
        before = listen_overflows()
        result = flood(server.address, sizes.flood_connections, REQUEST_CLOSE, sizes.flood_watch)
        after = listen_overflows()
    count = sizes.flood_connections
    window = sizes.flood_window
    on_time = [
        kind
        for kind, latency in zip(result.kinds, result.latencies, strict=True)
        if kind in ("served", "rejected") and latency <= window
    ]
    late = sum(1 for kind in result.kinds if kind in ("served", "rejected")) - len(on_time)
    return Flood(
        contender=contender.name,
        answered_pct=round(100 * len(on_time) / count, 1),
        served=on_time.count("served"),
        rejected=on_time.count("rejected"),
        late=late,
        unanswered=sum(1 for kind in result.kinds if kind in ("none", "connect_failed")),
        established=result.established,
        overflows=None if before is None or after is None else after - before,
        server_reasons=server.stats.get("reasons") if server.stats else None,
    )


def run(ctx: Context) -> Section[Flood]:
    sizes = ctx.sizes
    section = Section(
        key="flood",
        title=f"4. Flood of {sizes.flood_connections:,} connections: answered within "
        f"{sizes.flood_window:g} s (watched {sizes.flood_watch:g} s)",
        kind=Flood,
        columns=[
            Column("contender", "server"),
            Column("answered_pct", "answered in time", pct),
            Column("served", "served 2xx", num),
            Column("rejected", "rejected", num),
            Column("late", "answered late", num),
            Column("unanswered", "never answered", num),
            Column("established", "established", num),
            Column("overflows", "accept-queue overflows", num),
        ],
    )
    per_contender(ctx, section, lambda c: _measure(ctx, c))
    section.notes.append(
        "Accept-queue overflows are the kernel's ListenOverflows counter over the flood: each "
        "is a silently dropped handshake the client retries after 1 s."
    )
    judge(section, sizes.flood_window)
    return section


def judge(section: Section[Flood], window: float) -> None:
    """The flood's targets for each of our rows: all answered within `window`, and, beside a
    base build's row, no fewer served than BASE_SERVED_SHARE of its count."""
    for row in ours(section):
        section.verdicts.append(
            Verdict(
                f"{row.contender}: flood answered within {window:g} s = {TARGET_SHARE:g}%",
                f"{row.answered_pct}% ({row.served:,} served, {row.rejected:,} rejected)",
                row.answered_pct >= TARGET_SHARE,
            )
        )
        for base in section.measured(f"base:{row.contender}"):
            section.verdicts.append(
                Verdict(
                    f"{row.contender}: flood served >= {BASE_SERVED_SHARE:g}x the base build's",
                    f"{row.served:,} vs {base.served:,}",
                    row.served >= BASE_SERVED_SHARE * base.served,
                )
            )
