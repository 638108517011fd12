"""The JSON chaos writes and reads: plans, records, results and verify runs round-trip through it.

A :data:`Scalar` is what a fault parameter or a record's ``detail`` may hold; a
:data:`JSONObject` is a ``to_json()`` dict, or one parsed back, whose values each reader checks
where it uses them (``from_json`` constructors validate in ``__post_init__``).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSONObject", "Scalar", "as_object"]

Scalar = str | int | float | bool | None
JSONObject = dict[str, Any]


def as_object(data: object, what: str) -> JSONObject:
    """``data``, a JSON object or its text, as a dict; ValueError naming ``what`` otherwise."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object")
    return data
