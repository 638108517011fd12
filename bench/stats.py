"""Formatting latencies: the few numbers every table shows (percentiles: chaos.result)."""

from __future__ import annotations

import math

__all__ = ["fmt_ms", "fmt_ratio", "fmt_s", "to_ms"]


def to_ms(seconds: float | None, digits: int = 3) -> float | None:
    """Seconds as milliseconds for a row, rounded; `inf` (never answered) stays `inf`."""
    if seconds is None:
        return None
    return math.inf if math.isinf(seconds) else round(seconds * 1000, digits)


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
