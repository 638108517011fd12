"""A plan is data: client specs, a horizon and a seed, round-tripping through JSON.

Parameters are stored fully expanded (defaults filled in), so a saved plan replays exactly even
if a default changes later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .faults.registry import fault_for, get_fault
from .jsondata import JSONObject, Scalar, as_object
from .params import FaultParams
from .target import Target

__all__ = ["MAX_COUNT", "MAX_HORIZON", "ClientSpec", "Plan"]

# An hour: a longer soak should be several plans, each with its own saved result.
MAX_HORIZON = 3600.0
# Past what one machine holds: sources over 127.0.0.0/8 and shards lift the ~28k ephemeral
# ports of one address and the open files of one process, but a plan stays a test, not a load.
MAX_COUNT = 100_000


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class ClientSpec:
    """``count`` clients of one fault kind, starting ``start`` seconds into the run."""

    kind: str
    params: dict[str, Scalar] = field(default_factory=dict)
    count: int = 1
    start: float = 0.0
    # The params parsed once, here; ``params`` is their JSON form, every default filled in.
    _parsed: FaultParams = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fault = get_fault(self.kind)
        if not isinstance(self.params, dict):
            raise ValueError(f"params: expected a dict, got {type(self.params).__name__}")
        try:
            parsed = fault.params.from_dict(self.params)
        except ValueError as exc:
            raise ValueError(f"params.{exc}") from None
        except TypeError as exc:
            raise ValueError(f"params: {exc}") from None
        object.__setattr__(self, "_parsed", parsed)
        object.__setattr__(self, "params", parsed.to_dict())
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise ValueError(f"count: expected an integer, got {self.count!r}")
        if not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"count: must be 1..{MAX_COUNT}, got {self.count}")
        if _number("start", self.start) < 0:
            raise ValueError(f"start: must be >= 0, got {self.start}")

    @classmethod
    def of(cls, params: FaultParams, *, count: int = 1, start: float = 0.0) -> ClientSpec:
        """``count`` clients of the fault whose parameter class ``params`` is."""
        fault = fault_for(params)
        return cls(kind=fault.kind, params=params.to_dict(), count=count, start=start)

    def parsed(self) -> FaultParams:
        """The validated parameter object for this spec's fault."""
        return self._parsed

    def to_json(self) -> JSONObject:
        """A JSON-safe dict."""
        return {
            "kind": self.kind,
            "params": dict(self.params),
            "count": self.count,
            "start": self.start,
        }

    @classmethod
    def from_json(cls, data: JSONObject) -> ClientSpec:
        """Rebuild from :meth:`to_json` output."""
        if not isinstance(data, dict):
            raise ValueError("clients: each client spec must be a JSON object")
        unknown = sorted(set(data) - {"kind", "params", "count", "start"})
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown client spec field")
        if "kind" not in data:
            raise ValueError("kind: every client spec needs a kind")
        return cls(**data)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What to run: every client starts within ``horizon``, at which the runner stops them all.

    ``target`` (``HOST:PORT``) is optional so one plan can be aimed at several servers.
    """

    clients: tuple[ClientSpec, ...]
    horizon: float
    seed: int = 0
    target: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.clients, list | tuple) or not self.clients:
            raise ValueError("clients: a plan needs at least one client spec")
        object.__setattr__(self, "clients", tuple(self.clients))
        for spec in self.clients:
            if not isinstance(spec, ClientSpec):
                raise ValueError(f"clients: expected ClientSpec items, got {type(spec).__name__}")
        horizon = _number("horizon", self.horizon)
        if not 0 < horizon <= MAX_HORIZON:
            raise ValueError(f"horizon: must be in (0, {MAX_HORIZON}], got {horizon}")
        for spec in self.clients:
            if spec.start >= horizon:
                raise ValueError(
                    f"clients: a {spec.kind} spec starts at {spec.start} s, past the horizon"
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {self.seed!r}")
        if self.target is not None:
            object.__setattr__(self, "target", str(Target.parse(self.target)))

    @property
    def total_clients(self) -> int:
        """Clients across all specs: the most sockets the plan can hold at once."""
        return sum(spec.count for spec in self.clients)

    def to_json(self) -> JSONObject:
        """A JSON-safe dict."""
        return {
            "clients": [spec.to_json() for spec in self.clients],
            "horizon": self.horizon,
            "seed": self.seed,
            "target": self.target,
        }

    @classmethod
    def from_json(cls, data: JSONObject | str) -> Plan:
        """Rebuild from :meth:`to_json` output (a dict or its JSON text)."""
        data = as_object(data, "plan")
        unknown = sorted(set(data) - {"clients", "horizon", "seed", "target"})
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown plan field")
        for name in ("clients", "horizon"):
            if name not in data:
                raise ValueError(f"{name}: required plan field is missing")
        if not isinstance(data["clients"], list):
            raise ValueError("clients: expected a list of client specs")
        return cls(
            clients=tuple(ClientSpec.from_json(c) for c in data["clients"]),
            horizon=data["horizon"],
            seed=data.get("seed", 0),
            target=data.get("target"),
        )
