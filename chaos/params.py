"""Fault parameters as frozen dataclasses: one declaration drives validation, JSON and CLI flags.

Each field is declared with :func:`option`, which carries its help text and bounds, so a plan's
``params`` dict, the Python keyword arguments and the command-line flags all agree.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self

# Longer than one SYN retransmission (1 s on Linux), so one dropped SYN is retried before we
# call the attempt a connect timeout.
DEFAULT_CONNECT_TIMEOUT = 2.0
# Long enough to outlast typical server idle/header timeouts (often 5 s), short enough that a
# forgotten run ends by itself.
DEFAULT_HOLD = 10.0


def option(
    default: Any,
    help: str,
    *,
    minimum: float | None = None,
    above: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """Declare a parameter: its default, a one-line help, and its bounds."""
    meta = {"help": help, "minimum": minimum, "above": above, "choices": choices}
    return field(default=default, metadata=meta)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_type(name: str, value: Any, hint: Any) -> None:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) not in allowed:
            raise ValueError(f"{name}: a value is required")
        return
    if isinstance(value, bool):
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
    elif isinstance(value, float):
        ok = float in allowed and math.isfinite(value)
    else:
        ok = type(value) in allowed
    if not ok:
        wanted = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
        raise ValueError(f"{name}: expected {wanted}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class FaultParams:
    """Parameters every fault shares."""

    connect_timeout: float = option(
        DEFAULT_CONNECT_TIMEOUT, "seconds to wait for the TCP handshake", above=0
    )

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            _check_type(f.name, value, hints[f.name])
            meta = f.metadata
            if value is None or isinstance(value, bool | str):
                if meta.get("choices") and value not in meta["choices"]:
                    raise ValueError(f"{f.name}: expected one of {meta['choices']}, got {value!r}")
                continue
            if meta.get("minimum") is not None and value < meta["minimum"]:
                raise ValueError(f"{f.name}: must be >= {meta['minimum']}, got {value!r}")
            if meta.get("above") is not None and value <= meta["above"]:
                raise ValueError(f"{f.name}: must be > {meta['above']}, got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a plan's ``params`` dict; unknown names raise ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown parameter for {cls.__name__}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe ``params`` dict that :meth:`from_dict` accepts."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def stagger(self, position: int) -> float:
        """Seconds after its spec's start that the client at ``position`` begins (0 by default)."""
        return 0.0

    def budget(self) -> float:
        """Seconds one client can take at most, before any stagger; sizes default horizons."""
        return self.connect_timeout

    @classmethod
    def describe(cls) -> list[tuple[str, Any, Any, Mapping[str, Any]]]:
        """``(name, type hint, default, metadata)`` per field, for building CLI flags."""
        hints = _hints(cls)
        return [
            (f.name, hints[f.name], None if f.default is MISSING else f.default, f.metadata)
            for f in fields(cls)
        ]


@dataclass(frozen=True, kw_only=True)
class HoldParams(FaultParams):
    """Parameters of faults that keep the connection open for a bounded time."""

    hold: float = option(
        DEFAULT_HOLD, "seconds after connecting before we give up and close", above=0
    )

    def budget(self) -> float:
        """Connect, then hold."""
        return self.connect_timeout + self.hold
