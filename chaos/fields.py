"""Validation of configuration fields: one rule per kind of value, shared by every frozen
dataclass that takes one, so a bad value reads the same wherever it is given."""

from __future__ import annotations

import math

__all__ = ["optional_seconds"]


def optional_seconds(name: str, value: float | None) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is None or finite seconds > 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: expected seconds or None, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")
