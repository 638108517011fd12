"""Helpers the measurements share: formatters, our pool contenders, and a per-server loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..contenders import Contender
from ..context import Context
from ..serve import StartFailed
from ..stats import fmt_ms

__all__ = ["POOL", "each", "ms", "num", "pct"]

# The contenders the targets are about: our pool server in each dispatch mode.
POOL = ("pool/on-accept", "pool/readiness")


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


def failed_row(contender: Contender, exc: StartFailed | OSError) -> dict[str, object]:
    return {"contender": contender.name, "error": str(exc)[:200]}
