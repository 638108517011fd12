"""What the user says the server enforces: ``--expect KEY=VALUE`` parsed into one frozen value.

Timeouts are seconds or ``none`` (the server promises not to time out); ``max-connections`` is
a count or ``none``; the rest name a behaviour. A key left out is measured and reported only.
The keys are the checks, in the order of the verdict table: :data:`CHECKS` is their one list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read from a config handed in: verify runs without the toolkit
    from toolkit import ServerConfig

__all__ = [
    "CHECKS",
    "CHOICES",
    "NO_LIMIT",
    "TIMEOUT_KEYS",
    "Expectations",
    "NoLimit",
    "Promise",
    "parse_expectations",
]


class NoLimit(StrEnum):
    """The promise that there is no such limit (``none``): verify passes only if none is seen.

    Not None, which promises nothing and is only measured.
    """

    NONE = "none"


NO_LIMIT = NoLimit.NONE
# A promise about one check: seconds, a count, a behaviour's name, NO_LIMIT, or None (nothing).
Promise = float | int | str | None

TIMEOUT_KEYS = ("idle-timeout", "request-timeout", "write-timeout")
CHOICES: dict[str, tuple[str, ...]] = {
    "half-close": ("respond", "close"),
    "hogging": ("available",),
    "flood": ("survives",),
    "resets": ("survives",),
}
# Every check, in table order: the timeouts first, then what hostile crowds do.
CHECKS = (*TIMEOUT_KEYS, "half-close", "max-connections", "hogging", "flood", "resets")


def _attr(key: str) -> str:
    return key.replace("-", "_")


def _no_limit(value: object) -> object:
    """``none`` in any form becomes :data:`NO_LIMIT`."""
    return NO_LIMIT if value == NO_LIMIT.value else value


def _check_seconds(key: str, value: object) -> None:
    if value is None or value is NO_LIMIT:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key}: expected seconds or '{NO_LIMIT}', got {value!r}")
    if value <= 0:
        raise ValueError(f"{key}: must be > 0 seconds, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Expectations:
    """One optional promise per check; None means "measure and report, judge nothing"."""

    idle_timeout: float | NoLimit | None = None
    request_timeout: float | NoLimit | None = None
    write_timeout: float | NoLimit | None = None
    max_connections: int | NoLimit | None = None
    half_close: str | None = None
    flood: str | None = None
    resets: str | None = None
    hogging: str | None = None

    def __post_init__(self) -> None:
        for key in (*TIMEOUT_KEYS, "max-connections"):
            object.__setattr__(self, _attr(key), _no_limit(getattr(self, _attr(key))))
        for key in TIMEOUT_KEYS:
            _check_seconds(key, getattr(self, _attr(key)))
        limit = self.max_connections
        if limit is not None and limit is not NO_LIMIT:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"max-connections: expected a count >= 1, got {limit!r}")
        for key, allowed in CHOICES.items():
            value = getattr(self, _attr(key))
            if value is not None and value not in allowed:
                raise ValueError(f"{key}: expected {' or '.join(allowed)}, got {value!r}")

    def get(self, key: str) -> Promise:
        """The expectation for ``key`` (a name from :data:`CHECKS`), or None."""
        value: Promise = getattr(self, _attr(key))
        return value

    def seconds(self, key: str) -> float | None:
        """The promised seconds of timeout ``key``; None when nothing or no limit is promised."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def display(self, key: str) -> str | None:
        """The expected cell of the table: ``5 s``, ``72``, ``respond``, ``none`` or None."""
        value = self.get(key)
        if key in TIMEOUT_KEYS and isinstance(value, int | float):
            return f"{value:g} s"
        return None if value is None else str(value)

    def given(self) -> dict[str, Promise]:
        """The keys that carry an expectation, in table order."""
        return {key: self.get(key) for key in CHECKS if self.get(key) is not None}

    def only(self, keys: Sequence[str]) -> Expectations:
        """These expectations with every key not in ``keys`` cleared."""
        return replace(self, **{_attr(k): None for k in CHECKS if k not in keys})

    def merged(self, override: Expectations) -> Expectations:
        """These expectations with every key set in ``override`` replaced by its value."""
        changes = {f.name: getattr(override, f.name) for f in fields(override)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_config(cls, config: ServerConfig) -> Expectations:
        """What a toolkit ``ServerConfig`` promises to a client that cannot see inside it.

        Connections held at once: the pool's ``open_limit``. The other models promise no limit
        a client could judge.
        """
        limit = config.open_limit if config.model == "pool" else None
        return cls(
            idle_timeout=config.idle_timeout,
            request_timeout=config.request_timeout,
            write_timeout=config.write_timeout,
            max_connections=limit,
            half_close="respond",
            flood="survives",
            resets="survives",
        )


def _parse_value(key: str, text: str) -> Promise:
    if key in CHOICES:
        return text
    if text == NO_LIMIT.value:
        return NO_LIMIT
    try:
        return int(text) if key == "max-connections" else float(text)
    except ValueError:
        kind = "a count" if key == "max-connections" else "seconds"
        raise ValueError(f"{key}: expected {kind} or '{NO_LIMIT}', got {text!r}") from None


def parse_expectations(items: Sequence[str]) -> Expectations:
    """Parse ``KEY=VALUE`` items; any problem raises ValueError naming the key or the item."""
    values: dict[str, Promise] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise ValueError(f"expect: {item!r} is not KEY=VALUE")
        if key not in CHECKS:
            raise ValueError(f"expect: unknown key {key!r}; known: {', '.join(CHECKS)}")
        if _attr(key) in values:
            raise ValueError(f"expect: {key} given twice")
        values[_attr(key)] = _parse_value(key, text)
    return Expectations(**values)  # type: ignore[arg-type]  # each value checked in __post_init__
