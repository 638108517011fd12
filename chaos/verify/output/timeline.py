"""Connection states over a run, bucketed for the report's chart, computed from the records.

Per bucket: how many connections were connecting or open at its end (gauges), and how many
had been closed by the server, reset or refused so far (cumulative). Probes are kept one by
one with their state and latency. Everything is plain data, so the JSON carries it and the
report draws exactly those numbers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ...jsondata import JSONObject
from ...params import DEFAULT_CONNECT_TIMEOUT
from ...record import ClientRecord, Outcome, ServerEnd
from ..observe import ProbeView

__all__ = ["MAX_BUCKETS", "Timeline", "build_timeline", "fate"]

# Enough columns for a 1000-pixel chart; more would only be drawn on top of each other.
MAX_BUCKETS = 400
# The finest bucket: the probes' own resolution is a few milliseconds.
MIN_BUCKET = 0.01
STATES = ("connecting", "open")
REFUSED = "refused"
ENDINGS = (ServerEnd.CLOSED.value, ServerEnd.RESET.value, REFUSED)


def fate(record: ClientRecord) -> str | None:
    """How the server ended the connection: ``closed_by_server``, ``reset``, ``refused``, None."""
    if record.outcome is Outcome.REFUSED:
        return REFUSED
    ended = record.server_ended
    return None if ended is None else ended.value


def _span_of(
    record: ClientRecord, connect_timeout: float
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(connecting interval, open interval) in monotonic seconds."""
    if record.connected is None:
        if record.outcome is Outcome.CONNECT_TIMEOUT:
            return (record.started, record.started + connect_timeout), None
        return (record.started, record.started), None
    end = record.ended_at
    end = record.connected if end is None else max(end, record.connected)
    return (record.started, record.connected), (record.connected, end)


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """Bucketed series (seconds from the run's start) plus totals and the individual probes."""

    duration: float
    bucket: float
    times: tuple[float, ...]
    series: dict[str, tuple[int, ...]]
    totals: dict[str, int]
    probes: tuple[JSONObject, ...]

    def to_json(self) -> JSONObject:
        return {
            "duration": self.duration,
            "bucket": self.bucket,
            "times": list(self.times),
            "series": {k: list(v) for k, v in self.series.items()},
            "totals": dict(self.totals),
            "probes": list(self.probes),
        }


def _gauge(intervals: Sequence[tuple[float, float]], times: Sequence[float]) -> tuple[int, ...]:
    starts = sorted(a for a, _ in intervals)
    ends = sorted(b for _, b in intervals)
    # Alive at t: started at or before t, not yet ended (an interval [a, b) is half-open).
    return tuple(bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in times)


def _cumulative(moments: Sequence[float], times: Sequence[float]) -> tuple[int, ...]:
    ordered = sorted(moments)
    return tuple(bisect.bisect_right(ordered, t) for t in times)


def build_timeline(
    records: Iterable[ClientRecord],
    probes: Iterable[ProbeView],
    *,
    started: float,
    ended: float,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Timeline:
    """Bucket ``records`` over [started, ended]; ``probes`` are placed by their start."""
    records = list(records)
    duration = max(ended - started, MIN_BUCKET)
    bucket = max(MIN_BUCKET, duration / MAX_BUCKETS)
    count = max(1, math.ceil(duration / bucket))
    times = tuple(round((i + 1) * bucket, 6) for i in range(count))
    absolute = [started + t for t in times]
    connecting, open_ = [], []
    endings: dict[str, list[float]] = {name: [] for name in ENDINGS}
    for record in records:
        dialing, alive = _span_of(record, connect_timeout)
        if dialing is not None and dialing[1] > dialing[0]:
            connecting.append(dialing)
        if alive is not None:
            open_.append(alive)
        how = fate(record)
        if how == REFUSED:
            endings[how].append(record.started)
        elif how is not None and record.server_ended_at is not None:
            endings[how].append(record.server_ended_at)
    series = {"connecting": _gauge(connecting, absolute), "open": _gauge(open_, absolute)}
    series.update({name: _cumulative(endings[name], absolute) for name in ENDINGS})
    totals = {"connections": len(records), **{name: len(endings[name]) for name in ENDINGS}}
    points = tuple(
        {
            "t": round(p.started - started, 6),
            "state": p.state.value,
            "latency": p.latency,
            "status": p.status,
        }
        for p in sorted(probes, key=lambda p: p.started)
    )
    return Timeline(
        duration=duration,
        bucket=bucket,
        times=times,
        series=series,
        totals=totals,
        probes=points,
    )
