"""The concurrency stage: the ramp of held connections that finds the server's limit."""

from __future__ import annotations

from ..checks import max_connections
from ..settings import MAX_CONCURRENCY, MIN_CONCURRENCY
from .base import RunState, Stage

__all__ = ["STAGE"]


def _idle_hint(state: RunState) -> float | None:
    """The idle timeout measured (or else promised), which bounds "rejected at once"."""
    measured = state.results.get("idle-timeout")
    if measured is not None and isinstance(measured.value, int | float):
        return float(measured.value)
    return state.settings.expectations.seconds("idle-timeout")


async def run(state: RunState, limit: float) -> None:
    """Ramp up held connections, probing at each step, and judge where rejections began."""
    settings = state.settings
    window = max_connections.at_once_window(_idle_hint(state))
    done = await max_connections.ramp(
        settings, settings.target, limit=limit, window=window, say=state.say
    )
    state.stages += done.stages
    state.add(max_connections.judge(done.steps, settings, cut=done.cut, window=window))


STAGE = Stage(
    name="max-connections",
    title="concurrency limit: hold 1, 2, 4, ... connections and probe",
    checks=(max_connections.CHECK,),
    run=run,
    flexible=(MIN_CONCURRENCY, MAX_CONCURRENCY),
)
