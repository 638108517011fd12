"""Verdicts: one row per check (expected, measured, verdict) and the table people read first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["CheckResult", "Verdict", "failed", "format_table", "summary_line", "verdict_for"]


class Verdict(StrEnum):
    """How a check came out. Only ``fail`` makes the run fail."""

    PASS = "pass"  # measured, and within the expectation
    FAIL = "FAIL"  # measured outside the expectation, or not measurable though expected
    INFO = "info"  # measured; nothing was expected, so nothing to judge
    SKIPPED = "skipped"  # not measurable here (and nothing was expected)


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One row: ``value`` is the machine-readable measurement, ``measured`` its display."""

    check: str
    expected: str | None
    measured: str
    verdict: Verdict
    value: Any = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.check, str) or not self.check:
            raise ValueError(f"check: expected a check name, got {self.check!r}")
        if not isinstance(self.verdict, Verdict):
            raise ValueError(f"verdict: expected a Verdict, got {self.verdict!r}")
        if not isinstance(self.measured, str):
            raise ValueError(f"measured: expected text, got {self.measured!r}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (the same cells the table shows, plus value, reason and detail)."""
        return {
            "check": self.check,
            "expected": self.expected,
            "measured": self.measured,
            "verdict": self.verdict.value,
            "value": self.value,
            "reason": self.reason,
            "detail": self.detail,
        }


def verdict_for(expected: object | None, holds: bool, failure: str) -> tuple[Verdict, str]:
    """A check's verdict and reason: info when nothing was expected, else pass or fail."""
    if expected is None:
        return Verdict.INFO, ""
    if holds:
        return Verdict.PASS, ""
    return Verdict.FAIL, failure


def failed(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The rows whose verdict fails the run."""
    return [r for r in results if r.verdict is Verdict.FAIL]


def summary_line(results: Sequence[CheckResult], duration: float) -> str:
    """One line: every expectation held, or which ones failed."""
    judged = [r for r in results if r.verdict in (Verdict.PASS, Verdict.FAIL)]
    bad = failed(results)
    if bad:
        names = ", ".join(r.check for r in bad)
        return f"FAILED: {len(bad)} of {len(judged)} expectations ({names}) in {duration:.1f} s"
    if not judged:
        return f"measured only (no expectations given) in {duration:.1f} s"
    return f"ok: all {len(judged)} expectations hold, in {duration:.1f} s"


def format_table(results: Sequence[CheckResult]) -> str:
    """Check, expected, measured, verdict: aligned columns, reasons for failures underneath."""
    header = ("check", "expected", "measured", "verdict")
    rows = [(r.check, r.expected or "-", r.measured, r.verdict.value) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append("  " + "  ".join([*cells, row[3]]).rstrip())
    for r in failed(results):
        if r.reason:
            lines.append(f"  {r.check}: {r.reason}")
    return "\n".join(lines)
