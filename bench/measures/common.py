"""What the measurements share: the per-contender loop, our pool contenders, cell formatters."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..contenders import Contender
from ..context import Context
from ..result import Failed, R, Section
from ..serve import StartFailed
from ..stats import fmt_ms

__all__ = [
    "MEASURE_ERRORS",
    "POOL",
    "each",
    "failed",
    "latency_met",
    "ms",
    "num",
    "ours",
    "pct",
    "per_contender",
]

# The contenders the targets are about: our pool server in each dispatch mode.
POOL = ("pool/on-accept", "pool/readiness")
# What ends one contender's measurement as a failed row, not the whole section as a crash:
# the server did not come up, or a socket broke.
MEASURE_ERRORS: tuple[type[Exception], ...] = (StartFailed, OSError)


def ms(value: object) -> str:
    return fmt_ms(value / 1000 if isinstance(value, int | float) else None)


def num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def pct(value: object) -> str:
    return f"{value:.1f}%" if isinstance(value, int | float) else "-"


def each(
    ctx: Context, title: str, include: Callable[[Contender], bool] = lambda c: True
) -> Iterator[Contender]:
    """The contenders to measure, announcing each; absent ones are reported by the caller."""
    for contender in ctx.contenders:
        if include(contender):
            ctx.say(f"[{title}] {contender.name}")
            yield contender


def failed(contender: Contender, exc: Exception, *, during: str = "") -> Failed:
    """The row of a contender whose measurement broke, with the first 200 characters of why."""
    text = f"{during}: {exc}" if during else str(exc)
    return Failed(contender=contender.name, error=text[:200])


def per_contender(
    ctx: Context,
    section: Section[R],
    measure: Callable[[Contender], R],
    *,
    label: str = "",
    include: Callable[[Contender], bool] = lambda c: True,
    errors: tuple[type[Exception], ...] = MEASURE_ERRORS,
) -> None:
    """The skeleton every measurement shares: each contender measured in turn, one row each,
    a failed row (never the end of the section) when one of ``errors`` breaks it."""
    for contender in each(ctx, label or section.key, include):
        try:
            section.rows.append(measure(contender))
        except errors as exc:
            section.rows.append(failed(contender, exc, during=label))


def ours(section: Section[R]) -> Iterator[R]:
    """The measured rows of our pool contenders, the ones the targets are about, in order."""
    for name in POOL:
        yield from section.measured(name)


def latency_met(
    value_ms: float | None, target_ms: float, floor_ms: float | None, floor: str | None
) -> tuple[bool | None, str]:
    """A latency target (``value_ms`` under ``target_ms``) as this run can decide it: a miss
    is undecided (None, and why) when ``floor_ms``, what the lightest server (``floor``) gave
    in the same run, misses it too: then the machine alone is above the target."""
    if value_ms is not None and value_ms < target_ms:
        return True, ""
    if floor_ms is not None and floor_ms >= target_ms:
        past = f"this machine, not the server, is past {target_ms:g} ms"
        return None, f"{floor} gave {ms(floor_ms)} in the same run: {past}"
    return False, ""
