"""Execution segments: which clients of a plan one shard (or one host) runs, as k6 splits work.

A segment is a fraction range ``[start, end)`` of ``[0, 1)``: ``0:1/4``, ``1/4:2/4``, or
``I/N`` for the I-th (from 0) of N equal parts. Client ``i`` of a plan belongs to the segment
holding its *position* ``r(i)``, the van der Corput number of ``i`` (its binary digits
mirrored after the point: 0, 1/2, 1/4, 3/4, 1/8, ...). That rule needs nothing but ``i``, so
any set of segments that tile ``[0, 1)`` splits a plan into disjoint parts, whoever computes
them; and since the positions are evenly spread, every segment gets an even share of each
spec and of every stretch of a rate-staggered flood (halves take even and odd clients).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["WHOLE", "Segment", "position", "uncovered"]


def position(index: int) -> Fraction:
    """Where client ``index`` sits in ``[0, 1)``: its van der Corput number in base 2."""
    mirrored, bits = _mirrored(index)
    return Fraction(mirrored, 1 << bits)


def _mirrored(index: int) -> tuple[int, int]:
    """``index``'s position as ``(numerator, b)`` for ``numerator / 2**b``: integers, so a
    segment can place a client without making a Fraction (a plan of 100,000 clients asks)."""
    if index < 0:
        raise ValueError(f"index: expected a non-negative integer, got {index}")
    bits = index.bit_length()
    return (int(f"{index:b}"[::-1], 2) if index else 0), bits


def _fraction(text: str, what: str) -> Fraction:
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{what}: expected a fraction such as 1/4, got {text!r}") from None
    if not 0 <= value <= 1:
        raise ValueError(f"{what}: must be between 0 and 1, got {text!r}")
    return value


@dataclass(frozen=True, slots=True)
class Segment:
    """The clients whose position falls in ``[start, end)``; ``str()`` gives ``1/4:1/2``."""

    start: Fraction
    end: Fraction

    def __post_init__(self) -> None:
        if not isinstance(self.start, Fraction) or not isinstance(self.end, Fraction):
            raise ValueError("segment: start and end must be fractions")
        if not 0 <= self.start < self.end <= 1:
            raise ValueError(f"segment: expected 0 <= start < end <= 1, got {self}")

    @classmethod
    def parse(cls, text: str) -> Segment:
        """``I/N`` (the I-th of N equal parts, from 0) or ``START:END`` (k6's form)."""
        if not isinstance(text, str):
            raise ValueError(f"segment: expected I/N or START:END, got {text!r}")
        if ":" in text:
            start, _, end = text.partition(":")
            a, b = _fraction(start, "segment"), _fraction(end, "segment")
            if not a < b:
                raise ValueError(f"segment: start must be below end, got {text!r}")
            return cls(a, b)
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"segment: expected I/N (e.g. 0/4) or START:END, got {text!r}")
        i, n = int(index), int(count)
        if n < 1 or i >= n:
            last = max(n - 1, 0)
            raise ValueError(f"segment: index must be 0..{last} of {n} parts, got {text!r}")
        return cls(Fraction(i, n), Fraction(i + 1, n))

    def __str__(self) -> str:
        return f"{self.start}:{self.end}"

    @property
    def whole(self) -> bool:
        """True for ``0:1``: the whole plan."""
        return self.start == 0 and self.end == 1

    def holds(self, index: int) -> bool:
        """True when client ``index`` belongs to this segment."""
        # start <= m / 2**b < end, cross-multiplied: the same test as on the Fractions.
        mirrored, bits = _mirrored(index)
        start, end = self.start, self.end
        return (
            start.numerator << bits <= mirrored * start.denominator
            and mirrored * end.denominator < end.numerator << bits
        )

    def members(self, indices: Iterable[int]) -> Iterator[int]:
        """The ``indices`` that belong to this segment, in order."""
        if self.whole:
            yield from indices
            return
        for index in indices:
            if self.holds(index):
                yield index

    def split(self, parts: int) -> list[Segment]:
        """This segment cut into ``parts`` equal segments, in order."""
        if parts < 1:
            raise ValueError(f"parts: expected a positive integer, got {parts}")
        width = (self.end - self.start) / parts
        return [Segment(self.start + k * width, self.start + (k + 1) * width) for k in range(parts)]


WHOLE = Segment(Fraction(0), Fraction(1))


def uncovered(segments: Sequence[Segment]) -> tuple[list[Segment], list[Segment]]:
    """The gaps ``segments`` leave in ``[0, 1)`` and the overlaps between them, each in order."""
    gaps: list[Segment] = []
    overlaps: list[Segment] = []
    reached = Fraction(0)
    for seg in sorted(segments, key=lambda s: (s.start, s.end)):
        if seg.start > reached:
            gaps.append(Segment(reached, seg.start))
        elif seg.start < reached:
            overlaps.append(Segment(seg.start, min(reached, seg.end)))
        reached = max(reached, seg.end)
    if reached < 1:
        gaps.append(Segment(reached, Fraction(1)))
    return gaps, overlaps
