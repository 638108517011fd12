"""The JSON chaos writes and reads: plans, records, results and verify runs round-trip through it.

A :data:`Scalar` is what a fault parameter or a record's ``detail`` may hold; a
:data:`JSONObject` is a ``to_json()`` dict, or one parsed back, whose values each reader checks
where it uses them (``from_json`` constructors validate in ``__post_init__``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["JSONObject", "Scalar"]

Scalar = str | int | float | bool | None
JSONObject = dict[str, Any]
