"""Fault parameters as frozen dataclasses: one declaration drives validation, JSON and CLI flags.

Each field is declared with :func:`option`, which carries its help text and bounds, so a plan's
``params`` dict, the Python keyword arguments and the command-line flags all agree.
:func:`options` reads those declarations back (verify's settings are declared the same way).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Self, TypeVar

from .jsondata import Scalar

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HOLD",
    "FaultParams",
    "HoldParams",
    "Option",
    "option",
    "options",
]

# Longer than one SYN retransmission (1 s on Linux), so one dropped SYN is retried before we
# call the attempt a connect timeout.
DEFAULT_CONNECT_TIMEOUT = 2.0
# Past the longest common client timeouts (nginx's header, body and send timeouts and Apache's
# Timeout are 60 s), so the server ends the connection, not we; a plan's horizon ends it sooner.
DEFAULT_HOLD = 75.0

_T = TypeVar("_T")
_META = "chaos.option"


@dataclass(frozen=True, kw_only=True)
class Option:
    """One declared field: its name, value type, default, help and bounds."""

    name: str
    kind: type  # str, int, float or bool: the flag's type, None stripped
    optional: bool  # None is allowed (and means "not set")
    default: object  # the declared default; None when the field has none
    help: str
    minimum: float | None = None
    above: float | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    parse: Callable[[str], object] | None = None  # a flag's own parser, for non-scalar fields

    @property
    def flag(self) -> str:
        """``--connect-timeout`` for ``connect_timeout``."""
        return "--" + self.name.replace("_", "-")

    def check(self, value: object) -> None:
        """Raise ValueError naming the field unless ``value`` has its type and bounds."""
        if value is None:
            if not self.optional:
                raise ValueError(f"{self.name}: a value is required")
            return
        if isinstance(value, bool):
            ok = self.kind is bool
        elif isinstance(value, int):
            ok = self.kind in (int, float)
        elif isinstance(value, float):
            ok = self.kind is float and math.isfinite(value)
        else:
            ok = type(value) is self.kind
        if not ok:
            wanted = self.kind.__name__ + (" or NoneType" if self.optional else "")
            raise ValueError(f"{self.name}: expected {wanted}, got {value!r}")
        if isinstance(value, bool | str):
            if self.choices and value not in self.choices:
                raise ValueError(f"{self.name}: expected one of {self.choices}, got {value!r}")
            return
        assert isinstance(value, int | float)
        if self.minimum is not None and value < self.minimum:
            if self.kind is int:
                wanted = f"expected an integer >= {self.minimum}"
                raise ValueError(f"{self.name}: {wanted}, got {value!r}")
            raise ValueError(f"{self.name}: must be >= {self.minimum}, got {value!r}")
        if self.above is not None and value <= self.above:
            raise ValueError(f"{self.name}: must be > {self.above}, got {value!r}")


def option(
    default: _T,
    help: str,
    *,
    minimum: float | None = None,
    above: float | None = None,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    parse: Callable[[str], object] | None = None,
) -> _T:
    """Declare a field: its default, a one-line help, its bounds and how a flag shows it."""
    meta = {
        "help": help,
        "minimum": minimum,
        "above": above,
        "choices": choices,
        "metavar": metavar,
        "parse": parse,
    }
    result: _T = field(default=default, metadata={_META: meta})
    return result


def _value_type(hint: object) -> tuple[type, bool]:
    """The scalar type in ``hint`` and whether None is allowed (``float | None``)."""
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    optional = type(None) in members
    kinds = [m for m in members if m is not type(None)]
    kind = kinds[0] if len(kinds) == 1 and isinstance(kinds[0], type) else object
    return kind, optional


def options(cls: type) -> list[Option]:
    """Every field of dataclass ``cls`` declared with :func:`option`, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        meta = f.metadata.get(_META)
        if meta is None:
            continue
        kind, optional = _value_type(hints[f.name])
        default = None if f.default is MISSING else f.default
        out.append(Option(name=f.name, kind=kind, optional=optional, default=default, **meta))
    return out


@dataclass(frozen=True, kw_only=True)
class FaultParams:
    """Parameters every fault shares."""

    connect_timeout: float = option(
        DEFAULT_CONNECT_TIMEOUT, "seconds to wait for the TCP handshake", above=0
    )

    def __post_init__(self) -> None:
        for declared in options(type(self)):
            declared.check(getattr(self, declared.name))

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Self:
        """Build from a plan's ``params`` dict; unknown names raise ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown parameter for {cls.__name__}")
        return cls(**data)  # type: ignore[arg-type]  # each value is checked in __post_init__

    def to_dict(self) -> dict[str, Scalar]:
        """The JSON-safe ``params`` dict that :meth:`from_dict` accepts."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def stagger(self, position: int) -> float:
        """Seconds after its spec's start that the client at ``position`` begins (0 by default)."""
        return 0.0

    def budget(self) -> float:
        """Seconds one client can take at most, before any stagger; sizes default horizons."""
        return self.connect_timeout


@dataclass(frozen=True, kw_only=True)
class HoldParams(FaultParams):
    """Parameters of faults that keep the connection open for a bounded time."""

    hold: float = option(
        DEFAULT_HOLD, "seconds after connecting before we give up and close", above=0
    )

    def budget(self) -> float:
        """Connect, then hold."""
        return self.connect_timeout + self.hold
