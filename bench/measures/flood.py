"""4. Flood: thousands of connections at once, each sending `GET /`; share answered within 1 s.

"Answered" is served (2xx) or explicitly rejected (another status, or closed/reset by the
server); what is left is a connection the server has not even looked at yet.
"""

from __future__ import annotations

import time

from ..conns import flood
from ..context import Context
from ..http import REQUEST_CLOSE
from ..kernel import listen_overflows
from ..result import Column, Section, Verdict
from ..serve import StartFailed, running
from ..settings_for import defaults
from .common import POOL, each, failed_row, num, pct

__all__ = ["run"]

TARGET_SHARE = 100.0


def _measure(ctx: Context, contender) -> dict[str, object]:
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
    row: dict[str, object] = {
        "contender": contender.name,
        "answered_pct": round(100 * len(on_time) / count, 1),
        "served": on_time.count("served"),
        "rejected": on_time.count("rejected"),
        "late": late,
        "unanswered": sum(1 for kind in result.kinds if kind in ("none", "connect_failed")),
        "established": result.established,
        "overflows": None if before is None or after is None else after - before,
    }
    if server.stats:
        row["server_reasons"] = server.stats.get("reasons")
    return row


def run(ctx: Context) -> Section:
    began = time.monotonic()
    sizes = ctx.sizes
    section = Section(
        key="flood",
        title=f"4. Flood of {sizes.flood_connections:,} connections: answered within "
        f"{sizes.flood_window:g} s (watched {sizes.flood_watch:g} s)",
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
    for contender in each(ctx, "flood"):
        try:
            section.rows.append(_measure(ctx, contender))
        except (StartFailed, OSError) as exc:
            section.rows.append(failed_row(contender, exc))
    section.notes.append(
        "Accept-queue overflows are the kernel's ListenOverflows counter over the flood: each "
        "is a silently dropped handshake the client retries after 1 s."
    )
    for name in POOL:
        row = section.row(name)
        if row is None or "error" in row:
            continue
        share = row["answered_pct"]
        section.verdicts.append(
            Verdict(
                f"{name}: flood answered within {sizes.flood_window:g} s = {TARGET_SHARE:g}%",
                f"{share}% ({row['served']:,} served, {row['rejected']:,} rejected)",
                share >= TARGET_SHARE,
            )
        )
    section.seconds = time.monotonic() - began
    return section
