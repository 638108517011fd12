"""One result from the results of a plan's segments (shards of one machine, or several hosts).

Every segment ran the same plan on the same clock schedule, so its records are the ones a
single process would have made for those clients: the merge keeps every record, ordered by
client index, and the summaries (counts, distributions, probes) follow from them. Segments
run on other hosts have other monotonic clocks: each result is shifted so that its start
coincides with the first one's (they were scheduled at the same wall-clock instant).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .engine.segment import Segment, uncovered
from .record import TIMESTAMPS, ClientRecord
from .result import ChaosResult

__all__ = ["merge", "shifted"]

_STAMPS = ("started", *TIMESTAMPS)


def shifted(record: ClientRecord, offset: float) -> ClientRecord:
    """``record`` with every timestamp moved by ``offset`` seconds (its ``detail`` as it is)."""
    if offset == 0:
        return record
    moved = {
        name: value + offset for name in _STAMPS if (value := getattr(record, name)) is not None
    }
    return dataclasses.replace(record, **moved)


def merge(results: Sequence[ChaosResult]) -> ChaosResult:
    """The result of the segments' results taken together; ValueError if they do not fit.

    They must be of one plan and one target, their segments must not overlap and must leave
    no gap: together they are one segment (the whole plan, or a part to merge further).
    """
    if not results:
        raise ValueError("results: nothing to merge")
    ordered = sorted(results, key=lambda r: (r.segment.start, r.segment.end))
    first = ordered[0]
    for other in ordered[1:]:
        if other.plan != first.plan:
            raise ValueError(
                f"plan: the {other.segment} result is of another plan (or seed) than the "
                f"{first.segment} one"
            )
        if other.target != first.target:
            raise ValueError(f"target: {other.target} in one result, {first.target} in another")
    gaps, overlaps = uncovered([r.segment for r in ordered])
    if overlaps:
        raise ValueError(f"segment: {overlaps[0]} is in more than one result")
    span = Segment(ordered[0].segment.start, ordered[-1].segment.end)
    inner = [g for g in gaps if span.start <= g.start and g.end <= span.end]
    if inner:
        raise ValueError(f"segment: no result covers {inner[0]}")
    records: list[ClientRecord] = []
    ended = first.ended
    notes: list[str] = []
    for result in ordered:
        offset = first.started - result.started
        records.extend(shifted(r, offset) for r in result.records)
        ended = max(ended, result.ended + offset)
        notes.extend(n for n in result.notes if n not in notes)
    records.sort(key=lambda r: r.index)  # stable: a client's own records keep their order
    return ChaosResult(
        plan=first.plan,
        records=tuple(records),
        started=first.started,
        ended=ended,
        target=first.target,
        not_started=sum(r.not_started for r in ordered),
        notes=tuple(notes),
        segment=span,
    )
