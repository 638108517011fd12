"""The JSON chaos writes and reads: plans, records, results and verify runs round-trip through it.

A :data:`Scalar` is what a fault parameter or a record's ``detail`` may hold; a
:data:`JSONObject` is a ``to_json()`` dict, or one parsed back, whose values each reader checks
where it uses them (``from_json`` constructors validate in ``__post_init__``).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JSONObject", "Scalar", "as_object", "parse"]

Scalar = str | int | float | bool | None
JSONObject = dict[str, Any]

# Far deeper than anything chaos writes (a verify run nests under ten levels), so no reader
# recurses without bound on a hostile file.
MAX_DEPTH = 64


def _too_deep(data: object) -> bool:
    """True when containers nest more than MAX_DEPTH levels in ``data`` (checked without
    recursion, so the check itself cannot overflow the stack)."""
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth == MAX_DEPTH:
                return True
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return False


def parse(text: str | bytes, what: str) -> object:
    """JSON text (bytes must be UTF-8) as data; ValueError naming ``what`` if it is not."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{what}: not UTF-8 text (byte {text[exc.start]:#04x} at offset {exc.start})"
            ) from None
    too_deep = f"{what}: JSON nested deeper than {MAX_DEPTH} levels"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what}: not valid JSON ({exc})") from None
    except RecursionError:  # the decoder's own limit, far past MAX_DEPTH
        raise ValueError(too_deep) from None
    if _too_deep(data):
        raise ValueError(too_deep)
    return data


def as_object(data: object, what: str) -> JSONObject:
    """``data``, a JSON object or its text, as a dict; ValueError naming ``what`` otherwise."""
    if isinstance(data, str | bytes):
        data = parse(data, what)
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object")
    return data
