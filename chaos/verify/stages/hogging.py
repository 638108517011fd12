"""The hogging stage: probes while idle and slowloris clients hold the server."""

from __future__ import annotations

import functools

from ..checks import hogging
from ..probes import probe_views
from ..settings import MARGIN, VerifySettings
from ..stage import run_stage
from .base import RunState, Stage

__all__ = ["STAGE"]


def _slice(settings: VerifySettings) -> float:
    return settings.connect_timeout + settings.hog_time + settings.probe_timeout + MARGIN


async def run(state: RunState, limit: float) -> None:
    """Hold the hogs while the probes run; judge the probes."""
    settings = state.settings
    stage = await run_stage(
        "hogging",
        hogging.roles(settings),
        settings.target,
        limit=limit,
        until=["probe"],
        seed=settings.seed,
    )
    state.stages.append(stage)
    views = probe_views(stage, settings)
    state.decide(functools.partial(hogging.judge, views))


STAGE = Stage(
    name="hogging",
    title="probes while idle and slowloris clients hog the server",
    checks=(hogging.CHECK,),
    run=run,
    slice=_slice,
)
