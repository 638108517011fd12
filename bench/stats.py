"""Percentiles and formatting of latencies: the few numbers every table shows."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["fmt_ms", "fmt_ratio", "fmt_s", "percentile"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (`q` in 0..100); `inf` entries count as failures; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds for a table cell; `inf` (never answered) as "timeout"."""
    if seconds is None:
        return "-"
    if math.isinf(seconds):
        return "timeout"
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_s(seconds: float | None) -> str:
    """Seconds for a table cell."""
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def fmt_ratio(value: float | None, base: float | None) -> str:
    """`value / base` as "1.23x", or "-" when either side is missing or zero."""
    if value is None or not base or math.isinf(base) or math.isinf(value):
        return "-"
    return f"{value / base:.2f}x"
