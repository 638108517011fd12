"""The six measurements of the issue, one module each, each `run(ctx) -> Section`."""

from __future__ import annotations

from . import capacity, flood, idle, slowloris, throughput, timeouts

__all__ = ["ALL", "capacity", "flood", "idle", "slowloris", "throughput", "timeouts"]

# Run order: the long slowloris watch covers every server at once, so its cost is paid once.
ALL = {
    "throughput": throughput.run,
    "idle": idle.run,
    "slowloris": slowloris.run,
    "flood": flood.run,
    "timeouts": timeouts.run,
    "capacity": capacity.run,
}
