"""What the user says the server enforces: ``--expect KEY=VALUE`` parsed into one frozen value.

Timeouts are seconds or ``none`` (the server promises not to time out); the two limits are
counts or ``none``: ``max-connections``, the connections the server accepts and holds at once,
and ``max-served``, the open connections (a new one's own included) up to which a new request
is still answered; the rest name a behaviour. A key left out is measured and reported only.
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
    "LIMIT_KEYS",
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

TIMEOUT_KEYS = ("idle-timeout", "request-timeout", "keepalive-timeout", "write-timeout")
LIMIT_KEYS = ("max-connections", "max-served")
CHOICES: dict[str, tuple[str, ...]] = {
    "half-close": ("respond", "close"),
    "hogging": ("available",),
    "flood": ("survives",),
    "resets": ("survives",),
}
# Every check, in table order: the timeouts first, then what hostile crowds do.
CHECKS = (*TIMEOUT_KEYS, "half-close", *LIMIT_KEYS, "hogging", "flood", "resets")


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
    keepalive_timeout: float | NoLimit | None = None
    write_timeout: float | NoLimit | None = None
    max_connections: int | NoLimit | None = None
    max_served: int | NoLimit | None = None
    half_close: str | None = None
    flood: str | None = None
    resets: str | None = None
    hogging: str | None = None

    def __post_init__(self) -> None:
        for key in (*TIMEOUT_KEYS, *LIMIT_KEYS):
            object.__setattr__(self, _attr(key), _no_limit(getattr(self, _attr(key))))
        for key in TIMEOUT_KEYS:
            _check_seconds(key, getattr(self, _attr(key)))
        for key in LIMIT_KEYS:
            limit = getattr(self, _attr(key))
            if limit is None or limit is NO_LIMIT:
                continue
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"{key}: expected a count >= 1, got {limit!r}")
        for key, allowed in CHOICES.items():
            value = getattr(self, _attr(key))
            if value is not None and value not in allowed:
                raise ValueError(f"{key}: expected {' or '.join(allowed)}, got {value!r}")

    def get(self, key: str) -> Promise:
        """The expectation for ``key`` (a name from :data:`CHECKS`), or None."""
        value: Promise = getattr(self, _attr(key))
        return value

    def count(self, key: str) -> int | None:
        """The promised count of limit ``key``; None when nothing or no limit is promised."""
        value = self.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

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

        Connections held at once: the pool's ``open_limit``. Requests are answered up to
        ``max_connections`` open with ``readiness`` dispatch, where idle connections hold no
        worker; on accept a request may wait behind idle ones, which promises no number. The
        idle timeout counts from the last byte written too, so it is the keep-alive timeout.
        The other models promise no limit a client could judge.
        """
        limit = config.open_limit if config.model == "pool" else None
        parked = config.model == "pool" and config.dispatch_mode == "readiness"
        return cls(
            idle_timeout=config.idle_timeout,
            request_timeout=config.request_timeout,
            keepalive_timeout=config.idle_timeout,
            write_timeout=config.write_timeout,
            max_connections=limit,
            max_served=config.max_connections if parked else None,
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
        return int(text) if key in LIMIT_KEYS else float(text)
    except ValueError:
        kind = "a count" if key in LIMIT_KEYS else "seconds"
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
