"""How big each measurement is: the full run (under 10 minutes on 2 cores) and the CI quick run."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "Sizes"]


@dataclass(frozen=True, kw_only=True)
class Sizes:
    """Every count and duration the measurements use; `QUICK` shrinks them for CI."""

    # 1. throughput
    load_connections: int
    load_seconds: float
    # 2. idle hogging
    idle_counts: tuple[int, ...]
    idle_connect_budget: float  # stop opening idle connections after this long
    idle_settle: float  # pause after the last idle client connected, so bursts are not probed
    probes: int
    probe_timeout: float
    probe_budget: float  # total time for all probes at one idle count
    # 3. slowloris
    slowloris_cap: float  # stop watching after this long ("never" past it)
    slowloris_request_timeout: float  # the request_timeout given to servers that take one
    # 4. flood
    flood_connections: int
    flood_window: float  # "answered within" this
    flood_watch: float  # keep watching this long to tell late answers from none
    # 5. timeout precision
    idle_timeout: float
    timeout_connections: int
    timeout_grace: float  # watch this long past the configured timeout
    # 6. chaos capacity
    capacity_hold: int  # idle connections the engine holds, over as many processes as it needs
    capacity_hold_before: int  # the same for the engine before issue 12 (one process)
    capacity_seconds: float
    hold_workers: int  # nginx worker processes that hold them (each within the open-file limit)
    flood_rate_connections: int
    accept_seconds: float  # wrk's run measuring nginx's new-connection rate
    slowloris_connections: int
    slowloris_seconds: float

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            values = value if isinstance(value, tuple) else (value,)
            if not values or any(v <= 0 for v in values):
                raise ValueError(f"{name} must be positive, got {value!r}")


FULL = Sizes(
    load_connections=50,
    # One series of 4 s per mode: 20 runs must fit the 10-minute budget; ratios settle by then.
    load_seconds=4.0,
    idle_counts=(500, 10_000),
    idle_connect_budget=8.0,
    # The flood measures bursts; this one measures the steady state of holding idle clients.
    idle_settle=1.0,
    # A p99 of 100 probes is their second slowest: one stall of the machine decides it. 300
    # (with the floor's in turn, ~4 s) make it the third of 300.
    probes=300,
    probe_timeout=1.0,
    probe_budget=6.0,
    # Past 65 s is what ANCHORS calls "never"; every Python reference server lasts that long.
    slowloris_cap=66.0,
    slowloris_request_timeout=10.0,
    flood_connections=3_000,
    flood_window=1.0,
    flood_watch=3.0,
    idle_timeout=2.0,
    timeout_connections=1_000,
    timeout_grace=3.0,
    # Past what one process (20,000 descriptors) or one source address (~28,000 ports) can hold.
    capacity_hold=60_000,
    capacity_hold_before=10_000,
    capacity_seconds=8.0,
    hold_workers=4,
    # Within one process's open-file limit, so the engine before issue 12 can run it too.
    flood_rate_connections=12_000,
    accept_seconds=4.0,
    slowloris_connections=1_000,
    slowloris_seconds=12.0,
)

QUICK = Sizes(
    load_connections=8,
    load_seconds=0.2,
    idle_counts=(20,),
    idle_connect_budget=0.5,
    idle_settle=0.05,
    probes=5,
    probe_timeout=0.2,
    probe_budget=0.6,
    slowloris_cap=1.5,
    slowloris_request_timeout=1.0,
    flood_connections=50,
    flood_window=0.5,
    flood_watch=0.5,
    idle_timeout=0.2,
    timeout_connections=20,
    timeout_grace=0.3,
    capacity_hold=50,
    capacity_hold_before=50,
    capacity_seconds=0.2,
    hold_workers=2,
    flood_rate_connections=50,
    accept_seconds=1.0,
    slowloris_connections=10,
    slowloris_seconds=0.3,
)
