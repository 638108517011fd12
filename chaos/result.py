"""A run's result: every record plus the summaries people read first, round-tripping via JSON.

Summaries (counts, distributions, probe availability) are computed from the records, never
stored separately, so a loaded result cannot disagree with itself.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .engine.segment import WHOLE, Segment
from .faults.registry import traits_of
from .jsondata import JSONObject, as_object
from .plan import Plan
from .record import ClientRecord, Outcome

__all__ = ["ChaosResult", "Distribution", "ProbeSummary", "percentile"]


def _nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` 0..1) of ``values``, or None when there are none.

    The one percentile of the project: the run summaries and the benchmark tables use it.
    """
    ordered = sorted(values)
    return _nearest_rank(ordered, fraction) if ordered else None


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """min / p50 / p99 / max (nearest rank) of some seconds."""

    count: int
    min: float
    p50: float
    p99: float
    max: float

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count: a distribution needs values, got {self.count}")
        if not self.min <= self.p50 <= self.p99 <= self.max:
            raise ValueError("min: expected min <= p50 <= p99 <= max")

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution | None:
        """The distribution of ``values``, or None when there are none."""
        if not values:
            return None
        ordered = sorted(values)
        return cls(
            count=len(ordered),
            min=ordered[0],
            p50=_nearest_rank(ordered, 0.50),
            p99=_nearest_rank(ordered, 0.99),
            max=ordered[-1],
        )

    def to_json(self) -> JSONObject:
        """A JSON-safe dict."""
        return {
            "count": self.count,
            "min": self.min,
            "p50": self.p50,
            "p99": self.p99,
            "max": self.max,
        }


@dataclass(frozen=True, kw_only=True)
class ProbeSummary:
    """How available the service looked to the probes."""

    total: int
    available: int
    latency: Distribution | None
    first_unavailable: float | None

    @property
    def availability(self) -> float:
        """Fraction of probes that were available."""
        return self.available / self.total if self.total else 0.0

    def to_json(self) -> JSONObject:
        """A JSON-safe dict."""
        return {
            "total": self.total,
            "available": self.available,
            "availability": self.availability,
            "latency": None if self.latency is None else self.latency.to_json(),
            "first_unavailable": self.first_unavailable,
        }


@dataclass(frozen=True, kw_only=True)
class ChaosResult:
    """Everything a run produced; ``not_started`` counts clients the horizon ended before start.

    ``segment`` is the part of the plan that ran (the whole of it unless a run was one
    segment of a plan split over hosts); :func:`chaos.merge.merge` joins segments' results.
    ``started`` is when the plan's clock started (monotonic, the scheduled start when shards
    ran together).
    """

    plan: Plan
    records: tuple[ClientRecord, ...]
    started: float
    ended: float
    target: str
    not_started: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    segment: Segment = WHOLE

    def __post_init__(self) -> None:
        if not isinstance(self.plan, Plan):
            raise ValueError(f"plan: expected a Plan, got {type(self.plan).__name__}")
        if not isinstance(self.segment, Segment):
            raise ValueError(f"segment: expected a Segment, got {self.segment!r}")
        object.__setattr__(self, "records", tuple(self.records))
        object.__setattr__(self, "notes", tuple(self.notes))
        if not all(isinstance(r, ClientRecord) for r in self.records):
            raise ValueError("records: expected ClientRecord items")
        if self.ended < self.started:
            raise ValueError(f"ended: {self.ended} is before started {self.started}")
        if self.not_started < 0:
            raise ValueError(f"not_started: must be >= 0, got {self.not_started}")

    @property
    def duration(self) -> float:
        """Seconds the run took."""
        return self.ended - self.started

    @property
    def counts(self) -> dict[str, int]:
        """Records per outcome, every outcome listed (zero included)."""
        seen = Counter(r.outcome for r in self.records)
        return {o.value: seen.get(o, 0) for o in Outcome}

    def by_kind(self) -> dict[str, list[ClientRecord]]:
        """Records grouped by fault kind, in plan order."""
        groups: dict[str, list[ClientRecord]] = defaultdict(list)
        for record in self.records:
            groups[record.kind].append(record)
        return dict(groups)

    @property
    def closed_after(self) -> dict[str, Distribution | None]:
        """Per kind: the distribution of "server closed after" seconds."""
        return {
            kind: Distribution.of(
                [r.server_closed_after for r in recs if r.server_closed_after is not None]
            )
            for kind, recs in self.by_kind().items()
        }

    def connect_rate(self, kind: str | None = None) -> float | None:
        """Connections opened per second, from the first start to the last connect."""
        recs = [r for r in self.records if kind is None or r.kind == kind]
        opened = [r.connected for r in recs if r.connected is not None]
        if len(opened) < 2:
            return None
        span = max(opened) - min(r.started for r in recs)
        return len(opened) / span if span > 0 else None

    @property
    def probe(self) -> ProbeSummary | None:
        """Availability as judged by the probes' predicate, or None without probes."""
        probes = [r for r in self.records if traits_of(r.kind).probe]
        if not probes:
            return None
        ok = [r for r in probes if r.detail.get("available")]
        down = [r.started for r in probes if not r.detail.get("available")]
        latencies = [latency for r in ok if (latency := r.number("latency")) is not None]
        return ProbeSummary(
            total=len(probes),
            available=len(ok),
            latency=Distribution.of(latencies),
            first_unavailable=min(down) if down else None,
        )

    def to_json(self) -> JSONObject:
        """A JSON-safe dict; the summary block is for readers and ignored when loading."""
        probe = self.probe
        return {
            "plan": self.plan.to_json(),
            "target": self.target,
            "started": self.started,
            "ended": self.ended,
            "not_started": self.not_started,
            "segment": str(self.segment),
            "notes": list(self.notes),
            "summary": {
                "counts": self.counts,
                "closed_after": {
                    k: None if d is None else d.to_json() for k, d in self.closed_after.items()
                },
                "probe": None if probe is None else probe.to_json(),
            },
            "records": [r.to_json() for r in self.records],
        }

    @classmethod
    def from_json(cls, data: JSONObject | str) -> ChaosResult:
        """Rebuild from :meth:`to_json` output (a dict or its JSON text)."""
        data = as_object(data, "result")
        for name in ("plan", "records", "started", "ended", "target"):
            if name not in data:
                raise ValueError(f"{name}: required result field is missing")
        return cls(
            plan=Plan.from_json(data["plan"]),
            records=tuple(ClientRecord.from_json(r) for r in data["records"]),
            started=data["started"],
            ended=data["ended"],
            target=data["target"],
            not_started=data.get("not_started", 0),
            notes=tuple(data.get("notes", ())),
            segment=Segment.parse(data.get("segment", str(WHOLE))),
        )
