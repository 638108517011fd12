"""Run one chaos plan in this process and print what it cost: `python -m bench.chaos_child`.

The parent reads this process's CPU time and peak memory from `wait4`; this side reports
the resident size before the plan ran (imports only) and what the records say happened.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chaos import ClientRecord

__all__ = ["main"]


def _rss_kib() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() // 1024


def _peak_open(records: Sequence[ClientRecord]) -> int:
    """Most connections open at one moment, from connect and end timestamps."""
    events: list[tuple[float, int]] = []
    for record in records:
        if record.connected is None:
            continue
        ended = record.ended_at
        events.append((record.connected, 1))
        events.append((float("inf") if ended is None else ended, -1))
    peak = current = 0
    for _, step in sorted(events):
        current += step
        peak = max(peak, current)
    return peak


def main(argv: Sequence[str] | None = None) -> int:
    """argv: KIND COUNT HOLD TARGET [PARAMS_JSON [PROCESSES]]; PROCESSES "auto" lets the
    engine choose. (An engine from before processes existed reads the first five only.)"""
    args = list(sys.argv[1:] if argv is None else argv)
    kind, count, hold, target = args[0], int(args[1]), float(args[2]), args[3]
    params = json.loads(args[4]) if len(args) > 4 else {}
    wanted = args[5] if len(args) > 5 else "1"
    try:
        from chaos import ClientSpec, Plan, run
        from chaos.engine.processes import shard_count
        from chaos.params import DEFAULT_CONNECT_TIMEOUT
    except ImportError as exc:
        print(json.dumps({"error": f"chaos package not available: {exc}"}), flush=True)
        return 3
    baseline = _rss_kib()
    spec = ClientSpec(kind=kind, params={**params, "hold": hold}, count=count)
    connect_timeout = float(params.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    plan = Plan(clients=(spec,), horizon=hold + connect_timeout + 1.0, target=target)
    processes = shard_count(None if wanted == "auto" else int(wanted), count)
    began = time.monotonic()
    try:
        result = run(plan, processes=processes)
    except ValueError as exc:  # a limit: the plan cannot fit
        print(json.dumps({"error": str(exc)}), flush=True)
        return 2
    wall = time.monotonic() - began
    records = result.records
    connected = [r.connected for r in records if r.connected is not None]
    starts = [r.started for r in records]
    span = max(connected) - min(starts) if connected and starts else None
    summary = {
        "records": len(records),
        "connected": len(connected),
        "peak_open": _peak_open(records),
        "outcomes": dict(Counter(r.outcome.value for r in records)),
        "connect_span_s": span,
        "baseline_kib": baseline,
        "processes": processes,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "wall_s": wall,
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
