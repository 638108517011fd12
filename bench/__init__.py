"""The benchmark: our servers against the stdlib, reference servers and nginx, in one run.

Run `python -m bench` (or `--quick` for the CI smoke run). Every server runs in its own
process; results are printed as markdown with ratios against baselines from the same run and
written as JSON.
"""

from __future__ import annotations

from .cli import main
from .sizes import FULL, QUICK, Sizes

__all__ = ["FULL", "QUICK", "Sizes", "main"]
