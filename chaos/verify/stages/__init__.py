"""The stages of a verify run, in order, as one table: each runs some checks in its slice.

:data:`STAGES` is the table :func:`chaos.verify.run.run_verify` walks and :func:`schedule`
splits the budget by; a stage not in it is an error, never a silent default.
"""

from __future__ import annotations

import math

from ..settings import Schedule, VerifySettings
from . import attacks, baseline, calibrate, concurrency, hogging, timeouts
from .base import Judge, RunState, Say, Span, Stage

__all__ = ["STAGES", "Judge", "RunState", "Say", "Span", "Stage", "schedule", "stage_named"]

STAGES: tuple[Stage, ...] = (
    baseline.STAGE,
    calibrate.STAGE,
    timeouts.STAGE,
    concurrency.STAGE,
    hogging.STAGE,
    attacks.FLOOD,
    attacks.RESETS,
)
_BY_NAME = {stage.name: stage for stage in STAGES}


def stage_named(name: str) -> Stage:
    """The stage called ``name``; ValueError for a name the table does not have."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"stage: unknown stage {name!r}; known: {', '.join(_BY_NAME)}") from None


def schedule(settings: VerifySettings) -> Schedule:
    """Split the budget between the stages ``settings`` need, in run order.

    Fixed stages get their slices; the flexible one (the concurrency ramp) what they leave,
    between its bounds. Raises ValueError when the checks asked for cannot fit.
    """
    chosen = [stage for stage in STAGES if stage.chosen(settings)]
    fixed = {s.name: s.slice(settings) for s in chosen if s.slice is not None}
    left = settings.budget - sum(fixed.values())
    needed = sum(fixed.values())
    slices: dict[str, float] = {}
    keep: dict[str, float] = {}
    for stage in chosen:
        if stage.flexible is None:
            slices[stage.name] = keep[stage.name] = fixed[stage.name]
        else:
            least, most = stage.flexible
            needed += least
            slices[stage.name], keep[stage.name] = min(most, left), least
    if settings.budget < needed:
        raise ValueError(
            f"budget: {settings.budget:g} s is less than the {math.ceil(needed)} s these checks "
            f"may need (timeouts wait up to {timeouts.longest_wait(settings):g} s); raise "
            "--budget, lower --cap or pick fewer --checks"
        )
    return Schedule(slices=slices, needed=needed, keep=keep)
