"""``chaos hunt``: search client behaviours for the longest hold without progress, and hand
back the smallest replayable attack that breaks the target's bound."""

from __future__ import annotations

from .bound import HuntBounds
from .measures import MEASURES, Measure
from .result import HuntResult
from .search import DEFAULT_BUDGET, hunt
from .trial import Setup, Trial, run_trial

__all__ = [
    "DEFAULT_BUDGET",
    "MEASURES",
    "HuntBounds",
    "HuntResult",
    "Measure",
    "Setup",
    "Trial",
    "hunt",
    "run_trial",
]
